package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// The flips campaign damages real files one byte at a time: a gateway's
// ledger and the centre's store, each written the way the programs write
// them, then copied and changed at a random byte of its used part (the
// file's bytes up to its end: bbolt files hold no slack beyond their
// high water mark at rest). On each copy the shipped programs run as
// child processes under a time limit: `udi-edge verify` and `udi-edge
// trace` on the ledger, `udi-central verify` and `udi-central trace` on
// the store. Promises checked:
//   - no panic (a Go panic's exit and trace) and no hang (the time limit);
//   - a change verify does not report changed nothing anyone reads: the
//     copy's full EPCIS export (ledger) and the traces of sampled items
//     (both) are the original's, byte for byte; every flip is either
//     detected or harmless;
//   - the active meta page of the ledger damaged: verify reports the
//     last transaction's movements lost, and names them.

func init() {
	registerCampaign(campaign{
		Name:    "flips",
		Summary: "single bytes flipped in a ledger and in the centre's store: no panic, no hang, every flip detected or harmless",
		Help: "Write a ledger and a centre store, then flip one random byte of a copy of each, per round, and\n" +
			"run the shipped verify and trace on the copy: no panic or hang, and a flip verify does not\n" +
			"report must leave everything read (export, traces) as it was. Also damages the ledger's active\n" +
			"meta page and checks that the lost transaction is reported.",
		Short: 40,
		Long:  400,
		Run:   runFlips,
	})
}

// flipFile is one file the campaign damages and how its copies are read.
type flipFile struct {
	what string
	path string
	// companions are files beside it that go with it (the ledger's tip
	// file), copied beside each damaged copy: suffix → content.
	companions map[string][]byte
	// verify runs the program's verify on a copy: intact, or not.
	verify func(ctx context.Context, path string) (intact bool, out string, err error)
	// readBack reads everything a user would of a copy, as text.
	readBack func(ctx context.Context, path string) (string, error)
}

var creationDateRE = regexp.MustCompile(`"creationDate":"[^"]*"`)

// flipLimit is how long one program may run on a damaged copy.
const flipLimit = 20 * time.Second

// flipItems is how many items the files hold; flipSample how many of
// them each read-back traces.
const (
	flipItems  = 400
	flipSample = 4
)

func runFlips(ctx context.Context, r *campaignRun) error {
	edgeBin, err := r.Binary(ctx, "udi-edge")
	if err != nil {
		return err
	}
	centralBin, err := r.Binary(ctx, "udi-central")
	if err != nil {
		return err
	}
	ledger := filepath.Join(r.Dir, "ledger.db")
	store := filepath.Join(r.Dir, "central.db")
	if err := writeFlipFiles(ctx, ledger, store); err != nil {
		return err
	}
	tip, err := os.ReadFile(ledger + ".tip")
	if err != nil {
		return fmt.Errorf("ledger: its tip file: %w", err)
	}
	sample := make([]string, flipSample)
	for i := range sample {
		sample[i] = flipItem(r.Rand.IntN(flipItems))
	}
	files := []flipFile{
		{
			what: "ledger", path: ledger, companions: map[string][]byte{".tip": tip},
			verify: func(ctx context.Context, p string) (bool, string, error) {
				code, out, err := runLimited(ctx, edgeBin, "verify", "--store", p)
				return code == 0, out, err
			},
			readBack: func(ctx context.Context, p string) (string, error) {
				var b strings.Builder
				code, out, err := runLimited(ctx, edgeBin, "export", "epcis", "--store", p, "--include-patient", "--include-actor")
				if err != nil {
					return "", err
				}
				// The document's creation time is the export's own.
				out = creationDateRE.ReplaceAllString(out, `"creationDate":"-"`)
				fmt.Fprintf(&b, "export: exit %d\n%s\n", code, out)
				for _, item := range sample {
					code, out, err := runLimited(ctx, edgeBin, "trace", "--store", p, "--json", item)
					if err != nil {
						return "", err
					}
					fmt.Fprintf(&b, "trace %s: exit %d\n%s\n", item, code, out)
				}
				return b.String(), nil
			},
		},
		{
			what: "centre store", path: store,
			verify: func(ctx context.Context, p string) (bool, string, error) {
				code, out, err := runLimited(ctx, centralBin, "verify", "--store", p)
				return code == 0, out, err
			},
			readBack: func(ctx context.Context, p string) (string, error) {
				var b strings.Builder
				// What reads every movement of the site: the audit and the
				// gateways' stock, folded from each movement's kind,
				// item, lot, expiry and place.
				for _, args := range [][]string{{"anomalies", "--site", "site-a", "--json"}, {"stock", "--site", "site-a", "--json"}, {"gateways", "--json"}} {
					code, out, err := runLimited(ctx, centralBin, append(args, "--store", p)...)
					if err != nil {
						return "", err
					}
					fmt.Fprintf(&b, "%s: exit %d\n%s\n", args[0], code, out)
				}
				for _, item := range sample {
					code, out, err := runLimited(ctx, centralBin, "trace", "--store", p, "--json", "--include-patient", item)
					if err != nil {
						return "", err
					}
					fmt.Fprintf(&b, "trace %s: exit %d\n%s\n", item, code, out)
				}
				return b.String(), nil
			},
		},
	}
	for _, f := range files {
		if err := flipOne(ctx, r, f); err != nil {
			return err
		}
	}
	return lostMetaRound(ctx, r, edgeBin, ledger)
}

