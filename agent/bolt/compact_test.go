package bolt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// TestCompactWhileWriting: scans submitted while the ledger is compacted
// (and cut) are all in the file it goes on in, which verifies, and
// takes less room.
func TestCompactWhileWriting(t *testing.T) {
	l := openRetention(t)
	ctx := context.Background()
	submitBurst(t, l, "early", 0, 40000)
	if err := l.SetSyncCursor(30000); err != nil {
		t.Fatal(err)
	}
	type sent struct {
		seq  uint64
		item string
	}
	var (
		mu       sync.Mutex
		acked    []sent
		during   atomic.Int64
		inside   atomic.Bool
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		answers  sync.WaitGroup // every Submit's callback, run on the writer
		failures atomic.Int64
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				m := movementN(fmt.Sprintf("live%d", w), n)
				done := make(chan struct{})
				answers.Add(1)
				l.Submit(m, func(got agent.Movement, err error) {
					defer answers.Done()
					defer close(done)
					if err != nil {
						failures.Add(1)
						return
					}
					if inside.Load() {
						during.Add(1)
					}
					mu.Lock()
					acked = append(acked, sent{got.Seq, got.Item + string(got.Raw)})
					mu.Unlock()
				})
				if n%64 == 0 {
					<-done // a steady stream, not a flood
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	inside.Store(true)
	sum, err := l.Compact(ctx, CompactOptions{Cut: 20000, Reason: "test", Folds: stockFolds})
	inside.Store(false)
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	answers.Wait() // the writers stop waiting for every answer: the last ones come after
	if err != nil {
		t.Fatal(err)
	}
	if failures.Load() > 0 {
		t.Fatalf("%d movements failed during compaction", failures.Load())
	}
	if during.Load() == 0 {
		t.Fatal("no movement was recorded while the ledger was compacted")
	}
	t.Logf("compaction took %s, writes held off %s; %d movements recorded during it, %d in all",
		sum.Took, sum.Paused, during.Load(), len(acked))
	for _, s := range acked {
		m, err := l.Get(s.seq)
		if err != nil || m.Item+string(m.Raw) != s.item {
			t.Fatalf("movement %d, acknowledged, is not in the compacted file: %v", s.seq, err)
		}
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if sum.Removed < 15000 {
		t.Errorf("a cut at 20000 of movements that end in uses removed %d", sum.Removed)
	}
	// Written on, reopened: the same file.
	submitBurst(t, l, "after", 0, 100)
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if a, ok, _ := ro.Anchor(); !ok || a.Seq != 20000 {
		t.Fatalf("anchor after reopening: %+v %v", a, ok)
	}
}

// TestCompactReclaimsFreePages: pages bbolt freed go back to the file
// system, and the sync cursor and master data come along.
func TestCompactReclaimsFreePages(t *testing.T) {
	l := openRetention(t)
	ctx := context.Background()
	submitBurst(t, l, "s", 0, 2000)
	if err := l.SetSyncCursor(1500); err != nil {
		t.Fatal(err)
	}
	// Master data of 40 MB, then of nothing: 40 MB of free pages.
	saveBigCatalogue(t, l, 200000)
	small, err := master.NewData("small", []master.CatalogueEntry{{GTIN: "09520123456788", Name: "stent", Tracking: "serial"}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SaveMaster(small); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, l.Path())
	sum, err := l.Compact(ctx, CompactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.After > before/2 || sum.Anchor != nil || sum.Removed != 0 {
		t.Fatalf("compaction without a cut: %+v (file was %d bytes)", sum, before)
	}
	if c, _ := l.SyncCursor(); c != 1500 {
		t.Fatalf("sync cursor %d after compaction", c)
	}
	d, damaged, err := l.LoadMaster()
	if err != nil || len(damaged) > 0 || d.Counts().Catalogue != 1 {
		t.Fatalf("master data after compaction: %v %v %+v", err, damaged, d.Counts())
	}
	if err := l.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCompactFile compacts a stopped agent's file, and Open removes what
// a compaction killed half-way left.
func TestCompactFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	sim := newORSim(t, l, 8)
	sim.runDays(30)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	at := cutAt(t, l, 20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A running agent holds the file: CompactFile waits, then refuses.
	l2, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CompactFile(context.Background(), path, 10*time.Millisecond, CompactOptions{}, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("CompactFile of a file in use: %v", err)
	}
	l2.Close()

	sum, err := CompactFile(context.Background(), path, time.Second, CompactOptions{Cut: at, Reason: "test", Folds: stockFolds}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Anchor == nil || sum.Anchor.Seq != at || sum.Removed == 0 {
		t.Fatalf("CompactFile: %+v", sum)
	}
	checkFile(t, path)

	stray := path + compactTempInfix + "999999"
	if err := os.WriteFile(stray, []byte("half a compaction"), 0o600); err != nil {
		t.Fatal(err)
	}
	l3, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close()
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open left %s: %v", stray, err)
	}
}

// newLineScanner reads complete lines from r (a killed child's last line
// may be cut).
func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Split(completeLines)
	return sc
}

// Environment of the compacting helper process.
const (
	compactEnvPath = "UDI_BOLT_COMPACT_PATH"
	compactEnvRun  = "UDI_BOLT_COMPACT_RUN"
)

// TestHelperCompactor is the child process of TestCompactCrash: it
// writes movements from a few goroutines, reporting each durable one
// ("m SEQ W N"), and compacts the ledger over and over, cutting at half
// the movements, saying when each compaction starts and ends ("c start",
// "c end ANCHOR"). It does nothing in a normal run.
func TestHelperCompactor(t *testing.T) {
	path := os.Getenv(compactEnvPath)
	if path == "" {
		t.Skip("helper process only")
	}
	run, _ := strconv.Atoi(os.Getenv(compactEnvRun))
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(os.Stdout, format+"\n", args...); err != nil {
			os.Exit(3)
		}
	}
	for w := range 2 {
		go func() {
			for n := 0; ; n++ {
				done := make(chan struct{})
				l.Submit(helperMovement(run, w, n), func(m agent.Movement, err error) {
					defer close(done)
					if err != nil {
						fmt.Fprintln(os.Stderr, "helper: submit:", err)
						os.Exit(4)
					}
					say("m %d %d %d", m.Seq, w, n)
				})
				if n%32 == 31 {
					<-done
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
	}
	for {
		time.Sleep(5 * time.Millisecond)
		last := l.LastSeq()
		if err := l.SetSyncCursor(last * 3 / 4); err != nil {
			fmt.Fprintln(os.Stderr, "helper: cursor:", err)
			os.Exit(5)
		}
		first, _ := l.FirstSeq()
		opt := CompactOptions{Reason: "crash test", Folds: stockFolds}
		if at := last / 2; at > first {
			opt.Cut = at
		}
		say("c start")
		sum, err := l.Compact(context.Background(), opt)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper: compact:", err)
			os.Exit(6)
		}
		anchor := uint64(0)
		if sum.Anchor != nil {
			anchor = sum.Anchor.Seq
		}
		say("c end %d", anchor)
	}
}

// TestCompactCrash kills (SIGKILL) a process that writes movements and
// compacts its ledger at once, at moments spread over its compactions:
// the ledger opens afterwards, verifies, holds every movement the child
// was told is durable (or its anchor says it was retained away), and no
// temporary file of the compaction is left.
func TestCompactCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	// Each run kills the child in its third compaction, at a share of
	// the time its first two took: spread from the plan to the swap,
	// whatever the machine's speed (the race detector slows it).
	const runs = 8
	inCompaction, halfWritten := 0, 0
	for run := range runs {
		share := (float64(run) + 0.5) / runs
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCompactor$", "-test.count=1")
		cmd.Env = append(os.Environ(), compactEnvPath+"="+path, compactEnvRun+"="+strconv.Itoa(run))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := newLineScanner(stdout)
		var reports []report
		starts, compacting := 0, false
		var began time.Time
		var took time.Duration
		var delay time.Duration
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 4 && f[0] == "m":
				var r report
				r.seq, _ = strconv.ParseUint(f[1], 10, 64)
				r.w, _ = strconv.Atoi(f[2])
				r.n, _ = strconv.Atoi(f[3])
				reports = append(reports, r)
			case len(f) >= 2 && f[0] == "c" && f[1] == "start":
				compacting, began = true, time.Now()
				if starts++; starts == 3 {
					delay = time.Duration(share * float64(took) / 2)
					time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
				}
			case len(f) >= 2 && f[0] == "c" && f[1] == "end":
				compacting = false
				took += time.Since(began)
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child did not die of SIGKILL: %v", run, err)
		}
		if compacting {
			inCompaction++
		}
		temps, _ := filepath.Glob(path + compactTempInfix + "*")

		l, err := Open(Options{Path: path, Gateway: testGateway})
		if err != nil {
			t.Fatalf("run %d: open after the kill: %v", run, err)
		}
		if left, _ := filepath.Glob(path + compactTempInfix + "*"); len(left) > 0 {
			t.Fatalf("run %d: Open left %v", run, left)
		}
		if err := l.Verify(context.Background()); err != nil {
			t.Fatalf("run %d: verify after the kill: %v", run, err)
		}
		a, cut, err := l.Anchor()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reports {
			m, err := l.Get(r.seq)
			if cut && r.seq < a.Seq && errors.Is(err, ErrRetained) {
				continue
			}
			want := helperMovement(run, r.w, r.n)
			if err != nil || m.Item != want.Item || m.Kind != want.Kind || string(m.Raw) != string(want.Raw) {
				t.Fatalf("run %d: movement %d (writer %d, n %d) reported durable: %v, %+v", run, r.seq, r.w, r.n, err, m)
			}
		}
		if len(temps) > 0 && compacting {
			halfWritten++ // the kill left the new file half written beside the old
		}
		t.Logf("run %d: killed %s into a compaction (still compacting: %v, temporary left: %d), %d movements reported durable, last %d, anchor %d",
			run, delay, compacting, len(temps), len(reports), l.LastSeq(), a.Seq)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if inCompaction < runs/2 {
		t.Fatalf("only %d of %d kills fell inside a compaction", inCompaction, runs)
	}
	if halfWritten == 0 {
		t.Fatalf("no kill left a half-written new file: the crash window was not exercised")
	}
}

// saveBigCatalogue stores master data of n products of 150-byte names:
// the pages a later, smaller set frees.
func saveBigCatalogue(t *testing.T, l *Ledger, n int) {
	t.Helper()
	cat := make([]master.CatalogueEntry, 0, n)
	for i := range n {
		cat = append(cat, master.CatalogueEntry{GTIN: withCheckDigit(fmt.Sprintf("0952%09d", i)), Name: strings.Repeat("x", 150), Tracking: "serial"})
	}
	big, err := master.NewData("big", cat, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SaveMaster(big); err != nil {
		t.Fatal(err)
	}
}

// withCheckDigit appends the GS1 check digit to 13 digits.
func withCheckDigit(s string) string {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return s + strconv.Itoa((10-sum%10)%10)
}

// TestCompactBehindTip: the writer stores its tip (l.last) after its
// commit, so a compaction can start while the file already holds
// movements the tip does not name yet. The copy goes as far as the
// meta it copied says, and the new file verifies (a kill test found the
// new file's meta naming movements it did not hold).
func TestCompactBehindTip(t *testing.T) {
	l := openRetention(t)
	submitBurst(t, l, "tip", 0, 32)
	last := l.LastSeq()
	if last != 32 {
		t.Fatalf("last %d, want 32", last)
	}
	l.last.Store(0) // the moment between the commit and the tip's update
	sum, err := l.Compact(context.Background(), CompactOptions{})
	l.last.Store(last)
	if err != nil {
		t.Fatalf("compact with the tip behind the file: %v", err)
	}
	if sum.Movements != 32 {
		t.Fatalf("compaction copied %d movements, want 32", sum.Movements)
	}
	if err := l.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= last; seq++ {
		if _, err := l.Get(seq); err != nil {
			t.Fatalf("movement %d after the compaction: %v", seq, err)
		}
	}
}
