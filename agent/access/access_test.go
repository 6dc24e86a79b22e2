package access_test

import (
	"bufio"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/access"
)

// role is a caller's role vocabulary, as agent/web's and sync/central's
// are: the tests give out auditor and operator.
type role string

var roles = []role{"auditor", "operator"}

type principal = access.Principal[role]

const (
	auditorToken  = "auditor-0123456789abcdef0123456789abcdef"
	operatorToken = "operator-0123456789abcdef0123456789abcdef"
)

// secretFile writes data to a new file of mode perm and returns its path.
func secretFile(t *testing.T, data string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

// tokensFile is a tokens file of an auditor and an operator, with a
// comment, a blank line and tabs.
const tokensFile = "# TOKEN ROLE NAME\n\n" + auditorToken + " auditor audit-office\n" + operatorToken + "   operator\tpharmacy\n"

func TestTokens(t *testing.T) {
	tk, err := access.LoadTokens(secretFile(t, tokensFile, 0o600), roles...)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Len() != 2 {
		t.Fatalf("%d tokens, want 2", tk.Len())
	}
	for _, c := range []struct {
		token string
		want  principal
		ok    bool
	}{
		{auditorToken, principal{Name: "audit-office", Role: "auditor"}, true},
		{operatorToken, principal{Name: "pharmacy", Role: "operator"}, true},
		{auditorToken[:len(auditorToken)-1], principal{}, false},
		{auditorToken + "x", principal{}, false},
		{"", principal{}, false},
	} {
		if got, ok := tk.Lookup(c.token); ok != c.ok || got != c.want {
			t.Errorf("Lookup(%q) = %+v %v, want %+v %v", c.token, got, ok, c.want, c.ok)
		}
	}

	// A file may hold the token's SHA-256 instead of the token; the sum
	// itself is no credential.
	sum := sha256.Sum256([]byte(auditorToken))
	tk, err = access.ParseTokens("tokens", strings.NewReader("sha256:"+hex.EncodeToString(sum[:])+" auditor audit\n"), roles...)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tk.Lookup(auditorToken); !ok || p.Name != "audit" {
		t.Fatalf("token of a sha256: line: %+v %v", p, ok)
	}
	if _, ok := tk.Lookup("sha256:" + hex.EncodeToString(sum[:])); ok {
		t.Fatal("the sum was taken for the token")
	}
}

func TestTokensFileErrors(t *testing.T) {
	for _, c := range []struct {
		data, want string
		line       int
	}{
		{"", "no token in it", 0},
		{"# only a comment\n", "no token in it", 0},
		{auditorToken + " auditor\n", "want TOKEN ROLE NAME, found 2 fields", 1},
		{"\n" + auditorToken + " admin someone\n", `unknown role "admin": want auditor or operator`, 2},
		{"short-token auditor a\n", "the token has 11 characters; use at least 32", 1},
		{"sha256:abcd auditor a\n", "64 hex digits", 1},
		{auditorToken + " auditor a\n" + auditorToken + " operator b\n", "the same token as line 1", 2},
		{auditorToken + " auditor a\n" + operatorToken + " operator a\n", `name "a" already given on line 1`, 2},
		{auditorToken + " auditor a\u00e9\n", "only letters, digits", 1},
		{auditorToken + " auditor " + strings.Repeat("n", 65) + "\n", "want 1 to 64 characters", 1},
		{auditorToken + "\u00e9 auditor a\n", "other than visible ASCII", 1},
		// Fields swapped: the token stands where the role or the name
		// should, and the error tells its length, not its text.
		{"a-name-of-its-own " + auditorToken + " auditor\n", "the token has 17 characters", 1},
		{operatorToken + " " + auditorToken + " a\n", "unknown role (40 characters, not shown)", 1},
		{operatorToken + " auditor " + auditorToken + "/\n", "name (41 characters, not shown): only letters", 1},
		// A line bufio.Scanner cannot hold is the file's fault, named by
		// its line.
		{"# a\n" + strings.Repeat("x", bufio.MaxScanTokenSize+1) + "\n", "longer than 65536 bytes", 2},
	} {
		_, err := access.ParseTokens("tokens", strings.NewReader(c.data), roles...)
		var ce *access.CredentialsError
		if !errors.As(err, &ce) || !errors.Is(err, access.ErrCredentials) || ce.Path != "tokens" || ce.Line != c.line || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.80q: %v, want line %d with %q", c.data, err, c.line, c.want)
			continue
		}
		if strings.Contains(err.Error(), auditorToken) || strings.Contains(err.Error(), operatorToken) {
			t.Errorf("the error shows a token: %v", err)
		}
	}
}

