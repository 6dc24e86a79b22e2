package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/udi-edge/udi-edge/agent"
)

func TestAppendTraceGetRange(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	var written []agent.Movement
	for n := range 40 {
		m, err := l.Append(ctx, movementN("a", n))
		if err != nil {
			t.Fatalf("Append %d: %v", n, err)
		}
		if m.Seq != uint64(n+1) || m.Gateway != testGateway {
			t.Fatalf("Append %d: seq %d gateway %q", n, m.Seq, m.Gateway)
		}
		written = append(written, m)
	}
	if got := l.LastSeq(); got != 40 {
		t.Fatalf("LastSeq = %d, want 40", got)
	}

	for _, want := range written {
		got, err := l.Get(want.Seq)
		if err != nil {
			t.Fatalf("Get(%d): %v", want.Seq, err)
		}
		if !sameMovement(got, want) {
			t.Fatalf("Get(%d) = %+v, want %+v", want.Seq, got, want)
		}
	}
	if _, err := l.Get(41); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(41) = %v, want ErrNotFound", err)
	}
	if _, err := l.Get(0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(0) = %v, want ErrNotFound", err)
	}

	// One item's life: receive, stock, issue, use, oldest first.
	item := written[4].Item
	trace, err := l.Trace(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []agent.Kind
	for _, m := range trace {
		if m.Item != item {
			t.Errorf("Trace returned item %q", m.Item)
		}
		kinds = append(kinds, m.Kind)
	}
	if fmt.Sprint(kinds) != "[receive stock issue use]" {
		t.Errorf("Trace kinds = %v", kinds)
	}
	for i := 1; i < len(trace); i++ {
		if trace[i].Seq <= trace[i-1].Seq {
			t.Errorf("Trace not oldest first: %d after %d", trace[i].Seq, trace[i-1].Seq)
		}
	}
	// A key that is a prefix of another key is not that key.
	if got, err := l.Trace(ctx, item[:len(item)-1]); err != nil || len(got) != 0 {
		t.Errorf("Trace(prefix of a key) = %d movements, %v", len(got), err)
	}
	if got, err := l.Trace(ctx, "(01)00000000000000(21)none"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("Trace(unknown) = %#v, %v; want empty slice", got, err)
	}

	var seqs []uint64
	if err := l.Range(38, func(m agent.Movement) error { seqs = append(seqs, m.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[38 39 40]" {
		t.Errorf("Range(38) = %v", seqs)
	}
	stop := errors.New("stop")
	n := 0
	if err := l.Range(0, func(agent.Movement) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Range with failing fn = %v after %d calls", err, n)
	}
}

func TestRangeChunks(t *testing.T) {
	l := openTest(t, Options{})
	const total = 3*rangeChunk + 7
	o := newOutcomes()
	for n := range total {
		l.Submit(movementN("r", n), o.done(n))
	}
	o.wg.Wait()
	var next uint64 = 1
	err := l.Range(1, func(m agent.Movement) error {
		if m.Seq != next {
			return fmt.Errorf("seq %d, want %d", m.Seq, next)
		}
		want := movementN("r", int(next-1))
		want.Gateway, want.Seq = testGateway, next
		if !sameMovement(m, want) {
			return fmt.Errorf("movement %d differs", next)
		}
		next++
		return nil
	})
	if err != nil || next != total+1 {
		t.Fatalf("Range: %v, reached %d", err, next)
	}
}

func TestTracePrefix(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	gtinA, gtinB := "09520123456788", "09520123456795"
	for i := range 10 {
		for _, gtin := range []string{gtinA, gtinB} {
			serial := fmt.Sprintf("S%02d", i%5)
			m := agent.Movement{Time: time.Now(), Kind: agent.KindReceive, Item: "(01)" + gtin + "(21)" + serial, GTIN: gtin, Serial: serial}
			if _, err := l.Append(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := l.TracePrefix(ctx, "(01)"+gtinA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("TracePrefix = %d movements, want 10", len(got))
	}
	for i, m := range got {
		if m.GTIN != gtinA {
			t.Errorf("movement %d has GTIN %s", m.Seq, m.GTIN)
		}
		if i > 0 && m.Seq <= got[i-1].Seq {
			t.Errorf("not oldest first: %d after %d", m.Seq, got[i-1].Seq)
		}
	}
	limited, err := l.TracePrefix(ctx, "(01)"+gtinA, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited) != 3 || limited[0].Seq != got[0].Seq || limited[2].Seq != got[2].Seq {
		t.Errorf("TracePrefix limit 3 = %d movements", len(limited))
	}
	if all, err := l.TracePrefix(ctx, "(01)0952", 0); err != nil || len(all) != 20 {
		t.Errorf("TracePrefix(common prefix) = %d, %v", len(all), err)
	}
	if none, err := l.TracePrefix(ctx, "(01)1", 0); err != nil || none == nil || len(none) != 0 {
		t.Errorf("TracePrefix(no match) = %#v, %v", none, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.TracePrefix(cancelled, "(01)", 0); err != nil {
		// 20 entries are fewer than one cancellation check: no error is fine.
		t.Logf("TracePrefix with cancelled ctx: %v", err)
	}
}

func TestRejectedReadsNotIndexed(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	rej := agent.Movement{Time: time.Now(), Kind: agent.KindReject, Station: "s1", Raw: []byte{0x02, 0xff}, Reason: "bad check digit"}
	m, err := l.Append(ctx, rej)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, movementN("x", 0)); err != nil {
		t.Fatal(err)
	}
	got, err := l.Get(m.Seq)
	if err != nil || got.Reason != "bad check digit" || got.Kind != agent.KindReject {
		t.Fatalf("Get(rejected) = %+v, %v", got, err)
	}
	err = l.db.View(func(tx *bolt.Tx) error {
		if st, err := l.index(tx, nil).State(); err != nil || st.Entries != 1 {
			return fmt.Errorf("index holds %d entries, want 1 (%v)", st.Entries, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if s := l.Stats(); s.Rejected != 1 || s.RejectedTotal != 1 || s.Movements != 2 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestConcurrentSubmittersKeepOrder(t *testing.T) {
	l := openTest(t, Options{MaxBatch: 64})
	const submitters, each = 8, 300
	type result struct {
		submitter, n int
		seq          uint64
		err          error
	}
	var (
		mu      sync.Mutex
		results []result
		calls   = map[[2]int]int{}
		wg      sync.WaitGroup
	)
	wg.Add(submitters * each)
	for s := range submitters {
		go func() {
			for n := range each {
				l.Submit(movementN(fmt.Sprint("s", s), n), func(m agent.Movement, err error) {
					mu.Lock()
					results = append(results, result{s, n, m.Seq, err})
					calls[[2]int{s, n}]++
					mu.Unlock()
					wg.Done()
				})
			}
		}()
	}
	wg.Wait()
	// Give a duplicate callback a chance to show.
	time.Sleep(10 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(results) != submitters*each {
		t.Fatalf("%d callbacks, want %d", len(results), submitters*each)
	}
	for k, c := range calls {
		if c != 1 {
			t.Errorf("submission %v: done called %d times", k, c)
		}
	}
	seen := make(map[uint64]bool)
	last := make([]uint64, submitters)
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("submission %d/%d: %v", r.submitter, r.n, r.err)
		}
		if seen[r.seq] {
			t.Errorf("seq %d assigned twice", r.seq)
		}
		seen[r.seq] = true
	}
	for seq := uint64(1); seq <= submitters*each; seq++ {
		if !seen[seq] {
			t.Errorf("seq %d missing", seq)
		}
	}
	// Each submitter's movements are in its submission order.
	bySeq := make(map[uint64]result)
	for _, r := range results {
		bySeq[r.seq] = r
	}
	next := make([]int, submitters)
	for seq := uint64(1); seq <= submitters*each; seq++ {
		r := bySeq[seq]
		if r.n != next[r.submitter] {
			t.Fatalf("seq %d is submitter %d's movement %d, want %d", seq, r.submitter, r.n, next[r.submitter])
		}
		next[r.submitter]++
		last[r.submitter] = seq
		got, err := l.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		if got.Station != fmt.Sprint("s", r.submitter) {
			t.Fatalf("seq %d holds station %q, want s%d", seq, got.Station, r.submitter)
		}
	}
	if s := l.Stats(); s.Transactions >= s.Movements || s.MaxBatch > 64 {
		t.Errorf("Stats = %+v: expected grouped transactions of at most 64", s)
	}
}

func TestCloseFlushesQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	// A delay far longer than the test: only Close can flush.
	l, err := Open(Options{Path: path, Gateway: testGateway, MaxDelay: time.Hour, MaxBatch: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	o := newOutcomes()
	const n = 500
	for i := range n {
		l.Submit(movementN("c", i), o.done(i))
	}
	if got := o.count(); got != 0 {
		t.Fatalf("%d movements done before Close", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := o.count(); got != n {
		t.Fatalf("Close returned with %d of %d done", got, n)
	}
	for i := range n {
		if o.errs[i] != nil || o.got[i].Seq != uint64(i+1) || o.calls[i] != 1 {
			t.Fatalf("movement %d: seq %d err %v calls %d", i, o.got[i].Seq, o.errs[i], o.calls[i])
		}
	}

	var closedErr error
	l.Submit(movementN("c", n), func(_ agent.Movement, err error) { closedErr = err })
	if !errors.Is(closedErr, ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", closedErr)
	}
	if _, err := l.Append(context.Background(), movementN("c", n)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := l.Get(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := l.Trace(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Trace after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkFile(t, path)
}

func TestCloseWhileSubmitting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway, QueueSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		ok       []uint64
		closed   int
		wg       sync.WaitGroup
		expected = 4 * 200
	)
	wg.Add(expected)
	for s := range 4 {
		go func() {
			for n := range 200 {
				l.Submit(movementN(fmt.Sprint("w", s), n), func(m agent.Movement, err error) {
					mu.Lock()
					switch {
					case err == nil:
						ok = append(ok, m.Seq)
					case errors.Is(err, ErrClosed):
						closed++
					default:
						t.Errorf("unexpected error %v", err)
					}
					mu.Unlock()
					wg.Done()
				})
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(ok)+closed != expected {
		t.Fatalf("%d accepted + %d closed != %d", len(ok), closed, expected)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got := ro.LastSeq(); got != uint64(len(ok)) {
		t.Errorf("file holds %d movements, %d were accepted", got, len(ok))
	}
	if err := ro.Verify(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestReopenContinuesSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := context.Background()
	for round := range 3 {
		l, err := Open(Options{Path: path, Gateway: testGateway})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := l.LastSeq(); got != uint64(round*5) {
			t.Fatalf("round %d: LastSeq %d", round, got)
		}
		for i := range 5 {
			m, err := l.Append(ctx, movementN("re", round*5+i))
			if err != nil {
				t.Fatal(err)
			}
			if m.Seq != uint64(round*5+i+1) {
				t.Fatalf("round %d: seq %d", round, m.Seq)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkFile(t, path)
}

func TestFileAndDirectoryModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "udi-edge")
	path := filepath.Join(dir, "ledger.db")
	openTest(t, Options{Path: path})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode %v, want 0700", perm)
	}
	// The file was made under a temporary name; nothing but the file and
	// its tip is left.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 || ents[0].Name() != "ledger.db" || ents[1].Name() != "ledger.db.tip" {
		t.Errorf("directory holds %v", ents)
	}
	if ti, err := os.Stat(path + ".tip"); err != nil || ti.Mode().Perm() != 0o600 {
		t.Errorf("tip file: %v, %v", ti, err)
	}
}

func TestWideFileModeTightened(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openTest(t, Options{Path: path})
	fi, _ := os.Stat(path)
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode %v after reopen, want 0600", perm)
	}
}

func TestGatewayMismatchOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: "or-1"})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = Open(Options{Path: path, Gateway: "or-2"})
	var gm *GatewayMismatchError
	if !errors.Is(err, ErrGatewayMismatch) || !errors.As(err, &gm) {
		t.Fatalf("Open as another gateway: %v", err)
	}
	if gm.Ledger != "or-1" || gm.Requested != "or-2" || gm.Path != path {
		t.Errorf("error fields %+v", gm)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.Gateway() != "or-1" {
		t.Errorf("read-only Gateway() = %q", ro.Gateway())
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, opts := range []Options{
		{Gateway: "g"},
		{Path: filepath.Join(dir, "a.db")},
		{Path: filepath.Join(dir, "b.db"), Gateway: "bad\ngateway"},
	} {
		if l, err := Open(opts); err == nil {
			l.Close()
			t.Errorf("Open(%+v) succeeded", opts)
		}
	}
}

func TestMovementRefused(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	other := movementN("g", 0)
	other.Gateway = "ward-8"
	_, err := l.Append(ctx, other)
	var gm *GatewayMismatchError
	if !errors.Is(err, ErrGatewayMismatch) || !errors.As(err, &gm) || gm.Requested != "ward-8" || gm.Ledger != testGateway {
		t.Errorf("movement of another gateway: %v", err)
	}
	same := movementN("g", 1)
	same.Gateway = testGateway
	if m, err := l.Append(ctx, same); err != nil || m.Seq != 1 {
		t.Errorf("movement naming this gateway: seq %d, %v", m.Seq, err)
	}
	for name, edit := range map[string]func(*agent.Movement){
		"seq set":   func(m *agent.Movement) { m.Seq = 9 },
		"bad kind":  func(m *agent.Movement) { m.Kind = "lend" },
		"no item":   func(m *agent.Movement) { m.Item = "" },
		"nul item":  func(m *agent.Movement) { m.Item += "\x00" },
		"huge time": func(m *agent.Movement) { m.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		m := movementN("g", 2)
		edit(&m)
		if _, err := l.Append(ctx, m); !errors.Is(err, ErrInvalidMovement) {
			t.Errorf("%s: %v, want ErrInvalidMovement", name, err)
		}
	}

	// A refused movement inside a batch leaves its neighbours alone and
	// takes no sequence number.
	o := newOutcomes()
	bad := movementN("g", 3)
	bad.Kind = "lend"
	l.Submit(movementN("g", 4), o.done(0))
	l.Submit(bad, o.done(1))
	l.Submit(movementN("g", 5), o.done(2))
	o.wg.Wait()
	if o.errs[0] != nil || o.errs[2] != nil || !errors.Is(o.errs[1], ErrInvalidMovement) {
		t.Fatalf("batch outcomes %v", o.errs)
	}
	if o.got[0].Seq != 2 || o.got[2].Seq != 3 || o.got[1].Seq != 0 {
		t.Errorf("seqs %d %d %d, want 2 0 3", o.got[0].Seq, o.got[1].Seq, o.got[2].Seq)
	}
	if s := l.Stats(); s.Invalid != 7 || s.Movements != 3 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestTransactionFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	// A size cap makes bbolt fail the commit that would grow the file past
	// it. Batches are exactly 100 movements (the delay never runs out).
	const batch = 100
	l, err := Open(Options{Path: path, Gateway: testGateway, maxSize: 256 << 10, MaxBatch: batch, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	small := newOutcomes()
	for i := range batch {
		l.Submit(movementN("f", i), small.done(i))
	}
	small.wg.Wait()
	for i := range batch {
		if small.errs[i] != nil {
			t.Fatalf("small movement %d: %v", i, small.errs[i])
		}
	}
	big := newOutcomes()
	for i := range batch {
		m := movementN("f", batch+i)
		m.Raw = make([]byte, 4<<10) // 400 KiB in one transaction
		l.Submit(m, big.done(i))
	}
	big.wg.Wait()
	for i := range batch {
		if err := big.errs[i]; !errors.Is(err, bolterrors.ErrMaxSizeReached) {
			t.Errorf("movement %d of the failed batch: %v", i, err)
		}
		if big.got[i].Seq != 0 {
			t.Errorf("movement %d of the failed batch has seq %d", i, big.got[i].Seq)
		}
	}
	if s := l.Stats(); s.Failed != batch || s.LastSeq != batch || s.Transactions != 1 {
		t.Errorf("Stats %+v", s)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The sequence goes on from the last committed movement.
	l = openTest(t, Options{Path: path})
	m, err := l.Append(context.Background(), movementN("f", 500))
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != batch+1 {
		t.Errorf("seq after the failure %d, want %d", m.Seq, batch+1)
	}
}

func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	if _, err := OpenReadOnly(path, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly(missing) = %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly created the file")
	}
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Append(context.Background(), movementN("ro", 0))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()

	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.LastSeq() != 1 || ro.Created().IsZero() {
		t.Errorf("LastSeq %d Created %v", ro.LastSeq(), ro.Created())
	}
	tr, err := ro.Trace(context.Background(), m.Item)
	if err != nil || len(tr) != 1 {
		t.Errorf("Trace on read-only: %d, %v", len(tr), err)
	}
	if _, err := ro.Append(context.Background(), movementN("ro", 1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Append on read-only: %v", err)
	}
	// Readers share the file.
	ro2, err := OpenReadOnly(path, 0)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	ro2.Close()
}

func TestOpenReadOnlyLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	openTest(t, Options{Path: path})
	start := time.Now()
	_, err := OpenReadOnly(path, 150*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenReadOnly while open for writing: %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", waited)
	}
	if _, err := Open(Options{Path: path, Gateway: testGateway, LockTimeout: 60 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("second writer: %v, want ErrLocked", err)
	}
}

func TestNotALedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("sessions")); return err }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(Options{Path: path, Gateway: testGateway}); !errors.Is(err, ErrNotLedger) {
		t.Errorf("Open(other bbolt file) = %v", err)
	}
	if _, err := OpenReadOnly(path, 0); !errors.Is(err, ErrNotLedger) {
		t.Errorf("OpenReadOnly(other bbolt file) = %v", err)
	}

	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Path: junk, Gateway: testGateway}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open(zeros) = %v, want ErrCorrupt", err)
	}
}

// rawUpdate changes a closed ledger file directly.
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOtherFormatRefused(t *testing.T) {
	for _, version := range []byte{1, 2, formatRetained + 1} {
		t.Run(fmt.Sprint(version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			l, err := Open(Options{Path: path, Gateway: testGateway})
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(metaVersion, []byte{0, 0, 0, 0, 0, 0, 0, version})
			})
			_, err = Open(Options{Path: path, Gateway: testGateway})
			if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), fmt.Sprintf("format version %d,", version)) {
				t.Errorf("Open(version %d) = %v", version, err)
			}
			if _, err := OpenReadOnly(path, time.Second); !errors.Is(err, ErrVersion) {
				t.Errorf("OpenReadOnly(version %d) = %v", version, err)
			}
		})
	}
}

// writeBurst writes movements from..from+n-1 of stream "k" in one
// transaction (one batch) and closes the ledger.
func writeBurst(t *testing.T, path string, bursts ...int) []agent.Movement {
	t.Helper()
	var out []agent.Movement
	for _, n := range bursts {
		l, err := Open(Options{Path: path, Gateway: testGateway, MaxBatch: n, MaxDelay: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, submitBurst(t, l, "k", len(out), n)...)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// damageBatch changes the batch stored under first in a closed file.
func damageBatch(t *testing.T, path string, first uint64, fn func(v []byte) []byte) {
	t.Helper()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMovements)
		v := b.Get(seqKey(first))
		if v == nil {
			return fmt.Errorf("no batch at %d", first)
		}
		return b.Put(seqKey(first), fn(bytes.Clone(v)))
	})
}

func TestCorruptRecordDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	// Three batches: 1-4, 5-9 and 10-12.
	written := writeBurst(t, path, 4, 5, 3)
	item := written[6].Item

	// Flip one byte in the middle of movement 7, the third record of the
	// batch that starts at 5.
	damageBatch(t, path, 5, func(v []byte) []byte {
		b, err := parseBatch(5, v)
		if err != nil || b.N != 5 {
			t.Fatalf("batch at 5: %d records, %v", b.N, err)
		}
		start, end := batchHeaderSize(b.N)+int(b.End(1)), batchHeaderSize(b.N)+int(b.End(2))
		v[(start+end)/2] ^= 0x20
		return v
	})

	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatalf("Open with a damaged record: %v", err)
	}
	defer l.Close()
	var ce *CorruptError
	if _, err := l.Get(7); !errors.As(err, &ce) || ce.Seq != 7 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get(7) = %v", err)
	}
	for _, seq := range []uint64{4, 5, 6, 8, 9, 10} { // the rest of its batch, and the neighbours
		if m, err := l.Get(seq); err != nil || !sameMovement(m, written[seq-1]) {
			t.Errorf("Get(%d) = %v", seq, err)
		}
	}
	if _, err := l.Trace(context.Background(), item); !errors.As(err, &ce) || ce.Seq != 7 {
		t.Errorf("Trace over the damaged record = %v", err)
	}
	if err := l.Range(1, func(agent.Movement) error { return nil }); !errors.As(err, &ce) || ce.Seq != 7 {
		t.Errorf("Range over the damaged record = %v", err)
	}
	var seqs []uint64
	if err := l.Range(8, func(m agent.Movement) error { seqs = append(seqs, m.Seq); return nil }); err != nil || fmt.Sprint(seqs) != "[8 9 10 11 12]" {
		t.Errorf("Range(8) after the damaged record = %v, %v", seqs, err)
	}
	if err := l.Verify(context.Background()); !errors.As(err, &ce) || ce.Seq != 7 {
		t.Errorf("Verify = %v", err)
	}
}

func TestBatchHeaderDamageDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	writeBurst(t, path, 4, 5, 3)
	// The end of the batch's third record moves by one byte: the records
	// are intact, the header is not.
	damageBatch(t, path, 5, func(v []byte) []byte {
		v[1+4+batchEntry*2+3]++
		return v
	})
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatalf("Open with a damaged batch header: %v", err)
	}
	defer l.Close()
	var ce *CorruptError
	if _, err := l.Get(7); !errors.As(err, &ce) || ce.Seq != 5 || !strings.Contains(err.Error(), "header") {
		t.Errorf("Get(7) = %v, want the header of the batch at 5", err)
	}
	if err := l.Range(1, func(agent.Movement) error { return nil }); !errors.As(err, &ce) || ce.Seq != 5 {
		t.Errorf("Range = %v", err)
	}
	if err := l.Verify(context.Background()); !errors.As(err, &ce) || ce.Seq != 5 {
		t.Errorf("Verify = %v", err)
	}
	if _, err := l.Get(10); err != nil {
		t.Errorf("Get(10), in the next batch: %v", err)
	}
}

// Open refuses a file whose last batch does not say where the sequence
// goes on.
func TestLastBatchDamageRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	writeBurst(t, path, 4, 3)
	damageBatch(t, path, 5, func(v []byte) []byte {
		v[4]++ // the count
		return v
	})
	_, err := Open(Options{Path: path, Gateway: testGateway})
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Seq != 5 {
		t.Errorf("Open = %v, want the header of the batch at 5", err)
	}
}

func TestSequenceGapAndOverlapDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := writeBurst(t, path, 4, 5, 3)
	var ce *CorruptError

	// Remove the middle batch: movements 5 to 9 are gone, their index
	// entries point nowhere.
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMovements).Delete(seqKey(5)) })
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Get(6); !errors.As(err, &ce) || ce.Seq != 6 {
		t.Errorf("Get(6) of a missing batch = %v", err)
	}
	if _, err := ro.Get(13); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(13) = %v", err)
	}
	// Movements 5 to 8 are the item's; the trace stops at the first.
	if _, err := ro.Trace(context.Background(), written[5].Item); !errors.As(err, &ce) || ce.Seq != 5 {
		t.Errorf("Trace = %v", err)
	}
	err = ro.Verify(context.Background())
	if !errors.As(err, &ce) || ce.Seq != 10 || !strings.Contains(err.Error(), "gap") {
		t.Errorf("Verify = %v, want a gap before 10", err)
	}
	ro.Close()

	// A batch from 3 overlaps the first one (1-4).
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMovements)
		v := bytes.Clone(b.Get(seqKey(10)))
		if err := b.Put(seqKey(3), v); err != nil {
			return err
		}
		return b.Put(seqKey(5), v)
	})
	ro, err = OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Verify(context.Background())
	if !errors.As(err, &ce) || ce.Seq != 3 || !strings.Contains(err.Error(), "overlaps") {
		t.Errorf("Verify = %v, want an overlap at 3", err)
	}
}

func TestIndexDamageDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Append(context.Background(), movementN("i", 0))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		// An index entry pointing at a movement that does not exist.
		k := append([]byte(m.Item), 0, 0, 0, 0, 0, 0, 0, 0, 99)
		return indexIn(tx, 8000, nil).Add([][]byte{k})
	})
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var ce *CorruptError
	if _, err := ro.Trace(context.Background(), m.Item); !errors.As(err, &ce) || ce.Seq != 99 {
		t.Errorf("Trace = %v", err)
	}
	if err := ro.Verify(context.Background()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify = %v", err)
	}
}

// TestTagIndex checks that a movement naming a tag other than its item is
// found from either key, and that Verify accounts for both index entries.
func TestTagIndex(t *testing.T) {
	l := openTest(t, Options{})
	ctx := context.Background()
	item, tag := "(01)06901234100013(21)555", "urn:epc:raw:96.xE2801160600002054CC2096F"
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	seen, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindCount, Item: tag, Tag: tag, Location: "warehouse"})
	if err != nil {
		t.Fatal(err)
	}
	bound, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindCommission, Item: item, Tag: tag, Location: "warehouse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindUse, Item: item, Location: "OR-3"}); err != nil {
		t.Fatal(err)
	}
	byTag, err := l.Trace(ctx, tag)
	if err != nil || len(byTag) != 2 || byTag[0].Seq != seen.Seq || byTag[1].Seq != bound.Seq || byTag[1].Tag != tag {
		t.Fatalf("trace by tag: %+v %v", byTag, err)
	}
	byItem, err := l.Trace(ctx, item)
	if err != nil || len(byItem) != 2 || byItem[0].Kind != agent.KindCommission {
		t.Fatalf("trace by item: %+v %v", byItem, err)
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("verify: %v", err)
	}
}
