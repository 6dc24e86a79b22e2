package central

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent/ident"

	"github.com/udi-edge/udi-edge/agent"
)

// Tracer is what a trace needs of a Store.
type Tracer interface {
	// Trace returns the movements indexed under key (see Store).
	Trace(ctx context.Context, key string) ([]Traced, error)
}

// ErrProduct is returned by TraceCode for a code that names a product (a
// GTIN without serial or lot): the centre traces items.
var ErrProduct = errors.New("the code names a product, not one item: give its serial (or lot)")

// TraceCode reads code in any form a gateway's trace reads (agent/ident)
// and returns the key it found movements under, with the movements: every
// reading of an ambiguous text is looked up, the first that finds
// movements wins. A code that cannot be read is an error wrapping
// ident's.
func TraceCode(ctx context.Context, t Tracer, code string) (string, []Traced, error) {
	c, err := ident.Parse(code)
	if err != nil {
		return "", nil, err
	}
	lks, err := c.Lookups()
	if err != nil {
		return "", nil, err
	}
	key := ""
	for _, lk := range lks {
		if lk.Prefix {
			continue
		}
		ts, err := Trace(ctx, t, lk.Key)
		if err != nil || len(ts) > 0 {
			return lk.Key, ts, err
		}
		if key == "" {
			key = lk.Key
		}
	}
	if key == "" {
		return lks[0].Key, nil, fmt.Errorf("%s: %w", lks[0].Key, ErrProduct)
	}
	return key, nil, nil
}

// Trace returns the movements of the item or tag key across every gateway
// and ledger, oldest first: the ledgers' movements merged by time, each
// ledger's in sequence order. For a tag commissioned to an item it adds
// all of that item's movements, as the gateway's trace does.
func Trace(ctx context.Context, t Tracer, key string) ([]Traced, error) {
	ts, err := t.Trace(ctx, key)
	if err != nil {
		return nil, err
	}
	items := map[string]bool{}
	for _, x := range ts {
		m := &x.Movement
		if m.Kind == agent.KindCommission && m.Tag == key && m.Item != "" && m.Item != key && !items[m.Item] {
			items[m.Item] = true
		}
	}
	for _, item := range slices.Sorted(maps.Keys(items)) {
		more, err := t.Trace(ctx, item)
		if err != nil {
			return nil, err
		}
		ts = append(ts, more...)
	}
	return orderTrace(ts), nil
}

// orderTrace sorts movements of several ledgers oldest first and drops
// repeats of one movement: each ledger's movements stay in sequence order
// (a gateway's clock may step back; its sequence numbers do not), and the
// ledgers are merged by time, ties going to the ledger that sorts first by
// gateway and creation. Two branches of a ledger are two histories: their
// movements of one sequence number are two movements, both kept.
func orderTrace(ts []Traced) []Traced {
	byLedger := func(a, b Traced) int {
		return cmp.Or(strings.Compare(a.Movement.Gateway, b.Movement.Gateway), cmp.Compare(a.Created, b.Created),
			cmp.Compare(a.Branch, b.Branch), cmp.Compare(a.Movement.Seq, b.Movement.Seq))
	}
	slices.SortStableFunc(ts, byLedger)
	ts = slices.CompactFunc(ts, func(a, b Traced) bool { return byLedger(a, b) == 0 })
	// Runs of one ledger each, merged by the time of their next movement.
	var runs [][]Traced
	for i := 0; i < len(ts); {
		j := i + 1
		for j < len(ts) && ts[j].Movement.Gateway == ts[i].Movement.Gateway && ts[j].Created == ts[i].Created && ts[j].Branch == ts[i].Branch {
			j++
		}
		runs = append(runs, ts[i:j])
		i = j
	}
	out := make([]Traced, 0, len(ts))
	for len(out) < len(ts) {
		best := -1
		for r, run := range runs {
			if len(run) > 0 && (best < 0 || run[0].Movement.Time.Before(runs[best][0].Movement.Time)) {
				best = r
			}
		}
		out = append(out, runs[best][0])
		runs[best] = runs[best][1:]
	}
	return out
}
