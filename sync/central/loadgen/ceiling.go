package loadgen

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// ceilingMovements bounds the movements the ceilings write: enough for a
// steady rate, few enough to make in memory before the clock starts.
const ceilingMovements = 200_000

// ceilingLedger is what the ceiling writes of one gateway's ledger.
type ceilingLedger struct {
	gateway string
	created int64
	batches [][]central.Stored
}

// ceilingRows makes the rows of the ceiling, before it is timed: the
// first movements of every gateway of the run (as many of each as fit
// in ceilingMovements), cut as the uplink cuts its batches. The ledgers
// are of gateways of their own ("ceiling-" and the gateway's id).
func ceilingRows(gateways []*ledger, perGateway int) ([]ceilingLedger, int, error) {
	each := min(perGateway, max(1, ceilingMovements/len(gateways)))
	out := make([]ceilingLedger, len(gateways))
	total := 0
	for i, g := range gateways {
		l := newLedger("ceiling-"+g.gateway, g.index, g.created, nil)
		recs, err := l.nextStored(each)
		if err != nil {
			return nil, 0, err
		}
		out[i] = ceilingLedger{gateway: l.gateway, created: l.created.UnixNano(), batches: cutBatches(recs)}
		total += len(recs)
	}
	return out, total, nil
}

// cutBatches cuts recs as the uplink cuts its batches: up to
// uplink.DefaultBatchMax movements and uplink.DefaultBatchBytes.
func cutBatches(recs []central.Stored) [][]central.Stored {
	var out [][]central.Stored
	for len(recs) > 0 {
		n, size := 0, 64 // the batch's header, about
		for n < len(recs) && n < uplink.DefaultBatchMax && (n == 0 || size+len(recs[n].Record)+3 <= uplink.DefaultBatchBytes) {
			size += len(recs[n].Record) + 3
			n++
		}
		out, recs = append(out, recs[:n]), recs[n:]
	}
	return out
}

// ceilingSchema holds the tables of the PostgreSQL ceiling: those of
// pgstore's movements and trace_keys, columns, checks and keys alike.
const ceilingSchema = "udi_bench_ceiling"

const ceilingDDL = `
CREATE SCHEMA ` + ceilingSchema + `;
CREATE TABLE ` + ceilingSchema + `.movements (
    ledger    bigint NOT NULL,
    seq       bigint NOT NULL CHECK (seq >= 1),
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32),
    record    bytea NOT NULL,
    PRIMARY KEY (ledger, seq)
);
CREATE TABLE ` + ceilingSchema + `.trace_keys (
    key    bytea NOT NULL,
    ledger bigint NOT NULL,
    seq    bigint NOT NULL,
    PRIMARY KEY (key, ledger, seq)
);`

// copyCeiling writes rows raw into the PostgreSQL database at url: a
// COPY of each batch's movements and keys into tables like pgstore's (in
// a schema of their own, dropped after), one transaction per batch,
// from as many connections at once as the centre has workers (each
// gateway's batches on one of them, as the centre's workers take them),
// with no lock, no check and no head. It returns movements per second.
func copyCeiling(ctx context.Context, url string, rows []ceilingLedger, total, writers int) (float64, error) {
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+ceilingSchema+" CASCADE"); err != nil {
		return 0, err
	}
	if _, err := admin.Exec(ctx, ceilingDDL); err != nil {
		return 0, fmt.Errorf("ceiling tables: %w", err)
	}
	defer func() {
		_, _ = admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+ceilingSchema+" CASCADE")
	}()
	conns := make([]*pgx.Conn, writers)
	for i := range conns {
		if conns[i], err = pgx.Connect(ctx, url); err != nil {
			return 0, err
		}
		defer conns[i].Close(context.WithoutCancel(ctx))
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := time.Now()
	for w, c := range conns {
		wg.Go(func() {
			for g := w; g < len(rows) && errs[w] == nil; g += writers {
				for _, b := range rows[g].batches {
					if errs[w] = copyBatch(ctx, c, int64(g+1), b); errs[w] != nil {
						break
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("ceiling copy: %w", err)
		}
	}
	return float64(total) / elapsed.Seconds(), nil
}

// copyBatch copies one batch's movements and keys in one transaction.
func copyBatch(ctx context.Context, c *pgx.Conn, ledger int64, recs []central.Stored) error {
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{ceilingSchema, "movements"}, []string{"ledger", "seq", "prev_hash", "hash", "record"},
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				r := &recs[i]
				return []any{ledger, int64(r.Seq), r.PrevHash[:], r.Hash[:], r.Record}, nil
			}))
		if err != nil {
			return err
		}
		var keys [][]any
		for i := range recs {
			for _, k := range recs[i].Keys {
				keys = append(keys, []any{[]byte(k), ledger, int64(recs[i].Seq)})
			}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{ceilingSchema, "trace_keys"}, []string{"key", "ledger", "seq"}, pgx.CopyFromRows(keys))
		return err
	})
}

// boltCeiling appends rows to a new bbolt store at path, in-process
// (boltstore.Append, one batch at a time, each gateway's in turn, as
// one writer): the store alone, without MQTT, the service's checks or
// the gateways. It returns movements per second.
func boltCeiling(ctx context.Context, path string, rows []ceilingLedger, total int) (float64, error) {
	st, err := boltstore.Open(path)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	start := time.Now()
	for i := 0; ; i++ {
		more := false
		for _, l := range rows {
			if i >= len(l.batches) {
				continue
			}
			more = true
			if _, _, err := st.Append(ctx, Site, l.gateway, l.created, l.batches[i]); err != nil {
				return 0, fmt.Errorf("bbolt ceiling: %w", err)
			}
		}
		if !more {
			break
		}
	}
	return float64(total) / time.Since(start).Seconds(), nil
}
