package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// ansFailed is the answer byte of a scan the ledger could not record.
const ansFailed = 0x18

// xorFile flips bits of the byte at off of the file at path.
func xorFile(t *testing.T, path string, off int64, mask byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= mask
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// boltPageSize returns the page size bbolt's first meta page records.
func boltPageSize(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 32 {
		t.Fatal(err)
	}
	return int64(binary.LittleEndian.Uint32(b[16+8:]))
}

// TestLedgerFileDeletedUnderAgent: deleting the ledger file under a
// running agent makes every later scan answer failed (never accepted into
// an unlinked file), status says why, and a second agent on the same
// store path and scanner is refused even then.
func TestLedgerFileDeletedUnderAgent(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "G1")); b != ansAccepted {
		t.Fatalf("first scan: %#x", b)
	}
	if err := os.Remove(p.cfg.Store); err != nil {
		t.Fatal(err)
	}
	for i, serial := range []string{"G2", "G3"} {
		if b := p.scan("desk", label("09520123456788", "281231", "B1", serial)); b != ansFailed {
			t.Fatalf("scan %d after the file was deleted: %#x, want failed", i+2, b)
		}
	}
	st, err := p.status()
	if err != nil || !strings.Contains(st.Ledger.Failed, "removed") {
		t.Fatalf("status: %+v %v", st.Ledger, err)
	}
	if c, out, _ := p.run("status"); !strings.Contains(out, "LEDGER FAILED") {
		t.Errorf("status: exit %d\n%s", c, out)
	}
	if !strings.Contains(p.logs.String(), "ledger file gone") {
		t.Errorf("the agent did not log why:\n%s", p.logs.String())
	}
	// A second agent on the same path: refused, however the file looks.
	second := newFailingRun(t, p.file)
	if !strings.Contains(second, "held by process") {
		t.Fatalf("a second agent on the same store path: %s", second)
	}
}

// newFailingRun runs `udi-edge run` on the configuration file and returns
// what it printed; it must exit 1 at once.
func newFailingRun(t *testing.T, file string) string {
	t.Helper()
	c, out, errOut := runMain(t, "", "run", "--config", file)
	if c != ExitFailure {
		t.Fatalf("run: exit %d\n%s%s", c, out, errOut)
	}
	return errOut
}

// receivedLedger records 40 items received at a real agent, stops it,
// and returns it with the offset in its file of the first item's label.
func receivedLedger(t *testing.T) (*agentProc, int64) {
	t.Helper()
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	for i := range 40 {
		serial := "H" + string(rune('A'+i%26)) + string(rune('A'+i/26))
		if b := p.scan("desk", label("09520123456788", "281231", "B1", serial)); b != ansAccepted {
			t.Fatalf("receive %s: %#x", serial, b)
		}
	}
	p.stop()
	b, err := os.ReadFile(p.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(b, []byte("21HAA"))
	if at < 0 {
		t.Fatal("the label is not in the ledger file")
	}
	return p, int64(at)
}

// scanWithin scans at the OR and fails the test when no answer comes.
func scanWithin(t *testing.T, p *agentProc, code string) byte {
	t.Helper()
	done := make(chan byte, 1)
	go func() { done <- p.scan("or3", code) }()
	select {
	case ans := <-done:
		return ans
	case <-time.After(20 * time.Second):
		t.Fatal("no answer to the scan")
	}
	return 0
}

// commandsSurvive runs verify, trace, anomalies and export on a damaged
// file: each says what is wrong and exits 1, none panics.
func commandsSurvive(t *testing.T, store string) {
	t.Helper()
	c, out, errOut := runMain(t, "", "verify", "--store", store)
	if c != ExitFailure || !strings.Contains(out, "NOT INTACT") {
		t.Fatalf("verify: exit %d\n%s%s", c, out, errOut)
	}
	for _, args := range [][]string{{"trace", "(01)09520123456788(21)HAA"}, {"anomalies"}, {"export", "epcis", "-o", filepath.Join(t.TempDir(), "x.jsonld")}} {
		c, out, errOut := runMain(t, "", append(args, "--store", store)...)
		if c != ExitFailure || strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "panic") {
			t.Fatalf("%v on the damaged file: exit %d\n%s%s", args, c, out, errOut)
		}
	}
}

