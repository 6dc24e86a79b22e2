package cabinet_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
)

func TestPickTag(t *testing.T) {
	a := cabinet.TagOnPad{Key: "a", RSSI: -40}
	b := cabinet.TagOnPad{Key: "b", RSSI: -60}
	c := cabinet.TagOnPad{Key: "c", RSSI: -43}
	if _, err := cabinet.PickTag(nil); !errors.Is(err, cabinet.ErrNoTagOnPad) {
		t.Errorf("no tag: %v", err)
	}
	if got, err := cabinet.PickTag([]cabinet.TagOnPad{b}); err != nil || got.Key != "b" {
		t.Errorf("one tag: %v %v", got, err)
	}
	if got, err := cabinet.PickTag([]cabinet.TagOnPad{b, a}); err != nil || got.Key != "a" {
		t.Errorf("clear strongest: %v %v", got, err)
	}
	if _, err := cabinet.PickTag([]cabinet.TagOnPad{b, a, c}); !errors.Is(err, cabinet.ErrSeveralTags) {
		t.Errorf("two close tags: %v", err)
	}
}

func TestCommission(t *testing.T) {
	scan := agent.Movement{Kind: agent.KindCommission, Item: "(01)06901234100013(21)7"}
	raw := cabinet.TagOnPad{Key: "urn:epc:raw:96.xE2801160600002054CC2096F"}
	m := cabinet.Commission(scan, raw)
	if m.Kind != agent.KindCommission || m.Tag != raw.Key || m.Item != scan.Item || !strings.Contains(m.Reason, "bound") {
		t.Errorf("raw tag: %+v", m)
	}
	same := cabinet.Commission(scan, cabinet.TagOnPad{Key: scan.Item})
	if same.Kind != agent.KindCommission || !strings.Contains(same.Reason, "already carries this item") {
		t.Errorf("same SGTIN: %+v", same)
	}
	other := cabinet.Commission(scan, cabinet.TagOnPad{Key: "(01)06901234100013(21)8"})
	if other.Kind != agent.KindReject || !strings.Contains(other.Reason, "another item") {
		t.Errorf("other SGTIN: %+v", other)
	}
	rej := agent.Movement{Kind: agent.KindReject, Reason: "check digit"}
	if got := cabinet.Commission(rej, raw); got.Kind != agent.KindReject || got.Reason != "check digit" {
		t.Errorf("rejected scan: %+v", got)
	}
}
