package web

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/udi-edge/udi-edge/agent/access"
)

// Role is what a user of the page may do (Role.May). Tokens and client
// certificates give nurse, warehouse or auditor; local is what a browser
// on the gateway itself gets on a loopback address without a credential.
type Role string

// Roles.
const (
	// RoleNurse sees the point-of-use stations and acts there: justifies
	// an imported item's use, closes the case.
	RoleNurse Role = "nurse"
	// RoleWarehouse sees the stations and the warehouse: stock against
	// par, requests, expiring stock, cycle counts.
	RoleWarehouse Role = "warehouse"
	// RoleAuditor sees everything, patient identifiers included in a
	// trace, and changes nothing.
	RoleAuditor Role = "auditor"
	// RoleLocal is the station's own screen, a browser on the gateway:
	// everything a nurse and a warehouse clerk may, and the auditor's
	// view, with patient identifiers masked. No credentials file gives it.
	RoleLocal Role = "local"
)

// Permission is one thing the page lets a role do.
type Permission int

// Permissions.
const (
	// PermStation sees a station: its open case (patient masked), its
	// scans and their decisions.
	PermStation Permission = iota + 1
	// PermAct justifies a use and closes a case at a station.
	PermAct
	// PermWarehouse sees the warehouse view.
	PermWarehouse
	// PermAudit sees the auditor's view: traces, anomalies, reconcile,
	// verify.
	PermAudit
	// PermPatient sees patient identifiers unmasked (in a trace).
	PermPatient
)

// String names p as the page's refusals do.
func (p Permission) String() string {
	switch p {
	case PermStation:
		return "see a station"
	case PermAct:
		return "act at a station"
	case PermWarehouse:
		return "see the warehouse"
	case PermAudit:
		return "see the auditor's view"
	case PermPatient:
		return "see patient identifiers"
	}
	return fmt.Sprintf("permission %d", int(p))
}

// May reports whether r has permission p:
//
//	            station  act  warehouse  audit  patient
//	nurse       yes      yes  no         no     no
//	warehouse   yes      no   yes        no     no
//	auditor     yes      no   yes        yes    yes
//	local       yes      yes  yes        yes    no
//
// Anything else has none.
func (r Role) May(p Permission) bool {
	switch r {
	case RoleNurse:
		return p == PermStation || p == PermAct
	case RoleWarehouse:
		return p == PermStation || p == PermWarehouse
	case RoleAuditor:
		return p == PermStation || p == PermWarehouse || p == PermAudit || p == PermPatient
	case RoleLocal:
		return p == PermStation || p == PermAct || p == PermWarehouse || p == PermAudit
	}
	return false
}

// Principal is who a request comes from: Name names the user in the log
// and as the actor of what they record (the token's name, the
// certificate rule that matched, "cn:or3-screen", or "local"), never a
// secret.
type Principal = access.Principal[Role]

var localPrincipal = Principal{Name: "local", Role: RoleLocal}

type principalKey struct{}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the page found for the request
// whose context ctx is; false outside the page's handlers.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// MinTokenLength is the shortest token a tokens file may hold.
const MinTokenLength = access.MinTokenLength

// fileRoles are the roles a tokens or certificate-roles file may give:
// every role but RoleLocal.
var fileRoles = []Role{RoleNurse, RoleWarehouse, RoleAuditor}

// Tokens are the tokens the page accepts, each with a role and a name;
// only their SHA-256 sums are held, and a token is looked up in constant
// time (Lookup).
type Tokens = access.Tokens[Role]

// LoadTokens reads a tokens file (ParseTokens); it must be a regular file
// only its owner may use (mode 0600 or 0400). Errors other than the
// file's own I/O errors are *CredentialsError.
func LoadTokens(path string) (*Tokens, error) {
	t, err := access.LoadTokens(path, fileRoles...)
	return t, credentialsError(err)
}

// ParseTokens reads tokens from r, one a line, as udi-central's tokens
// file has them (access.ParseTokens), with the page's roles:
//
//	# TOKEN                                                            ROLE       NAME
//	4b1d0c3e9a7f52e8c6d1b0a9f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c  nurse      or3-screen
//	sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae  auditor  audit-office
//
// TOKEN is the token (at least MinTokenLength visible ASCII characters)
// or "sha256:" and its hex SHA-256; ROLE is nurse, warehouse or auditor;
// NAME (letters, digits, . _ @ -, at most 64) names the user. Blank lines
// and lines starting with # are skipped; a token or a name given twice is
// an error. Errors name the line, never a token.
func ParseTokens(name string, r io.Reader) (*Tokens, error) {
	t, err := access.ParseTokens(name, r, fileRoles...)
	return t, credentialsError(err)
}

// CertRoles give client certificates roles: a certificate the TLS
// handshake verified against CAs gets the role of the first rule that
// matches it (Match).
type CertRoles = access.CertRoles[Role]

// LoadCertRoles reads the PEM certificates of caFile and the rules of
// rulesFile (ParseCertRoles).
func LoadCertRoles(caFile, rulesFile string) (*CertRoles, error) {
	c, err := access.LoadCertRoles(caFile, rulesFile, fileRoles...)
	return c, credentialsError(err)
}

// ParseCertRoles reads, one a line, the role a client certificate
// verified against cas gets (access.ParseCertRoles):
//
//	# ROLE     CERTIFICATE
//	nurse      cn:or3-screen
//	auditor    dns:audit-ws1.hospital.example
//
// cn: matches the subject's common name; dns: (ignoring case), email:
// and uri: a subject alternative name of that kind; the first rule that
// matches gives the role.
func ParseCertRoles(name string, r io.Reader, cas *x509.CertPool) (*CertRoles, error) {
	c, err := access.ParseCertRoles(name, r, cas, fileRoles...)
	return c, credentialsError(err)
}

// credentialsError returns err, an *access.CredentialsError made the
// page's *CredentialsError.
func credentialsError(err error) error {
	return access.As(err, "page", ErrCredentials)
}

// TokenCookie is the cookie that carries a browser's token after it
// signed in (GET /login?token=…).
const TokenCookie = "udi_page_token"

// authenticate returns the principal of r, or the status and reason of
// its refusal. A token comes in an Authorization: Bearer header or the
// TokenCookie; a client certificate in the TLS handshake. open gives a
// request without a credential RoleLocal. The reason never holds a token.
func (s *Server) authenticate(r *http.Request) (Principal, int, string) {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(t) == "" {
			return Principal{}, http.StatusUnauthorized, "Authorization: want Bearer and a token"
		}
		token = strings.TrimSpace(t)
	} else if c, err := r.Cookie(TokenCookie); err == nil && c.Value != "" {
		token = c.Value
	}
	if token != "" {
		if s.cfg.Tokens == nil {
			return Principal{}, http.StatusUnauthorized, "this page accepts no token"
		}
		if p, ok := s.cfg.Tokens.Lookup(token); ok {
			return p, 0, ""
		}
		return Principal{}, http.StatusUnauthorized, "unknown token"
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && s.cfg.Certs != nil {
		leaf := r.TLS.VerifiedChains[0][0]
		if p, ok := s.cfg.Certs.Match(leaf); ok {
			return p, 0, ""
		}
		return Principal{}, http.StatusForbidden, fmt.Sprintf("client certificate %q is given no role", leaf.Subject.CommonName)
	}
	if s.open {
		return localPrincipal, 0, ""
	}
	return Principal{}, http.StatusUnauthorized, "sign in: open /login?token=… once on this screen, or present a client certificate"
}