// flipOne runs the rounds of one file.
func flipOne(ctx context.Context, r *campaignRun, f flipFile) error {
	orig, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	intact, out, err := f.verify(ctx, f.path)
	if err != nil {
		return err
	}
	if !intact {
		return fmt.Errorf("the %s as written does not verify:\n%s", f.what, out)
	}
	want, err := f.readBack(ctx, f.path)
	if err != nil {
		return err
	}
	copyPath := f.path + ".flipped"
	for suffix, c := range f.companions {
		if err := os.WriteFile(copyPath+suffix, c, 0o600); err != nil {
			return err
		}
	}
	// Reads name the file they read: the copy's output is compared with
	// the original's under one name.
	want = strings.ReplaceAll(want, f.path, "FILE")
	used, err := usedBytes(orig)
	if err != nil {
		return fmt.Errorf("%s: %w", f.what, err)
	}
	detected, harmless := 0, 0
	for round := range r.Rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		off := r.Rand.IntN(used)
		mask := byte(1 << r.Rand.IntN(8))
		b := bytes.Clone(orig)
		b[off] ^= mask
		if err := os.WriteFile(copyPath, b, 0o600); err != nil {
			return err
		}
		intact, out, err := f.verify(ctx, copyPath)
		switch {
		case errors.Is(err, errFlipHang), errors.Is(err, errFlipPanic):
			r.Failf("%s: byte %d ^ %#02x: verify: %v\n%s", f.what, off, mask, err, out)
			continue
		case err != nil:
			return err
		}
		if !intact {
			detected++
			continue
		}
		got, err := f.readBack(ctx, copyPath)
		if errors.Is(err, errFlipHang) || errors.Is(err, errFlipPanic) {
			r.Failf("%s: byte %d ^ %#02x: verify says intact, then reading: %v", f.what, off, mask, err)
			continue
		}
		if err != nil {
			return err
		}
		if strings.ReplaceAll(got, copyPath, "FILE") != want {
			r.Failf("%s: byte %d ^ %#02x (page %d): verify says intact, but what is read changed", f.what, off, mask, off/4096)
			continue
		}
		harmless++
		if round%50 == 49 {
			r.Logf("%s: %d flips, %d detected, %d harmless", f.what, round+1, detected, harmless)
		}
	}
	_ = os.Remove(copyPath)
	for suffix := range f.companions {
		_ = os.Remove(copyPath + suffix)
	}
	name := strings.ReplaceAll(f.what, " ", "-")
	r.Figure(name+" flips", float64(r.Rounds), "", "", true)
	r.Figure(name+" detected", float64(detected), "", "", true)
	r.Figure(name+" harmless (verify intact, all reads unchanged)", float64(harmless), "", "", true)
	r.Figure(name+" undetected changes, panics, hangs", float64(r.Rounds-detected-harmless), "", "0", detected+harmless == r.Rounds)
	r.Figure(name+" bytes used (flipped over)", float64(used), "B", "", true)
	return nil
}

