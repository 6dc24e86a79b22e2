package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// syncBuffer is a log sink written by several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const stent = "09506000134352"

// supplyGateway is a running gateway over the ledger at path: a receiving
// desk and an OR use station at OR-3, a consigned stent with a par level
// of 2 to 4 there. stop stops it and closes the ledger. obs, when given,
// is its observer.
func supplyGateway(t *testing.T, path string, now func() time.Time, log *syncBuffer, obs ...core.Observer) (g *core.Gateway, l *bolt.Ledger, stop func()) {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	stations := map[string]agent.Station{
		"desk": {ID: "desk", Location: "OR-3", Kind: agent.KindReceive},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
	}
	g, err = core.New(core.Config{Stations: stations, Live: true, Now: now, Rules: lifecycle.Rules{lifecycle.CheckNoCase: lifecycle.SeverityOff},
		Supply: core.SupplyConfig{Sweep: 50 * time.Millisecond}},
		core.Deps{Store: l, Master: l, Log: slog.New(slog.NewTextHandler(log, nil)), Observer: append(obs, nil)[0]})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scanners := make(chan struct{})
	done := make(chan struct{})
	go func() { g.Run(ctx, scanners); close(done) }()
	return g, l, func() {
		cancel()
		close(scanners)
		<-done
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	}
}

