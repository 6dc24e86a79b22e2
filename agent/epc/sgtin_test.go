package epc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// extra198 holds expectations for the sgtin198 vectors that the vector file
// leaves out, taken from the same sources: the TDS Annex E SGTIN-198 example
// (urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb) and the nedap/retail-epcpy
// test (urn:epc:tag:sgtin-198:1.50712192365.88..%25:.13%26).
var extra198 = map[string]sgtinExpected{
	"3674257BF6B7A659B2C2BF1000000000000000000000000000": {
		PureURI:       "urn:epc:id:sgtin:0614141.712345.32a%2Fb",
		TagURI:        "urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb",
		ElementString: "(01)70614141123451(21)32a/b",
		DigitalLink:   "https://id.gs1.org/01/70614141123451/21/32a%2Fb",
		FilterName:    "Reserved",
	},
	"3634257BF7194E5B3770E40000000000000000000000000000": {
		PureURI:       "urn:epc:id:sgtin:0614141.812345.6789",
		TagURI:        "urn:epc:tag:sgtin-198:1.0614141.812345.6789",
		ElementString: "(01)80614141123458(21)6789",
		FilterName:    "Point of Sale (POS) trade item",
	},
	"362579D5D4ADB6172574B98B34C0000000000000000000000000": {
		PureURI:       "urn:epc:id:sgtin:50712192365.88..%25:.13%26",
		TagURI:        "urn:epc:tag:sgtin-198:1.50712192365.88..%25:.13%26",
		ElementString: "(01)85071219236581(21).%:.13&",
		DigitalLink:   "https://id.gs1.org/01/85071219236581/21/.%25%3A.13%26",
	},
}

