package udid

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// The seed corpora are in testdata/fuzz/<target>/: real-shaped parts,
// each kind of dirt, truncated and nested documents, API pages.

// FuzzRepair checks that Repair's output is well-formed as far as it
// promises, whatever the input and however it is read.
func FuzzRepair(f *testing.F) {
	for _, c := range repairCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := Repair(bytes.NewReader(in))
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		one, _ := io.ReadAll(Repair(iotest.OneByteReader(bytes.NewReader(in))))
		if !bytes.Equal(out, one) {
			t.Fatalf("output depends on read sizes:\n%q\n%q", out, one)
		}
		if r.Repairs().Total() == 0 && !bytes.Equal(out, bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF"))) {
			t.Fatalf("changed without a repair: %q → %q", in, out)
		}
		if !utf8.Valid(out) {
			t.Fatalf("output not UTF-8: %q", out)
		}
		for _, c := range string(out) {
			if !xmlChar(c) {
				t.Fatalf("illegal character %U in %q", c, out)
			}
		}
		for i := 0; i < len(out); i++ {
			switch {
			case bytes.HasPrefix(out[i:], []byte("<![CDATA[")):
				e := bytes.Index(out[i+9:], []byte("]]>"))
				if e < 0 {
					return
				}
				i += 9 + e + 2
			case out[i] == '<':
				if i+1 >= len(out) || !startsMarkup(out[i+1]) {
					t.Fatalf("'<' left at %d in %q", i, out)
				}
			case out[i] == '&':
				if n, _ := entity(out[i:], false); n <= 0 {
					t.Fatalf("bare or illegal '&' left at %d in %q", i, out)
				}
			}
		}
	})
}

// sentinels lists every error the readers report.
var sentinels = []error{ErrFormat, ErrSyntax, ErrDamaged, ErrEncoding, ErrMissing, ErrValue, ErrDate, ErrCheckDigit,
	ErrDuplicate, ErrCount, ErrOrphan, ErrPart, ErrUnsupported, ErrTooLarge}

// checkRead reads in with read, whole and one byte at a time, and checks
// that the two agree, that problems are typed and name their document,
// and that every device passed on has its DI.
func checkRead(t *testing.T, in []byte, read func(r *Reader, src io.Reader, fn func(Device) error) (Stats, error)) {
	run := func(src io.Reader) (devs []Device, probs []string) {
		r := &Reader{MaxPending: 50, Problem: func(err error) error {
			var re *RecordError
			var fe *FileError
			switch {
			case errors.As(err, &re):
				if re.File != "fuzz" || re.Record < 1 || len(re.Fields) == 0 || re.Device == nil {
					t.Fatalf("record error without its context: %#v", re)
				}
			case errors.As(err, &fe):
				if fe.File != "fuzz" {
					t.Fatalf("file error without its file: %#v", fe)
				}
			default:
				t.Fatalf("untyped problem %T %v", err, err)
			}
			known := false
			for _, s := range sentinels {
				known = known || errors.Is(err, s)
			}
			if !known {
				t.Fatalf("problem wraps no sentinel: %v", err)
			}
			probs = append(probs, err.Error())
			return nil
		}}
		st, err := read(r, src, func(d Device) error {
			if d.DI == "" {
				t.Fatal("a device without DI was passed on")
			}
			devs = append(devs, d)
			return nil
		})
		if err != nil {
			t.Fatalf("error with a Problem that goes on: %v", err)
		}
		if st.Records != int64(len(devs)) {
			t.Fatalf("stats say %d records, %d passed on", st.Records, len(devs))
		}
		return devs, probs
	}
	d1, p1 := run(bytes.NewReader(in))
	d2, p2 := run(iotest.OneByteReader(bytes.NewReader(in)))
	if len(d1) != len(d2) || strings.Join(p1, "\n") != strings.Join(p2, "\n") {
		t.Fatalf("result depends on read sizes: %d/%d devices\n%q\n%q", len(d1), len(d2), p1, p2)
	}
}

func FuzzReadXML(f *testing.F) {
	var b bytes.Buffer
	Generator{Seed: 1, DirtEvery: 2}.XML(&b, 3)
	f.Add(b.Bytes())
	f.Add([]byte(xmlDoc1(okDI + "<tsrq>2024-02-30</tsrq><packingList><packing><bzcpbs>1</bzcpbs></packing></packingList>")))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRead(t, in, func(r *Reader, src io.Reader, fn func(Device) error) (Stats, error) {
			return r.ReadXML(src, "fuzz", fn)
		})
	})
}

func FuzzReadJSON(f *testing.F) {
	f.Add([]byte(page))
	var b bytes.Buffer
	Generator{Seed: 1}.JSON(&b, 3, 2)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRead(t, in, func(r *Reader, src io.Reader, fn func(Device) error) (Stats, error) {
			return r.ReadJSON(src, "fuzz", fn)
		})
	})
}
