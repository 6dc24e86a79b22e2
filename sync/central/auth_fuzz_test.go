package central_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/sync/central"
)

// FuzzParseTokens reads any text as the API's tokens file, seeded with
// files as the documentation writes them (tokens, sums, comments) whole,
// cut in two and with their faults: either a *CredentialsError naming
// the file (and, for a bad line, the line) whose message never holds
// the token of that line, or tokens of which every line's token (not
// a sum) is looked up as its role and name, and one entry a line.
func FuzzParseTokens(f *testing.F) {
	tok := strings.Repeat("6f1c0d58b7e94a0e", 4)
	sum := sha256.Sum256([]byte("another token of enough characters, 0123"))
	good := "# TOKEN ROLE NAME\n" + tok + "  auditor   audit-office\n" +
		"sha256:" + hex.EncodeToString(sum[:]) + "\toperator pharmacy\n\n"
	for _, in := range []string{good, good[:len(good)/2],
		tok + " auditor a\n" + tok + " operator b\n",
		tok + " auditor a\n" + tok[1:] + "x operator a\n",
		tok + " root a\n", tok[:20] + " auditor a\n", tok + " auditor\n",
		tok + " auditor " + tok + tok + "\n", "auditor " + tok + " a\n",
		"sha256:abc auditor a\n", tok + "\u00e9 auditor a\n", "# nothing\n",
	} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tk, err := central.ParseTokens("tokens", strings.NewReader(in))
		if err != nil {
			var ce *central.CredentialsError
			switch {
			case errors.Is(err, bufio.ErrTooLong) && strings.Contains(err.Error(), "tokens"):
				return
			case !errors.As(err, &ce) || !errors.Is(err, central.ErrCredentials) || ce.Path != "tokens" || ce.Reason == "" || tk != nil:
				t.Fatalf("ParseTokens(%q) = %v, %v", in, tk, err)
			case ce.Line > 0:
				fields := strings.Fields(nthLine(in, ce.Line))
				if len(fields) == 0 {
					t.Fatalf("%v: the line named is blank", err)
				}
				secret := fields[0]
				if len(secret) >= central.MinTokenLength && !strings.HasPrefix(secret, "sha256:") && !strings.Contains(strings.Join(fields[1:], " "), secret) &&
					strings.Contains(err.Error(), secret) {
					t.Fatalf("the error shows the token: %v", err)
				}
			}
			return
		}
		n := 0
		for line := range strings.Lines(in) {
			fields := strings.Fields(line)
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			n++
			if len(fields) != 3 {
				t.Fatalf("line %q of %d fields accepted", line, len(fields))
			}
			if strings.HasPrefix(fields[0], "sha256:") {
				continue
			}
			p, ok := tk.Lookup(fields[0])
			if !ok || string(p.Role) != fields[1] || p.Name != fields[2] {
				t.Fatalf("line %q: the token is %+v, %v", line, p, ok)
			}
		}
		if tk.Len() != n {
			t.Fatalf("%d tokens from %d lines", tk.Len(), n)
		}
	})
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
