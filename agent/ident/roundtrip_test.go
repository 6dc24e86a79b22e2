package ident

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/epc"
)

// aiInValue matches a bracketed number the human-readable form reads as an
// Application Identifier.
var aiInValue = regexp.MustCompile(`\(\d{2,4}\)`)

// keyOutcome is how an item key the agent printed reads back.
type keyOutcome int

const (
	exact      keyOutcome = iota // Parse(k).Key() == k
	candidate                    // k is a further candidate (HIBC key ending in its check character)
	documented                   // one of the exceptions the package doc lists
)

// readBack parses the item key k and says how it came back; it fails the
// test when k is lost in a way the package doc does not name.
func readBack(t *testing.T, k string) keyOutcome {
	t.Helper()
	c, err := Parse(k)
	if err == nil && c.Key() == k {
		return exact
	}
	if err == nil && slices.ContainsFunc(c.Candidates(), func(x Code) bool { return x.Key() == k }) {
		if chk, _ := code.HIBCCheck(k[:len(k)-1]); k[0] != '+' || chk != k[len(k)-1] {
			t.Errorf("key %q is only a further candidate, and is no HIBC key ending in its check character", k)
		}
		return candidate
	}
	if isDocumentedException(k) {
		return documented
	}
	t.Errorf("key %q reads back as %q, %v", k, c.Key(), err)
	return documented
}

// isDocumentedException reports whether k is one of the keys the package
// doc says do not round-trip.
func isDocumentedException(k string) bool {
	if strings.HasPrefix(k, "(01)") && aiInValue.MatchString(k[4:]) && !aiInValue.MatchString(k[4:18]) {
		return true // rule 6: the value holds an AI
	}
	if k[0] == '+' {
		if _, rest, ok := strings.Cut(k, "/$"); ok && (rest[0] == '$' || rest[0] == '+') {
			return true // a lot beginning with $ or +
		}
		if strings.HasSuffix(k, " ") {
			return true // lost to trimming
		}
	}
	return false
}

const (
	ai82   = `0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!"%&'()*+,-./:;<=>?_`
	hibcCh = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $+%"
	alnum  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	// maAlnum and maValue: the characters of an MA category code and of
	// an MA unit's value (the MA set but '.').
	maAlnum = alnum + "abcdefghijklmnopqrstuvwxyz"
	maValue = maAlnum + "-@$,*+%/#!^~"
)

