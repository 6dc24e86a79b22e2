// Package access reads the credentials files that the station page
// (agent/web) and udi-central's HTTP API share: the tokens file (TOKEN
// ROLE NAME a line), the certificate-roles file (ROLE cn:VALUE a line)
// and a client's token file. It is one rule for both: the same formats,
// the same checks and the same errors, generic over the roles a caller
// gives out (the page's nurse, warehouse and auditor; the centre's
// auditor and operator).
//
// It holds only the SHA-256 sums of tokens and looks a token up in
// constant time. Its errors name the file and the line and never hold a
// token; a file of secrets must be a regular file only its owner may use
// (mode 0600 or 0400). It never logs.
package access
