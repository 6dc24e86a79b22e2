package pgstore_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

// TestReceivedIndexBuiltByMigration: a database of schema 2 holding
// receives (stored before the index of received products) is migrated
// by the next Open, the index built from its movements in the
// migration's transaction and the schema version recorded; Verify then
// finds a product missing from the index, or one no movement received.
func TestReceivedIndexBuiltByMigration(t *testing.T) {
	url := newDB(t)
	st := open(t, url)
	l, want := storetest.ReceivesLedger(t)
	storetest.MustAppend(t, st, l, 1, 4)
	st.Close()
	asSchema2(t, url)
	if n := queryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'received_products'"); n != 0 {
		t.Fatal("the index of received products is still there")
	}

	st = open(t, url)
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != pgstore.SchemaVersion {
		t.Fatalf("schema version %d, want %d", v, pgstore.SchemaVersion)
	}
	if got, err := st.ReceivedProducts(ctx, "st-marys"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after the migration: %q, %v; want %q", got, err, want)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM received_products"); n != 2 {
		t.Fatalf("%d rows in received_products, want 2", n)
	}
	if err := st.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, damage, undo string }{
		{"a product missing", "DELETE FROM received_products WHERE product = '06901234567892'",
			"INSERT INTO received_products VALUES ('st-marys', '06901234567892')"},
		{"a product used, not received", "INSERT INTO received_products VALUES ('st-marys', '06900000000001')",
			"DELETE FROM received_products WHERE product = '06900000000001'"},
		{"a product of another site", "INSERT INTO received_products VALUES ('north', '06901234567892')",
			"DELETE FROM received_products WHERE site = 'north'"},
	} {
		exec(t, url, c.damage)
		if err := st.Verify(ctx); !errors.Is(err, pgstore.ErrCorrupt) {
			t.Errorf("%s: Verify says %v, want ErrCorrupt", c.name, err)
		}
		exec(t, url, c.undo)
	}
}

// TestReceivedByCopyAndInsert: the products received are indexed
// whichever way Append writes the movements, COPY or a multi-row INSERT.
func TestReceivedByCopyAndInsert(t *testing.T) {
	for name, from := range map[string]int{"copy": 1, "insert": 1 << 20} {
		t.Run(name, func(t *testing.T) {
			defer pgstore.SetCopyFrom(from)()
			st := open(t, newDB(t))
			l, want := storetest.ReceivesLedger(t)
			storetest.MustAppend(t, st, l, 1, 2)
			storetest.MustAppend(t, st, l, 1, 4)
			if got, err := st.ReceivedProducts(ctx, l.Site); err != nil || !slices.Equal(got, want) {
				t.Fatalf("%q, %v; want %q", got, err, want)
			}
			if err := st.Verify(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
