package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// appendN appends movements from..from+n-1 of stream "t", one transaction
// each, and closes the ledger.
func appendN(t *testing.T, path string, from, n int) []agent.Movement {
	t.Helper()
	l := openWriter(t, path)
	var out []agent.Movement
	for i := range n {
		m, err := l.Append(context.Background(), movementN("t", from+i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// metaPages reads a closed file's meta pages: the one bbolt uses and the
// other.
func metaPages(t *testing.T, path string) (active, other bbMeta, pageSize int) {
	t.Helper()
	fm := mapFile(t, path)
	a, ok := activeMeta(fm.metas)
	if !ok || fm.metas[1-a.page].err != nil {
		t.Fatalf("meta pages %+v", fm.metas)
	}
	return a, fm.metas[1-a.page], fm.ps
}

// damageMeta changes a byte of meta page n's transaction id.
func damageMeta(t *testing.T, path string, m bbMeta, pageSize int) {
	t.Helper()
	xorAt(t, path, int64(m.page)*int64(pageSize)+bbPageHeader+48, 0x01)
}

// bbolt falls back to the older meta page when the newer is damaged: the
// last transaction is gone. The tip file shows it at open and in Verify,
// and a writable Open records it as the first movement after the loss.
func TestDamagedActiveMetaLossReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := appendN(t, path, 0, 12)
	last := written[len(written)-1]
	active, _, ps := metaPages(t, path)
	damageMeta(t, path, active, ps)

	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	loss := ro.Loss()
	if loss == nil || loss.Kind != LossMissing || loss.LedgerLast != 11 || loss.TipSeq != 12 ||
		!slices.Equal(loss.TipHash, last.Hash) || loss.Recorded != 0 {
		t.Fatalf("Loss() = %+v, want movement 12 missing", loss)
	}
	if from, to := loss.Missing(); from != 12 || to != 12 {
		t.Errorf("Missing() = %d, %d", from, to)
	}
	_, err = ro.VerifyAll(context.Background())
	var le *Loss
	if !errors.Is(err, ErrLedgerLoss) || !errors.Is(err, ErrCorrupt) || !errors.As(err, &le) ||
		!strings.Contains(err.Error(), "movement 12 is missing") {
		t.Errorf("VerifyAll = %v, want the loss of movement 12", err)
	}
	ro.Close()

	// A writable open records the loss, then goes on after it.
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	loss = l.Loss()
	if loss == nil || loss.Recorded != 12 {
		t.Fatalf("after a writable open: Loss() = %+v, want it recorded as movement 12", loss)
	}
	rec, err := l.Get(12)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != agent.KindContext || !slices.Equal(rec.Flags, []string{FlagLedgerLoss}) ||
		!strings.Contains(rec.Reason, "movement 12 (hash "+short(last.Hash)) || !strings.Contains(rec.Reason, "movement 12 is missing") {
		t.Errorf("the loss record: %+v", rec)
	}
	if m, err := l.Append(context.Background(), movementN("t", 99)); err != nil || m.Seq != 13 {
		t.Errorf("Append after the loss record: %d, %v", m.Seq, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Recorded, the loss is history: the file and its tip agree again.
	ro, err = OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if sum, err := ro.VerifyAll(context.Background()); err != nil || ro.Loss() != nil || len(sum.Warnings) != 0 {
		t.Errorf("after the loss was recorded: loss %v, verify %v, warnings %q", ro.Loss(), err, sum.Warnings)
	}
}

// The older meta page damaged: nothing is lost; Verify finds the ledger
// intact and warns of the page, which the next commit rewrites.
func TestDamagedInactiveMetaLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	appendN(t, path, 0, 12)
	_, other, ps := metaPages(t, path)
	damageMeta(t, path, other, ps)

	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ro.VerifyAll(context.Background())
	if err != nil || ro.Loss() != nil || ro.LastSeq() != 12 {
		t.Fatalf("verify %v, loss %v, last %d", err, ro.Loss(), ro.LastSeq())
	}
	if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], fmt.Sprintf("bbolt meta page %d is damaged", other.page)) {
		t.Errorf("warnings %q, want the damaged meta page %d", sum.Warnings, other.page)
	}
	ro.Close()

	appendN(t, path, 12, 1) // commits rewrite the damaged page
	ro, err = OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if sum, err := ro.VerifyAll(context.Background()); err != nil || len(sum.Warnings) != 0 {
		t.Errorf("after a commit: verify %v, warnings %q", err, sum.Warnings)
	}
}

// A damaged meta page under a running writer: the next transaction would
// chain onto the older meta page's file; it fails instead, naming what
// happened.
func TestWriterRefusesMetaFallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	appendN(t, path, 0, 5)
	l := openWriter(t, path)
	ctx := context.Background()
	if _, err := l.Append(ctx, movementN("t", 5)); err != nil {
		t.Fatal(err)
	}
	active, _, ps := metaPages(t, path)
	damageMeta(t, path, active, ps)
	_, err := l.Append(ctx, movementN("t", 6))
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "a committed transaction is gone") {
		t.Errorf("Append after the meta page was damaged = %v", err)
	}
}

