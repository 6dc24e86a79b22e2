package bolt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// The flip campaign: single-byte changes all over a real ledger file, each
// read back the way the tools read a file (open read-only, trace every
// item, walk every movement, verify). Nothing may panic or hang, a change
// to anything Verify covers must be found, and a change to bytes nothing
// reads (see byteClass) must not be reported.
//
//	go test -run TestFlipCampaign ./agent/bolt/                      # 240 flips, a few seconds
//	UDI_BOLT_FLIPS=5000 go test -run TestFlipCampaign ./agent/bolt/ # a larger sample
//	UDI_BOLT_FLIP_SEED=7 ...                                         # another sample
//
// Half of the flips fall anywhere in the used part of the file (mostly
// record bytes); the other half on the file's structure (page headers,
// element tables, keys, bucket headers, meta and freelist pages), where
// bbolt itself reads.

// Classes of bytes for the campaign.
const (
	// classCovered: Verify (or the open, or the tip) must report a change.
	classCovered = iota
	// classHarmless: nothing reads the byte: free pages, pages past the
	// high water mark, the slack after a page's last value, a meta page's
	// header and tail, the freelist page after its last id. Verify must
	// find the file intact.
	classHarmless
	// classFallback: the meta page bbolt does not use: intact, with a
	// warning.
	classFallback
	// classOutside: bytes Verify does not judge: the master data's keys,
	// values and last value's size (their layout and checks are package
	// agent/master's) and its bucket's sequence, and the item index's next
	// run id when raised (a lowered one is found). Only no panic and no
	// hang are required.
	classOutside
)

var classNames = []string{"covered", "harmless", "fallback meta", "outside"}

// byteClasses classifies every byte of the used part of the file.
func byteClasses(t *testing.T, fm *fileMap, size int64) []uint8 {
	t.Helper()
	ps := int64(fm.ps)
	used := min(size, int64(fm.hwm)*ps)
	cls := make([]uint8, used)
	for i := range cls {
		cls[i] = classHarmless
	}
	mark := func(from, to int64, c uint8) {
		for i := max(from, 0); i < min(to, used); i++ {
			cls[i] = c
		}
	}
	active, ok := activeMeta(fm.metas)
	if !ok {
		t.Fatal("no valid meta page")
	}
	for i := range int64(2) {
		c := uint8(classCovered)
		if int(i) != active.page {
			c = classFallback
		}
		mark(i*ps+bbPageHeader, i*ps+bbPageHeader+bbMetaSize, c)
	}
	mark(int64(fm.freel)*ps, int64(fm.freel)*ps+bbPageHeader+8*int64(fm.freeN), classCovered)
	for _, p := range fm.pages {
		mark(p.base, p.end, classCovered)
		if n := int64(len(p.keys)); p.top == string(bucketMaster) && p.leaf && n > 0 {
			// The last value's size: nothing follows it to disagree.
			at := p.base + bbPageHeader + (n-1)*bbElement
			mark(at+8, at+16, classOutside)
		}
		for j, k := range p.keys {
			switch {
			case p.top == string(bucketMaster) && p.leaf:
				mark(p.keyOff[j], p.valOff[j]+int64(p.valLen[j]), classOutside)
			case p.top == "" && p.leaf && string(k) == string(bucketMaster):
				mark(p.valOff[j]+8, p.valOff[j]+16, classOutside) // its sequence
			case p.top == string(bucketMeta) && p.leaf && string(k) == "run":
				mark(p.valOff[j], p.valOff[j]+int64(p.valLen[j]), classOutside)
			}
		}
	}
	return cls
}

// structure returns the offsets of the file's structure: what bbolt reads
// to find the records.
func structure(fm *fileMap) []int64 {
	ps := int64(fm.ps)
	var out []int64
	span := func(from, to int64) {
		for i := from; i < to; i++ {
			out = append(out, i)
		}
	}
	span(0, bbPageHeader+bbMetaSize)
	span(ps, ps+bbPageHeader+bbMetaSize)
	span(int64(fm.freel)*ps, int64(fm.freel)*ps+bbPageHeader+8*int64(fm.freeN))
	for _, p := range fm.pages {
		span(p.base, p.base+bbPageHeader+int64(len(p.keys))*bbElement)
		for j, k := range p.keys {
			span(p.keyOff[j], p.keyOff[j]+int64(len(k)))
			if p.flags[j]&bbLeafBucket != 0 {
				span(p.valOff[j], p.valOff[j]+bbBucketHeader)
			}
		}
	}
	return out
}

// locate says what the byte at off is.
func (fm *fileMap) locate(off int64) string {
	id := uint64(off / int64(fm.ps))
	switch {
	case id < 2:
		return fmt.Sprintf("meta page %d", id)
	case id == fm.freel:
		return "the freelist page"
	case fm.freed(id):
		return "a free page"
	}
	for _, p := range fm.pages {
		if off < p.base || off >= p.end {
			continue
		}
		what := "branch"
		if p.leaf {
			what = "leaf"
		}
		if p.inline {
			what = "inline " + what
		}
		where := fmt.Sprintf("%s page %d of bucket %q", what, p.id, p.top)
		rel := off - p.base
		switch {
		case rel < bbPageHeader:
			return fmt.Sprintf("%s: header byte %d", where, rel)
		case rel < bbPageHeader+int64(len(p.keys))*bbElement:
			return fmt.Sprintf("%s: element %d byte %d", where, (rel-bbPageHeader)/bbElement, (rel-bbPageHeader)%bbElement)
		}
		for j, k := range p.keys {
			switch {
			case off >= p.keyOff[j] && off < p.keyOff[j]+int64(len(k)):
				return fmt.Sprintf("%s: key %d (%x) byte %d", where, j, k, off-p.keyOff[j])
			case off >= p.valOff[j] && off < p.valOff[j]+int64(p.valLen[j]):
				return fmt.Sprintf("%s: value %d (key %x, flags %d) byte %d of %d", where, j, k, p.flags[j], off-p.valOff[j], p.valLen[j])
			}
		}
	}
	return "a page's slack, or an overflow page's"
}

