package show

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
)

// Compaction prints what a compaction of the ledger at store did: its
// sizes, the movements kept, and the cut when one was made; or the same
// as one JSON object.
func Compaction(w io.Writer, store string, s bolt.CompactSummary, asJSON bool) error {
	if asJSON {
		out := map[string]any{
			"store": store, "before_bytes": s.Before, "after_bytes": s.After, "movements": s.Movements,
			"removed": s.Removed, "carried": s.Carried, "tombstones": s.Tombstones, "took_ms": s.Took.Milliseconds(),
		}
		if s.NotCut != "" {
			out["not_cut"] = s.NotCut
		}
		if a := s.Anchor; a != nil {
			out["anchor"] = map[string]any{"seq": a.Seq, "prev_hash": fmt.Sprintf("%x", a.PrevHash), "at": a.At, "reason": a.Reason, "cursor": a.Cursor}
		}
		return json.NewEncoder(w).Encode(out)
	}
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	fmt.Fprintf(w, "compacted %s: %.1f MiB → %.1f MiB in %v; %d movements kept in sequence\n",
		store, mib(s.Before), mib(s.After), s.Took.Round(time.Millisecond), s.Movements)
	if a := s.Anchor; a != nil {
		fmt.Fprintf(w, "the chain starts at movement %d (%s); %d movements retained away, %d carried for items still in use, %d item keys leave a tombstone\n",
			a.Seq, a.Reason, s.Removed, s.Carried, s.Tombstones)
	}
	if s.NotCut != "" {
		fmt.Fprintf(w, "no cut: %s\n", s.NotCut)
	}
	return nil
}
