package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/ident"
	"github.com/udi-edge/udi-edge/agent/master"
)

// MaxTraceLimit bounds the movements one trace answers with; a product
// trace with more says so (TraceResult.Truncated).
const MaxTraceLimit = 10_000

// DefaultTraceLimit is the limit of a trace that asks for none.
const DefaultTraceLimit = 1000

// ErrNoCode is wrapped by the error for a code that names no item (a
// plain code, an HIBC secondary code alone).
var ErrNoCode = errors.New("not an item code")

// ErrBadCode is wrapped by the error for a code that cannot be read.
var ErrBadCode = errors.New("cannot read the code")

// TraceQuery asks for the movements of one item or one product.
type TraceQuery struct {
	// Code is any form of the item's code (see agent/ident); a code with
	// neither serial nor lot names a product: every item of it.
	Code string
	// Key, when set instead of Code, is an item key exactly as stored.
	Key string
	// Limit bounds the movements returned (DefaultTraceLimit when 0, at
	// most MaxTraceLimit).
	Limit int
}

// TraceResult is an item's (or a product's) movements, oldest first, and
// the settlement lines that bill its uses.
type TraceResult struct {
	Key         string              `json:"key"`
	Product     bool                `json:"product,omitempty"`
	Movements   []agent.Movement    `json:"movements"`
	Settlements []master.Settlement `json:"settlements,omitempty"`
	// Truncated says the product has more movements than Limit.
	Truncated bool `json:"truncated,omitempty"`
	// Retained, for an item with no movement left, is what the ledger
	// keeps of those retention took away (the centre holds them).
	Retained *RetainedItem `json:"retained,omitempty"`
}

// Trace returns the movements of the item (or product) q names, oldest
// first, with the settlement lines that bill its uses. A tag commissioned
// to an item leads to the item: its movements and then all of the
// item's.
func (g *Gateway) Trace(ctx context.Context, q TraceQuery) (TraceResult, error) {
	var res TraceResult
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultTraceLimit
	}
	limit = min(limit, MaxTraceLimit)
	lookups := []ident.Lookup{{Key: q.Key}}
	if q.Key == "" {
		var err error
		if lookups, err = codeLookups(q.Code); err != nil {
			return res, err
		}
	}
	// Every reading of an ambiguous text is looked up: the first that
	// finds movements is the one meant.
	for i, lk := range lookups {
		r, err := g.lookup(ctx, lk, limit)
		if err != nil {
			return res, err
		}
		if i == 0 || len(r.Movements) > 0 {
			res = r
		}
		if len(r.Movements) > 0 {
			break
		}
	}
	res.Settlements = audit.SettlementsFor(g.master.Load(), res.Movements)
	if len(res.Movements) == 0 && !res.Product {
		r, err := g.retainedItem(ctx, res.Key)
		if err != nil {
			return res, err
		}
		res.Retained = r
	}
	return res, nil
}

// codeLookups reads a code in any form and returns the keys to look up.
// Its error wraps ErrBadCode or ErrNoCode and ident's *Error.
func codeLookups(s string) ([]ident.Lookup, error) {
	c, err := ident.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCode, err)
	}
	lks, err := c.Lookups()
	if err != nil {
		return nil, noItemError{err}
	}
	return lks, nil
}

// noItemError is ident's error for a code that names no item
// (ident.ErrNotItem), under ErrNoCode. Its message is ident's alone,
// which says already that the code names no item: "not an item code"
// once, not once from each package.
type noItemError struct{ err error }

func (e noItemError) Error() string   { return e.err.Error() }
func (e noItemError) Unwrap() []error { return []error{ErrNoCode, e.err} }

// lookup traces one key, or one product.
func (g *Gateway) lookup(ctx context.Context, lk ident.Lookup, limit int) (TraceResult, error) {
	res := TraceResult{Key: lk.Key, Product: lk.Prefix}
	var err error
	if lk.Prefix {
		res.Movements, err = traceProduct(ctx, g.store, lk.Key, limit+1)
		if len(res.Movements) > limit {
			res.Movements, res.Truncated = res.Movements[:limit], true
		}
	} else {
		res.Movements, err = traceItem(ctx, g.store, lk.Key)
	}
	return res, err
}

// traceProduct returns up to limit movements of the items of the product
// whose key is product (ident.InProduct), oldest first: a string prefix is
// not enough (an HIBC product number may be a prefix of another's).
func traceProduct(ctx context.Context, l Store, product string, limit int) ([]agent.Movement, error) {
	var all []agent.Movement
	for _, p := range []string{product + "(", product + "/"} {
		ms, err := l.TracePrefix(ctx, p, limit)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	exact, err := l.Trace(ctx, product)
	if err != nil {
		return nil, err
	}
	all = append(all, exact...)
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	all = slices.CompactFunc(all, func(a, b agent.Movement) bool { return a.Seq == b.Seq })
	return all[:min(len(all), limit)], nil
}

// traceItem returns the movements of key, oldest first; for a tag
// commissioned to an item, the tag's movements and then all of the
// item's.
func traceItem(ctx context.Context, l agent.Ledger, key string) ([]agent.Movement, error) {
	ms, err := l.Trace(ctx, key)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	for _, m := range ms {
		seen[m.Seq] = true
	}
	items := map[string]bool{}
	for _, m := range ms {
		if m.Kind == agent.KindCommission && m.Tag == key && m.Item != key && !items[m.Item] {
			items[m.Item] = true
			more, err := l.Trace(ctx, m.Item)
			if err != nil {
				return nil, err
			}
			for _, x := range more {
				if !seen[x.Seq] {
					seen[x.Seq] = true
					ms = append(ms, x)
				}
			}
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
	return ms, nil
}
