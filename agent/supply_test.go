package agent

import "testing"

func TestRequestRoundTrip(t *testing.T) {
	r := Request{Quantity: 7, Urgency: UrgencyUrgent, OnHand: 0, ReorderPoint: 3, Max: 7}
	m := Movement{Kind: KindContext, Flags: []string{FlagReplenish}, Reason: RequestReason(r)}
	got, ok := ReadRequest(m)
	if !ok || got != r {
		t.Fatalf("ReadRequest(%q) = %+v, %v; want %+v", m.Reason, got, ok, r)
	}
	for _, bad := range []Movement{
		{Kind: KindUse, Flags: []string{FlagReplenish}, Reason: RequestReason(r)},
		{Kind: KindContext, Reason: RequestReason(r)},
		{Kind: KindContext, Flags: []string{FlagReplenish}, Reason: "replenish x urgency urgent on-hand 0 reorder-point 3 max 7"},
		{Kind: KindContext, Flags: []string{FlagReplenish}, Reason: "replenish 0 urgency urgent on-hand 0 reorder-point 3 max 7"},
		{Kind: KindContext, Flags: []string{FlagReplenish}, Reason: "replenish 3"},
	} {
		if got, ok := ReadRequest(bad); ok {
			t.Errorf("ReadRequest(%s %v %q) = %+v, want not a request", bad.Kind, bad.Flags, bad.Reason, got)
		}
	}
}

func TestConsignor(t *testing.T) {
	m := Movement{Flags: []string{"expired", ConsignedFlag("上海医疗器械有限公司")}}
	if s, ok := Consignor(m); !ok || s != "上海医疗器械有限公司" {
		t.Fatalf("Consignor = %q, %v", s, ok)
	}
	if s, ok := Consignor(Movement{Flags: []string{"consigned:", "expired"}}); ok {
		t.Fatalf("an empty supplier is no consignor, got %q", s)
	}
}

func TestMetRoundTrip(t *testing.T) {
	m := Movement{Kind: KindContext, Flags: []string{FlagMet}, Reason: MetReason(42, 5)}
	if seq, n, ok := ReadMet(m); !ok || seq != 42 || n != 5 {
		t.Fatalf("ReadMet(%q) = %d %d %v", m.Reason, seq, n, ok)
	}
	for _, r := range []string{"meets replenishment request 0: 1 arrived", "meets replenishment request x: 1 arrived", "meets replenishment request 4", "replenish 4"} {
		if _, _, ok := ReadMet(Movement{Kind: KindContext, Flags: []string{FlagMet}, Reason: r}); ok {
			t.Errorf("ReadMet(%q) ok", r)
		}
	}
	if _, _, ok := ReadMet(Movement{Kind: KindContext, Reason: MetReason(42, 5)}); ok {
		t.Error("no flag, no met")
	}
}

// TestWithdrawnRoundTrip: a withdrawal closes a request as a meeting
// does (ReadMet reads it: the centre sees it closed), and says why; a
// meeting is no withdrawal.
func TestWithdrawnRoundTrip(t *testing.T) {
	m := Movement{Kind: KindContext, Flags: []string{FlagMet}, Reason: WithdrawnReason(42, 1, "par level removed:\nno par level of it here")}
	if seq, n, ok := ReadMet(m); !ok || seq != 42 || n != 1 {
		t.Fatalf("ReadMet(%q) = %d %d %v", m.Reason, seq, n, ok)
	}
	if why, ok := ReadWithdrawn(m); !ok || why != "par level removed: no par level of it here" {
		t.Fatalf("ReadWithdrawn(%q) = %q %v", m.Reason, why, ok)
	}
	if _, ok := ReadWithdrawn(Movement{Kind: KindContext, Flags: []string{FlagMet}, Reason: MetReason(42, 5)}); ok {
		t.Error("a meeting read as a withdrawal")
	}
	for _, r := range []string{"withdraws replenishment request 4: 1 arrived", "withdraws replenishment request 4: 1 arrived: ", "withdraws replenishment request 0: 1 arrived: x"} {
		if _, _, ok := ReadMet(Movement{Kind: KindContext, Flags: []string{FlagMet}, Reason: r}); ok {
			t.Errorf("ReadMet(%q) ok", r)
		}
	}
}
