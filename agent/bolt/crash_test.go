package bolt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// Environment of the helper process.
const (
	helperEnvMode = "UDI_BOLT_HELPER"      // "writer" or "hold"
	helperEnvPath = "UDI_BOLT_HELPER_PATH" // the ledger file
	helperEnvRun  = "UDI_BOLT_HELPER_RUN"  // run number, part of every movement
	// helperEnvSmallIndex makes the child's index blocks and merges
	// (smallIndex) and its transactions small, so that a kill falls in the
	// middle of index merges.
	helperEnvSmallIndex = "UDI_BOLT_HELPER_SMALL_INDEX"
)

// smallIndex is an index configuration under which a few thousand
// movements make merges in steps across many transactions.
var smallIndex = runindex.Config{Block: 300, Small: 64, MinStep: 8}

const helperWriters = 4

// helperMovement is movement n of writer w in run r: the parent rebuilds it
// to check what the child reported durable.
func helperMovement(run, w, n int) agent.Movement {
	m := movementN(fmt.Sprintf("run%d-w%d", run, w), n)
	m.Time = time.Date(2026, 4, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)).Add(time.Duration(n) * time.Millisecond)
	return m
}

// startHelper runs this test binary as a child executing TestHelperWriter.
func startHelper(t *testing.T, mode, path string, run int) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnvMode+"="+mode, helperEnvPath+"="+path, helperEnvRun+"="+strconv.Itoa(run))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	sc.Split(completeLines)
	return cmd, stdin, sc
}

// completeLines splits at newlines and drops a last line without one: the
// child may be killed halfway through writing a report.
func completeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return 0, nil, nil
}

// TestHelperWriter is the child process of the crash and lock tests. It
// does nothing in a normal run.
func TestHelperWriter(t *testing.T) {
	mode := os.Getenv(helperEnvMode)
	if mode == "" {
		t.Skip("helper process only")
	}
	path := os.Getenv(helperEnvPath)
	run, _ := strconv.Atoi(os.Getenv(helperEnvRun))
	opts := Options{Path: path, Gateway: testGateway}
	if os.Getenv(helperEnvSmallIndex) != "" {
		// Small transactions too, so that a merge takes many of them.
		indexConfig, opts.MaxBatch = smallIndex, 48
	}
	l, err := Open(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper: open:", err)
		os.Exit(2)
	}
	switch mode {
	case "merge":
		// Write bursts until a commit leaves an index merge in progress,
		// report the last sequence number and wait to be killed.
		for n := 0; ; {
			o := newOutcomes()
			for i := range 48 {
				l.Submit(helperMovement(run, 0, n), o.done(i))
				n++
			}
			o.wg.Wait()
			if st := indexState(t, l); st.Merging >= 0 {
				fmt.Println(l.LastSeq(), st.Merging)
				select {}
			}
		}
	case "hold":
		// Hold the file until the parent closes stdin.
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		l.Close()
		os.Exit(0)
	case "writer":
		// Stream movements from a few writers; report each one only after
		// its done callback said it is durable. Reports are written by one
		// goroutine so that done never blocks on the pipe.
		var (
			mu   sync.Mutex
			buf  []byte
			wake = make(chan struct{}, 1)
		)
		go func() {
			var out []byte
			for range wake {
				mu.Lock()
				out, buf = buf, out[:0]
				mu.Unlock()
				if _, err := os.Stdout.Write(out); err != nil {
					os.Exit(3)
				}
			}
		}()
		for w := range helperWriters {
			go func() {
				for n := 0; ; n++ {
					l.Submit(helperMovement(run, w, n), func(m agent.Movement, err error) {
						if err != nil {
							fmt.Fprintln(os.Stderr, "helper: submit:", err)
							os.Exit(4)
						}
						mu.Lock()
						buf = fmt.Appendf(buf, "%d %d %d\n", m.Seq, w, n)
						mu.Unlock()
						select {
						case wake <- struct{}{}:
						default:
						}
					})
				}
			}()
		}
		select {} // until killed
	}
	t.Fatalf("unknown helper mode %q", mode)
}

