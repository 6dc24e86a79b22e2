package central_test

import (
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

	"github.com/udi-edge/udi-edge/sync/central"
)

const (
	auditorToken  = "auditor-0123456789abcdef0123456789abcdef"
	operatorToken = "operator-0123456789abcdef0123456789abcdef"
)

// tokensFile writes the tokens of an auditor and an operator, mode 0600.
func tokensFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	data := "# TOKEN ROLE NAME\n\n" + auditorToken + " auditor audit-office\n" + operatorToken + "   operator\tpharmacy\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokens(t *testing.T) {
	tk, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if tk.Len() != 2 {
		t.Fatalf("%d tokens, want 2", tk.Len())
	}
	for _, c := range []struct {
		token string
		want  central.Principal
		ok    bool
	}{
		{auditorToken, central.Principal{Name: "audit-office", Role: central.RoleAuditor}, true},
		{operatorToken, central.Principal{Name: "pharmacy", Role: central.RoleOperator}, true},
		{auditorToken[:len(auditorToken)-1], central.Principal{}, false},
		{auditorToken + "x", central.Principal{}, false},
		{"", central.Principal{}, false},
	} {
		if got, ok := tk.Lookup(c.token); ok != c.ok || got != c.want {
			t.Errorf("Lookup(%q) = %+v %v, want %+v %v", c.token, got, ok, c.want, c.ok)
		}
	}

	// A file may hold the token's SHA-256 instead of the token; the sum
	// itself is no credential.
	sum := sha256.Sum256([]byte(auditorToken))
	tk, err = central.ParseTokens("tokens", strings.NewReader("sha256:"+hex.EncodeToString(sum[:])+" auditor audit\n"))
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
	} {
		_, err := central.ParseTokens("tokens", strings.NewReader(c.data))
		var ce *central.CredentialsError
		if !errors.As(err, &ce) || !errors.Is(err, central.ErrCredentials) || ce.Line != c.line || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want line %d with %q", c.data, err, c.line, c.want)
			continue
		}
		if strings.Contains(err.Error(), auditorToken) || strings.Contains(err.Error(), operatorToken) {
			t.Errorf("the error shows a token: %v", err)
		}
	}
}

// TestTokensFileMode: a tokens file others may read is refused, naming
// its mode and the fix.
func TestTokensFileMode(t *testing.T) {
	path := tokensFile(t)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := central.LoadTokens(path)
		if !errors.Is(err, central.ErrCredentials) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: %v, want a refusal naming chmod 600", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := central.LoadTokens(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
	if _, err := central.LoadTokens(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRoleMay(t *testing.T) {
	for _, c := range []struct {
		role                   central.Role
		read, patient, publish bool
	}{
		{central.RoleAuditor, true, true, false},
		{central.RoleOperator, true, false, true},
		{central.RoleLocal, true, true, true},
		{"admin", false, false, false},
		{"", false, false, false},
	} {
		if c.role.May(central.PermRead) != c.read || c.role.May(central.PermPatient) != c.patient || c.role.May(central.PermPublish) != c.publish {
			t.Errorf("role %q: want read %v patient %v publish %v", c.role, c.read, c.patient, c.publish)
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
	cr, err := central.ParseCertRoles("roles", strings.NewReader(rules), x509.NewCertPool())
	if err != nil {
		t.Fatal(err)
	}
	spiffe, _ := url.Parse("spiffe://hospital.example/pharmacy")
	for _, c := range []struct {
		cert *x509.Certificate
		want central.Principal
	}{
		{&x509.Certificate{Subject: pkix.Name{CommonName: "Audit Office"}}, central.Principal{Name: "cn:Audit Office", Role: central.RoleAuditor}},
		{&x509.Certificate{Subject: pkix.Name{CommonName: "audit office"}}, central.Principal{}},
		{&x509.Certificate{DNSNames: []string{"x.example", "Pharmacy-WS1.hospital.example"}}, central.Principal{Name: "dns:pharmacy-ws1.hospital.example", Role: central.RoleOperator}},
		{&x509.Certificate{EmailAddresses: []string{"dpo@hospital.example"}}, central.Principal{Name: "email:dpo@hospital.example", Role: central.RoleAuditor}},
		{&x509.Certificate{URIs: []*url.URL{spiffe}}, central.Principal{Name: "uri:spiffe://hospital.example/pharmacy", Role: central.RoleOperator}},
		// The first rule that matches wins.
		{&x509.Certificate{Subject: pkix.Name{CommonName: "both"}, DNSNames: []string{"both.hospital.example"}}, central.Principal{Name: "dns:both.hospital.example", Role: central.RoleAuditor}},
		// A DNS name in the common name matches cn: only.
		{&x509.Certificate{Subject: pkix.Name{CommonName: "pharmacy-ws1.hospital.example"}}, central.Principal{}},
	} {
		got, ok := cr.Match(c.cert)
		if got != c.want || ok != (c.want.Role != "") {
			t.Errorf("certificate %v %v %v %v: %+v %v, want %+v", c.cert.Subject, c.cert.DNSNames, c.cert.EmailAddresses, c.cert.URIs, got, ok, c.want)
		}
	}
	for _, c := range []struct{ data, want string }{
		{"", "no rule in it"},
		{"auditor\n", "want ROLE KIND:VALUE"},
		{"root cn:x\n", `unknown role "root"`},
		{"auditor ou:x\n", `"ou:x": want cn:, dns:, email: or uri:`},
		{"auditor cn:\n", "want cn:"},
	} {
		if _, err := central.ParseCertRoles("roles", strings.NewReader(c.data), x509.NewCertPool()); !errors.Is(err, central.ErrCredentials) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.data, err, c.want)
		}
	}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	rolesFile := filepath.Join(dir, "roles")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	os.WriteFile(rolesFile, []byte(rules), 0o600)
	if _, err := central.LoadCertRoles(notPEM, rolesFile); !errors.Is(err, central.ErrCredentials) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}
