package loadgen

import (
	"bytes"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/record"
)

// TestLedgerChainsAndForgets: the records a simulated ledger makes are a
// gateway ledger's, chained from the genesis hash across reads; once
// acknowledged they are dropped, but for the last acknowledged ones,
// which an ack repeated reads again.
func TestLedgerChainsAndForgets(t *testing.T) {
	var tl timeline
	l := newLedger("gw-1", 1, time.Unix(0, 1_764_028_800_000_000_000), &tl)
	l.commitBacklog(100)
	first, err := l.ReadRecords(1, 40, 1<<20)
	if err != nil || len(first) != 40 {
		t.Fatalf("read 1-40: %d records, %v", len(first), err)
	}
	rest, err := l.ReadRecords(41, 100, 1<<20)
	if err != nil || len(rest) != 60 {
		t.Fatalf("read 41-100: %d records, %v", len(rest), err)
	}
	want := record.Genesis("gw-1", uint64(l.created.UnixNano()))
	for i, rec := range append(first, rest...) {
		seq := uint64(i + 1)
		prev, hash, err := record.Check(seq, rec)
		if err != nil || prev != want {
			t.Fatalf("movement %d: %v, linked %v", seq, err, prev == want)
		}
		m, err := record.Decode(seq, rec)
		if err != nil || m.Gateway != "gw-1" {
			t.Fatalf("movement %d: %v, gateway %q", seq, err, m.Gateway)
		}
		want = hash
	}
	if recs, _ := l.ReadRecords(1, 100, 2000); len(recs) >= 40 {
		t.Errorf("read with a bound of 2000 bytes: %d records", len(recs))
	}

	if err := l.SetSyncCursor(40); err != nil {
		t.Fatal(err)
	}
	if again, err := l.ReadRecords(40, 1, 0); err != nil || len(again) != 1 || !bytes.Equal(again[0], first[39]) {
		t.Errorf("the acknowledged movement 40 read again: %d records, %v", len(again), err)
	}
	if _, err := l.ReadRecords(10, 1, 0); err == nil {
		t.Error("movement 10, acknowledged and dropped, read again without an error")
	}
	if err := l.SetSyncCursor(101); err == nil {
		t.Error("a cursor beyond the last movement taken")
	}

	l.commitLive(time.Now().Add(-time.Second))
	if _, err := l.ReadRecords(41, 100, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := l.SetSyncCursor(101); err != nil {
		t.Fatal(err)
	}
	if _, p50, _, n := tl.figures(); n != 1 || p50 < time.Second {
		t.Errorf("%d lags, p50 %v; want the live movement's, a second or more", n, p50)
	}
}
