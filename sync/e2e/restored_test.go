package e2e_test

// A gateway's ledger file restored from a backup and written on: two
// histories of one ledger, signed by one key.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// copyFile copies a stopped gateway's file, as a backup does.
func copyFile(t testing.TB, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// movementsOf makes movement i of gateway's ledger for a phase of its
// life: items of their own, so that each history's movements differ.
func movementsOf(phase string) func(gateway string, i int) agent.Movement {
	return func(gateway string, i int) agent.Movement {
		m := backlogMovement(gateway, i)
		m.Item = fmt.Sprintf("(01)%s(21)%s-%s-%06d", backlogGTIN, gateway, phase, i)
		m.Serial = fmt.Sprintf("%s-%s-%06d", gateway, phase, i)
		return m
	}
}

// verifyBranch checks that branch's history in st is lc's ledger, movement
// for movement: each record checking and linking to the one before it
// (movement 1 to the genesis hash), byte for byte the gateway's, and its
// head lc's last movement.
func verifyBranch(t testing.TB, st central.Store, lc ledgerCopy, branch int) {
	t.Helper()
	prev := record.Genesis(lc.gateway, uint64(lc.created))
	var n uint64
	err := st.RangeBranch(context.Background(), lc.gateway, lc.created, branch, 1, func(seq uint64, rec []byte) error {
		n++
		switch {
		case seq != n:
			return fmt.Errorf("movement #%d has seq %d", n, seq)
		case seq > lc.last:
			return fmt.Errorf("movement %d beyond the gateway's last %d", seq, lc.last)
		}
		p, h, err := record.Check(seq, rec)
		if err != nil {
			return fmt.Errorf("movement %d does not check: %w", seq, err)
		}
		if p != prev {
			return fmt.Errorf("movement %d does not link to the one before", seq)
		}
		if !bytes.Equal(rec, lc.recs[seq-1]) || !bytes.Equal(h[:], lc.hashes[seq-1]) {
			return fmt.Errorf("movement %d differs from the gateway's", seq)
		}
		prev = h
		return nil
	})
	if err != nil || n != lc.last {
		t.Fatalf("branch %d: %d movements, %v; want the gateway's %d", branch, n, err, lc.last)
	}
}

// verifyLedgerFile runs `udi-edge verify` on a stopped gateway's ledger
// file and returns its report, which must say intact.
func verifyLedgerFile(t testing.TB, path string) agent.VerifyReport {
	t.Helper()
	out, err := exec.Command(bins.edge, "verify", "--store", path, "--json").Output()
	var r agent.VerifyReport
	if jerr := json.Unmarshal(out, &r); err != nil || jerr != nil || !r.Intact {
		t.Fatalf("udi-edge verify %s: %v, %v: %s", path, err, jerr, out)
	}
	return r
}

// TestLedgerRestoredFromBackup: a gateway enrolled with its key drains 300
// movements, its ledger file is backed up, it drains 200 more; then the
// backup is restored over its file and written on (150 movements), and
// the gateway started again. Its cursor is the backup's (300): it sends
// from 301, which differs from the centre's 301. The centre keeps both
// histories, the restored one as a branch, acknowledges the gateway's own
// movements, and the gateway drains to its last movement, as it would
// never have before (the conflict was refused and asked for again, for
// ever). The conflict is logged once at ERROR, listed by GET
// /v1/gateways with both hashes, and both chains are whole in the
// centre's store, each the same as its ledger file, which udi-edge verify
// finds intact.
func TestLedgerRestoredFromBackup(t *testing.T) {
	start := time.Now()
	const site, first, lost, after = "site-restored", 300, 200, 150
	broker := mosquitto.Start(t, mosquitto.Config{})
	g := newGateway(t, site, "gw-restored", broker.Addr(), nil, gatewayConfig{})
	fillLedger(t, g, first, movementsOf("before"))
	gwKey, err := sign.Create(sign.KeyPath(g.store))
	if err != nil {
		t.Fatal(err)
	}
	enrolment := filepath.Join(t.TempDir(), "gateways.txt")
	if err := os.WriteFile(enrolment, []byte(sign.Line(site, g.id, sign.Public(gwKey))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCentre(t, site, broker.Addr(), "--enrolment", enrolment)
	c.waitConnected()
	g.start()
	waitDrained(t, c, g, first)
	g.stop()
	backup := filepath.Join(t.TempDir(), "backup.db")
	copyFile(t, g.store, backup)
	logf(t, start, "drained %d movements; ledger file backed up", first)

	fillLedger(t, g, lost, movementsOf("lost"))
	g.start()
	waitDrained(t, c, g, first+lost)
	g.stop()
	original := filepath.Join(t.TempDir(), "original.db")
	copyFile(t, g.store, original)
	logf(t, start, "drained %d more; the centre holds %d", lost, first+lost)

	copyFile(t, backup, g.store) // restored from the backup...
	bCursor, bLast := cursorAt(t, g)
	fillLedger(t, g, after, movementsOf("after"))
	rCursor, rLast := cursorAt(t, g)
	if bCursor < first || rCursor != bCursor || rLast < bLast+after {
		t.Fatalf("restored ledger: cursor %d, last %d; want the backup's cursor %d (at least %d), at least %d", rCursor, rLast, bCursor, first, bLast+after)
	}
	g.start() // ...and started again
	waitDrained(t, c, g, rLast)
	logf(t, start, "the restored gateway (backup's cursor %d, last %d) drained to %d", bCursor, bLast, rLast)

	gs, err := c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	centreLog := c.output()
	g.stop()
	c.stop()
	restored, orig := readLedger(t, g), readLedger(t, &gateway{store: original})
	if restored.cursor != restored.last {
		t.Fatalf("the restored gateway's cursor %d, last %d", restored.cursor, restored.last)
	}
	fork := bLast + 1 // the first movement written after the restore
	if !bytes.Equal(orig.hashes[fork-2], restored.hashes[fork-2]) || bytes.Equal(orig.hashes[fork-1], restored.hashes[fork-1]) {
		t.Fatalf("the two ledger files do not part at movement %d", fork)
	}
	gi := gs[g.id]
	if gi.Branch != 1 || gi.Seq != restored.last || gi.Ledgers != 1 || len(gi.Conflicts) != 1 {
		t.Fatalf("GET /v1/gateways: %+v; want branch 1 at %d, one conflict", gi, restored.last)
	}
	cf := gi.Conflicts[0]
	if cf.Created != restored.created || cf.Seq != fork || cf.Branch != 1 || cf.Parent != 0 ||
		cf.Held != fmt.Sprintf("%x", orig.hashes[fork-1]) || cf.Hash != fmt.Sprintf("%x", restored.hashes[fork-1]) {
		t.Fatalf("conflict %+v; want movement %d, held %x, new %x", cf, fork, orig.hashes[fork-1][:4], restored.hashes[fork-1][:4])
	}
	if held := orig.last + restored.last - bLast; gi.Counters.Conflicts != 1 || gi.Counters.Stored != held || gi.Counters.BadSignatures != 0 {
		t.Fatalf("counters %+v; want 1 conflict and %d movements held", gi.Counters, held)
	}
	if n := strings.Count(centreLog, `level=ERROR msg="ledger conflict`); n != 1 {
		t.Fatalf("%d ERROR lines of the conflict, want 1", n)
	}

	// Both histories, whole, in the centre's store.
	st, err := boltstore.OpenReadOnly(c.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	heads, err := st.Ledgers(context.Background())
	if err != nil || len(heads) != 2 || heads[1].Fork != fork || heads[1].Parent != 0 {
		t.Fatalf("ledgers %+v, %v; want branch 0 and branch 1 forked at %d", heads, err, fork)
	}
	verifyBranch(t, st, orig, 0)
	verifyBranch(t, st, restored, 1)
	// How an operator tells them apart: each ledger file verifies, and
	// its last hash is the head of one branch.
	for i, path := range []string{original, g.store} {
		r := verifyLedgerFile(t, path)
		if r.LastHash != wire.HashHex(heads[i].Hash) || r.LastSeq != heads[i].Seq {
			t.Fatalf("udi-edge verify %s: last %d %s; branch %d's head %d %s", path, r.LastSeq, r.LastHash, i, heads[i].Seq, wire.HashHex(heads[i].Hash))
		}
	}
	logf(t, start, "both histories verified")
}
