package sign

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// whereRE is where an enrolment error says the fault is: the file and
// its line.
var whereRE = regexp.MustCompile(`gw\.txt:( line )?[1-9][0-9]*: `)

// FuzzParseEnrolment reads any text as the centre's enrolment file,
// seeded with a file as the tests write it (comments, tabs, a trailing
// comment) whole, cut in two and with its faults (a key listed twice, a
// gateway twice, a bad id, a short key): either an error wrapping
// ErrEnrolment that names the file and a line, or an enrolment holding
// exactly the gateways its lines list, each under the key its line
// gives; and every key accepted is written by FormatPublic as its text.
func FuzzParseEnrolment(f *testing.F) {
	var pubs []string
	for i := range 3 {
		seed := bytes.Repeat([]byte{byte('a' + i)}, ed25519.SeedSize)
		pubs = append(pubs, FormatPublic(Public(ed25519.NewKeyFromSeed(seed))))
	}
	good := "# st-marys\n\nst-marys or-3 " + pubs[0] + "\n" +
		"st-marys\twh-1\t" + pubs[1] + "   # warehouse\n" +
		"north or-3 " + pubs[2] + "\r\n"
	for _, in := range []string{good, good[:len(good)/2],
		"a g " + pubs[0] + "\nb g " + pubs[0] + "\n",
		"a g " + pubs[0] + "\na g " + pubs[1] + "\n",
		"A/B g " + pubs[0] + "\n",
		"a g ed25519:AAAA\n",
		"a g " + pubs[0] + " extra\n",
		"a g " + strings.TrimPrefix(pubs[0], PublicPrefix) + "\n",
		"a g " + pubs[0][:len(pubs[0])-1] + "=\n",
		strings.Repeat("#", maxEnrolmentLine+1) + "\n",
	} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		e, err := ParseEnrolment(strings.NewReader(in), "gw.txt")
		if err != nil {
			if e != nil || !errors.Is(err, ErrEnrolment) || !whereRE.MatchString(err.Error()) {
				t.Fatalf("ParseEnrolment(%q) = %v, %v", in, e, err)
			}
			return
		}
		n := 0
		for line := range strings.Lines(in) {
			text, _, _ := strings.Cut(line, "#")
			fields := strings.Fields(text)
			if len(fields) == 0 {
				continue
			}
			n++
			if len(fields) != 3 {
				t.Fatalf("line %q of %d fields accepted", line, len(fields))
			}
			k, ok := e.Key(fields[0], fields[1])
			if !ok || FormatPublic(k) != fields[2] {
				t.Fatalf("line %q: enrolled %v under %q", line, ok, FormatPublic(k))
			}
		}
		if e.Len() != n {
			t.Fatalf("%d gateways enrolled from %d lines of %q", e.Len(), n, in)
		}
	})
}
