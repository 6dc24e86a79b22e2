package central

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
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

// parseRole reads a role of a credentials file.
func parseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAuditor, RoleOperator:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: want %s or %s", s, RoleAuditor, RoleOperator)
}

// Principal is who a request of the API comes from.
type Principal struct {
	// Name names the client in the log: the token's name, the rule of
	// the client certificate that matched ("cn:audit-office"), or
	// "local". It is never a secret.
	Name string
	Role Role
}

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
const MinTokenLength = 32

// Tokens are the bearer tokens the API accepts, each with a role and a
// name. Only their SHA-256 sums are held, and a token is looked up in
// constant time whatever it is and whichever entry it matches.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	sum  [sha256.Size]byte
	role Role
	name string
}

// LoadTokens reads a tokens file (ParseTokens). The file must be a
// regular file that neither its group nor others may read, write or
// execute (mode 0600 or 0400): it holds secrets. Errors other than the
// file's own I/O errors are *CredentialsError.
func LoadTokens(path string) (*Tokens, error) {
	f, err := openSecret(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTokens(path, f)
}

// openSecret opens path, a file of secrets: a regular file that only its
// owner may use.
func openSecret(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &CredentialsError{Path: path, Reason: "not a regular file"}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		f.Close()
		return nil, &CredentialsError{Path: path, Reason: fmt.Sprintf("mode %04o: it holds secrets, so only its owner may read it (chmod 600 %s)", perm, path)}
	}
	return f, nil
}