// flipOutcome is what reading a flipped file gave.
type flipOutcome struct {
	openErr   error
	verifyErr error
	warnings  []string
	loss      *Loss
	readErrs  int // traces and the range that returned an error
}

func (o flipOutcome) detected() bool {
	return o.openErr != nil || o.verifyErr != nil || o.loss != nil
}

// readFlipped reads the file at path the way the tools do: open
// read-only, trace every item, range over every movement, verify.
func readFlipped(path string, items []string) flipOutcome {
	var o flipOutcome
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		o.openErr = err
		return o
	}
	defer l.Close()
	ctx := context.Background()
	for _, item := range items {
		if _, err := l.Trace(ctx, item); err != nil {
			o.readErrs++
		}
	}
	if err := l.Range(1, func(agent.Movement) error { return nil }); err != nil {
		o.readErrs++
	}
	sum, err := l.VerifyAll(ctx)
	o.verifyErr, o.warnings, o.loss = err, sum.Warnings, l.Loss()
	return o
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestFlipCampaign(t *testing.T) {
	flips := envInt("UDI_BOLT_FLIPS", 240)
	seed := uint64(envInt("UDI_BOLT_FLIP_SEED", 1))
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := damageLedger(t, path, 2000, 200)
	var items []string
	for _, m := range written {
		if m.Item != "" && !slices.Contains(items, m.Item) {
			items = append(items, m.Item)
		}
	}
	if o := readFlipped(path, items); o.detected() || o.readErrs > 0 || len(o.warnings) > 0 {
		t.Fatalf("the intact file: %+v", o)
	}
	fm := mapFile(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	cls := byteClasses(t, fm, fi.Size())
	structural := structure(fm)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fm.freeN == 0 {
		t.Fatal("the file has no free page: the campaign would not flip one")
	}

	if at := os.Getenv("UDI_BOLT_FLIP_AT"); at != "" { // "offset:xor", to look at one flip
		var off int64
		var x byte
		if _, err := fmt.Sscanf(at, "%d:%v", &off, &x); err != nil {
			t.Fatal(err)
		}
		t.Logf("byte %d (%s) ^ %#x, %s", off, fm.locate(off), x, classNames[cls[off]])
		xorAt(t, path, off, x)
		o := readFlipped(path, items)
		t.Logf("open: %v\nverify: %v\nloss: %v\nwarnings: %q\nread errors: %d", o.openErr, o.verifyErr, o.loss, o.warnings, o.readErrs)
		return
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	var (
		count    [4]int
		found    [4]int
		readErrs int
	)
	for i := range flips {
		off := rng.Int64N(int64(len(cls)))
		if i%2 == 1 {
			off = structural[rng.IntN(len(structural))]
		}
		x := byte(1 + rng.IntN(255))
		c := cls[off]
		xorAt(t, path, off, x)
		done := make(chan flipOutcome, 1)
		go func() { done <- readFlipped(path, items) }()
		var o flipOutcome
		select {
		case o = <-done:
		case <-time.After(time.Minute):
			buf := make([]byte, 1<<20)
			t.Logf("%s", buf[:runtime.Stack(buf, true)])
			t.Fatalf("flip %d (byte %d, %s, ^ %#x, %s): reading the file did not finish in a minute", i, off, fm.locate(off), x, classNames[c])
		}
		xorAt(t, path, off, x)
		count[c]++
		if o.detected() {
			found[c]++
		}
		readErrs += o.readErrs
		where := fmt.Sprintf("flip %d: byte %d (%s) ^ %#x, %s", i, off, fm.locate(off), x, classNames[c])
		if o.openErr != nil && !errors.Is(o.openErr, ErrCorrupt) && !errors.Is(o.openErr, ErrVersion) && !errors.Is(o.openErr, ErrNotLedger) {
			t.Errorf("%s: open failed with %v, not a damaged file's error", where, o.openErr)
		}
		switch c {
		case classCovered:
			if !o.detected() {
				t.Errorf("%s: not found (%d reads failed)", where, o.readErrs)
			}
		case classHarmless:
			if o.detected() || len(o.warnings) > 0 {
				t.Errorf("%s: reported: open %v; verify %v; loss %v; warnings %q", where, o.openErr, o.verifyErr, o.loss, o.warnings)
			}
		case classFallback:
			if o.detected() || len(o.warnings) != 1 {
				t.Errorf("%s: want intact with one warning: open %v; verify %v; loss %v; warnings %q", where, o.openErr, o.verifyErr, o.loss, o.warnings)
			}
		}
		if t.Failed() && !testing.Verbose() {
			break
		}
	}
	now, err := os.ReadFile(path)
	if err != nil || string(now) != string(orig) {
		t.Fatalf("the file was not restored after the campaign: %v", err)
	}
	for c, n := range count {
		t.Logf("%-13s %4d flips, %4d reported", classNames[c], n, found[c])
	}
	t.Logf("%d flips (seed %d), %d reads returned an error", flips, seed, readErrs)
}