type report struct {
	seq  uint64
	w, n int
}

// TestCrashKeepsDurableMovements kills a writing process at several points
// and checks that every movement it was told is durable survived intact
// and is found by its trace. The child's item index is made small, so
// that kills fall in the middle of index merges too.
func TestCrashKeepsDurableMovements(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	saved := indexConfig
	indexConfig = smallIndex
	defer func() { indexConfig = saved }()
	t.Setenv(helperEnvSmallIndex, "1")
	path := filepath.Join(t.TempDir(), "ledger.db")
	midMerge := 0
	var base uint64
	// Kill after the n-th report, a little later still, so that the kill
	// falls between transactions as well as inside one.
	points := []struct {
		reports int
		delay   time.Duration
	}{{1, 0}, {300, 250 * time.Microsecond}, {3000, 700 * time.Microsecond}, {8000, 1500 * time.Microsecond}, {20000, 3 * time.Millisecond}}
	for run, p := range points {
		cmd, _, out := startHelper(t, "writer", path, run)
		var reports []report
		var kill sync.Once
		for out.Scan() {
			var r report
			if _, err := fmt.Sscan(out.Text(), &r.seq, &r.w, &r.n); err != nil {
				t.Fatalf("run %d: bad report %q", run, out.Text())
			}
			reports = append(reports, r)
			if len(reports) >= p.reports {
				kill.Do(func() {
					// SIGKILL: no deferred function, no Close.
					time.AfterFunc(p.delay, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
				})
			}
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child did not die of SIGKILL after %d reports: %v", run, len(reports), err)
		}
		last, merging := checkAfterCrash(t, path, run, base, reports)
		if merging {
			midMerge++
		}
		t.Logf("run %d: %d movements reported durable, %d in the file, index merge in progress: %v", run, len(reports), last-1-base, merging)
		base = last
	}
	t.Logf("%d of %d kills left an index merge in progress", midMerge, len(points))
}

// TestCrashInTheMiddleOfAnIndexMerge kills a writing process whose last
// commit left an index merge half done: the reopened ledger finds every
// movement through its trace, checks out whole, and completes the merge
// as it goes on writing.
func TestCrashInTheMiddleOfAnIndexMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	saved := indexConfig
	indexConfig = smallIndex
	defer func() { indexConfig = saved }()
	t.Setenv(helperEnvSmallIndex, "1")
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, _, out := startHelper(t, "merge", path, 7)
	var last uint64
	var written int64
	if !out.Scan() {
		t.Fatalf("helper reported nothing: %v", out.Err())
	}
	if _, err := fmt.Sscan(out.Text(), &last, &written); err != nil || last == 0 {
		t.Fatalf("bad report %q: %v", out.Text(), err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if st := indexState(t, l); st.Merging != written || l.LastSeq() != last {
		t.Fatalf("after the kill: last %d, index %+v; the child reported %d, merge at %d", l.LastSeq(), st, last, written)
	}
	ctx := context.Background()
	traceAll := func() {
		t.Helper()
		found := 0
		for n := range int(last) {
			m := helperMovement(7, 0, n)
			if m.Item == "" || n%4 != 0 { // one trace per item: its receipt
				continue
			}
			ms, err := l.Trace(ctx, m.Item)
			if err != nil || len(ms) == 0 || ms[0].Item != m.Item || ms[0].Kind != agent.KindReceive {
				t.Fatalf("trace of %s: %d movements, %v", m.Item, len(ms), err)
			}
			found += len(ms)
		}
		if found == 0 {
			t.Fatal("nothing traced")
		}
	}
	traceAll()
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify mid-merge: %v", err)
	}
	for indexState(t, l).Merging >= 0 {
		if _, err := l.Append(ctx, movementN("after", int(l.LastSeq()))); err != nil {
			t.Fatal(err)
		}
	}
	traceAll()
	if err := l.Verify(ctx); err != nil {
		t.Fatalf("Verify after the merge: %v", err)
	}
}

// checkAfterCrash reopens the file after a kill and checks it; it returns
// the file's last sequence number and whether the kill left an index
// merge in progress.
func checkAfterCrash(t *testing.T, path string, run int, base uint64, reports []report) (uint64, bool) {
	t.Helper()
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatalf("run %d: reopen after kill: %v", run, err)
	}
	defer l.Close()
	merging := indexState(t, l).Merging >= 0
	if err := l.Verify(context.Background()); err != nil {
		t.Fatalf("run %d: Verify after kill: %v", run, err)
	}
	last := l.LastSeq()
	for i, r := range reports {
		if i%97 == 0 || i == len(reports)-1 { // the trace finds it too
			want := helperMovement(run, r.w, r.n)
			ms, err := l.Trace(context.Background(), want.Item)
			if want.Item != "" && (err != nil || !slices.ContainsFunc(ms, func(m agent.Movement) bool { return m.Seq == r.seq })) {
				t.Fatalf("run %d: trace of %s misses durable movement %d: %v", run, want.Item, r.seq, err)
			}
		}
		if r.seq <= base || r.seq > last {
			t.Fatalf("run %d: reported seq %d outside (%d, %d]", run, r.seq, base, last)
		}
		got, err := l.Get(r.seq)
		if err != nil {
			t.Fatalf("run %d: durable movement %d: %v", run, r.seq, err)
		}
		want := helperMovement(run, r.w, r.n)
		want.Gateway, want.Seq = testGateway, r.seq
		if !sameMovement(got, want) {
			t.Fatalf("run %d: movement %d is\n%+v\nwant\n%+v", run, r.seq, got, want)
		}
	}
	// The file holds a prefix of each writer's stream, in order: the
	// committed movements are a prefix of the submission order.
	next := make(map[string]int)
	err = l.Range(base+1, func(m agent.Movement) error {
		prefix := fmt.Sprintf("run%d-w", run)
		if !strings.HasPrefix(m.Station, prefix) {
			return fmt.Errorf("movement %d from station %q in run %d", m.Seq, m.Station, run)
		}
		w, _ := strconv.Atoi(strings.TrimPrefix(m.Station, prefix))
		want := helperMovement(run, w, next[m.Station])
		want.Gateway, want.Seq = testGateway, m.Seq
		if !sameMovement(m, want) {
			return fmt.Errorf("movement %d is not writer %d's movement %d", m.Seq, w, next[m.Station])
		}
		next[m.Station]++
		return nil
	})
	if err != nil {
		t.Fatalf("run %d: %v", run, err)
	}
	// The sequence goes on.
	m, err := l.Append(context.Background(), movementN("after", run))
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != last+1 {
		t.Fatalf("run %d: next seq %d, want %d", run, m.Seq, last+1)
	}
	return m.Seq, merging
}

// TestOpenReadOnlyLocked opens the file read-only while another process
// holds it for writing.
func TestOpenReadOnlyLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	_, stdin, out := startHelper(t, "hold", path, 0)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("helper did not get ready: %q %v", out.Text(), out.Err())
	}
	start := time.Now()
	_, err := OpenReadOnly(path, 200*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("OpenReadOnly while another process writes: %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("gave up after %v, before the timeout", waited)
	}
	if _, err := Open(Options{Path: path, Gateway: testGateway, LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("Open while another process writes: %v, want ErrLocked", err)
	}
	// Once the other process lets go, the file opens.
	stdin.Close()
	for out.Scan() {
	}
	ro, err := OpenReadOnly(path, 5*time.Second)
	if err != nil {
		t.Fatalf("OpenReadOnly after the writer exited: %v", err)
	}
	ro.Close()
}
