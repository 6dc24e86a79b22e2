package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

var testHash = strings.Repeat("9f", 32)

// wantFieldErr fails unless err wraps sentinel and names field.
func wantFieldErr(t *testing.T, err, sentinel error, field string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want %v", err, sentinel)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("err = %v, want a *FieldError naming %q", err, field)
	}
}

func TestAck(t *testing.T) {
	var h [32]byte
	h[0], h[31] = 0x9f, 0x01
	a := NewAck(testGateway, testCreated, 1042, h)
	p, err := EncodeAck(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"gateway":"or-3","created":1764028800000000000,"seq":1042,"hash":"9f` + strings.Repeat("00", 30) + `01"}`
	if string(p) != want {
		t.Fatalf("EncodeAck = %s\nwant %s", p, want)
	}
	got, err := DecodeAck(p)
	if err != nil || got != a {
		t.Fatalf("DecodeAck = %+v, %v; want %+v", got, err, a)
	}
	if sum, err := got.Sum(); err != nil || sum != h {
		t.Fatalf("Sum = %x, %v", sum, err)
	}

	ok := `"gateway":"or-3","created":1,"seq":2,"hash":"` + testHash + `"`
	for _, tc := range []struct {
		name, p string
		err     error
		field   string
	}{
		{"not json", `{`, ErrMalformed, "payload"},
		{"array", `[1]`, ErrMalformed, "payload"},
		{"null", `null`, ErrMalformed, "payload"},
		{"trailing", `{"v":1,` + ok + `} {}`, ErrMalformed, "payload"},
		{"no v", `{` + ok + `}`, ErrMalformed, "v"},
		{"null v", `{"v":null,` + ok + `}`, ErrMalformed, "v"},
		{"string v", `{"v":"1",` + ok + `}`, ErrMalformed, "v"},
		{"v 2", `{"v":2,` + ok + `,"window":3}`, ErrVersion, "v"},
		{"v 0", `{"v":0,` + ok + `}`, ErrVersion, "v"},
		{"unknown field", `{"v":1,` + ok + `,"extra":true}`, ErrMalformed, "extra"},
		{"case", `{"v":1,"Gateway":"or-3","created":1,"seq":2,"hash":"` + testHash + `"}`, ErrMalformed, "gateway"},
		{"missing hash", `{"v":1,"gateway":"or-3","created":1,"seq":2}`, ErrMalformed, "hash"},
		{"missing created", `{"v":1,"gateway":"or-3","seq":2,"hash":"` + testHash + `"}`, ErrMalformed, "created"},
		{"null seq", `{"v":1,"gateway":"or-3","created":1,"seq":null,"hash":"` + testHash + `"}`, ErrMalformed, "seq"},
		{"negative seq", `{"v":1,"gateway":"or-3","created":1,"seq":-2,"hash":"` + testHash + `"}`, ErrMalformed, "seq"},
		{"seq 0", `{"v":1,"gateway":"or-3","created":1,"seq":0,"hash":"` + testHash + `"}`, ErrMalformed, "seq"},
		{"float created", `{"v":1,"gateway":"or-3","created":1.5,"seq":2,"hash":"` + testHash + `"}`, ErrMalformed, "created"},
		{"bad gateway", `{"v":1,"gateway":"or/3","created":1,"seq":2,"hash":"` + testHash + `"}`, ErrMalformed, "gateway"},
		{"upper hex", `{"v":1,"gateway":"or-3","created":1,"seq":2,"hash":"` + strings.ToUpper(testHash) + `"}`, ErrMalformed, "hash"},
		{"short hex", `{"v":1,"gateway":"or-3","created":1,"seq":2,"hash":"9f9f"}`, ErrMalformed, "hash"},
		{"not hex", `{"v":1,"gateway":"or-3","created":1,"seq":2,"hash":"` + strings.Repeat("zz", 32) + `"}`, ErrMalformed, "hash"},
		{"hash number", `{"v":1,"gateway":"or-3","created":1,"seq":2,"hash":9}`, ErrMalformed, "hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := DecodeAck([]byte(tc.p))
			wantFieldErr(t, err, tc.err, tc.field)
			if a != (Ack{}) {
				t.Fatalf("returned %+v with the error", a)
			}
		})
	}
	if _, err := EncodeAck(Ack{V: 1, Gateway: "or-3", Seq: 1, Hash: "x"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("EncodeAck with a bad hash = %v", err)
	}
	if _, err := EncodeAck(Ack{Gateway: "or-3", Seq: 1, Hash: testHash}); !errors.Is(err, ErrVersion) {
		t.Errorf("EncodeAck without v = %v", err)
	}
}

func TestResend(t *testing.T) {
	r := NewResend(testGateway, testCreated, 1043, "gap: got 1100, expected 1043")
	p, err := EncodeResend(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"gateway":"or-3","created":1764028800000000000,"from":1043,"reason":"gap: got 1100, expected 1043"}`
	if string(p) != want {
		t.Fatalf("EncodeResend = %s", p)
	}
	if got, err := DecodeResend(p); err != nil || got != r {
		t.Fatalf("DecodeResend = %+v, %v", got, err)
	}
	// reason is optional, from 0 allowed.
	if got, err := DecodeResend([]byte(`{"v":1,"gateway":"g","created":-5,"from":0}`)); err != nil || got != (Resend{V: 1, Gateway: "g", Created: -5}) {
		t.Fatalf("DecodeResend without reason = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name, p string
		err     error
		field   string
	}{
		{"v 3", `{"v":3}`, ErrVersion, "v"},
		{"missing from", `{"v":1,"gateway":"g","created":1}`, ErrMalformed, "from"},
		{"missing gateway", `{"v":1,"created":1,"from":1}`, ErrMalformed, "gateway"},
		{"unknown", `{"v":1,"gateway":"g","created":1,"from":1,"to":3}`, ErrMalformed, "to"},
		{"reason type", `{"v":1,"gateway":"g","created":1,"from":1,"reason":7}`, ErrMalformed, "reason"},
		{"reason long", `{"v":1,"gateway":"g","created":1,"from":1,"reason":"` + strings.Repeat("x", MaxReasonLen+1) + `"}`, ErrMalformed, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeResend([]byte(tc.p))
			wantFieldErr(t, err, tc.err, tc.field)
		})
	}
}

func TestStatus(t *testing.T) {
	when := time.Date(2026, 11, 25, 11, 5, 0, 0, time.FixedZone("CET", 3600))
	s := Status{V: 1, Gateway: testGateway, Site: testSite, State: StateOnline, Time: when, LastSeq: 1200, AckedSeq: 1042, Version: "0.4.0"}
	p, err := EncodeStatus(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"gateway":"or-3","site":"st-marys","state":"online","time":"2026-11-25T10:05:00Z","last_seq":1200,"acked_seq":1042,"version":"0.4.0"}`
	if string(p) != want {
		t.Fatalf("EncodeStatus = %s\nwant %s", p, want)
	}
	got, err := DecodeStatus(p)
	if err != nil || !got.Time.Equal(when) || got.LastSeq != 1200 || got.AckedSeq != 1042 || got.Version != "0.4.0" {
		t.Fatalf("DecodeStatus = %+v, %v", got, err)
	}
	will := Status{V: 1, Gateway: testGateway, Site: testSite, State: StateOffline, Time: when}
	p, err = EncodeStatus(will)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":1,"gateway":"or-3","site":"st-marys","state":"offline","time":"2026-11-25T10:05:00Z"}`; string(p) != want {
		t.Fatalf("EncodeStatus(will) = %s", p)
	}
	// An online status of an empty ledger says so with zeros.
	empty := Status{V: 1, Gateway: testGateway, Site: testSite, State: StateOnline, Time: when}
	p, err = EncodeStatus(empty)
	if want := `{"v":1,"gateway":"or-3","site":"st-marys","state":"online","time":"2026-11-25T10:05:00Z","last_seq":0,"acked_seq":0}`; err != nil || string(p) != want {
		t.Fatalf("EncodeStatus(empty) = %s, %v\nwant %s", p, err, want)
	}
	if got, err := DecodeStatus(p); err != nil || got.LastSeq != 0 || got.State != StateOnline {
		t.Fatalf("DecodeStatus(empty) = %+v, %v", got, err)
	}
	base := `"gateway":"g","site":"s","time":"2026-11-25T10:05:00Z"`
	for _, tc := range []struct {
		name, p string
		err     error
		field   string
	}{
		{"v 2", `{"v":2,"state":"sleeping"}`, ErrVersion, "v"},
		{"state", `{"v":1,` + base + `,"state":"sleeping"}`, ErrMalformed, "state"},
		{"missing state", `{"v":1,` + base + `}`, ErrMalformed, "state"},
		{"missing site", `{"v":1,"gateway":"g","state":"online","time":"2026-11-25T10:05:00Z"}`, ErrMalformed, "site"},
		{"bad time", `{"v":1,"gateway":"g","site":"s","state":"online","time":"yesterday"}`, ErrMalformed, "time"},
		{"acked beyond last", `{"v":1,` + base + `,"state":"online","last_seq":1,"acked_seq":2}`, ErrMalformed, "acked_seq"},
		{"unknown", `{"v":1,` + base + `,"state":"online","last_seq":0,"acked_seq":0,"uptime":3}`, ErrMalformed, "uptime"},
		{"online without last_seq", `{"v":1,` + base + `,"state":"online","acked_seq":0}`, ErrMalformed, "last_seq"},
		{"online without acked_seq", `{"v":1,` + base + `,"state":"online","last_seq":0}`, ErrMalformed, "acked_seq"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeStatus([]byte(tc.p))
			wantFieldErr(t, err, tc.err, tc.field)
		})
	}
}

