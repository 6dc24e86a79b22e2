package core

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// MaxTraceLimit bounds the movements one trace answers with; a product
// trace with more says so (TraceResult.Truncated).
const MaxTraceLimit = 10_000

// DefaultTraceLimit is the limit of a trace that asks for none.
const DefaultTraceLimit = 1000

// ErrNoCode is returned for a code that names no item (a plain code).
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
	res.Key = q.Key
	if res.Key == "" {
		key, prefix, err := traceKey(q.Code)
		if err != nil {
			return res, err
		}
		res.Key, res.Product = key, prefix
	}
	var err error
	if res.Product {
		res.Movements, err = g.store.TracePrefix(ctx, res.Key, limit+1)
		if len(res.Movements) > limit {
			res.Movements, res.Truncated = res.Movements[:limit], true
		}
	} else {
		res.Movements, err = traceItem(ctx, g.store, res.Key)
	}
	if err != nil {
		return res, err
	}
	res.Settlements = settlementsFor(g.master.Load(), res.Movements)
	return res, nil
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

// settlementsFor returns the settlement lines that bill the uses among
// ms: lines naming the item, and lines naming its GTIN (and lot) in the
// use's case. Each line once, in the order met.
func settlementsFor(d *master.Data, ms []agent.Movement) []master.Settlement {
	var out []master.Settlement
	seen := map[string]bool{}
	add := func(s master.Settlement) {
		if !seen[s.ID] {
			seen[s.ID] = true
			out = append(out, s)
		}
	}
	for _, m := range ms {
		if m.Kind != agent.KindUse || m.Decision == agent.DecisionBlocked {
			continue
		}
		for _, s := range d.SettlementsForItem(m.Item) {
			add(s)
		}
		if m.Case == "" {
			continue
		}
		for _, s := range d.SettlementsFor(m.Case) {
			if s.Item == "" && s.GTIN == m.GTIN && (s.Lot == "" || s.Lot == m.Lot) {
				add(s)
			}
		}
	}
	return out
}

// traceKey turns any form of a code into the ledger key to look up, and
// whether it is a product (a prefix) rather than one item.
func traceKey(s string) (key string, prefix bool, err error) {
	ic, err := parseItemCode(s)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrBadCode, err)
	}
	key = ic.Key()
	if key == "" {
		return "", false, fmt.Errorf("%w: a %s code", ErrNoCode, ic.Barcode.Kind)
	}
	if c := ic.Barcode; c != nil && c.Serial == "" && c.Lot == "" {
		return key, true, nil
	}
	return key, false, nil
}