// requests returns the replenishment request movements in l.
func requests(t *testing.T, l *bolt.Ledger) []agent.Request {
	t.Helper()
	var out []agent.Request
	err := l.Range(1, func(m agent.Movement) error {
		if r, ok := agent.ReadRequest(m); ok {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond (the supplier works on its own goroutine) for up to
// ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("waited 10 s for %s", what)
}

// TestReplenishment: a running gateway with a consigned stent: each
// receipt is the supplier's, a use names the supplier and raises one
// refill request to the par's max; a second use while it is open raises
// none; the delivery meets it. After a restart the stock knows the
// request; a consigned use written while no gateway ran (a crash between
// the use and its request) is asked for by the first sweep; the FEFO
// check warns of an earlier unit on the shelf; stock in an expiry
// horizon is alerted once per horizon.
func TestReplenishment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	clock := func() time.Time { return now }
	var log syncBuffer
	g, l, stop := supplyGateway(t, path, clock, &log)
	ctx := context.Background()
	if _, err := g.Import(ctx, "catalogue", strings.NewReader("gtin,name,unit_price,supplier,consigned\n"+stent+",Stent,750.00,华东医药,是\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	for _, sn := range []string{"S1", "S2", "S3"} {
		scan(g, "desk", gs1(stent, "270630", "L2", sn), now)
	}
	g.Wait()
	// The par level, once stock is there (on an empty shelf it asks at once).
	if _, err := g.Import(ctx, "par", strings.NewReader("location,gtin,min,max\nOR-3,"+stent+",2,4\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	rep, err := g.Stock(ctx, core.StockQuery{Location: "OR-3"})
	if err != nil || len(rep.Lines) != 1 || rep.Lines[0].Owner != "华东医药" || rep.Lines[0].Units != 3 {
		t.Fatalf("after the receipts: %+v %v", rep.Lines, err)
	}
	if len(rep.Pars) != 1 || rep.Pars[0] != (core.ParStatus{Location: "OR-3", Product: stent, Name: "Stent", OnHand: 3, ReorderPoint: 2, Max: 4}) {
		t.Fatalf("pars %+v", rep.Pars)
	}

	scan(g, "or", gs1(stent, "270630", "L2", "S1"), now)
	g.Wait()
	waitFor(t, "the refill request", func() bool { return len(requests(t, l)) == 1 })
	if got := requests(t, l); got[0] != (agent.Request{Quantity: 2, Urgency: agent.UrgencyRefill, OnHand: 2, ReorderPoint: 2, Max: 4}) {
		t.Fatalf("request %+v", got[0])
	}
	use, err := l.Trace(ctx, "(01)"+stent+"(21)S1")
	if err != nil || len(use) != 2 || !slices.Contains(use[1].Flags, agent.ConsignedFlag("华东医药")) {
		t.Fatalf("the use names no supplier: %+v %v", use, err)
	}
	scan(g, "or", gs1(stent, "270630", "L2", "S2"), now) // below the reorder point, but asked for
	g.Wait()
	rep, _ = g.Stock(ctx, core.StockQuery{Location: "OR-3"})
	if len(rep.Requests) != 1 || rep.Requests[0].Quantity != 2 || rep.Pars[0].OnHand != 1 || !rep.Pars[0].Below || rep.Pars[0].Requested != 2 {
		t.Fatalf("one request open: %+v %+v", rep.Requests, rep.Pars)
	}
	first := rep.Requests[0]
	for _, sn := range []string{"S4", "S5"} {
		scan(g, "desk", gs1(stent, "270630", "L3", sn), now)
	}
	g.Wait()
	rep, _ = g.Stock(ctx, core.StockQuery{Location: "OR-3"})
	if len(rep.Requests) != 0 || rep.Pars[0].OnHand != 3 {
		t.Fatalf("delivered, still open: %+v %+v", rep.Requests, rep.Pars)
	}
	// The gateway records that the request was met, for the centre.
	waitFor(t, "the request's meeting recorded", func() bool {
		n := 0
		_ = l.Range(1, func(m agent.Movement) error {
			if seq, arrived, ok := agent.ReadMet(m); ok && seq == first.Seq && arrived == 2 && slices.Contains(m.Flags, agent.ConsignedFlag("华东医药")) {
				n++
			}
			return nil
		})
		return n == 1
	})
	// The second use's refill is asked for now that none is open.
	waitFor(t, "the second refill", func() bool { return len(requests(t, l)) == 2 })
	if got := requests(t, l)[1]; got.Quantity != 1 || got.Urgency != agent.UrgencyRefill {
		t.Fatalf("second request %+v", got)
	}
	scan(g, "desk", gs1(stent, "270630", "L3", "S7"), now)
	g.Wait()
	waitFor(t, "the second request met", func() bool {
		rep, _ := g.Stock(ctx, core.StockQuery{Location: "OR-3"})
		return len(rep.Requests) == 0
	})
	stop()

	// A consigned use written while no gateway ran.
	l, err = bolt.Open(bolt.Options{Path: path, Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, agent.Movement{Time: now, Kind: agent.KindUse, Item: "(01)" + stent + "(21)S4", GTIN: stent, Serial: "S4",
		Location: "OR-3", Decision: agent.DecisionAccepted, Flags: []string{agent.ConsignedFlag("华东医药")}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	g, l, stop = supplyGateway(t, path, clock, &log)
	defer stop()
	// The ledger holds a movement a moment before the stock has folded
	// it: both are waited for.
	waitFor(t, "the request a crash left unasked", func() bool {
		rep, _ := g.Stock(ctx, core.StockQuery{Location: "OR-3"})
		return len(requests(t, l)) == 3 && len(rep.Requests) == 1
	})
	rep, _ = g.Stock(ctx, core.StockQuery{Location: "OR-3"})
	if len(rep.Requests) != 1 || rep.Requests[0].Quantity != 1 || rep.Requests[0].OnHand != 3 {
		t.Fatalf("after the restart: %+v", rep.Requests)
	}

	// FEFO: an earlier lot on the shelf.
	scan(g, "desk", gs1(stent, "270131", "L1", "S6"), now)
	g.Wait()
	scan(g, "or", gs1(stent, "270630", "L3", "S5"), now)
	g.Wait()
	ms, _ := l.Trace(ctx, "(01)"+stent+"(21)S5")
	last := ms[len(ms)-1]
	if last.Decision != agent.DecisionWarned || !slices.Contains(last.Flags, string(lifecycle.CheckFEFO)) || !strings.Contains(last.Reason, "2027-01-31 (lot L1)") {
		t.Fatalf("FEFO: %s %v %q", last.Decision, last.Flags, last.Reason)
	}

	// Expiry horizons: S6 expires in 56 days: within 60 and 90.
	waitFor(t, "the expiry alert", func() bool { return strings.Contains(log.String(), "stock expiring") })
	if n := strings.Count(log.String(), "msg=\"stock expiring\""); n != 1 || !strings.Contains(log.String(), "horizon_days=60") {
		t.Errorf("expiry alerts %d:\n%s", n, log.String())
	}
}

// TestDeclareLoanRefused: a loan set that cannot be declared as given is
// refused whole, naming what is wrong, and writes nothing.
func TestDeclareLoanRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	item := gs1(stent, "270630", "L2", "S1")
	for _, tc := range []struct {
		set  core.LoanSet
		says string
	}{
		{core.LoanSet{Codes: []string{item}}, "no supplier"},
		{core.LoanSet{Supplier: "S"}, "no item codes"},
		{core.LoanSet{Supplier: "S", Codes: []string{item}, Case: "C\n7"}, "case"},
		{core.LoanSet{Supplier: "S", Codes: []string{item}, Location: strings.Repeat("L", 201)}, "location"},
		{core.LoanSet{Supplier: "S", Codes: []string{item, "]d201" + stent}}, "code 2"},
		{core.LoanSet{Supplier: "S", Codes: []string{item, "\x01\x02"}}, "code 2"},
		{core.LoanSet{Supplier: "S\nT", Codes: []string{item}}, "supplier"},
	} {
		if _, err := g.DeclareLoan(context.Background(), tc.set); !errors.Is(err, core.ErrLoanSet) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%+v: %v, want ErrLoanSet saying %q", tc.set, err, tc.says)
		}
	}
	if n := l.LastSeq(); n != 0 {
		t.Errorf("%d movements written by refused sets", n)
	}
	ms, err := g.DeclareLoan(context.Background(), core.LoanSet{Supplier: "骨科器械", Case: "C-7", Codes: []string{item, item}})
	if err != nil || len(ms) != 1 || !slices.Contains(ms[0].Flags, agent.FlagLoanSet) || ms[0].Case != "C-7" {
		t.Fatalf("a set naming one item twice: %+v %v", ms, err)
	}
}

// TestRefillWithoutPar: a consigned stent received at the warehouse and
// used in OR 3, no par level anywhere: the refill is asked for at once,
// at the warehouse it was drawn from, not at the next sweep.
func TestRefillWithoutPar(t *testing.T) {
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	stations := map[string]agent.Station{
		"desk": {ID: "desk", Location: "WH", Kind: agent.KindReceive},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
	}
	g, err := core.New(core.Config{Stations: stations, Live: true, Now: func() time.Time { return now },
		Rules: lifecycle.Rules{lifecycle.CheckNoCase: lifecycle.SeverityOff}, Supply: core.SupplyConfig{Sweep: time.Hour}},
		core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scanners, done := make(chan struct{}), make(chan struct{})
	go func() { g.Run(ctx, scanners); close(done) }()
	defer func() { cancel(); close(scanners); <-done; l.Close() }()
	if _, err := g.Import(ctx, "catalogue", strings.NewReader("gtin,name,unit_price,supplier,consigned\n"+stent+",Stent,750.00,华东医药,是\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	scan(g, "desk", gs1(stent, "270630", "L2", "S1"), now)
	g.Wait()
	scan(g, "or", gs1(stent, "270630", "L2", "S1"), now)
	g.Wait()
	waitFor(t, "the refill at the warehouse", func() bool {
		rep, _ := g.Stock(ctx, core.StockQuery{Location: "WH"})
		return len(rep.Requests) == 1 && rep.Requests[0].Urgency == agent.UrgencyRefill && rep.Requests[0].Quantity == 1
	})
}

// TestParOfAnotherGateway: the centre publishes one set of par levels to
// every gateway of a site. A gateway asks only for the locations its
// stations (or cabinets) are at: one at a location of another gateway's,
// whose stock it never sees, would ask for a shortfall the other gateway
// asks for too, and no delivery there would ever meet it.
func TestParOfAnotherGateway(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var log syncBuffer
	g, l, stop := supplyGateway(t, filepath.Join(t.TempDir(), "ledger.db"), func() time.Time { return now }, &log)
	defer stop()
	ctx := context.Background()
	// CATH-LAB sorts before OR-3: a sweep decides it first.
	if _, err := g.Import(ctx, "par", strings.NewReader("location,gtin,min,max\nCATH-LAB,"+stent+",2,4\nOR-3,"+stent+",2,4\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "OR-3's request", func() bool {
		rep, _ := g.Stock(ctx, core.StockQuery{Location: "OR-3"})
		return len(rep.Requests) == 1
	})
	var at []string
	_ = l.Range(1, func(m agent.Movement) error {
		if _, ok := agent.ReadRequest(m); ok {
			at = append(at, m.Location)
		}
		return nil
	})
	if !slices.Equal(at, []string{"OR-3"}) {
		t.Fatalf("requests at %q, want OR-3's only", at)
	}
}