// TestRoleVocabulary: a file gives only the roles its caller lists, and
// its errors list them.
func TestRoleVocabulary(t *testing.T) {
	line := auditorToken + " nurse n1\n"
	for _, c := range []struct {
		roles []role
		want  string
	}{
		{[]role{"nurse"}, ""},
		{[]role{"auditor"}, `unknown role "nurse": want auditor`},
		{[]role{"warehouse", "auditor"}, `want warehouse or auditor`},
		{[]role{"warehouse", "auditor", "operator"}, `want warehouse, auditor or operator`},
		{nil, "want no role"},
	} {
		tk, err := access.ParseTokens("tokens", strings.NewReader(line), c.roles...)
		if c.want == "" {
			if p, ok := tk.Lookup(auditorToken); err != nil || !ok || p.Role != "nurse" {
				t.Errorf("roles %v: %+v %v %v", c.roles, p, ok, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("roles %v: %v, want %q", c.roles, err, c.want)
		}
		if _, err := access.ParseCertRoles("roles", strings.NewReader("nurse cn:x\n"), nil, c.roles...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("certificate roles %v: %v, want %q", c.roles, err, c.want)
		}
	}
}

// TestTokensFileMode: a tokens file others may read is refused, naming
// its mode and the fix; so is a token file and anything but a regular
// file.
func TestTokensFileMode(t *testing.T) {
	path := secretFile(t, tokensFile, 0o600)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o610} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := access.LoadTokens(path, roles...)
		if !errors.Is(err, access.ErrCredentials) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v, want a refusal naming chmod 600", mode, err)
		}
		if _, err := access.ReadTokenFile(path); !errors.Is(err, access.ErrCredentials) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("token file of mode %04o: %v, want a refusal naming chmod 600", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := access.LoadTokens(path, roles...); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := access.LoadTokens(filepath.Join(t.TempDir(), "none"), roles...); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := access.LoadTokens(dir, roles...); !errors.Is(err, access.ErrCredentials) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

// TestReadTokenFile: a client's token is the first line of its file,
// without spaces; an empty first line is named.
func TestReadTokenFile(t *testing.T) {
	for _, c := range []struct{ data, want, err string }{
		{"  " + auditorToken + " \nsecond line\n", auditorToken, ""},
		{auditorToken, auditorToken, ""},
		{"\n" + auditorToken + "\n", "", "line 1: no token on the first line"},
		{"", "", "line 1: no token on the first line"},
	} {
		got, err := access.ReadTokenFile(secretFile(t, c.data, 0o400))
		if got != c.want || (c.err == "") != (err == nil) || err != nil && (!errors.Is(err, access.ErrCredentials) || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %q, %v; want %q, %q", c.data, got, err, c.want, c.err)
		}
	}
}

func TestCertRoles(t *testing.T) {
	rules := "# ROLE CERTIFICATE\n" +
		"auditor   cn:Audit Office\n" +
		"operator  dns:pharmacy-ws1.hospital.example\n" +
		"auditor   email:dpo@hospital.example\n" +
		"operator  uri:spiffe://hospital.example/pharmacy\n" +
		"auditor   dns:both.hospital.example\n" +
		"operator  cn:both\n"
	cr, err := access.ParseCertRoles("roles", strings.NewReader(rules), x509.NewCertPool(), roles...)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Len() != 6 {
		t.Fatalf("%d rules, want 6", cr.Len())
	}
	spiffe, _ := url.Parse("spiffe://hospital.example/pharmacy")
	for _, c := range []struct {
		cert *x509.Certificate
		want principal
	}{
		{&x509.Certificate{Subject: pkix.Name{CommonName: "Audit Office"}}, principal{Name: "cn:Audit Office", Role: "auditor"}},
		{&x509.Certificate{Subject: pkix.Name{CommonName: "audit office"}}, principal{}},
		{&x509.Certificate{DNSNames: []string{"x.example", "Pharmacy-WS1.hospital.example"}}, principal{Name: "dns:pharmacy-ws1.hospital.example", Role: "operator"}},
		{&x509.Certificate{EmailAddresses: []string{"dpo@hospital.example"}}, principal{Name: "email:dpo@hospital.example", Role: "auditor"}},
		{&x509.Certificate{URIs: []*url.URL{spiffe}}, principal{Name: "uri:spiffe://hospital.example/pharmacy", Role: "operator"}},
		// The first rule that matches wins.
		{&x509.Certificate{Subject: pkix.Name{CommonName: "both"}, DNSNames: []string{"both.hospital.example"}}, principal{Name: "dns:both.hospital.example", Role: "auditor"}},
		// A DNS name in the common name matches cn: only.
		{&x509.Certificate{Subject: pkix.Name{CommonName: "pharmacy-ws1.hospital.example"}}, principal{}},
	} {
		got, ok := cr.Match(c.cert)
		if got != c.want || ok != (c.want.Role != "") {
			t.Errorf("certificate %v %v %v %v: %+v %v, want %+v", c.cert.Subject, c.cert.DNSNames, c.cert.EmailAddresses, c.cert.URIs, got, ok, c.want)
		}
	}
	for _, c := range []struct {
		data, want string
		line       int
	}{
		{"", "no rule in it", 0},
		{"auditor\n", "want ROLE KIND:VALUE, such as auditor cn:NAME", 1},
		{"root cn:x\n", `unknown role "root"`, 1},
		{"# a\nauditor ou:x\n", `"ou:x": want cn:, dns:, email: or uri:`, 2},
		{"auditor cn:\n", "want cn:", 1},
		// A URI no certificate can hold as written would never match.
		{"auditor uri:spiffe://hospital.example/a b\n", "not a URI as a certificate holds it", 1},
		{"auditor uri:%zz\n", "not a URI", 1},
		// A tokens file given as the roles file: its tokens stay unshown.
		{auditorToken + " auditor a\n", "unknown role (40 characters, not shown)", 1},
		{"auditor " + auditorToken + "\n", "(40 characters, not shown): want cn:", 1},
	} {
		_, err := access.ParseCertRoles("roles", strings.NewReader(c.data), x509.NewCertPool(), roles...)
		var ce *access.CredentialsError
		if !errors.As(err, &ce) || !errors.Is(err, access.ErrCredentials) || ce.Path != "roles" || ce.Line != c.line || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want line %d with %q", c.data, err, c.line, c.want)
		}
		if err != nil && strings.Contains(err.Error(), auditorToken) {
			t.Errorf("the error shows a token: %v", err)
		}
	}
	if _, err := access.LoadCertRoles(secretFile(t, "not a certificate\n", 0o644), secretFile(t, rules, 0o644), roles...); !errors.Is(err, access.ErrCredentials) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}