// The ledger file deleted while the agent was stopped: the next Open
// makes a new file, and records that the previous ledger is gone.
func TestReplacedLedgerLossRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := appendN(t, path, 0, 7)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	loss := l.Loss()
	if loss == nil || loss.Kind != LossReplaced || loss.TipSeq != 7 || loss.LedgerLast != 0 || loss.Recorded != 1 ||
		!slices.Equal(loss.TipHash, written[6].Hash) {
		t.Fatalf("Loss() = %+v, want the previous ledger's 7 movements", loss)
	}
	rec, err := l.Get(1)
	if err != nil || rec.Kind != agent.KindContext || !strings.Contains(rec.Reason, "movements 1 to 7 are missing") {
		t.Errorf("the loss record: %+v, %v", rec, err)
	}
	if err := l.Verify(context.Background()); err != nil {
		t.Errorf("Verify of the new ledger: %v", err)
	}
}

// A ledger file put back from an older copy that then went on another
// way: the tip's movement is there, under another hash.
func TestRewrittenLedgerLossReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	appendN(t, path, 0, 5)
	copyFile(t, path, filepath.Join(dir, "old.db"))
	appendN(t, path, 5, 3) // the tip is at 8
	tip := path + tipSuffix
	if err := os.Rename(tip, filepath.Join(dir, "tip")); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(dir, "old.db"), path)
	appendN(t, path, 100, 4) // 6 to 9, other movements
	if err := os.Rename(filepath.Join(dir, "tip"), tip); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if loss := ro.Loss(); loss == nil || loss.Kind != LossRewritten || loss.TipSeq != 8 || loss.LedgerLast != 9 {
		t.Fatalf("Loss() = %+v, want movement 8 rewritten", loss)
	}
	if err := ro.Verify(context.Background()); !errors.Is(err, ErrLedgerLoss) || !strings.Contains(err.Error(), "movement 8 has another hash") {
		t.Errorf("Verify = %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A missing or damaged tip file is never fatal: read-only, it is a
// warning (a loss cannot be ruled out); a writable open writes it anew.
func TestTipMissingOrDamaged(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(tip string)
		warn   string
	}{
		{"missing", func(tip string) { os.Remove(tip) }, "no tip file"},
		{"both slots", func(tip string) { os.WriteFile(tip, make([]byte, 2*tipSlot), 0o600) }, "is damaged"},
		{"one slot", func(tip string) {
			b, _ := os.ReadFile(tip)
			b[tipSlot+40] ^= 1
			os.WriteFile(tip, b, 0o600)
		}, "slot 1: checksum does not match"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			appendN(t, path, 0, 3)
			c.damage(path + tipSuffix)
			ro, err := OpenReadOnly(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := ro.VerifyAll(context.Background())
			if err != nil || ro.Loss() != nil || len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], c.warn) {
				t.Errorf("verify %v, loss %v, warnings %q; want a warning %q", err, ro.Loss(), sum.Warnings, c.warn)
			}
			ro.Close()
			// A writable open writes the tip anew; the next commit keeps it.
			appendN(t, path, 3, 1)
			st, ok, warn := readTip(path + tipSuffix)
			if !ok || warn != "" || st.seq != 4 {
				t.Errorf("tip after a writable open: %+v %v %q", st, ok, warn)
			}
		})
	}
}

// The tip is written after every commit, before the movements are
// answered: it names the last movement accepted.
func TestTipFollowsCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openTest(t, Options{Path: path, MaxDelay: -1})
	for i := range 5 {
		m, err := l.Append(context.Background(), movementN("t", i))
		if err != nil {
			t.Fatal(err)
		}
		st, ok, warn := readTip(path + tipSuffix)
		if !ok || warn != "" || st.seq != m.Seq || !slices.Equal(st.hash[:], m.Hash) || st.gateway != testGateway {
			t.Fatalf("after movement %d: tip %+v %v %q", m.Seq, st, ok, warn)
		}
	}
}
