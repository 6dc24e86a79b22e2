package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/ident"
)

// TestNotAnItemSaidOnce: a code that names no item is refused by the
// trace, the stock and a loan set with "not an item code" said once,
// the error wrapping the core's and ident's sentinels.
func TestNotAnItemSaidOnce(t *testing.T) {
	g, l := openCore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	ctx := context.Background()
	const plain = "WARD7-BED12"
	_, trace := g.Trace(ctx, core.TraceQuery{Code: plain})
	_, stk := g.Stock(ctx, core.StockQuery{Product: plain})
	_, loan := g.DeclareLoan(ctx, core.LoanSet{Supplier: "S", Codes: []string{plain}})
	_, justify := g.Justify(ctx, plain, "r", "")
	for what, err := range map[string]error{"trace": trace, "stock": stk, "loan": loan, "justify": justify} {
		if !errors.Is(err, core.ErrNoCode) || !errors.Is(err, ident.ErrNotItem) || strings.Count(err.Error(), "not an item code") != 1 {
			t.Errorf("%s: %v, want ErrNoCode saying \"not an item code\" once", what, err)
		}
	}
}