// ParseTokens reads bearer tokens from r, one a line:
//
//	# TOKEN                                                   ROLE      NAME
//	6f1c0d58b7e94a0e3f5d2c71a8b94e06d3f2a1c5b7e8d9f0a1b2c3d4e5f60718  auditor   audit-office
//	sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  operator  pharmacy
//
// TOKEN is the token itself (at least MinTokenLength visible ASCII
// characters), or "sha256:" and the hex SHA-256 of it, so that the file
// need not hold the token; ROLE is auditor or operator; NAME (letters,
// digits, . _ @ -) names the client in the log. Blank lines and lines
// starting with # are skipped. A token or a name given twice is an
// error. name names r in errors, which name the line and never hold a
// token.
func ParseTokens(name string, r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	tokenLine, nameLine := map[[sha256.Size]byte]int{}, map[string]int{}
	err := eachLine(name, r, func(n int, fields []string) error {
		if len(fields) != 3 {
			return fmt.Errorf("want TOKEN ROLE NAME, found %d fields", len(fields))
		}
		var e tokenEntry
		if hexSum, ok := strings.CutPrefix(fields[0], "sha256:"); ok {
			b, err := hex.DecodeString(hexSum)
			if err != nil || len(b) != sha256.Size {
				return fmt.Errorf("sha256: wants the %d hex digits of a SHA-256 sum", 2*sha256.Size)
			}
			copy(e.sum[:], b)
		} else {
			if len(fields[0]) < MinTokenLength {
				return fmt.Errorf("the token has %d characters; use at least %d (openssl rand -hex 32)", len(fields[0]), MinTokenLength)
			}
			for _, c := range []byte(fields[0]) {
				if c < 0x21 || c > 0x7e {
					return errors.New("the token holds a character other than visible ASCII")
				}
			}
			e.sum = sha256.Sum256([]byte(fields[0]))
		}
		var err error
		if e.role, err = parseRole(fields[1]); err != nil {
			return err
		}
		e.name = fields[2]
		if err := validName(e.name); err != nil {
			return fmt.Errorf("name %v", err)
		}
		if prev, ok := tokenLine[e.sum]; ok {
			return fmt.Errorf("the same token as line %d", prev)
		}
		if prev, ok := nameLine[e.name]; ok {
			return fmt.Errorf("name %q already given on line %d", e.name, prev)
		}
		tokenLine[e.sum], nameLine[e.name] = n, n
		t.entries = append(t.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(t.entries) == 0 {
		return nil, &CredentialsError{Path: name, Reason: "no token in it"}
	}
	return t, nil
}

// eachLine calls fn with the number and the fields of every line of r
// that is neither blank nor a comment; fn's error is returned as the
// *CredentialsError of name and the line.
func eachLine(name string, r io.Reader, fn func(n int, fields []string) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, strings.Fields(line)); err != nil {
			return &CredentialsError{Path: name, Line: n, Reason: err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// validName checks a name given to a token: it goes into log lines.
func validName(s string) error {
	if len(s) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", s)
	}
	for _, c := range s {
		if !(c == '.' || c == '_' || c == '@' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return fmt.Errorf("%q: only letters, digits, . _ @ and - are allowed", s)
		}
	}
	return nil
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// Lookup returns the principal of token; false when no entry holds it.
// It compares the token's SHA-256 sum with every entry's, in constant
// time, so that neither the time taken nor the log tells anything of the
// tokens held.
func (t *Tokens) Lookup(token string) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	found, at := 0, 0
	for i := range t.entries {
		eq := subtle.ConstantTimeCompare(sum[:], t.entries[i].sum[:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return Principal{}, false
	}
	e := t.entries[at]
	return Principal{Name: e.name, Role: e.role}, true
}

// CertRoles give client certificates roles: a certificate that the TLS
// handshake verified against CAs gets the role of the first rule that
// matches it.
type CertRoles struct {
	// CAs are the certificate authorities client certificates are
	// verified against.
	CAs   *x509.CertPool
	rules []certRule
}

type certRule struct {
	field, value string
	role         Role
}

// certFields are the parts of a certificate a rule may match.
var certFields = []string{"cn", "dns", "email", "uri"}

// LoadCertRoles reads the PEM certificates of caFile and the rules of
// rolesFile (ParseCertRoles). Errors other than the files' own I/O
// errors are *CredentialsError.
func LoadCertRoles(caFile, rolesFile string) (*CertRoles, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(pem) {
		return nil, &CredentialsError{Path: caFile, Reason: "no PEM certificate in it"}
	}
	f, err := os.Open(rolesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseCertRoles(rolesFile, f, cas)
}

// ParseCertRoles reads the rules giving client certificates verified
// against cas their roles from r, one a line, ROLE then what to match:
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
	c := &CertRoles{CAs: cas}
	err := eachLine(name, r, func(_ int, fields []string) error {
		if len(fields) < 2 {
			return errors.New("want ROLE KIND:VALUE, such as auditor cn:audit-office")
		}
		role, err := parseRole(fields[0])
		if err != nil {
			return err
		}
		sel := strings.Join(fields[1:], " ")
		field, value, ok := strings.Cut(sel, ":")
		if !ok || value == "" || !slices.Contains(certFields, field) {
			return fmt.Errorf("%q: want cn:, dns:, email: or uri: and a value", sel)
		}
		c.rules = append(c.rules, certRule{field: field, value: value, role: role})
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

// Len returns the number of rules.
func (c *CertRoles) Len() int { return len(c.rules) }

// Match returns the principal of a verified client certificate, named by
// the rule it matched; false when it matches none.
func (c *CertRoles) Match(cert *x509.Certificate) (Principal, bool) {
	for _, r := range c.rules {
		if r.matches(cert) {
			return Principal{Name: r.field + ":" + r.value, Role: r.role}, true
		}
	}
	return Principal{}, false
}

func (r certRule) matches(cert *x509.Certificate) bool {
	switch r.field {
	case "cn":
		return cert.Subject.CommonName == r.value
	case "dns":
		for _, d := range cert.DNSNames {
			if strings.EqualFold(d, r.value) {
				return true
			}
		}
	case "email":
		return slices.Contains(cert.EmailAddresses, r.value)
	case "uri":
		for _, u := range cert.URIs {
			if u.String() == r.value {
				return true
			}
		}
	}
	return false
}

// ReadTokenFile reads a client's bearer token from path: its first line,
// without surrounding spaces. Like a tokens file, the file must be a
// regular file only its owner may use (mode 0600 or 0400). Errors other
// than the file's own I/O errors are *CredentialsError.
func ReadTokenFile(path string) (string, error) {
	f, err := openSecret(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return "", &CredentialsError{Path: path, Line: 1, Reason: "no token on the first line"}
	}
	return token, nil
}