func checkSGTIN(t *testing.T, got SGTIN, scheme string, want sgtinExpected) {
	t.Helper()
	eq := func(field, got, want string) {
		t.Helper()
		if want != "" && got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	eq("Scheme", got.Scheme, scheme)
	if got.Filter != want.Filter {
		t.Errorf("Filter = %d, want %d", got.Filter, want.Filter)
	}
	if got.Partition != want.Partition {
		t.Errorf("Partition = %d, want %d", got.Partition, want.Partition)
	}
	eq("CompanyPrefix", got.CompanyPrefix, want.CompanyPrefix)
	eq("ItemRef", got.ItemRef, want.ItemRef)
	eq("Serial", got.Serial, want.Serial)
	eq("GTIN", got.GTIN, want.GTIN)
	eq("PureURI", got.PureURI(), want.PureURI)
	eq("TagURI", got.TagURI(), want.TagURI)
	eq("ElementString", got.ElementString(), want.ElementString)
	eq("DigitalLink", got.DigitalLink(), want.DigitalLink)
	eq("FilterName", got.FilterName(), want.FilterName)
}

func merge(a, b sgtinExpected) sgtinExpected {
	if b.PureURI != "" {
		a.PureURI = b.PureURI
	}
	if b.TagURI != "" {
		a.TagURI = b.TagURI
	}
	if b.ElementString != "" {
		a.ElementString = b.ElementString
	}
	if b.DigitalLink != "" {
		a.DigitalLink = b.DigitalLink
	}
	if b.FilterName != "" {
		a.FilterName = b.FilterName
	}
	return a
}

func TestDecodeSGTIN96Vectors(t *testing.T) {
	for _, v := range loadVectors(t).SGTIN96 {
		t.Run(v.InputHex, func(t *testing.T) {
			epc := mustHex(t, v.InputHex)
			if h := "0x" + hex.EncodeToString(epc[:1]); !strings.EqualFold(h, v.Expected.Header) {
				t.Errorf("header %s, vector says %s", h, v.Expected.Header)
			}
			got, err := Decode(epc)
			if err != nil {
				t.Fatalf("Decode: %v (source: %s)", err, v.Source)
			}
			checkSGTIN(t, got, Scheme96, v.Expected)
			if k := Key(epc); k != v.Expected.ElementString {
				t.Errorf("Key = %q, want %q", k, v.Expected.ElementString)
			}

			// Re-encoding gives the exact bytes.
			enc, err := EncodeSGTIN96(got.GTIN, got.Serial, got.Filter, len(got.CompanyPrefix))
			if err != nil {
				t.Fatalf("EncodeSGTIN96: %v", err)
			}
			if !bytes.Equal(enc, epc) {
				t.Errorf("EncodeSGTIN96 = %X, want %X", enc, epc)
			}

			// Both URI forms parse back.
			fromTag, err := ParseURI(v.Expected.TagURI)
			if err != nil {
				t.Fatalf("ParseURI(tag): %v", err)
			}
			if fromTag != got {
				t.Errorf("ParseURI(tag) = %+v, want %+v", fromTag, got)
			}
			fromPure, err := ParseURI(v.Expected.PureURI)
			if err != nil {
				t.Fatalf("ParseURI(pure): %v", err)
			}
			want := got
			want.Scheme, want.Filter = "", 0
			if fromPure != want {
				t.Errorf("ParseURI(pure) = %+v, want %+v", fromPure, want)
			}
		})
	}
}

func TestDecodeSGTIN198Vectors(t *testing.T) {
	for _, v := range loadVectors(t).SGTIN198 {
		t.Run(v.InputHex, func(t *testing.T) {
			epc := mustHex(t, v.InputHex)
			got, err := Decode(epc)
			if err != nil {
				t.Fatalf("Decode: %v (source: %s)", err, v.Source)
			}
			want := merge(v.Expected, extra198[v.InputHex])
			checkSGTIN(t, got, Scheme198, want)

			// Re-encoding gives the same 198 bits, padded to 13 words.
			enc, err := EncodeSGTIN198(got.GTIN, got.Serial, got.Filter, len(got.CompanyPrefix))
			if err != nil {
				t.Fatalf("EncodeSGTIN198: %v", err)
			}
			padded := make([]byte, 26)
			copy(padded, epc)
			if !bytes.Equal(enc, padded) {
				t.Errorf("EncodeSGTIN198 = %X, want %X", enc, padded)
			}

			// The byte-padded (25) and word-padded (26) forms are the same
			// item.
			for _, n := range []int{25, 26} {
				again, err := Decode(padded[:n])
				if err != nil || again != got {
					t.Errorf("Decode(%d bytes) = %+v, %v; want %+v", n, again, err, got)
				}
				if k := Key(padded[:n]); k != got.ElementString() {
					t.Errorf("Key(%d bytes) = %q, want %q", n, k, got.ElementString())
				}
			}

			fromTag, err := ParseURI(got.TagURI())
			if err != nil || fromTag != got {
				t.Errorf("ParseURI(%q) = %+v, %v; want %+v", got.TagURI(), fromTag, err, got)
			}
			fromPure, err := ParseURI(got.PureURI())
			wantPure := got
			wantPure.Scheme, wantPure.Filter = "", 0
			if err != nil || fromPure != wantPure {
				t.Errorf("ParseURI(%q) = %+v, %v; want %+v", got.PureURI(), fromPure, err, wantPure)
			}
		})
	}
}

// TestVectorPCWords checks each SGTIN vector's PC word and reads the vector
// back through ParseHex as PC word + EPC padded to whole words.
func TestVectorPCWords(t *testing.T) {
	v := loadVectors(t)
	check := func(t *testing.T, sv sgtinVector, bits int) {
		pc := mustHex(t, sv.PCWord)
		word := uint16(pc[0])<<8 | uint16(pc[1])
		if got := PCFor(bits); got != word {
			t.Errorf("PCFor(%d) = %04X, vector pc_word %s", bits, got, sv.PCWord)
		}
		n := PCLength(word)
		epc := make([]byte, n)
		copy(epc, mustHex(t, sv.InputHex))
		gotPC, hasPC, gotEPC, err := ParseHex(sv.PCWord + hex.EncodeToString(epc))
		if err != nil || !hasPC || gotPC != word || !bytes.Equal(gotEPC, epc) {
			t.Errorf("ParseHex(PC+EPC) = %04X %v %X %v", gotPC, hasPC, gotEPC, err)
		}
		if _, err := Decode(gotEPC); err != nil {
			t.Errorf("Decode(EPC from PC length): %v", err)
		}
		_, hasPC, gotEPC, err = ParseHex(sv.InputHex)
		if err != nil || hasPC || !bytes.Equal(gotEPC, mustHex(t, sv.InputHex)) {
			t.Errorf("ParseHex(EPC) = %v %X %v", hasPC, gotEPC, err)
		}
	}
	for _, sv := range v.SGTIN96 {
		t.Run(sv.InputHex, func(t *testing.T) { check(t, sv, 96) })
	}
	for _, sv := range v.SGTIN198 {
		t.Run(sv.InputHex, func(t *testing.T) { check(t, sv, 198) })
	}
}

// refEncode96 is an independent SGTIN-96 encoder for the tests: the fields
// placed into one 96-bit integer.
func refEncode96(filter, part int, cp, ir, serial uint64) []byte {
	p := partitions[part]
	v := new(big.Int).SetUint64(header96)
	shift := func(n int, x uint64) {
		v.Lsh(v, uint(n))
		v.Or(v, new(big.Int).SetUint64(x))
	}
	shift(3, uint64(filter))
	shift(3, uint64(part))
	shift(p.cpBits, cp)
	shift(p.irBits, ir)
	shift(38, serial)
	return v.FillBytes(make([]byte, 12))
}

func gtinOf(cp, ir string) string {
	g := ir[:1] + cp + ir[1:]
	return g + string(checkDigit([]byte(g)))
}

func TestEveryPartition(t *testing.T) {
	for part := 0; part <= 6; part++ {
		p := partitions[part]
		if p.cpBits+p.irBits != 44 || p.cpDigits+p.irDigits != 13 || p.cpDigits != 12-part {
			t.Fatalf("partition %d row %+v does not add up", part, p)
		}
		// Largest values of the partition, and small ones with leading
		// zeros.
		cases := []struct{ cp, ir string }{
			{strings.Repeat("9", p.cpDigits), strings.Repeat("9", p.irDigits)},
			{"0" + strings.Repeat("1", p.cpDigits-1), "0" + strings.Repeat("2", p.irDigits-1)},
		}
		for _, c := range cases {
			gtin := gtinOf(c.cp, c.ir)
			for _, serial := range []string{"0", "1", "274877906943"} {
				enc, err := EncodeSGTIN96(gtin, serial, part%8, p.cpDigits)
				if err != nil {
					t.Fatalf("partition %d: EncodeSGTIN96(%s, %s): %v", part, gtin, serial, err)
				}
				var cpv, irv, sv uint64
				for _, d := range c.cp {
					cpv = cpv*10 + uint64(d-'0')
				}
				for _, d := range c.ir {
					irv = irv*10 + uint64(d-'0')
				}
				for _, d := range serial {
					sv = sv*10 + uint64(d-'0')
				}
				if ref := refEncode96(part%8, part, cpv, irv, sv); !bytes.Equal(enc, ref) {
					t.Errorf("partition %d: EncodeSGTIN96 = %X, reference %X", part, enc, ref)
				}
				got, err := Decode(enc)
				if err != nil {
					t.Fatalf("partition %d: Decode(%X): %v", part, enc, err)
				}
				want := SGTIN{Scheme: Scheme96, Filter: part % 8, Partition: part, CompanyPrefix: c.cp, ItemRef: c.ir, Serial: serial, GTIN: gtin}
				if got != want {
					t.Errorf("partition %d: Decode = %+v, want %+v", part, got, want)
				}
				enc198, err := EncodeSGTIN198(gtin, serial, 7-part, p.cpDigits)
				if err != nil {
					t.Fatalf("EncodeSGTIN198: %v", err)
				}
				got, err = Decode(enc198)
				want.Scheme, want.Filter = Scheme198, 7-part
				if err != nil || got != want {
					t.Errorf("partition %d: Decode(198) = %+v, %v; want %+v", part, got, err, want)
				}
			}
		}
	}
}

func TestB5CapturedEPC(t *testing.T) {
	// The EPC of notification B5 in bb7e-frames.json, a captured SGTIN-96;
	// the expected fields come from an independent decoder.
	got, err := Decode(mustHex(t, "30751FEB705C5904E3D50D70"))
	if err != nil {
		t.Fatal(err)
	}
	want := SGTIN{Scheme: Scheme96, Filter: 3, Partition: 5, CompanyPrefix: "4717276", ItemRef: "094564", Serial: "21002259824", GTIN: "04717276945640"}
	if got != want {
		t.Errorf("Decode = %+v, want %+v", got, want)
	}
}

func TestFilterNames(t *testing.T) {
	want := []string{
		"All others",
		"Point of Sale (POS) trade item",
		"Full case for transport",
		"Reserved",
		"Inner pack trade item grouping for handling",
		"Reserved",
		"Unit load",
		"Unit inside trade item or component inside a product not intended for individual sale",
	}
	for f, w := range want {
		if got := (SGTIN{Filter: f}).FilterName(); got != w {
			t.Errorf("FilterName(%d) = %q, want %q", f, got, w)
		}
	}
	for _, f := range []int{-1, 8} {
		if got := (SGTIN{Filter: f}).FilterName(); got != "" {
			t.Errorf("FilterName(%d) = %q, want \"\"", f, got)
		}
	}
}

func TestSerialEscaping(t *testing.T) {
	// Every character of the GS1 AI character set 82 in one SGTIN-198
	// serial (split over several since a serial holds 20).
	all := `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`
	if len(all) != 82 {
		t.Fatalf("character set has %d characters", len(all))
	}
	gtin := "80614141123458"
	for i := 0; i < len(all); i += 20 {
		serial := all[i:min(i+20, len(all))]
		enc, err := EncodeSGTIN198(gtin, serial, 1, 7)
		if err != nil {
			t.Fatalf("EncodeSGTIN198(%q): %v", serial, err)
		}
		s, err := Decode(enc)
		if err != nil || s.Serial != serial {
			t.Fatalf("Decode = %q, %v; want %q", s.Serial, err, serial)
		}
		uri := s.PureURI()
		for _, c := range []string{`"`, "&", "/", "<", ">", "?"} {
			if strings.Contains(uri[len("urn:epc:id:sgtin:"):], c) {
				t.Errorf("PureURI %q contains unescaped %s", uri, c)
			}
		}
		back, err := ParseURI(uri)
		if err != nil || back.Serial != serial {
			t.Errorf("ParseURI(%q) = %q, %v; want %q", uri, back.Serial, err, serial)
		}
	}
	cases := map[string]string{
		`a"b`: "a%22b", "a%b": "a%25b", "a&b": "a%26b", "a/b": "a%2Fb",
		"a<b": "a%3Cb", "a>b": "a%3Eb", "a?b": "a%3Fb", "a!'()*+,-.:;=_b": "a!'()*+,-.:;=_b",
	}
	for serial, want := range cases {
		if got := escapeSerial(serial); got != want {
			t.Errorf("escapeSerial(%q) = %q, want %q", serial, got, want)
		}
	}
	// Lower-case hex and escaped plain characters are accepted.
	s, err := ParseURI("urn:epc:id:sgtin:0614141.712345.32a%2fb%41")
	if err != nil || s.Serial != "32a/bA" {
		t.Errorf("ParseURI lower-case escape = %q, %v", s.Serial, err)
	}
	// Digital Link percent-encodes all but unreserved characters.
	dl := SGTIN{GTIN: gtin, Serial: `A-1._~!"%&'()*+,/:;<=>?`}.DigitalLink()
	if want := "https://id.gs1.org/01/80614141123458/21/A-1._~%21%22%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F"; dl != want {
		t.Errorf("DigitalLink = %q, want %q", dl, want)
	}
}

func TestParseURIForms(t *testing.T) {
	want := SGTIN{Scheme: Scheme96, Filter: 3, Partition: 5, CompanyPrefix: "0614141", ItemRef: "812345", Serial: "6789", GTIN: "80614141123458"}
	for _, uri := range []string{
		"urn:epc:tag:sgtin-96:3.0614141.812345.6789",
		"urn:epc:tag:[umi=1]sgtin-96:3.0614141.812345.6789",
		"urn:epc:tag:[att=x01][xpc=x1234]sgtin-96:3.0614141.812345.6789",
	} {
		got, err := ParseURI(uri)
		if err != nil || got != want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", uri, got, err, want)
		}
	}
	// A pure identity has no scheme; TagURI picks one the serial fits.
	for uri, tag := range map[string]string{
		"urn:epc:id:sgtin:0614141.812345.6789":                 "urn:epc:tag:sgtin-96:0.0614141.812345.6789",
		"urn:epc:id:sgtin:0614141.812345.06789":                "urn:epc:tag:sgtin-198:0.0614141.812345.06789",
		"urn:epc:id:sgtin:0614141.812345.274877906944":         "urn:epc:tag:sgtin-198:0.0614141.812345.274877906944",
		"urn:epc:id:sgtin:0614141.812345.274877906943":         "urn:epc:tag:sgtin-96:0.0614141.812345.274877906943",
		"urn:epc:id:sgtin:0614141.712345.32a%2Fb":              "urn:epc:tag:sgtin-198:0.0614141.712345.32a%2Fb",
		"urn:epc:id:sgtin:50712192365.88..%25:.13%26":          "urn:epc:tag:sgtin-198:0.50712192365.88..%25:.13%26",
		"urn:epc:id:sgtin:000000000000.9.0":                    "urn:epc:tag:sgtin-96:0.000000000000.9.0",
		"urn:epc:id:sgtin:999999.9999999.ABCDEFGHIJ0123456789": "urn:epc:tag:sgtin-198:0.999999.9999999.ABCDEFGHIJ0123456789",
	} {
		s, err := ParseURI(uri)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", uri, err)
			continue
		}
		if s.Scheme != "" || s.Filter != 0 || s.Partition != 12-len(s.CompanyPrefix) {
			t.Errorf("ParseURI(%q) = %+v", uri, s)
		}
		if got := s.TagURI(); got != tag {
			t.Errorf("TagURI of %q = %q, want %q", uri, got, tag)
		}
		if got := s.PureURI(); got != uri {
			t.Errorf("PureURI = %q, want %q", got, uri)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	// A valid SGTIN-96 to break field by field.
	base := mustHex(t, "3074257BF7194E4000001A85")
	with := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), base...)
		return f(b)
	}
	set := func(b []byte, off, n int, v uint64) {
		for i := 0; i < n; i++ {
			bit := off + i
			b[bit>>3] &^= 0x80 >> (bit & 7)
		}
		putBits(b, off, n, v)
	}
	tag198 := func(serial []byte) []byte {
		b, err := EncodeSGTIN198("80614141123458", "X", 1, 7)
		if err != nil {
			t.Fatal(err)
		}
		set(b, offSerial, 140, 0)
		for i, c := range serial {
			set(b, offSerial+7*i, 7, uint64(c))
		}
		return b
	}
	cases := []struct {
		name   string
		epc    []byte
		err    error
		reason string
	}{
		{"empty", nil, ErrLength, "empty"},
		{"SSCC-96 header", with(func(b []byte) []byte { b[0] = 0x31; return b }), ErrNotSGTIN, "header 0x31"},
		{"TID-like E2 header", mustHex(t, "E2001026760E017915907125"), ErrNotSGTIN, "header 0xE2"},
		{"short SGTIN-96", base[:11], ErrLength, "needs 96 bits, got 88"},
		{"short SGTIN-198", mustHex(t, "3674257BF6B7A659B2C2BF10000000000000000000000000"), ErrLength, "needs 198 bits"},
		{"non-zero after SGTIN-96", append(append([]byte(nil), base...), 0, 1), ErrLength, "not zero"},
		{"non-zero pad bit 198", with(func([]byte) []byte {
			b := tag198([]byte("AB"))
			set(b, 199, 1, 1)
			return b
		}), ErrLength, "not zero"},
		{"too long", append(append([]byte(nil), base...), make([]byte, 51)...), ErrLength, "496"},
		{"partition 7", with(func(b []byte) []byte { set(b, offPartition, 3, 7); return b }), ErrPartition, "partition 7 is not valid"},
		{"company prefix over partition 6", with(func(b []byte) []byte {
			set(b, offPartition, 3, 6)
			set(b, offCP, 20, 1<<20-1)
			return b
		}), ErrPartition, "company prefix value 1048575 has more than the 6 digits of partition 6"},
		{"company prefix over partition 0", with(func(b []byte) []byte {
			set(b, offPartition, 3, 0)
			set(b, offCP, 40, 1_000_000_000_000)
			return b
		}), ErrPartition, "more than the 12 digits"},
		{"item reference over partition 0", with(func(b []byte) []byte {
			set(b, offPartition, 3, 0)
			set(b, offCP, 40, 614141)
			set(b, offCP+40, 4, 10)
			return b
		}), ErrPartition, "item reference value 10 has more than the 1 digits"},
		{"198 empty serial", tag198(nil), ErrSerial, "empty"},
		{"198 space in serial", tag198([]byte("A B")), ErrSerial, "0x20 at position 2"},
		{"198 # in serial", tag198([]byte("#")), ErrSerial, "not in the GS1 AI character set"},
		{"198 DEL in serial", tag198([]byte{'A', 0x7F}), ErrSerial, "0x7F"},
		{"198 data after terminator", tag198([]byte{'A', 0, 'B'}), ErrSerial, "after its terminating zero"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.epc)
			checkErr(t, err, c.err, c.reason)
			if len(c.epc) > 0 && !strings.HasPrefix(Key(c.epc), "urn:epc:raw:") {
				t.Errorf("Key = %q, want a raw URI", Key(c.epc))
			}
		})
	}
}

