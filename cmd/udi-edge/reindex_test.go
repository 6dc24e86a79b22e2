package main

import (
	"strings"
	"testing"

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

	db, err = bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if code, _, errOut := runMain(t, "", "reindex", "--store", path, "--wait", "50ms"); code != ExitFailure || !strings.Contains(errOut, "held by a running agent") {
		t.Errorf("reindex of a held ledger: exit %d, %q", code, errOut)
	}
}
