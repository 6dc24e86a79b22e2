package central

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/udi-edge/udi-edge/agent/access"
)

// Role is what a client of the HTTP API may do (Role.May). Tokens and
// client certificates are given auditor or operator; local is what a
// client of a loopback address gets where no credential is required.
type Role string

// Roles.
const (
	// RoleAuditor reads everything, patient identifiers included: the
	// role of whoever answers for implants and recalls.
	RoleAuditor Role = "auditor"
	// RoleOperator reads without patient identifiers and publishes
	// master data: the role of whoever keeps the catalogue and recalls.
	RoleOperator Role = "operator"
	// RoleLocal may do everything. It is never given by a credentials
	// file; only an unauthenticated request on a loopback address gets
	// it, and only unless authentication is always required.
	RoleLocal Role = "local"
)

// Permission is one thing the API lets a role do.
type Permission int

// Permissions.
const (
	// PermRead reads: GET /healthz, /v1/gateways, and /v1/trace without
	// patient identifiers.
	PermRead Permission = iota + 1
	// PermPatient sees patient identifiers: GET /v1/trace?include_patient=1.
	PermPatient
	// PermPublish publishes master data: POST /v1/master.
	PermPublish
)

// String names p as the API's refusals do.
func (p Permission) String() string {
	switch p {
	case PermRead:
		return "read"
	case PermPatient:
		return "see patient identifiers"
	case PermPublish:
		return "publish master data"
	}
	return fmt.Sprintf("permission %d", int(p))
}

// May reports whether r has permission p:
//
//	            read  patient  publish
//	auditor     yes   yes      no
//	operator    yes   no       yes
//	local       yes   yes      yes
//
// Anything else has none.
func (r Role) May(p Permission) bool {
	switch r {
	case RoleLocal:
		return p == PermRead || p == PermPatient || p == PermPublish
	case RoleAuditor:
		return p == PermRead || p == PermPatient
	case RoleOperator:
		return p == PermRead || p == PermPublish
	}
	return false
}

// Principal is who a request of the API comes from: Name names the
// client in the log (the token's name, the rule of the client
// certificate that matched, "cn:audit-office", or "local"), never a
// secret.
type Principal = access.Principal[Role]

// localPrincipal is an unauthenticated client of a loopback address.
var localPrincipal = Principal{Name: "local", Role: RoleLocal}

type principalKey struct{}

// withPrincipal returns ctx carrying p.
func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the API server found for the
// request whose context ctx is; false outside the API server.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// MinTokenLength is the shortest bearer token a tokens file may hold:
// 32 characters, such as `openssl rand -hex 32` gives twice over.
const MinTokenLength = access.MinTokenLength

// fileRoles are the roles a tokens or certificate-roles file may give:
// every role but RoleLocal.
var fileRoles = []Role{RoleAuditor, RoleOperator}

// Tokens are the bearer tokens the API accepts, each with a role and a
// name. Only their SHA-256 sums are held, and a token is looked up in
// constant time whatever it is and whichever entry it matches (Lookup).
type Tokens = access.Tokens[Role]

// LoadTokens reads a tokens file (ParseTokens). The file must be a
// regular file that neither its group nor others may read, write or
// execute (mode 0600 or 0400): it holds secrets. Errors other than the
// file's own I/O errors are *CredentialsError.
func LoadTokens(path string) (*Tokens, error) {
	t, err := access.LoadTokens(path, fileRoles...)
	return t, credentialsError(err)
}

// ParseTokens reads bearer tokens from r, one a line (access.ParseTokens):
//
//	# TOKEN                                                   ROLE      NAME
//	6f1c0d58b7e94a0e3f5d2c71a8b94e06d3f2a1c5b7e8d9f0a1b2c3d4e5f60718  auditor   audit-office
//	sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  operator  pharmacy
//
// TOKEN is the token itself (at least MinTokenLength visible ASCII
// characters), or "sha256:" and the hex SHA-256 of it, so that the file
// need not hold the token; ROLE is auditor or operator; NAME (letters,
// digits, . _ @ -, at most 64) names the client in the log. Blank lines
// and lines starting with # are skipped. A token or a name given twice is
// an error. name names r in errors, which name the line and never hold a
// token.
func ParseTokens(name string, r io.Reader) (*Tokens, error) {
	t, err := access.ParseTokens(name, r, fileRoles...)
	return t, credentialsError(err)
}

// CertRoles give client certificates roles: a certificate that the TLS
// handshake verified against CAs gets the role of the first rule that
// matches it (Match).
type CertRoles = access.CertRoles[Role]

// LoadCertRoles reads the PEM certificates of caFile and the rules of
// rolesFile (ParseCertRoles). Errors other than the files' own I/O
// errors are *CredentialsError.
func LoadCertRoles(caFile, rolesFile string) (*CertRoles, error) {
	c, err := access.LoadCertRoles(caFile, rolesFile, fileRoles...)
	return c, credentialsError(err)
}

// ParseCertRoles reads the rules giving client certificates verified
// against cas their roles from r, one a line, ROLE then what to match
// (access.ParseCertRoles):
//
//	# ROLE    CERTIFICATE
//	auditor   cn:Audit Office
//	operator  dns:pharmacy-ws1.hospital.example
//	auditor   email:dpo@hospital.example
//	operator  uri:spiffe://hospital.example/pharmacy
//
// cn: matches the subject's common name, dns:, email: and uri: a subject
// alternative name of that kind (dns: ignoring case); the value is the
// rest of the line (a run of spaces read as one), matched exactly. A
// certificate gets the role of the first rule it matches; one that
// matches none gets 403. Blank lines and lines starting with # are
// skipped. name names r in errors.
func ParseCertRoles(name string, r io.Reader, cas *x509.CertPool) (*CertRoles, error) {
	c, err := access.ParseCertRoles(name, r, cas, fileRoles...)
	return c, credentialsError(err)
}

// ReadTokenFile reads a client's bearer token from path: its first line,
// without surrounding spaces. Like a tokens file, the file must be a
// regular file only its owner may use (mode 0600 or 0400). Errors other
// than the file's own I/O errors are *CredentialsError.
func ReadTokenFile(path string) (string, error) {
	token, err := access.ReadTokenFile(path)
	return token, credentialsError(err)
}

// credentialsError returns err, an *access.CredentialsError made the
// centre's *CredentialsError.
func credentialsError(err error) error {
	return access.As(err, "central", ErrCredentials)
}
