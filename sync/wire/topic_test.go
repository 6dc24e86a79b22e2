package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicBuilders(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{MovementsTopic("st-marys", "or-3"), "udi/v1/st-marys/or-3/movements"},
		{AckTopic("st-marys", "or-3"), "udi/v1/st-marys/or-3/ack"},
		{ResendTopic("st-marys", "or-3"), "udi/v1/st-marys/or-3/resend"},
		{StatusTopic("st-marys", "or-3"), "udi/v1/st-marys/or-3/status"},
		{MasterTopic("st-marys", SetRecalls), "udi/v1/st-marys/master/recalls"},
		{MasterFilter("st-marys"), "udi/v1/st-marys/master/#"},
		{MovementsFilter("st-marys"), "udi/v1/st-marys/+/movements"},
		{SharedMovementsFilter("st-marys"), "$share/udi-central/udi/v1/st-marys/+/movements"},
		{StatusFilter("st-marys"), "udi/v1/st-marys/+/status"},
		{ClientID("st-marys", "or-3"), "udi-edge-st-marys-or-3"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseTopic(t *testing.T) {
	for _, tc := range []struct {
		topic, site, gateway, leaf string
	}{
		{"udi/v1/st-marys/or-3/movements", "st-marys", "or-3", LeafMovements},
		{"udi/v1/S_1.x/G-2/ack", "S_1.x", "G-2", LeafAck},
		{"udi/v1/s/g/resend", "s", "g", LeafResend},
		{"udi/v1/s/g/status", "s", "g", LeafStatus},
		{"udi/v1/s/master/catalogue", "s", MasterSegment, SetCatalogue},
		{"udi/v1/s/master/par", "s", MasterSegment, SetPar},
	} {
		site, gw, leaf, err := ParseTopic(tc.topic)
		if err != nil || site != tc.site || gw != tc.gateway || leaf != tc.leaf {
			t.Errorf("ParseTopic(%q) = %q, %q, %q, %v; want %q, %q, %q", tc.topic, site, gw, leaf, err, tc.site, tc.gateway, tc.leaf)
		}
	}
	for _, tc := range []struct {
		topic string
		id    bool // the error also wraps ErrID
	}{
		{"", false},
		{"udi/v2/s/g/ack", false},
		{"udi/v1/s/g", false},
		{"udi/v1/s/g/ack/x", false},
		{"udi/v1/s/g/acks", false},
		{"udi/v1//g/ack", true},
		{"udi/v1/s//ack", true},
		{"udi/v1/s/g+/ack", true},
		{"udi/v1/s/" + strings.Repeat("g", 65) + "/ack", true},
		{"udi/v1/s/master/ack", true},
		{"udi/v1/s/master/prices", true},
		{"$share/udi-central/udi/v1/s/g/movements", false},
	} {
		_, _, _, err := ParseTopic(tc.topic)
		if !errors.Is(err, ErrTopic) {
			t.Errorf("ParseTopic(%q) = %v, want ErrTopic", tc.topic, err)
			continue
		}
		if got := errors.Is(err, ErrID); got != tc.id {
			t.Errorf("ParseTopic(%q): errors.Is(err, ErrID) = %v, want %v (%v)", tc.topic, got, tc.id, err)
		}
		var te *TopicError
		if !errors.As(err, &te) || te.Topic != tc.topic {
			t.Errorf("ParseTopic(%q): error %#v does not carry the topic", tc.topic, err)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, s := range []string{"a", "or-3", "St_Marys.2", strings.Repeat("x", 64), "master"} {
		if err := ValidID(s); err != nil {
			t.Errorf("ValidID(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", strings.Repeat("x", 65), "a/b", "a+", "#", "a b", "é", "a\x00"} {
		err := ValidID(s)
		var ie *IDError
		if !errors.Is(err, ErrID) || !errors.As(err, &ie) {
			t.Errorf("ValidID(%q) = %v, want an *IDError", s, err)
		}
	}
	if err := ValidGateway("master"); !errors.Is(err, ErrID) {
		t.Errorf(`ValidGateway("master") = %v, want ErrID`, err)
	}
	if err := ValidGateway("or-3"); err != nil {
		t.Errorf(`ValidGateway("or-3") = %v`, err)
	}
}

func TestValidSet(t *testing.T) {
	for _, s := range Sets() {
		if err := ValidSet(s); err != nil {
			t.Errorf("ValidSet(%q) = %v", s, err)
		}
		if _, _, leaf, err := ParseTopic(MasterTopic("s", s)); err != nil || leaf != s {
			t.Errorf("ParseTopic(MasterTopic(%q)) = %q, %v", s, leaf, err)
		}
	}
	for _, s := range []string{"", "Recalls", "prices", "recalls/"} {
		if err := ValidSet(s); !errors.Is(err, ErrID) {
			t.Errorf("ValidSet(%q) = %v, want ErrID", s, err)
		}
	}
}
