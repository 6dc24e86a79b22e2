package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestVerifyCommand: udi-central verify says a store intact with its
// ledgers and movements counted, and a store with one byte of a
// movement's record changed is NOT intact (exit 1), naming the ledger.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, "ledger.db"), Gateway: "gw-v"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		m := agent.Movement{Time: time.Date(2026, 12, 7, 9, 0, i, 0, time.UTC), Kind: agent.KindReceive,
			Item: fmt.Sprintf("(01)09520123456788(21)VERIFY%03d", i), Location: "warehouse", Raw: fmt.Appendf(nil, "VERIFY-RAW-%03d", i)}
		if _, err := l.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := l.ReadRecords(1, 100, 1<<20)
	if err != nil || len(recs) != 20 {
		t.Fatalf("%d records: %v", len(recs), err)
	}
	created := l.Created().UnixNano()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "central.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b := &wire.Batch{Gateway: "gw-v", Site: "h1", Created: created, First: 1, Records: recs}
	stored, err := central.CheckBatch(b)
	if err == nil {
		_, _, err = st.Append(ctx, "h1", "gw-v", created, stored)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runMain(t, "verify", "--store", path)
	if code != 0 || !strings.Contains(out, "intact: 1 ledgers, 1 branches, 20 movements") {
		t.Fatalf("verify of a sound store: exit %d\n%s%s", code, out, errOut)
	}
	// One byte of movement 7's raw scan, where the record holds it.
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(file, []byte("VERIFY-RAW-006"))
	if at < 0 {
		t.Fatal("the record is not in the file as written")
	}
	file[at+len("VERIFY-RAW-00")] = '9'
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain(t, "verify", "--store", path)
	if code != 1 || !strings.Contains(errOut, "gw-v") || !strings.Contains(errOut, "movement 7") {
		t.Fatalf("verify of a damaged store: exit %d\n%s%s", code, out, errOut)
	}
}
