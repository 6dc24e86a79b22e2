package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// insertReceived adds rows to received_products: $1 their sites, $2 their
// products. Rows in key order, so that two appends adding the same new
// products wait for each other in the same order; a row held already is
// left as it is (ON CONFLICT DO NOTHING takes no lock on it).
const insertReceived = `INSERT INTO received_products (site, product)
	SELECT * FROM unnest($1::text[], $2::bytea[]) AS u(site, product)
	ORDER BY site COLLATE "C", product
	ON CONFLICT (site, product) DO NOTHING`

// receivedRows returns the arguments of insertReceived for recs,
// movements stored under site: each product they received once, sorted;
// none when they received nothing.
func receivedRows(site string, recs []central.Stored) (sites []string, products [][]byte) {
	for _, p := range central.ReceivedBy(recs) {
		sites, products = append(sites, site), append(products, []byte(p))
	}
	return sites, products
}

// receivedSite is one row of received_products.
type receivedSite struct{ site, product string }

// fillReceived inserts into received_products the products received by
// every movement held: the step of migration 3, in its transaction. It
// decodes every record once.
func fillReceived(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, "SELECT l.site, m.seq, m.record FROM movements m JOIN ledgers l ON l.id = m.ledger")
	if err != nil {
		return err
	}
	defer rows.Close()
	set := map[receivedSite]bool{}
	for rows.Next() {
		var (
			site string
			seq  int64
		)
		if err := rows.Scan(&site, &seq, nil); err != nil {
			return err
		}
		m, err := record.Decode(uint64(seq), rows.RawValues()[2])
		if err != nil {
			return fmt.Errorf("site %s movement %d: %w", site, seq, err)
		}
		if p := central.ReceivedProduct(&m); p != "" {
			set[receivedSite{site, p}] = true
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var (
		sites    []string
		products [][]byte
	)
	for r := range set {
		sites, products = append(sites, r.site), append(products, []byte(r.product))
	}
	if len(sites) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, insertReceived, sites, products)
	return err
}

// ReceivedProducts implements central.Store: one read of the btree of
// received_products.
func (s *Store) ReceivedProducts(ctx context.Context, site string) ([]string, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT product FROM received_products WHERE site = $1 ORDER BY product", site)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	products, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	out := make([]string, len(products))
	for i, p := range products {
		out[i] = string(p)
	}
	return out, nil
}

// readReceived returns every row of received_products.
func (s *Store) readReceived(ctx context.Context) (map[receivedSite]bool, error) {
	rows, err := s.pool.Query(ctx, "SELECT site, product FROM received_products")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	out := map[receivedSite]bool{}
	for rows.Next() {
		var (
			site    string
			product []byte
		)
		if err := rows.Scan(&site, &product); err != nil {
			return nil, s.fail(ctx, err)
		}
		out[receivedSite{site, string(product)}] = true
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return out, nil
}
