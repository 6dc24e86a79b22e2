package web

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
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

// Principal is who a request comes from.
type Principal struct {
	// Name names the user in the log and as the actor of what they
	// record: the token's name, the certificate rule that matched
	// ("cn:or3-screen"), or "local". It is never a secret.
	Name string
	Role Role
}

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
const MinTokenLength = 32

// Tokens are the tokens the page accepts, each with a role and a name;
// only their SHA-256 sums are held, and a token is looked up in constant
// time.
type Tokens struct {
	sums  [][sha256.Size]byte
	who   []Principal
	names map[string]bool
}

// LoadTokens reads a tokens file (ParseTokens); it must be a regular file
// only its owner may use (mode 0600 or 0400). Errors other than the
// file's own I/O errors are *CredentialsError.
func LoadTokens(path string) (*Tokens, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &CredentialsError{Path: path, Reason: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, &CredentialsError{Path: path, Reason: fmt.Sprintf("mode %04o: it holds secrets, so only its owner may read it (chmod 600 %s)", perm, path)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTokens(path, f)
}

// ParseTokens reads tokens from r, one a line, as udi-central's tokens
// file has them, with the page's roles:
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
	t := &Tokens{names: map[string]bool{}}
	err := lines(name, r, func(f []string) error {
		if len(f) != 3 {
			return fmt.Errorf("want TOKEN ROLE NAME, found %d fields", len(f))
		}
		sum, err := tokenSum(f[0])
		if err != nil {
			return err
		}
		role, err := parseRole(f[1])
		if err != nil {
			return err
		}
		if err := checkName(f[2]); err != nil {
			return err
		}
		for i := range t.sums {
			if t.sums[i] == sum {
				return fmt.Errorf("the same token as %s's", t.who[i].Name)
			}
		}
		if t.names[f[2]] {
			return fmt.Errorf("name %q is given twice", f[2])
		}
		t.names[f[2]] = true
		t.sums = append(t.sums, sum)
		t.who = append(t.who, Principal{Name: f[2], Role: role})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.sums) == 0 {
		return nil, &CredentialsError{Path: name, Reason: "no token in it"}
	}
	return t, nil
}

// tokenSum reads a tokens file's TOKEN field.
func tokenSum(s string) (sum [sha256.Size]byte, err error) {
	if h, ok := strings.CutPrefix(s, "sha256:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return sum, fmt.Errorf("sha256: wants the %d hex digits of a SHA-256 sum", 2*sha256.Size)
		}
		copy(sum[:], b)
		return sum, nil
	}
	if len(s) < MinTokenLength {
		return sum, fmt.Errorf("the token has %d characters; use at least %d (openssl rand -hex 32)", len(s), MinTokenLength)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return sum, fmt.Errorf("the token holds a character other than visible ASCII")
		}
	}
	return sha256.Sum256([]byte(s)), nil
}

func parseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleNurse, RoleWarehouse, RoleAuditor:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: want nurse, warehouse or auditor", s)
}

// checkName checks a user's name: it goes into log lines and the ledger.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("name %q: want 1 to 64 characters", s)
	}
	for _, c := range s {
		if !(c == '.' || c == '_' || c == '@' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("name %q: only letters, digits, . _ @ and - are allowed", s)
		}
	}
	return nil
}

// lines calls fn with the fields of every line of r that is neither blank
// nor a comment; fn's error becomes the *CredentialsError of its line.
func lines(name string, r io.Reader, fn func(fields []string) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := fn(strings.Fields(line)); err != nil {
			return &CredentialsError{Path: name, Line: n, Reason: err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("page: reading %s: %w", name, err)
	}
	return nil
}

// Lookup returns the principal of token; false when no entry holds it.
// Every entry is compared, in constant time.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	found, at := 0, 0
	for i := range t.sums {
		eq := subtle.ConstantTimeCompare(sum[:], t.sums[i][:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return Principal{}, false
	}
	return t.who[at], true
}

// CertRoles give client certificates roles: a certificate the TLS
// handshake verified against CAs gets the role of the first rule that
// matches its subject's common name or one of its DNS names.
type CertRoles struct {
	// CAs are the authorities client certificates are verified against.
	CAs   *x509.CertPool
	rules []certRule
}

type certRule struct {
	kind, value string
	role        Role
}

// LoadCertRoles reads the PEM certificates of caFile and the rules of
// rulesFile (ParseCertRoles).
func LoadCertRoles(caFile, rulesFile string) (*CertRoles, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(pem) {
		return nil, &CredentialsError{Path: caFile, Reason: "no PEM certificate in it"}
	}
	f, err := os.Open(rulesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCertRoles(rulesFile, f, cas)
}

// ParseCertRoles reads, one a line, the role a client certificate
// verified against cas gets:
//
//	# ROLE     CERTIFICATE
//	nurse      cn:or3-screen
//	auditor    dns:audit-ws1.hospital.example
//
// cn: matches the subject's common name, dns: one of its DNS names
// (ignoring case); the first rule that matches gives the role.
func ParseCertRoles(name string, r io.Reader, cas *x509.CertPool) (*CertRoles, error) {
	c := &CertRoles{CAs: cas}
	err := lines(name, r, func(f []string) error {
		if len(f) < 2 {
			return fmt.Errorf("want ROLE cn:NAME or ROLE dns:NAME")
		}
		role, err := parseRole(f[0])
		if err != nil {
			return err
		}
		kind, value, _ := strings.Cut(strings.Join(f[1:], " "), ":")
		if (kind != "cn" && kind != "dns") || value == "" {
			return fmt.Errorf("%q: want cn: or dns: and a value", strings.Join(f[1:], " "))
		}
		c.rules = append(c.rules, certRule{kind: kind, value: value, role: role})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.rules) == 0 {
		return nil, &CredentialsError{Path: name, Reason: "no rule in it"}
	}
	return c, nil
}

// Match returns the principal of a verified client certificate, named by
// the rule it matched; false when it matches none.
func (c *CertRoles) Match(cert *x509.Certificate) (Principal, bool) {
	for _, r := range c.rules {
		ok := r.kind == "cn" && cert.Subject.CommonName == r.value
		for _, d := range cert.DNSNames {
			ok = ok || r.kind == "dns" && strings.EqualFold(d, r.value)
		}
		if ok {
			return Principal{Name: r.kind + ":" + r.value, Role: r.role}, true
		}
	}
	return Principal{}, false
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
