package udid

import (
	"errors"
	"strings"
	"testing"
)

// xmlDoc1 wraps device fields in a one-record part.
func xmlDoc1(fields string) string {
	return "<udid><devices><device>\n" + fields + "\n</device></devices></udid>"
}

const okDI = "<zxxsdycpbs>06942221705071</zxxsdycpbs>"

// TestRecordErrors checks that every kind of bad record is reported
// with the file, the record number and the field, wraps its sentinel,
// and carries what could be read.
func TestRecordErrors(t *testing.T) {
	cases := []struct {
		name, fields, field string
		want                error
	}{
		{"bad flag", okDI + "<sfwwjbz>可能</sfwwjbz>", "sfwwjbz", ErrValue},
		{"bad date", okDI + "<tsrq>2024-02-30</tsrq>", "tsrq", ErrDate},
		{"not a date", okDI + "<versionTime>yesterday</versionTime>", "versionTime", ErrDate},
		{"bad count", okDI + "<zxxsdyzsydydsl>ten</zxxsdyzsydydsl>", "zxxsdyzsydydsl", ErrValue},
		{"bad carrier", okDI + "<bszt>1,5</bszt>", "bszt", ErrValue},
		{"bad category", okDI + "<cplb>试剂</cplb>", "cplb", ErrValue},
		{"check digit", "<zxxsdycpbs>06942221705072</zxxsdycpbs>", "zxxsdycpbs", ErrCheckDigit},
		{"GS1 letters", "<cpbsbmtxmc>GS1</cpbsbmtxmc><zxxsdycpbs>0694A</zxxsdycpbs>", "zxxsdycpbs", ErrValue},
		{"MA shape", "<cpbsbmtxmc>MA码（IDcode）</cpbsbmtxmc><zxxsdycpbs>156.M0.1</zxxsdycpbs>", "zxxsdycpbs", ErrValue},
		{"use-unit check", okDI + "<sydycpbs>06975737431159</sydycpbs>", "sydycpbs", ErrCheckDigit},
		{"missing DI", "<cpmctymc>口罩</cpmctymc>", "zxxsdycpbs", ErrMissing},
		{"duplicate", okDI + "<ggxh>A</ggxh><ggxh>B</ggxh>", "ggxh", ErrDuplicate},
		{"nested", okDI + "<spmc><b>X</b></spmc>", "spmc", ErrValue},
		{"packing quantity", okDI + "<packingList><packing><bzcpbs>16942221705078</bzcpbs><bznhxyjcpbssl>x</bznhxyjcpbssl></packing></packingList>",
			"packing[1].bznhxyjcpbssl", ErrValue},
		{"packing DI", okDI + "<packingList><packing/><packing><bzcpbs>16942221705079</bzcpbs></packing></packingList>",
			"packing[2].bzcpbs", ErrCheckDigit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, "part.xml", []byte(xmlDoc1(c.fields)))
			devs, probs, st, err := collect(t, &Reader{}, path)
			if err != nil || len(devs) != 0 || len(probs) != 1 {
				t.Fatalf("err %v, %d devices, problems %v", err, len(devs), probs)
			}
			var re *RecordError
			if !errors.As(probs[0], &re) || !errors.Is(probs[0], c.want) {
				t.Fatalf("%v is not a *RecordError wrapping %v", probs[0], c.want)
			}
			msg := re.Error()
			for _, s := range []string{path, "record 1", "field " + c.field} {
				if !strings.Contains(msg, s) {
					t.Errorf("%q does not name %q", msg, s)
				}
			}
			if re.Fields[0].Field != c.field || re.Record != 1 || re.Line != 1 {
				t.Errorf("field %q record %d line %d", re.Fields[0].Field, re.Record, re.Line)
			}
			if re.Device == nil || (c.want != ErrMissing && re.Device.DI == "") {
				t.Errorf("no partial device: %+v", re.Device)
			}
			if st.Bad != 1 || st.Records != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestFileErrors checks the documents that cannot be read (on).
func TestFileErrors(t *testing.T) {
	cases := []struct {
		name, doc, reason string
		want              error
		line, records     int
	}{
		{"syntax", "<udid><devices>\n<device>" + okDI + "</device>\n<device><zxxsdycpbs>1</cpmctymc>", "closes <zxxsdycpbs>", ErrSyntax, 3, 2},
		{"truncated", "<udid><devices><device>" + okDI, "ends inside", ErrSyntax, 1, 1},
		{"wrong root", "<html><body/></html>", "root element is <html>", ErrFormat, 1, 0},
		{"encoding", "<?xml version=\"1.0\" encoding=\"GBK\"?><udid/>", "GBK", ErrEncoding, 1, 0},
		{"count", "<udid><header><numberRkeyecordXML>5</numberRkeyecordXML></header><devices><device>" + okDI + "</device></devices></udid>",
			"announces 5 records, the part holds 1", ErrCount, 0, 1},
		{"second root", "<udid/><udid/>", "second root", ErrSyntax, 1, 0},
		{"text outside", "<udid/>junk", "text outside", ErrSyntax, 1, 0},
		{"unknown kind", "hello", "neither ZIP, XML nor JSON", ErrFormat, 0, 0},
		{"json syntax", `{"dataSet":{"deviceInfo":[{"zxxsdycpbs":}]}}`, "at byte", ErrSyntax, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, "doc.bin", []byte(c.doc))
			_, probs, _, err := collect(t, &Reader{}, path)
			if err != nil || len(probs) != 1 {
				t.Fatalf("err %v, problems %v", err, probs)
			}
			var fe *FileError
			if !errors.As(probs[0], &fe) || !errors.Is(fe, c.want) {
				t.Fatalf("%v is not a *FileError wrapping %v", probs[0], c.want)
			}
			if !strings.Contains(fe.Error(), path) || !strings.Contains(fe.Error(), c.reason) {
				t.Errorf("%q lacks the file or %q", fe.Error(), c.reason)
			}
			if fe.Line != c.line || fe.Records != int64(c.records) {
				t.Errorf("line %d records %d, want %d %d", fe.Line, fe.Records, c.line, c.records)
			}
		})
	}
}

