package agent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

func TestPickTag(t *testing.T) {
	a := agent.TagOnPad{Key: "a", RSSI: -40}
	b := agent.TagOnPad{Key: "b", RSSI: -60}
	c := agent.TagOnPad{Key: "c", RSSI: -43}
	if _, err := agent.PickTag(nil); !errors.Is(err, agent.ErrNoTagOnPad) {
		t.Errorf("no tag: %v", err)
	}
	if got, err := agent.PickTag([]agent.TagOnPad{b}); err != nil || got.Key != "b" {
		t.Errorf("one tag: %v %v", got, err)
	}
	if got, err := agent.PickTag([]agent.TagOnPad{b, a}); err != nil || got.Key != "a" {
		t.Errorf("clear strongest: %v %v", got, err)
	}
	if _, err := agent.PickTag([]agent.TagOnPad{b, a, c}); !errors.Is(err, agent.ErrSeveralTags) {
		t.Errorf("two close tags: %v", err)
	}
}

func TestCommission(t *testing.T) {
	scan := agent.Movement{Kind: agent.KindCommission, Item: "(01)06901234100013(21)7"}
	raw := agent.TagOnPad{Key: "urn:epc:raw:96.xE2801160600002054CC2096F"}
	m := agent.Commission(scan, raw)
	if m.Kind != agent.KindCommission || m.Tag != raw.Key || m.Item != scan.Item || !strings.Contains(m.Reason, "bound") {
		t.Errorf("raw tag: %+v", m)
	}
	same := agent.Commission(scan, agent.TagOnPad{Key: scan.Item})
	if same.Kind != agent.KindCommission || !strings.Contains(same.Reason, "already carries this item") {
		t.Errorf("same SGTIN: %+v", same)
	}
	other := agent.Commission(scan, agent.TagOnPad{Key: "(01)06901234100013(21)8"})
	if other.Kind != agent.KindReject || !strings.Contains(other.Reason, "another item") {
		t.Errorf("other SGTIN: %+v", other)
	}
	rej := agent.Movement{Kind: agent.KindReject, Reason: "check digit"}
	if got := agent.Commission(rej, raw); got.Kind != agent.KindReject || got.Reason != "check digit" {
		t.Errorf("rejected scan: %+v", got)
	}
}
