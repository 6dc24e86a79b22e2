package access_test

import (
	"bufio"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/access"
)

// fuzzRoles are the station page's and the centre's roles together, so
// that both callers' files are seeds.
var fuzzRoles = []role{"nurse", "warehouse", "auditor", "operator"}

// tokensSeeds are tokens files as the tests and the documentation write
// them, and their faults.
func tokensSeeds() []string {
	tok := strings.Repeat("6f1c0d58b7e94a0e", 4)
	sum := sha256.Sum256([]byte("another token of enough characters, 0123"))
	good := "# TOKEN ROLE NAME\n" + tok + "  auditor   audit-office\n" +
		"sha256:" + hex.EncodeToString(sum[:]) + "\toperator pharmacy\n\n"
	return []string{tokensFile, good,
		tok + " nurse or3-screen\r\n" + auditorToken + " warehouse store@ward-3\r\n",
		tok + " auditor a\n" + tok + " operator b\n",
		tok + " auditor a\n" + tok[1:] + "x operator a\n",
		tok + " root a\n", tok[:20] + " auditor a\n", tok + " auditor\n",
		tok + " auditor " + tok + tok + "\n", "auditor " + tok + " a\n",
		tok + " " + tok + " a\n", "a-name " + tok + " auditor\n",
		"sha256:abc auditor a\n", tok + "\u00e9 auditor a\n", "# nothing\n",
		"  # indented comment\n" + tok + " nurse n\n",
	}
}

// certRolesSeeds are certificate-roles files as the tests and the
// documentation write them, and their faults.
func certRolesSeeds() []string {
	return []string{
		"# ROLE CERTIFICATE\nauditor   cn:Audit Office\noperator  dns:pharmacy-ws1.hospital.example\n" +
			"auditor   email:dpo@hospital.example\noperator  uri:spiffe://hospital.example/pharmacy\n" +
			"auditor   dns:both.hospital.example\noperator  cn:both\n",
		"nurse cn:or3-screen\nauditor dns:audit-ws1.hospital.example\n",
		"auditor cn:client\n", "warehouse dns:A.example\nnurse dns:a.EXAMPLE\n",
		"auditor\n", "root cn:x\n", "auditor ou:x\n", "auditor cn:\n", "auditor cn:a  b\n",
		"auditor uri:spiffe://hospital.example/a b\n", "auditor uri:%zz\n", "operator uri:HTTP://X/%41\n",
		tokensFile, auditorToken + " auditor a\n", "auditor " + auditorToken + "\n",
	}
}

// addSplit adds each seed, whole and cut in two.
func addSplit(f *testing.F, seeds []string) {
	for _, s := range seeds {
		f.Add(s)
		f.Add(s[:len(s)/2])
		f.Add(s[len(s)/2:])
	}
}

// checkRefusal checks the error of a file named name read from in: a
// *CredentialsError naming the file and, for a line, a line that is
// there and neither blank nor a comment; its text holds no field of the
// file that could be a token (MinTokenLength visible ASCII characters).
func checkRefusal(t *testing.T, name, in string, err error) {
	t.Helper()
	var ce *access.CredentialsError
	if !errors.As(err, &ce) || !errors.Is(err, access.ErrCredentials) || ce.Path != name || ce.Reason == "" {
		t.Fatalf("%q: %v, want a *CredentialsError of %s", in, err, name)
	}
	if ce.Line > 0 && !strings.Contains(ce.Reason, "longer than") {
		line := strings.TrimSpace(nthLine(in, ce.Line))
		if line == "" || line[0] == '#' {
			t.Fatalf("%q: %v: the line named is %q", in, err, line)
		}
	}
	for _, field := range strings.Fields(in) {
		if len(field) >= access.MinTokenLength && visibleASCII(field) && strings.Contains(err.Error(), field) {
			t.Fatalf("%q: the error shows %q: %v", in, field, err)
		}
	}
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ruleLines returns the fields of the lines of in that are neither blank
// nor comments, as bufio.Scanner splits them.
func ruleLines(in string) [][]string {
	var out [][]string
	sc := bufio.NewScanner(strings.NewReader(in))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && line[0] != '#' {
			out = append(out, strings.Fields(line))
		}
	}
	return out
}

