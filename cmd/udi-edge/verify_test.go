package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// verifyLedgerFile writes n use movements to a new ledger file, closes it
// and returns its path.
func verifyLedgerFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	wg.Add(n)
	for i := range n {
		serial := fmt.Sprintf("S%05d", i)
		l.Submit(agent.Movement{
			Time:     time.Date(2026, 5, 14, 9, 30, 0, i, time.FixedZone("CST", 8*3600)),
			Kind:     agent.KindUse,
			Item:     "(01)09520123456788(21)" + serial,
			GTIN:     "09520123456788",
			Serial:   serial,
			Lot:      "LOT-A",
			Location: "OR-3",
			Station:  "scanner-or3-a",
			Patient:  "patient-x",
			Raw:      []byte("]d20109520123456788" + "10LOT-A\x1d21" + serial),
		}, func(_ agent.Movement, err error) { errs[i] = err; wg.Done() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// changeLot rewrites, in the closed ledger file, the lot of the movement
// with sequence number seq from LOT-A to LOT-B and recomputes the record's
// CRC-32C, as documented in firmware-notes/ledger.md: only the hash chain
// can tell.
func changeLot(t *testing.T, path string, seq uint64) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("movements"))
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			first := binary.BigEndian.Uint64(k)
			n := uint64(binary.BigEndian.Uint32(v[1:5]))
			if seq < first || seq >= first+n {
				continue
			}
			v = bytes.Clone(v)
			i := seq - first
			end := func(i uint64) uint32 { return binary.BigEndian.Uint32(v[5+4*i:]) }
			recs := v[5+4*n+4:]
			start := uint32(0)
			if i > 0 {
				start = end(i - 1)
			}
			rec := recs[start:end(i)]
			at := bytes.Index(rec, []byte("\x05LOT-A"))
			if at < 0 {
				return fmt.Errorf("movement %d has no lot LOT-A", seq)
			}
			rec[at+5] = 'B'
			binary.BigEndian.PutUint32(rec[len(rec)-4:], crc32.Checksum(rec[:len(rec)-4], crc32.MakeTable(crc32.Castagnoli)))
			return b.Put(k, v)
		}
		return fmt.Errorf("no batch holds movement %d", seq)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntact(t *testing.T) {
	path := verifyLedgerFile(t, 300)
	code, out, errOut := runMain(t, "", "verify", "--store", path)
	if code != ExitOK || !strings.HasPrefix(out, "intact: 300 movements, last hash ") {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	code, out, _ = runMain(t, "", "verify", "--store", path, "--json")
	var res agent.VerifyReport
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitOK {
		t.Fatalf("exit %d, %q: %v", code, out, err)
	}
	if !res.Intact || res.Movements != 300 || res.LastSeq != 300 || len(res.LastHash) != 64 || res.Gateway != "or-3" {
		t.Errorf("--json: %+v", res)
	}
}

func TestVerifyChangedMovement(t *testing.T) {
	path := verifyLedgerFile(t, 300)
	changeLot(t, path, 123)
	code, out, errOut := runMain(t, "", "verify", "--store", path)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\nstdout %q", code, ExitFailure, out)
	}
	if !strings.HasPrefix(out, "NOT INTACT: movement 123 changed: its content no longer matches its hash") {
		t.Errorf("stdout %q", out)
	}
	if strings.Contains(out, "structural check also found") {
		t.Errorf("a change with its checksum fixed must show only in the chain: %q", out)
	}
	if !strings.Contains(errOut, "movement 123 changed") {
		t.Errorf("stderr %q", errOut)
	}
	code, out, _ = runMain(t, "", "verify", "--store", path, "--json")
	var res agent.VerifyReport
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitFailure {
		t.Fatalf("exit %d, %q: %v", code, out, err)
	}
	if res.Intact || res.Broken == nil || res.Broken.Seq != 123 || res.Broken.Kind != bolt.ChainChanged {
		t.Errorf("--json: %+v", res)
	}
}

// TestVerifyRunningAgent: verify asks a running agent through its local
// API, and says the same as on the stopped file.
func TestVerifyRunningAgent(t *testing.T) {
	path := verifyLedgerFile(t, 300)
	changeLot(t, path, 42)
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serveAPI(t, l, path+".sock")
	code, out, _ := runMain(t, "", "verify", "--store", path)
	if code != ExitFailure || !strings.HasPrefix(out, "NOT INTACT: movement 42 changed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestVerifyLockedByAgent(t *testing.T) {
	path := verifyLedgerFile(t, 3)
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, errOut := runMain(t, "", "verify", "--store", path, "--wait", "50ms")
	if code != ExitFailure || !strings.Contains(errOut, "held by a running agent") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestVerifyUsage(t *testing.T) {
	if code, _, _ := runMain(t, "", "verify", "extra"); code != ExitUsage {
		t.Errorf("an argument: exit %d, want %d", code, ExitUsage)
	}
	code, _, errOut := runMain(t, "", "verify", "--store", filepath.Join(t.TempDir(), "none.db"))
	if code != ExitFailure || !strings.Contains(errOut, "none.db") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
}
