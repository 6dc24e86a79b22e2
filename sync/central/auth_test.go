package central_test

import (
	"crypto/x509"
	"errors"
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

// TestCredentialFiles: the API's credentials files are agent/access's
// (tested there), with the API's roles, auditor and operator, and the
// API's *CredentialsError.
func TestCredentialFiles(t *testing.T) {
	tk, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tk.Lookup(operatorToken); !ok || got != (central.Principal{Name: "pharmacy", Role: central.RoleOperator}) {
		t.Errorf("Lookup(operator's token) = %+v %v", got, ok)
	}
	for _, c := range []struct {
		data, want string
		line       int
	}{
		{"", "central: tokens: no token in it", 0},
		{"\n" + auditorToken + " admin someone\n", `central: tokens line 2: unknown role "admin": want auditor or operator`, 2},
		{auditorToken + " local someone\n", `unknown role "local"`, 1},
		{auditorToken + " nurse someone\n", `unknown role "nurse"`, 1},
	} {
		_, err := central.ParseTokens("tokens", strings.NewReader(c.data))
		var ce *central.CredentialsError
		if !errors.As(err, &ce) || !errors.Is(err, central.ErrCredentials) || ce.Line != c.line || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want line %d with %q", c.data, err, c.line, c.want)
		}
	}
	path := tokensFile(t)
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	var ce *central.CredentialsError
	if _, err := central.LoadTokens(path); !errors.As(err, &ce) || !strings.Contains(err.Error(), "central: "+path+": mode 0640") {
		t.Errorf("mode 0640: %v", err)
	}
	if _, err := central.ReadTokenFile(path); !errors.As(err, &ce) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("token file of mode 0640: %v", err)
	}
	if _, err := central.LoadTokens(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}

	rules := "auditor cn:Audit Office\noperator email:pharmacy@hospital.example\n"
	cr, err := central.ParseCertRoles("roles", strings.NewReader(rules), x509.NewCertPool())
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := cr.Match(&x509.Certificate{EmailAddresses: []string{"pharmacy@hospital.example"}}); !ok || got != (central.Principal{Name: "email:pharmacy@hospital.example", Role: central.RoleOperator}) {
		t.Errorf("email rule: %+v %v", got, ok)
	}
	for _, c := range []struct{ data, want string }{
		{"", "central: roles: no rule in it"},
		{"nurse cn:x\n", `central: roles line 1: unknown role "nurse": want auditor or operator`},
	} {
		if _, err := central.ParseCertRoles("roles", strings.NewReader(c.data), x509.NewCertPool()); !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.data, err, c.want)
		}
	}
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	rolesFile := filepath.Join(dir, "roles")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600)
	os.WriteFile(rolesFile, []byte(rules), 0o600)
	if _, err := central.LoadCertRoles(notPEM, rolesFile); !errors.As(err, &ce) || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
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