// TestProblemDecides checks the three ways a caller can answer
// problems: go on, stop, or (no Problem) stop at the first.
func TestProblemDecides(t *testing.T) {
	doc := "<udid><devices>" +
		"<device>" + okDI + "</device>" +
		"<device><zxxsdycpbs>06942221705071</zxxsdycpbs><tsrq>bad</tsrq></device>" +
		"<device>" + okDI + "<spmc>third</spmc></device>" +
		"</devices></udid>"
	path := write(t, "p.xml", []byte(doc))

	var seen []string
	var probs []error
	st, err := (&Reader{Problem: func(err error) error { probs = append(probs, err); return nil }}).Open(path,
		func(d Device) error { seen = append(seen, d.TradeName); return nil })
	if err != nil || len(seen) != 2 || seen[1] != "third" || len(probs) != 1 || st.Bad != 1 || st.Records != 2 {
		t.Fatalf("go on: err %v seen %q problems %v stats %+v", err, seen, probs, st)
	}

	stop := errors.New("stop here")
	seen = nil
	_, err = (&Reader{Problem: func(error) error { return stop }}).Open(path, func(d Device) error { seen = append(seen, d.DI); return nil })
	if err != stop || len(seen) != 1 {
		t.Fatalf("stop: err %v, seen %v", err, seen)
	}

	seen = nil
	_, err = Open(path, func(d Device) error { seen = append(seen, d.DI); return nil })
	var re *RecordError
	if !errors.As(err, &re) || re.Record != 2 || len(seen) != 1 {
		t.Fatalf("default: err %v, seen %v", err, seen)
	}

	// An error from fn stops reading and comes back unchanged.
	n := 0
	_, err = Open("testdata/devices.xml", func(Device) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn error: %v after %d", err, n)
	}
}

// TestOpenSniffs checks that the kind of file comes from its content,
// whatever its name says.
func TestOpenSniffs(t *testing.T) {
	g := Generator{Seed: 9}
	x := part(t, g, 0, 3)
	var j strings.Builder
	if err := g.JSON(&j, 3, 0); err != nil {
		t.Fatal(err)
	}
	z := zipOf(t, zipEntry{name: "a.dat", data: x}, zipEntry{name: "b.txt", data: []byte(j.String())})
	for _, c := range []struct {
		name string
		data []byte
		n    int
	}{{"part.json", x, 3}, {"page.xml", []byte(" \n" + j.String()), 3}, {"download.xml", z, 6}} {
		devs, probs, _, err := collect(t, &Reader{}, write(t, c.name, c.data))
		if err != nil || len(probs) != 0 || len(devs) != c.n {
			t.Errorf("%s: err %v problems %v, %d devices", c.name, err, probs, len(devs))
		}
	}
}
