package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestDeclareLoanOnHandOrTwice: an item received here and on hand is no
// loan: refused; one declared for a case is not declared (written) again
// for it, the answer saying it is; for another case it may be.
func TestDeclareLoanOnHandOrTwice(t *testing.T) {
	g, l := openCore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	if _, err := l.Append(ctx, agent.Movement{Time: now, Kind: agent.KindReceive, Item: "(01)" + stent + "(21)S1", GTIN: stent, Serial: "S1",
		Location: "WH", Decision: agent.DecisionAccepted}); err != nil {
		t.Fatal(err)
	}
	before := l.LastSeq()
	onHand, other := gs1(stent, "270630", "L2", "S1"), gs1(stent, "270630", "L2", "S2")
	_, err := g.DeclareLoan(ctx, core.LoanSet{Supplier: "骨科器械", Case: "C-7", Codes: []string{other, onHand}})
	if !errors.Is(err, core.ErrLoanSet) || !strings.Contains(err.Error(), "code 2") || !strings.Contains(err.Error(), "on hand here") {
		t.Fatalf("an item on hand: %v, want refused as on hand", err)
	}
	if l.LastSeq() != before {
		t.Fatal("a refused set wrote movements")
	}
	ms, err := g.DeclareLoan(ctx, core.LoanSet{Supplier: "骨科器械", Case: "C-7", Codes: []string{other}})
	if err != nil || len(ms) != 1 {
		t.Fatalf("declared: %+v %v", ms, err)
	}
	_, err = g.DeclareLoan(ctx, core.LoanSet{Supplier: "骨科器械", Case: "C-7", Codes: []string{other}})
	if !errors.Is(err, core.ErrLoanSet) || !strings.Contains(err.Error(), "already declared") || !strings.Contains(err.Error(), "movement "+strconv.FormatUint(ms[0].Seq, 10)) {
		t.Fatalf("declared twice: %v, want refused naming movement %d", err, ms[0].Seq)
	}
	if l.LastSeq() != ms[0].Seq {
		t.Fatal("a second declaration was written")
	}
	ms2, err := g.DeclareLoan(ctx, core.LoanSet{Supplier: "骨科器械", Case: "C-9", Codes: []string{other}})
	if err != nil || len(ms2) != 1 || !slices.Contains(ms2[0].Flags, agent.FlagLoanSet) {
		t.Fatalf("for another case: %+v %v", ms2, err)
	}
}