func checkErr(t *testing.T, err, sentinel error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", sentinel)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q wraps %v, want %v", err, e.Err, sentinel)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
}

func TestEncodeErrors(t *testing.T) {
	const gtin = "80614141123458"
	cases := []struct {
		name            string
		gtin, serial    string
		filter, cpLen   int
		only96, only198 bool
		err             error
		reason          string
	}{
		{"leading zero", gtin, "0123", 1, 7, true, false, ErrSerial, "leading zero: use SGTIN-198"},
		{"over 2^38-1", gtin, "274877906944", 1, 7, true, false, ErrSerial, "exceeds 2^38-1"},
		{"far over", gtin, "99999999999999999999", 1, 7, true, false, ErrSerial, "exceeds 2^38-1"},
		{"letters", gtin, "32a/b", 1, 7, true, false, ErrSerial, "not all digits"},
		{"empty serial", gtin, "", 1, 7, false, false, ErrSerial, "empty"},
		{"21 characters", gtin, strings.Repeat("A", 21), 1, 7, false, true, ErrSerial, "longer than 20"},
		{"space", gtin, "A B", 1, 7, false, true, ErrSerial, "position 2"},
		{"hash", gtin, "A#", 1, 7, false, true, ErrSerial, "GS1 AI character set"},
		{"non-ASCII", gtin, "Aé", 1, 7, false, true, ErrSerial, "character 0xC3 at position 2 is not in the GS1 AI character set"},
		{"check digit", "80614141123457", "1", 1, 7, false, false, ErrGTIN, "check digit 7, expected 8"},
		{"13 digits", "0614141123452", "1", 1, 7, false, false, ErrGTIN, "14 digits"},
		{"letter in GTIN", "8061414112345X", "1", 1, 7, false, false, ErrGTIN, "14 digits"},
		{"filter 8", gtin, "1", 8, 7, false, false, ErrFilter, "filter 8"},
		{"filter -1", gtin, "1", -1, 7, false, false, ErrFilter, "filter -1"},
		{"cpLen 5", gtin, "1", 1, 5, false, false, ErrPartition, "length 5"},
		{"cpLen 13", gtin, "1", 1, 13, false, false, ErrPartition, "length 13"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.only198 {
				b, err := EncodeSGTIN96(c.gtin, c.serial, c.filter, c.cpLen)
				if b != nil {
					t.Errorf("EncodeSGTIN96 returned bytes with an error")
				}
				checkErr(t, err, c.err, c.reason)
			}
			if !c.only96 {
				_, err := EncodeSGTIN198(c.gtin, c.serial, c.filter, c.cpLen)
				checkErr(t, err, c.err, c.reason)
			}
		})
	}
	// What SGTIN-96 rejects, SGTIN-198 takes.
	for _, serial := range []string{"0123", "274877906944", "32a/b"} {
		if _, err := EncodeSGTIN198(gtin, serial, 1, 7); err != nil {
			t.Errorf("EncodeSGTIN198(%q): %v", serial, err)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	cases := []struct {
		uri    string
		err    error
		reason string
	}{
		{"", ErrSyntax, "not an EPC URI"},
		{"https://id.gs1.org/01/80614141123458/21/6789", ErrSyntax, "not an EPC URI"},
		{"URN:EPC:ID:SGTIN:0614141.812345.6789", ErrSyntax, "not an EPC URI"},
		{"urn:epc:id:sscc:0614141.1234567890", ErrNotSGTIN, "not an SGTIN"},
		{"urn:epc:raw:96.x3074257BF7194E4000001A85", ErrSyntax, "not an EPC URI"},
		{"urn:epc:tag:sgtin-64:3.0614141.812345.6789", ErrNotSGTIN, "not sgtin-96 or sgtin-198"},
		{"urn:epc:tag:sscc-96:0.0614141.1234567890", ErrNotSGTIN, "not sgtin-96"},
		{"urn:epc:tag:[umi=1sgtin-96:3.0614141.812345.6789", ErrSyntax, "no closing ]"},
		{"urn:epc:tag:sgtin-96:8.0614141.812345.6789", ErrFilter, "not a digit 0..7"},
		{"urn:epc:tag:sgtin-96:0614141.812345.6789", ErrFilter, "not a digit 0..7"},
		{"urn:epc:id:sgtin:0614141.812345", ErrSyntax, "separated by dots"},
		{"urn:epc:id:sgtin:0614141812345.6789", ErrSyntax, "separated by dots"},
		{"urn:epc:id:sgtin:06141.8123456.6789", ErrPartition, "not 6 to 12 digits"},
		{"urn:epc:id:sgtin:0614141234567.0.6789", ErrPartition, "not 6 to 12 digits"},
		{"urn:epc:id:sgtin:0614141.81234.6789", ErrPartition, "must be 6 digits after a 7-digit company prefix"},
		{"urn:epc:id:sgtin:0614141.81234X.6789", ErrPartition, "must be 6 digits"},
		{"urn:epc:id:sgtin:0614141.812345.", ErrSerial, "empty"},
		{"urn:epc:id:sgtin:0614141.812345.32a/b", ErrSyntax, "must be escaped as %2F"},
		{"urn:epc:id:sgtin:0614141.812345.a b", ErrSerial, "not in the GS1 AI character set"},
		{"urn:epc:id:sgtin:0614141.812345.0\xd8", ErrSerial, "character 0xD8 at position 2"},
		{"urn:epc:id:sgtin:0614141.812345.ab%2", ErrSyntax, "two hex digits"},
		{"urn:epc:id:sgtin:0614141.812345.ab%ZZ", ErrSyntax, "is not %HH"},
		{"urn:epc:id:sgtin:0614141.812345.ab%23", ErrSerial, "not a GS1 AI character"},
		{"urn:epc:id:sgtin:0614141.812345.ABCDEFGHIJKLMNOPQRSTU", ErrSerial, "longer than 20"},
		{"urn:epc:tag:sgtin-96:1.0614141.812345.06789", ErrSerial, "leading zero"},
		{"urn:epc:tag:sgtin-96:1.0614141.812345.274877906944", ErrSerial, "exceeds 2^38-1"},
		{"urn:epc:tag:sgtin-96:1.0614141.812345.32a%2Fb", ErrSerial, "not all digits"},
	}
	for _, c := range cases {
		t.Run(c.uri, func(t *testing.T) {
			_, err := ParseURI(c.uri)
			checkErr(t, err, c.err, c.reason)
		})
	}
}

func TestKey(t *testing.T) {
	sgtin := mustHex(t, "3074257BF7194E4000001A85")
	tid := mustHex(t, "E2001026760E017915907125") // mercury-frames.json T7
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"SGTIN-96", Key(sgtin), "(01)80614141123458(21)6789"},
		{"SGTIN-96 in a 128-bit EPC memory", Key(append(append([]byte(nil), sgtin...), 0, 0, 0, 0)), "(01)80614141123458(21)6789"},
		{"not an SGTIN", Key(tid), "urn:epc:raw:96.xE2001026760E017915907125"},
		{"short", Key([]byte{0x30, 0x74}), "urn:epc:raw:16.x3074"},
		{"empty", Key(nil), ""},
		{"PC toggle 0", KeyWithPC(0x3400, sgtin), "(01)80614141123458(21)6789"},
		{"PC toggle 1 with AFI", KeyWithPC(0x31A2, sgtin), "urn:epc:raw:96.xA2.x3074257BF7194E4000001A85"},
		{"PC toggle 1 empty", KeyWithPC(0x0100, nil), ""},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: key %q, want %q", c.name, c.got, c.want)
		}
	}
}

func BenchmarkDecodeSGTIN96(b *testing.B) {
	epc := mustHex(b, "3074257BF7194E4000001A85")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Decode(epc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decodes/s")
}

func BenchmarkKeySGTIN96(b *testing.B) {
	epc := mustHex(b, "3074257BF7194E4000001A85")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if Key(epc) == "" {
			b.Fatal("no key")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}