// TestDamagedRecordNeverCrashes: one damaged byte inside a stored batch
// never crashes the agent: the item's history cannot be read, so its use
// is decided as with none and warned (flag history-unreadable, never
// accepted silently), other items go on as before, and verify, trace,
// anomalies and export say what is damaged and exit 1.
func TestDamagedRecordNeverCrashes(t *testing.T) {
	p, at := receivedLedger(t)
	xorFile(t, p.cfg.Store, at+3, 0x01) // a digit of the serial in the record
	commandsSurvive(t, p.cfg.Store)
	p.start()
	if ans := scanWithin(t, p, label("09520123456788", "281231", "B1", "HAA")); ans != ansWarned {
		t.Fatalf("the use of an item whose history is unreadable: answer %#x, want warned", ans)
	}
	if ans := scanWithin(t, p, label("09520123456788", "281231", "B1", "HBA")); ans != ansAccepted {
		t.Fatalf("another item: answer %#x, want accepted", ans)
	}
	if !strings.Contains(p.logs.String(), "history-unreadable") {
		t.Errorf("the log does not name the policy that decided:\n%s", p.logs.String())
	}
}

// TestDamagedPageNeverCrashes: a damaged page header under the movements
// (bbolt could loop on it, or crash) never crashes the agent: it starts,
// records nothing into the damaged file (every scan answered failed),
// says why in status, and the commands say what is damaged and exit 1.
func TestDamagedPageNeverCrashes(t *testing.T) {
	p, at := receivedLedger(t)
	ps := boltPageSize(t, p.cfg.Store)
	xorFile(t, p.cfg.Store, at/ps*ps+8, 0x40) // the page's type
	commandsSurvive(t, p.cfg.Store)
	p.start()
	if ans := scanWithin(t, p, label("09520123456788", "281231", "B1", "HAA")); ans != ansFailed {
		t.Fatalf("a scan on a ledger that cannot be written safely: answer %#x, want failed", ans)
	}
	st, err := p.status()
	if err != nil || !strings.Contains(st.Ledger.Failed, "damaged") {
		t.Fatalf("status: %+v %v\n%s", st.Ledger, err, p.logs.String())
	}
	if c, out, _ := p.run("verify"); c != ExitFailure || !strings.Contains(out, "NOT INTACT") {
		t.Fatalf("verify through the running agent: exit %d\n%s", c, out)
	}
}

// TestLostTransactionShown: when the active meta page is damaged bbolt
// falls back to the one before, and the last transaction is gone: verify
// names the lost movement (NOT INTACT, exit 1), and the agent, started on
// the file, records the loss as its next movement and reports it.
func TestLostTransactionShown(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	const n = 12
	for i := range n {
		if b := p.scan("desk", label("09520123456788", "281231", "B1", "M"+string(rune('A'+i)))); b != ansAccepted {
			t.Fatalf("scan %d: %#x", i, b)
		}
	}
	p.stop()
	// The active meta page is the one with the higher transaction id.
	ps := boltPageSize(t, p.cfg.Store)
	b, err := os.ReadFile(p.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	txid := func(page int64) uint64 { return binary.LittleEndian.Uint64(b[page*ps+16+48:]) }
	active := int64(0)
	if txid(1) > txid(0) {
		active = 1
	}
	xorFile(t, p.cfg.Store, active*ps+16+48, 0x01)

	c, out, _ := runMain(t, "", "verify", "--store", p.cfg.Store)
	if c != ExitFailure || !strings.Contains(out, "NOT INTACT") || !strings.Contains(out, "movement 12") {
		t.Fatalf("verify after a lost transaction: exit %d\n%s", c, out)
	}
	if c, out, _ := runMain(t, "", "run", "--check", "--config", p.file); c != ExitFailure || !strings.Contains(out, "movement 12") {
		t.Errorf("run --check: exit %d\n%s", c, out)
	}
	p.start()
	st, err := p.status()
	if err != nil || !strings.Contains(st.Ledger.Lost, "12") || st.LastSeq != n {
		t.Fatalf("status after the loss: %+v %v", st, err)
	}
	ms := traceJSON(t, p, "(01)09520123456788(21)ML")
	if len(ms) != 0 {
		t.Fatalf("the lost movement is traced: %+v", ms)
	}
	c, out, _ = p.run("status")
	if !strings.Contains(out, "LEDGER LOST MOVEMENTS") {
		t.Errorf("status: exit %d\n%s", c, out)
	}
}
