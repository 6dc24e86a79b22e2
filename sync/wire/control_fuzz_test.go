package wire

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkFieldError fails t unless err is a *FieldError of payload naming
// a field and wrapping ErrMalformed, ErrVersion or ErrTooLarge.
func checkFieldError(t *testing.T, payload string, p []byte, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Payload != payload || fe.Field == "" || fe.Reason == "" {
		t.Fatalf("%q: error %v names no field of a %s", p, err, payload)
	}
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("%q: error %v wraps no sentinel", p, err)
	}
}

// roundTrip decodes p as a payload: an error must be checkFieldError's;
// a message must encode, and decode again to a message equal to it. It
// returns the message and whether p decoded.
func roundTrip[M any](t *testing.T, payload string, p []byte, decode func([]byte) (M, error), encode func(M) ([]byte, error), equal func(a, b M) bool) (M, bool) {
	t.Helper()
	m, err := decode(p)
	if err != nil {
		checkFieldError(t, payload, p, err)
		return m, false
	}
	q, err := encode(m)
	if err != nil {
		t.Fatalf("decoded %s does not encode: %v", payload, err)
	}
	back, err := decode(q)
	if err != nil || !equal(back, m) {
		t.Fatalf("%s round trip %+v, %v; was %+v", payload, back, err, m)
	}
	return m, true
}

// controlSeeds are payloads of kind as the centre writes them, cut in
// two, and damaged ones.
func controlSeeds(f *testing.F, good ...[]byte) {
	for _, g := range good {
		f.Add(g)
		f.Add(g[:len(g)/2])
		f.Add([]byte(strings.Replace(string(g), `"v":1`, `"v":2`, 1)))
		f.Add([]byte(strings.Replace(string(g), `{`, `{"extra":1,`, 1)))
	}
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"v":1}`, `{"v":1,"gateway":"g1","gateway":"g2"}`, `{"v":1.5}`, `{"v":1} x`} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeAck reads any bytes as the centre's ack on the gateway: a
// *FieldError naming the field, or an ack that encodes and decodes again
// to the same ack.
func FuzzDecodeAck(f *testing.F) {
	var h [32]byte
	h[0], h[31] = 0xab, 0x01
	a := NewAck("or3-gw", 1764000000000000000, 42, h)
	good, err := EncodeAck(a)
	if err != nil {
		f.Fatal(err)
	}
	a.Sig = "c2lnbmF0dXJl"
	signed, _ := EncodeAck(a)
	controlSeeds(f, good, signed)
	f.Fuzz(func(t *testing.T, p []byte) {
		if a, ok := roundTrip(t, "ack", p, DecodeAck, EncodeAck, func(a, b Ack) bool { return a == b }); ok {
			if _, err := a.Sum(); err != nil {
				t.Fatalf("decoded ack's hash: %v", err)
			}
		}
	})
}

// FuzzDecodeResend reads any bytes as the centre's resend request on the
// gateway, with the properties of FuzzDecodeAck.
func FuzzDecodeResend(f *testing.F) {
	good, err := EncodeResend(NewResend("or3-gw", 1764000000000000000, 17, "gap at 17"))
	if err != nil {
		f.Fatal(err)
	}
	controlSeeds(f, good, []byte(`{"v":1,"gateway":"g","created":-1,"from":0}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		roundTrip(t, "resend", p, DecodeResend, EncodeResend, func(a, b Resend) bool { return a == b })
	})
}

// FuzzDecodeStatus reads any bytes as a gateway's status on the centre,
// with the properties of FuzzDecodeAck (the time compared as an instant).
func FuzzDecodeStatus(f *testing.F) {
	at := time.Date(2026, 11, 25, 8, 0, 0, 123, time.FixedZone("CST", 8*3600))
	on, err := EncodeStatus(Status{V: JSONVersion, Gateway: "or3-gw", Site: "h1", State: StateOnline, Time: at, LastSeq: 9, AckedSeq: 7, Version: "1.2.0"})
	if err != nil {
		f.Fatal(err)
	}
	off, err := EncodeStatus(Status{V: JSONVersion, Gateway: "or3-gw", Site: "h1", State: StateOffline, Time: at})
	if err != nil {
		f.Fatal(err)
	}
	controlSeeds(f, on, off, []byte(`{"v":1,"gateway":"g","site":"s","state":"online","time":"2026-11-25T08:00:00+08:00","last_seq":0,"acked_seq":0}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		roundTrip(t, "status", p, DecodeStatus, EncodeStatus, func(a, b Status) bool {
			same := a.Time.Equal(b.Time)
			a.Time, b.Time = time.Time{}, time.Time{}
			return same && reflect.DeepEqual(a, b)
		})
	})
}

// FuzzParseTopic splits any topic: one of the protocol's is built again
// from its parts to the same topic, and anything else is a *TopicError
// wrapping ErrTopic.
func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{
		MovementsTopic("h1", "or3-gw"), AckTopic("h1", "or3-gw"), ResendTopic("h1", "or3-gw"), StatusTopic("h1", "or3-gw"),
		MasterTopic("h1", "recalls"), MasterPartTopic("h1", "catalogue", 3), MasterPartTopic("h1", "catalogue", 0) + "0",
		"udi/v1/h1/master/nope", "udi/v1/h1/or3-gw/other", "udi/v1/h1/+/status", "udi/v1/h1/#", "udi/v1//g/ack",
		"udi/v1/h1/master/lots/-1", "udi/v1/h1/master/lots/01", "udi/v2/h1/g/ack", "", "udi/v1/H 1/g/ack",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		checkTopicError := func(err error) {
			var te *TopicError
			if !errors.As(err, &te) || !errors.Is(err, ErrTopic) || len(te.Topic) > 200 {
				t.Fatalf("%q: error %v", topic, err)
			}
		}
		site, gw, leaf, err := ParseTopic(topic)
		switch {
		case err != nil:
			checkTopicError(err)
		case gw == MasterSegment:
			if MasterTopic(site, leaf) != topic {
				t.Fatalf("%q parsed as master %q %q", topic, site, leaf)
			}
		case gatewayTopic(site, gw, leaf) != topic:
			t.Fatalf("%q parsed as %q %q %q", topic, site, gw, leaf)
		}
		site, set, i, err := ParseMasterTopic(topic)
		switch {
		case err != nil:
			checkTopicError(err)
		case i == -1:
			if MasterTopic(site, set) != topic {
				t.Fatalf("%q parsed as master %q %q", topic, site, set)
			}
		case MasterPartTopic(site, set, i) != topic:
			t.Fatalf("%q parsed as master part %q %q %d", topic, site, set, i)
		}
	})
}