// nthLine is line n (from 1) of s, as bufio.Scanner splits it.
func nthLine(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for i := 1; sc.Scan(); i++ {
		if i == n {
			return sc.Text()
		}
	}
	return ""
}

// FuzzParseTokens reads any text as a tokens file: either a refusal
// (checkRefusal: file and line named, no token shown), or tokens of
// which there is one a line, every line's token (not a sum) looked up as
// its role and name, and the same tokens when the file is read again.
func FuzzParseTokens(f *testing.F) {
	addSplit(f, tokensSeeds())
	f.Fuzz(func(t *testing.T, in string) {
		tk, err := access.ParseTokens("tokens", strings.NewReader(in), fuzzRoles...)
		if err != nil {
			if tk != nil {
				t.Fatalf("%q: tokens and an error", in)
			}
			checkRefusal(t, "tokens", in, err)
			return
		}
		lines := ruleLines(in)
		if tk.Len() != len(lines) {
			t.Fatalf("%q: %d tokens from %d lines", in, tk.Len(), len(lines))
		}
		for _, fields := range lines {
			if len(fields) != 3 {
				t.Fatalf("line %q of %d fields accepted", fields, len(fields))
			}
			if strings.HasPrefix(fields[0], "sha256:") {
				continue
			}
			p, ok := tk.Lookup(fields[0])
			if !ok || string(p.Role) != fields[1] || p.Name != fields[2] {
				t.Fatalf("line %q: the token is %+v, %v", fields, p, ok)
			}
		}
		again, err := access.ParseTokens("tokens", strings.NewReader(in), fuzzRoles...)
		if err != nil || !reflect.DeepEqual(tk, again) {
			t.Fatalf("%q read again: %v", in, err)
		}
	})
}

// FuzzParseCertRoles reads any text as a certificate-roles file: either
// a refusal (checkRefusal), or one rule a line, of which a certificate
// holding just what a rule names gets the role of the first rule that
// names the same (dns: ignoring case), an empty certificate none, and
// the same rules when the file is read again.
func FuzzParseCertRoles(f *testing.F) {
	addSplit(f, certRolesSeeds())
	f.Fuzz(func(t *testing.T, in string) {
		cas := x509.NewCertPool()
		cr, err := access.ParseCertRoles("roles", strings.NewReader(in), cas, fuzzRoles...)
		if err != nil {
			if cr != nil {
				t.Fatalf("%q: rules and an error", in)
			}
			checkRefusal(t, "roles", in, err)
			return
		}
		lines := ruleLines(in)
		if cr.Len() != len(lines) || cr.CAs != cas {
			t.Fatalf("%q: %d rules from %d lines", in, cr.Len(), len(lines))
		}
		type rule struct{ role, field, value string }
		rules := make([]rule, len(lines))
		for i, fields := range lines {
			field, value, _ := strings.Cut(strings.Join(fields[1:], " "), ":")
			rules[i] = rule{fields[0], field, value}
		}
		for _, r := range rules {
			cert := &x509.Certificate{}
			switch r.field {
			case "cn":
				cert.Subject = pkix.Name{CommonName: r.value}
			case "dns":
				cert.DNSNames = []string{r.value}
			case "email":
				cert.EmailAddresses = []string{r.value}
			case "uri":
				u, err := url.Parse(r.value)
				if err != nil {
					t.Fatalf("uri:%q accepted: %v", r.value, err)
				}
				cert.URIs = []*url.URL{u}
			default:
				t.Fatalf("rule %+v accepted", r)
			}
			var want access.Principal[role]
			for _, s := range rules {
				if s.field == r.field && (s.value == r.value || s.field == "dns" && strings.EqualFold(s.value, r.value)) {
					want = access.Principal[role]{Name: s.field + ":" + s.value, Role: role(s.role)}
					break
				}
			}
			if got, ok := cr.Match(cert); !ok || got != want {
				t.Fatalf("%q: the certificate of rule %+v is %+v %v, want %+v", in, r, got, ok, want)
			}
		}
		if p, ok := cr.Match(&x509.Certificate{}); ok {
			t.Fatalf("%q: an empty certificate is %+v", in, p)
		}
		again, err := access.ParseCertRoles("roles", strings.NewReader(in), cas, fuzzRoles...)
		if err != nil || !reflect.DeepEqual(cr, again) {
			t.Fatalf("%q read again: %v", in, err)
		}
	})
}