// lostMetaRound damages the active meta page of a copy of the ledger:
// bbolt falls back to the other one, a transaction earlier, and verify
// must say the last transaction's movements are lost.
func lostMetaRound(ctx context.Context, r *campaignRun, edgeBin, ledger string) error {
	b, err := os.ReadFile(ledger)
	if err != nil {
		return err
	}
	ps, err := pageSize(b)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	txid := func(page int64) uint64 { return binary.LittleEndian.Uint64(b[page*ps+16+48:]) }
	active := int64(0)
	if txid(1) > txid(0) {
		active = 1
	}
	b[active*ps+16+48] ^= 0x01 // its txid: the checksum no longer matches
	p := ledger + ".meta"
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return err
	}
	if tip, err := os.ReadFile(ledger + ".tip"); err == nil {
		if err := os.WriteFile(p+".tip", tip, 0o600); err != nil {
			return err
		}
	}
	code, out, err := runLimited(ctx, edgeBin, "verify", "--store", p)
	if err != nil {
		r.Failf("ledger with its active meta page damaged: verify: %v\n%s", err, out)
		return nil
	}
	reported := code == 1 && strings.Contains(out, "NOT INTACT") && strings.Contains(out, fmt.Sprintf("movement %d", flipMovements))
	r.Figure("ledger active meta damaged: lost transaction reported", b2f(reported), "", "1", reported)
	if !reported {
		r.Failf("ledger with its active meta page damaged: verify exit %d, want the loss of movement %d named:\n%s", code, flipMovements, out)
	}
	_ = os.Remove(p)
	_ = os.Remove(p + ".tip")
	return nil
}

// bbolt's meta page (go.etcd.io/bbolt's page and meta layouts): after
// the 16-byte page header, magic(4) version(4) pageSize(4) flags(4)
// root bucket(16) freelist(8) pgid(8) txid(8) checksum(8); pgid is the
// high water mark, the page count in use.
const (
	metaPageSize = 16 + 8
	metaHWM      = 16 + 40
)

// pageSize reads a bbolt file's page size from its first meta page.
func pageSize(b []byte) (int64, error) {
	if len(b) < 4096 {
		return 0, fmt.Errorf("a bbolt file of %d bytes", len(b))
	}
	ps := int64(binary.LittleEndian.Uint32(b[metaPageSize:]))
	if ps < 512 || ps*2 > int64(len(b)) || ps&(ps-1) != 0 {
		return 0, fmt.Errorf("page size %d read from its meta page", ps)
	}
	return ps, nil
}

