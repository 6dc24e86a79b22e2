package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// TestCompactCommand: `udi-edge compact` on a stopped agent's ledger
// takes out what the centre acknowledged more than ledger.retention ago,
// keeps the item still on the shelf, and verify then checks the chain
// from its anchor; a ledger held by a running agent is refused.
func TestCompactCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old := time.Now().AddDate(-2, 0, 0)
	add := func(at time.Time, kind agent.Kind, serial string) {
		t.Helper()
		_, err := l.Append(ctx, agent.Movement{Time: at, Kind: kind, Item: "(01)09520123456788(21)" + serial, GTIN: "09520123456788",
			Serial: serial, Location: "OR-3", Station: "scanner-or3"})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 { // two years ago: received and used
		s := fmt.Sprintf("U%03d", i)
		add(old.Add(time.Duration(i)*time.Minute), agent.KindReceive, s)
		add(old.Add(time.Duration(i)*time.Minute+time.Second), agent.KindUse, s)
	}
	add(old.Add(time.Hour), agent.KindReceive, "SHELF") // still on the shelf
	for i := range 20 {                                 // this week
		add(time.Now().Add(-time.Duration(i)*time.Hour), agent.KindReceive, fmt.Sprintf("N%03d", i))
	}
	if err := l.SetSyncCursor(l.LastSeq() - 5); err != nil {
		t.Fatal(err)
	}
	l.Close()

	l2, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain(t, "", "compact", "--store", path, "--gateway", "or-3", "--wait", "50ms")
	if code != ExitFailure || !strings.Contains(errOut, "held by a running agent") {
		t.Fatalf("compact of a running agent's ledger: exit %d, %q", code, errOut)
	}
	l2.Close()

	code, out, errOut := runMain(t, "", "compact", "--store", path, "--gateway", "or-3", "--json")
	if code != ExitOK {
		t.Fatalf("compact: exit %d, %q", code, errOut)
	}
	var res struct {
		Removed, Carried, Tombstones uint64
		Anchor                       *struct{ Seq uint64 }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Anchor == nil || res.Removed != 100 || res.Carried != 1 || res.Tombstones != 50 {
		t.Fatalf("compact: %s", out)
	}
	code, out, _ = runMain(t, "", "verify", "--store", path, "--gateway", "or-3")
	if code != ExitOK || !strings.Contains(out, "retention anchor, movement 102") {
		t.Fatalf("verify after compact: exit %d\n%s", code, out)
	}
	code, out, _ = runMain(t, "", "trace", "--store", path, "--gateway", "or-3", "--key", "(01)09520123456788(21)SHELF")
	if code != ExitOK || !strings.Contains(out, "1 movement(s)") {
		t.Fatalf("trace of the item on the shelf: exit %d\n%s", code, out)
	}
}
