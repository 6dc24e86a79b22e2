package epc

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	v := loadVectors(f)
	for _, sv := range append(v.SGTIN96, v.SGTIN198...) {
		b := mustHex(f, sv.InputHex)
		f.Add(b)
		f.Add(append(bytes.Clone(b), 0, 0))
	}
	f.Add([]byte{})
	f.Add(mustHex(f, "E2001026760E017915907125"))
	f.Add(mustHex(f, "301C00000000000000000000"))
	f.Add(mustHex(f, "30751FEB705C5904E3D50D70"))

	f.Fuzz(func(t *testing.T, epc []byte) {
		s, err := Decode(epc)
		key := Key(epc)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			if len(epc) > 0 && key != rawURI(epc, "") {
				t.Fatalf("Key = %q for an EPC that does not decode", key)
			}
			return
		}
		if key != s.ElementString() {
			t.Fatalf("Key = %q, ElementString %q", key, s.ElementString())
		}
		var enc []byte
		var n int
		switch s.Scheme {
		case Scheme96:
			enc, err = EncodeSGTIN96(s.GTIN, s.Serial, s.Filter, len(s.CompanyPrefix))
			n = 12
		case Scheme198:
			enc, err = EncodeSGTIN198(s.GTIN, s.Serial, s.Filter, len(s.CompanyPrefix))
			n = 25
		default:
			t.Fatalf("Decode gave scheme %q", s.Scheme)
		}
		if err != nil {
			t.Fatalf("%+v does not re-encode: %v", s, err)
		}
		if !bytes.Equal(enc[:n], epc[:n]) || !zeroFrom(enc, n*8) {
			t.Fatalf("re-encoded %X, decoded from %X", enc, epc)
		}
		again, err := Decode(enc)
		if err != nil || again != s {
			t.Fatalf("Decode(re-encoded) = %+v, %v; want %+v", again, err, s)
		}
		fromTag, err := ParseURI(s.TagURI())
		if err != nil || fromTag != s {
			t.Fatalf("ParseURI(%q) = %+v, %v; want %+v", s.TagURI(), fromTag, err, s)
		}
		fromPure, err := ParseURI(s.PureURI())
		want := s
		want.Scheme, want.Filter = "", 0
		if err != nil || fromPure != want {
			t.Fatalf("ParseURI(%q) = %+v, %v; want %+v", s.PureURI(), fromPure, err, want)
		}
	})
}

func FuzzParseURI(f *testing.F) {
	v := loadVectors(f)
	for _, sv := range v.SGTIN96 {
		f.Add(sv.Expected.PureURI)
		f.Add(sv.Expected.TagURI)
	}
	for _, uri := range []string{
		"urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb",
		"urn:epc:tag:sgtin-198:1.50712192365.88..%25:.13%26",
		"urn:epc:id:sgtin:50712192365.88..%25:.13%26",
		"urn:epc:tag:[umi=1]sgtin-96:3.0614141.812345.6789",
		"urn:epc:id:sgtin:0614141.812345.0123",
		"urn:epc:id:sgtin:0614141.812345.ab%2f%41",
		"urn:epc:id:sscc:0614141.1234567890",
		"urn:epc:raw:96.x3074257BF7194E4000001A85",
	} {
		f.Add(uri)
	}

	f.Fuzz(func(t *testing.T, uri string) {
		s, err := ParseURI(uri)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if len(s.GTIN) != 14 || checkGTIN(s.GTIN) != nil {
			t.Fatalf("GTIN %q invalid", s.GTIN)
		}
		// Written out and parsed again, the identity is unchanged.
		pure, err := ParseURI(s.PureURI())
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", s.PureURI(), err)
		}
		if pure.GTIN != s.GTIN || pure.Serial != s.Serial || pure.CompanyPrefix != s.CompanyPrefix || pure.ItemRef != s.ItemRef {
			t.Fatalf("pure identity %+v, want %+v", pure, s)
		}
		tag, err := ParseURI(s.TagURI())
		if err != nil {
			t.Fatalf("ParseURI(%q): %v", s.TagURI(), err)
		}
		if s.Scheme != "" && tag != s {
			t.Fatalf("ParseURI(TagURI) = %+v, want %+v", tag, s)
		}
		// The tag URI encodes, and the bytes decode to it.
		var enc []byte
		if tag.Scheme == Scheme96 {
			enc, err = EncodeSGTIN96(tag.GTIN, tag.Serial, tag.Filter, len(tag.CompanyPrefix))
		} else {
			enc, err = EncodeSGTIN198(tag.GTIN, tag.Serial, tag.Filter, len(tag.CompanyPrefix))
		}
		if err != nil {
			t.Fatalf("encode %+v: %v", tag, err)
		}
		dec, err := Decode(enc)
		if err != nil || dec != tag {
			t.Fatalf("Decode(%X) = %+v, %v; want %+v", enc, dec, err, tag)
		}
	})
}