// usedBytes is the used part of a bbolt file: up to the higher of the
// high water marks its two meta pages name (beyond is room the file was
// grown by, which nothing reads).
func usedBytes(b []byte) (int, error) {
	ps, err := pageSize(b)
	if err != nil {
		return 0, err
	}
	hwm := max(binary.LittleEndian.Uint64(b[metaHWM:]), binary.LittleEndian.Uint64(b[ps+metaHWM:]))
	if hwm < 2 || hwm*uint64(ps) > uint64(len(b)) {
		return 0, fmt.Errorf("high water mark %d pages of %d bytes in a file of %d bytes", hwm, ps, len(b))
	}
	return int(hwm) * int(ps), nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// flipMovements is how many movements the ledger holds; its last
// transaction writes the last one alone.
const flipMovements = 3*flipItems + 1

// flipItem is the item key of item i.
func flipItem(i int) string { return fmt.Sprintf("(01)09520123456788(21)FLIP%05d", i) }

// writeFlipFiles writes the ledger (each item received, stocked and
// used, some reads rejected, in transactions of many movements, then one
// alone) and the centre's store holding the same movements.
func writeFlipFiles(ctx context.Context, ledger, store string) error {
	l, err := bolt.Open(bolt.Options{Path: ledger, Gateway: "gw-flips", MaxBatch: 64})
	if err != nil {
		return err
	}
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	kinds := []agent.Kind{agent.KindReceive, agent.KindStock, agent.KindUse}
	var pending []chan error
	for n := range flipMovements - 1 {
		i, k := n/len(kinds), kinds[n%len(kinds)]
		serial := fmt.Sprintf("FLIP%05d", i)
		m := agent.Movement{Time: t0.Add(time.Duration(n) * time.Minute), Kind: k, Item: flipItem(i),
			GTIN: "09520123456788", Serial: serial, Lot: "L" + fmt.Sprint(i%7), Expiry: "2028-06-30",
			Location: "OR-3", Station: "or3-scanner", Symbology: "]d2", Raw: []byte("]d20109520123456788" + "21" + serial)}
		if k == agent.KindUse {
			m.Case, m.Patient = fmt.Sprintf("case-%d", i%40), fmt.Sprintf("P%06d", i%40)
		}
		if n%29 == 28 {
			m = agent.Movement{Time: m.Time, Kind: agent.KindReject, Station: "or3-scanner", Raw: fmt.Appendf(nil, "smudged %d", n), Reason: "unreadable"}
		}
		done := make(chan error, 1)
		l.Submit(m, func(_ agent.Movement, err error) { done <- err })
		pending = append(pending, done)
	}
	for _, d := range pending {
		if err := <-d; err != nil {
			l.Close()
			return err
		}
	}
	// The last one alone: its transaction is the one a damaged active
	// meta page loses.
	last := agent.Movement{Time: t0.Add(48 * time.Hour), Kind: agent.KindStock, Item: flipItem(0), GTIN: "09520123456788",
		Serial: "FLIP00000", Location: "warehouse", Station: "desk", Raw: []byte("]d2010952012345678821FLIP00000")}
	if _, err := l.Append(ctx, last); err != nil {
		l.Close()
		return err
	}
	if l.LastSeq() != flipMovements {
		l.Close()
		return fmt.Errorf("ledger: %d movements written, want %d", l.LastSeq(), flipMovements)
	}
	created := l.Created().UnixNano()
	var recs [][]byte
	for from := uint64(1); from <= l.LastSeq(); {
		rs, err := l.ReadRecords(from, 256, 1<<20)
		if err != nil || len(rs) == 0 {
			l.Close()
			return fmt.Errorf("ledger: read records from %d: %v", from, err)
		}
		recs = append(recs, rs...)
		from += uint64(len(rs))
	}
	if err := l.Close(); err != nil {
		return err
	}
	st, err := boltstore.Open(store)
	if err != nil {
		return err
	}
	for first := 0; first < len(recs); first += 100 {
		b := &wire.Batch{Gateway: "gw-flips", Site: "site-a", Created: created, First: uint64(first + 1), Records: recs[first:min(first+100, len(recs))]}
		stored, err := central.CheckBatch(b)
		if err == nil {
			_, _, err = st.Append(ctx, b.Site, b.Gateway, b.Created, stored)
		}
		if err != nil {
			st.Close()
			return fmt.Errorf("centre store: movements from %d: %w", first+1, err)
		}
	}
	return st.Close()
}

// Failures of a program run on a damaged file.
var (
	errFlipHang  = errors.New("still running after the time limit (a hang)")
	errFlipPanic = errors.New("panicked")
)

// runLimited runs a program and returns its exit code and output
// (stdout then stderr); err is errFlipHang or errFlipPanic for those, or
// the failure to start it.
func runLimited(ctx context.Context, bin string, args ...string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, flipLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	text := out.String() + errb.String()
	if ctx.Err() == context.DeadlineExceeded {
		return -1, text, errFlipHang
	}
	if strings.Contains(errb.String(), "panic:") || strings.Contains(errb.String(), "goroutine ") && strings.Contains(errb.String(), "[running]") {
		return -1, text, errFlipPanic
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), text, nil
	}
	if err != nil {
		return -1, text, err
	}
	return 0, text, nil
}
