package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	bbolt "go.etcd.io/bbolt"
)

// TestReindexRepairsADamagedIndex damages the item index of a stopped
// agent's ledger: verify reports it and a trace refuses to answer short;
// reindex rebuilds it; then verify finds the ledger intact and the trace
// answers. A ledger held by another process is refused.
func TestReindexRepairsADamagedIndex(t *testing.T) {
	path := verifyLedgerFile(t, 300)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket([]byte("runs")).Cursor().First()
		run := tx.Bucket([]byte("index")).Bucket(k)
		bk, bv := run.Cursor().First()
		v := append([]byte(nil), bv...)
		v[len(v)-1] ^= 1
		return run.Put(append([]byte(nil), bk...), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	const item = "(01)09520123456788(21)S00007"
	if code, out, _ := runMain(t, "", "verify", "--store", path); code != ExitFailure || !strings.Contains(out, "item index") {
		t.Fatalf("verify of the damaged index: exit %d\n%s", code, out)
	}
	if code, _, errOut := runMain(t, "", "trace", "--store", path, "--key", item); code != ExitFailure || !strings.Contains(errOut, "checksum") {
		t.Fatalf("trace over the damaged index: exit %d, %q", code, errOut)
	}
	code, out, errOut := runMain(t, "", "reindex", "--store", path)
	if code != ExitOK || !strings.Contains(out, "item index rebuilt: 300 movements, 300 index entries") {
		t.Fatalf("reindex: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if code, out, _ := runMain(t, "", "verify", "--store", path); code != ExitOK || !strings.HasPrefix(out, "intact: 300 movements") {
		t.Fatalf("verify after reindex: exit %d\n%s", code, out)
	}
	if code, out, _ := runMain(t, "", "trace", "--store", path, "--key", item); code != ExitOK || !strings.Contains(out, "1 movement(s)") {
		t.Fatalf("trace after reindex: exit %d\n%s", code, out)
	}

	// A record damaged in place: reindex leaves it out, names it, exit 1.
	db, err = bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("movements"))
		k, v := b.Cursor().First()
		v = append([]byte(nil), v...)
		v[len(v)-10] ^= 0xff // inside the batch's last record
		return b.Put(append([]byte(nil), k...), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runMain(t, "", "reindex", "--store", path, "--wait", "50ms"); code != ExitFailure || !strings.Contains(errOut, "held by a running agent") {
		t.Errorf("reindex of a held ledger: exit %d, %q", code, errOut)
	}
	db.Close()
	code, out, errOut = runMain(t, "", "reindex", "--store", path)
	if code != ExitFailure || !strings.Contains(out, "299 movements, 299 index entries") ||
		!regexp.MustCompile(`not indexed, unreadable: movement\(s\) \d+\n`).MatchString(out) || !strings.Contains(errOut, "1 movement(s) could not be read") {
		t.Errorf("reindex over a damaged record: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}

// TestStatusShowsADamagedIndex runs a ledger whose index is damaged where
// the next transaction's merge must read it (seven runs of one movement,
// one of them damaged, and an eighth that makes their merge due): the
// movement is recorded all the same, and udi-edge status tells the
// operator what happened and what to do.
func TestStatusShowsADamagedIndex(t *testing.T) {
	dir := t.TempDir()
	path, sock := filepath.Join(dir, "ledger.db"), filepath.Join(dir, "agent.sock")
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	use := func(l *bolt.Ledger, i int) (agent.Movement, error) {
		return l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindReceive, Item: fmt.Sprintf("(01)09520123456788(21)R%03d", i), Location: "store"})
	}
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := use(l, i); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket([]byte("runs")).Cursor().First()
		run := tx.Bucket([]byte("index")).Bucket(k)
		bk, bv := run.Cursor().First()
		v := append([]byte(nil), bv...)
		v[len(v)-1] ^= 1
		return run.Put(append([]byte(nil), bk...), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	if l, err = bolt.Open(bolt.Options{Path: path, Gateway: "or-3"}); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serveAPI(t, l, sock)
	if code, out, _ := runMain(t, "", "status", "--store", path, "--socket", sock); code != ExitOK || strings.Contains(out, "INDEX DAMAGED") {
		t.Fatalf("status before the damage is met: exit %d\n%s", code, out)
	}
	if m, err := use(l, 7); err != nil || m.Seq != 8 {
		t.Fatalf("the movement whose merge meets the damage: %+v, %v", m, err)
	}
	code, out, errOut := runMain(t, "", "status", "--store", path, "--socket", sock)
	if code != ExitOK || !strings.Contains(out, "gateway or-3: 8 movement(s)") || !strings.Contains(out, "ITEM INDEX DAMAGED") || !strings.Contains(out, "udi-edge reindex") {
		t.Fatalf("status: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