func TestMaster(t *testing.T) {
	data := []byte("gtin,lot,serial,reason,date\n04012345678901,L1,,recall,2026-11-25\n")
	m := NewMaster(SetRecalls, 17, FormatCSV, data)
	sum := sha256.Sum256(data)
	if m.SHA256 != hex.EncodeToString(sum[:]) || m.V != 1 || m.Data != string(data) {
		t.Fatalf("NewMaster = %+v", m)
	}
	p, err := EncodeMaster(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMaster(p)
	if err != nil || got != m {
		t.Fatalf("DecodeMaster = %+v, %v", got, err)
	}

	enc := func(m Master, edit func(*Master)) string {
		edit(&m)
		p, err := marshal("master", m) // no validation: the decoder's turn
		if err != nil {
			t.Fatal(err)
		}
		return string(p)
	}
	for _, tc := range []struct {
		name, p string
		err     error
		field   string
	}{
		{"v 2", enc(m, func(m *Master) { m.V = 2 }), ErrVersion, "v"},
		{"set", enc(m, func(m *Master) { m.Set = "prices" }), ErrMalformed, "set"},
		{"version 0", enc(m, func(m *Master) { m.Version = 0 }), ErrMalformed, "version"},
		{"format", enc(m, func(m *Master) { m.Format = "xml" }), ErrMalformed, "format"},
		{"checksum", enc(m, func(m *Master) { m.Data += "x" }), ErrChecksum, "sha256"},
		{"bad hex", enc(m, func(m *Master) { m.SHA256 = strings.ToUpper(m.SHA256) }), ErrMalformed, "sha256"},
		{"missing data", `{"v":1,"set":"recalls","version":1,"format":"csv","sha256":"` + testHash + `"}`, ErrMalformed, "data"},
		{"missing sha256", `{"v":1,"set":"recalls","version":1,"format":"csv","data":""}`, ErrMalformed, "sha256"},
		{"unknown", `{"v":1,"set":"recalls","version":1,"format":"csv","sha256":"` + testHash + `","data":"","gzip":true}`, ErrMalformed, "gzip"},
		{"negative version", `{"v":1,"set":"recalls","version":-1,"format":"csv","sha256":"` + testHash + `","data":""}`, ErrMalformed, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeMaster([]byte(tc.p))
			wantFieldErr(t, err, tc.err, tc.field)
			if got != (Master{}) {
				t.Fatalf("returned %+v with the error", got)
			}
		})
	}
	if _, err := EncodeMaster(NewMaster(SetLots, 1, FormatJSON, []byte{0xff})); !errors.Is(err, ErrMalformed) {
		t.Errorf("EncodeMaster of data that is not UTF-8 = %v", err)
	}
	if _, err := EncodeMaster(NewMaster("nope", 1, FormatJSON, nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("EncodeMaster of an unknown set = %v", err)
	}
}

func TestParseHash(t *testing.T) {
	var h [32]byte
	for i := range h {
		h[i] = byte(i * 7)
	}
	got, err := ParseHash(HashHex(h))
	if err != nil || got != h {
		t.Fatalf("ParseHash(HashHex) = %x, %v", got, err)
	}
	for _, s := range []string{"", "00", strings.Repeat("G", 64), strings.Repeat("AB", 32)} {
		if _, err := ParseHash(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHash(%q) = %v", s, err)
		}
	}
}