func randString(r *rand.Rand, set string, min, max int) string {
	b := make([]byte, min+r.IntN(max-min+1))
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// randValue returns a serial or lot of the GS1 AI character set, some with
// a bracketed number in them.
func randValue(r *rand.Rand) string {
	v := randString(r, ai82, 1, 20)
	if r.IntN(8) == 0 && len(v) <= 14 {
		v += "(" + strconv.Itoa(10+r.IntN(90)) + ")" + randString(r, "0123456789", 1, 2)
	}
	return v
}

func randGTIN(r *rand.Rand) string {
	g := randString(r, "0123456789", 13, 13)
	d, _ := code.CheckDigit(g)
	return g + strconv.Itoa(d)
}

// TestKeyRoundTrip checks, for every form of item key the agent produces,
// that Parse(key).Key() == key: GS1 keys from element strings as scanned,
// SGTIN keys from tag bytes, HIBC keys from labels, MA and AHM keys from
// their codes, raw tag keys from any other EPC with and without the PC
// toggle. The few keys that do not come
// back exactly must be ones the package doc names.
func TestKeyRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 42))
	count := map[keyOutcome]int{}
	var total int
	try := func(k string) {
		if k == "" {
			t.Fatal("an empty key was produced")
		}
		total++
		count[readBack(t, k)]++
	}
	for i := range 4000 {
		data := "01" + randGTIN(r)
		switch i % 3 {
		case 0:
			data += "21" + randValue(r)
		case 1:
			data += "10" + randValue(r)
		}
		c, err := code.Scan([]byte("]d2" + data))
		if err != nil {
			t.Fatalf("code.Scan(%q): %v", data, err)
		}
		try(c.Key())
	}
	for range 2000 {
		g := randGTIN(r)
		cp := 6 + r.IntN(7)
		var b []byte
		var err error
		if r.IntN(2) == 0 {
			b, err = epc.EncodeSGTIN96(g, strconv.FormatUint(r.Uint64N(1<<38), 10), r.IntN(8), cp)
		} else {
			b, err = epc.EncodeSGTIN198(g, randString(r, ai82, 1, 20), r.IntN(8), cp)
		}
		if err != nil {
			continue // the company prefix length does not fit the GTIN
		}
		try(epc.Key(b))
	}
	for range 4000 {
		prim := randString(r, alnum[10:], 1, 1) + randString(r, alnum, 3, 3) + randString(r, alnum, 1, 18) + randString(r, "0123456789", 1, 1)
		label := "+" + prim
		switch r.IntN(6) {
		case 1:
			label += "/$" + randString(r, hibcCh, 1, 18)
		case 2:
			label += "/$$7" + randString(r, hibcCh, 1, 18)
		case 3:
			label += "/$+" + randString(r, hibcCh, 1, 18)
		case 4:
			label += "/S" + randString(r, hibcCh, 1, 18)
		case 5:
			label += "/$$3260531" + randString(r, hibcCh, 1, 18) + "/S" + randString(r, hibcCh, 1, 18)
		}
		chk, _ := code.HIBCCheck(label)
		c, err := code.Scan([]byte(label + string(chk)))
		if err != nil || c.Kind != code.KindHIBC {
			continue // a field the label form itself refuses
		}
		try(c.Key())
	}
	for i := range 3000 {
		// MA codes (the dotted form; values hold any character of the MA
		// set but '.') and AHM codes (kept as read).
		di := "MA.156.M0." + randString(r, "0123456789", 6, 6) + "." + randString(r, "0123456789", 1, 1) + randString(r, maAlnum, 6, 10)
		chk, _ := code.MACheck(di)
		label := di + string(chk)
		switch i % 4 {
		case 1:
			label += ".L" + randString(r, maValue, 1, 20) + ".E" + "270531"
		case 2:
			label += ".M260101.S" + randString(r, maValue, 1, 20) + ".L" + randString(r, maValue, 1, 20)
		case 3:
			label = "MF" + randString(r, alnum, 1, 13) + "BA" + randString(r, maValue, 1, 20) + "*SN" + randString(r, maValue, 1, 20)
		}
		c, err := code.Scan([]byte("]Q1" + label))
		if err != nil || c.Kind != code.KindMA && c.Kind != code.KindAHM {
			t.Fatalf("code.Scan(%q): %v %v", label, c, err)
		}
		try(c.Key())
	}
	for range 3000 {
		b := []byte(randString(r, "\x00\x01\x2c\x30\x36\xe2\xff\x7e", 1, 1) + randString(r, string(rangeBytes()), 3, 61))
		if len(b)%2 != 0 {
			b = b[:len(b)-1]
		}
		pc := epc.PCFor(8 * len(b))
		if r.IntN(3) == 0 {
			pc |= epc.PCToggle | uint16(r.IntN(256))
		}
		try(epc.KeyWithPC(pc, b))
	}
	t.Logf("%d keys: %d exact, %d further candidates, %d documented exceptions", total, count[exact], count[candidate], count[documented])
	if count[exact] < total*95/100 {
		t.Errorf("only %d of %d keys read back exactly", count[exact], total)
	}
}

func rangeBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// TestHIBCKeyEndingInCheck pins rule 5 on a key that ends in the check
// character of the rest: it reads as a label first, with the key as a
// candidate.
func TestHIBCKeyEndingInCheck(t *testing.T) {
	// Find such a key among serials of one product.
	var k string
	for i := 0; k == ""; i++ {
		body := "+A99912345/S" + strconv.Itoa(i)
		chk, _ := code.HIBCCheck(body)
		if chk >= '0' && chk <= '9' || chk >= 'A' && chk <= 'Z' {
			k = body + string(chk)
		}
	}
	c, err := Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	cands := c.Candidates()
	if c.Kind != KindHIBC || c.Key() != k[:len(k)-1] || len(cands) != 2 || cands[1].Kind != KindItemKey || cands[1].Key() != k {
		t.Errorf("Parse(%q): %v %q, candidates %d; want the label %q first and the key second", k, c.Kind, c.Key(), len(cands), k[:len(k)-1])
	}
}
