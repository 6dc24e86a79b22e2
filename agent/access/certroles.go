package access

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
)

// CertRoles give client certificates roles: a certificate that the TLS
// handshake verified against CAs gets the role of the first rule that
// matches it.
type CertRoles[R ~string] struct {
	// CAs are the certificate authorities client certificates are
	// verified against.
	CAs   *x509.CertPool
	rules []certRule[R]
}

type certRule[R ~string] struct {
	field, value string
	role         R
}

// certFields are the parts of a certificate a rule may match, as a rule
// names them.
var certFields = []string{"cn", "dns", "email", "uri"}

// LoadCertRoles reads the PEM certificates of caFile and the rules of
// rolesFile (ParseCertRoles) giving the roles listed. Errors other than
// the files' own I/O errors are *CredentialsError.
func LoadCertRoles[R ~string](caFile, rolesFile string, roles ...R) (*CertRoles[R], error) {
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
	return ParseCertRoles(rolesFile, f, cas, roles...)
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
// ROLE is one of roles. cn: matches the subject's common name, dns:,
// email: and uri: a subject alternative name of that kind (dns: ignoring
// case); the value is the rest of the line (a run of spaces read as one),
// matched exactly, and a uri: value must be written as Go's net/url
// writes it back (else no certificate could match it). A certificate gets
// the role of the first rule it matches. Blank lines and lines starting
// with # are skipped; a file without a rule is an error. name names r in
// errors, which name the line.
func ParseCertRoles[R ~string](name string, r io.Reader, cas *x509.CertPool, roles ...R) (*CertRoles[R], error) {
	c := &CertRoles[R]{CAs: cas}
	err := eachLine(name, r, func(_ int, fields []string) error {
		if len(fields) < 2 {
			return errors.New("want ROLE KIND:VALUE, such as " + example(roles))
		}
		role, err := parseRole(fields[0], roles)
		if err != nil {
			return err
		}
		sel := strings.Join(fields[1:], " ")
		field, value, ok := strings.Cut(sel, ":")
		if !ok || value == "" || !slices.Contains(certFields, field) {
			return fmt.Errorf("%s: want cn:, dns:, email: or uri: and a value", shown(sel))
		}
		if field == "uri" {
			if u, err := url.Parse(value); err != nil || u.String() != value {
				return fmt.Errorf("%s: not a URI as a certificate holds it", shown(sel))
			}
		}
		c.rules = append(c.rules, certRule[R]{field: field, value: value, role: role})
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

// example is a rule of the first of roles, for an error.
func example[R ~string](roles []R) string {
	if len(roles) == 0 {
		return "ROLE cn:NAME"
	}
	return string(roles[0]) + " cn:NAME"
}

// Len returns the number of rules.
func (c *CertRoles[R]) Len() int { return len(c.rules) }

// Match returns the principal of a verified client certificate, named by
// the rule it matched ("cn:or3-screen"); false when it matches none.
func (c *CertRoles[R]) Match(cert *x509.Certificate) (Principal[R], bool) {
	for _, r := range c.rules {
		if r.matches(cert) {
			return Principal[R]{Name: r.field + ":" + r.value, Role: r.role}, true
		}
	}
	return Principal[R]{}, false
}

func (r certRule[R]) matches(cert *x509.Certificate) bool {
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
