package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// The tip file. bbolt keeps two meta pages and, when the newer one is
// damaged, silently opens the file at the older one: the last committed
// transaction is gone, and nothing in the file says so. The tip file,
// PATH.tip beside the ledger, keeps what the writer last committed
// (sequence number and hash) outside bbolt, so that Open, OpenReadOnly
// and Verify can tell such a loss, and a ledger file deleted or replaced
// while the tip stayed, from a ledger that is whole.
//
// The writer rewrites it with one pwrite after every commit, before the
// movements are answered, and never fsyncs it on that path: it can lag
// behind the durable state (after a power cut), never lead it. It holds
// two slots of 512 bytes, written in turn, each:
//
//	magic    8 bytes "UDITIP01"
//	counter  8 bytes big-endian: which write this is (the slot is counter mod 2)
//	seq      8 bytes big-endian: the last committed movement, 0 for none
//	hash     32 bytes: its Hash (the genesis hash when seq is 0)
//	genesis  32 bytes: the ledger's genesis hash (its gateway and creation time)
//	gateway  1 byte length, then the gateway id
//	crc      4 bytes big-endian CRC-32C of everything before, in the slot
//
// The valid slot of the higher counter is the tip. A damaged or missing
// tip file is never fatal: it is reported (ChainSummary.Warnings) and
// rewritten by the next writable Open.

const (
	tipSuffix = ".tip"
	tipSlot   = 512
	tipMagic  = "UDITIP01"
	tipFixed  = 8 + 8 + 8 + hashSize + hashSize + 1
)

// FlagLedgerLoss is the flag of the context movement a writable Open
// appends when it finds a Loss: the first movement after the loss.
const FlagLedgerLoss = "ledger-loss"

// Kinds of Loss.
const (
	// LossMissing: the ledger ends before the tip's movement.
	LossMissing = "missing"
	// LossRewritten: the ledger holds the tip's sequence number, but
	// under another hash.
	LossRewritten = "rewritten"
	// LossReplaced: the tip is of another ledger (another genesis): the
	// file was deleted or replaced.
	LossReplaced = "replaced"
)

// Loss reports movements that were committed (the tip file says so) but
// that the ledger file no longer holds: see Ledger.Loss. It wraps
// ErrLedgerLoss and ErrCorrupt.
type Loss struct {
	// Kind is LossMissing, LossRewritten or LossReplaced.
	Kind string
	// LedgerLast is the last movement in the ledger file when it was
	// opened.
	LedgerLast uint64
	// TipSeq and TipHash are the last committed movement and its Hash as
	// the tip file has them.
	TipSeq  uint64
	TipHash []byte
	// TipGateway and TipGenesis name the ledger the tip was written for.
	TipGateway string
	TipGenesis []byte
	// Recorded is the sequence number of the context movement (flag
	// FlagLedgerLoss) that records the loss in the ledger, 0 while it is
	// not recorded (always on a ledger opened read-only).
	Recorded uint64
}

// Missing returns the sequence numbers the ledger lost, from and to
// inclusive, as the tip file names them (for LossReplaced the previous
// ledger's 1 to TipSeq; for LossRewritten the tip's movement only, the
// earliest known to differ).
func (e *Loss) Missing() (from, to uint64) {
	switch e.Kind {
	case LossMissing:
		return e.LedgerLast + 1, e.TipSeq
	case LossReplaced:
		return 1, e.TipSeq
	default:
		return e.TipSeq, e.TipSeq
	}
}

// Error implements error.
func (e *Loss) Error() string { return "bolt: ledger loss: " + e.reason() }

// reason says what was lost, without the package prefix: the Reason of
// the context movement that records it.
func (e *Loss) reason() string {
	from, to := e.Missing()
	switch e.Kind {
	case LossMissing:
		return fmt.Sprintf("the tip file records movement %d (hash %s) as committed, but the ledger ends at movement %d: %s missing "+
			"(bbolt fell back to an older meta page, or the file was restored from a copy)", e.TipSeq, short(e.TipHash), e.LedgerLast, spanVerb(from, to))
	case LossRewritten:
		return fmt.Sprintf("the tip file records movement %d with hash %s, but the ledger's movement %d has another hash: "+
			"the ledger file was replaced by a copy or rewritten after movement %d was committed", e.TipSeq, short(e.TipHash), e.TipSeq, e.TipSeq)
	default:
		return fmt.Sprintf("the tip file is of another ledger (gateway %q, genesis %s) whose last movement was %d (hash %s): "+
			"this ledger file, which ended at movement %d when opened, is not that ledger: it was deleted or replaced, and of the previous ledger %s missing",
			e.TipGateway, short(e.TipGenesis), e.TipSeq, short(e.TipHash), e.LedgerLast, spanVerb(from, to))
	}
}

// Unwrap returns ErrLedgerLoss and ErrCorrupt.
func (e *Loss) Unwrap() []error { return []error{ErrLedgerLoss, ErrCorrupt} }

func (e *Loss) clone() *Loss {
	c := *e
	c.TipHash, c.TipGenesis = bytes.Clone(e.TipHash), bytes.Clone(e.TipGenesis)
	return &c
}

// spanVerb names the movements a to b with their verb ("movement 5 is").
func spanVerb(a, b uint64) string {
	if a > b {
		return "no movement is"
	}
	if a == b {
		return span(a, b) + " is"
	}
	return span(a, b) + " are"
}

// short is a hash as a message shows it: its first 8 bytes in hex.
func short(h []byte) string {
	if len(h) > 8 {
		return hex.EncodeToString(h[:8]) + "…"
	}
	return hex.EncodeToString(h)
}

// tipState is one slot of the tip file.
type tipState struct {
	counter uint64
	seq     uint64
	hash    [hashSize]byte
	genesis [hashSize]byte
	gateway string
}

// encode writes s into slot, a buffer of tipSlot bytes.
func (s *tipState) encode(slot []byte) {
	clear(slot)
	b := append(slot[:0], tipMagic...)
	b = binary.BigEndian.AppendUint64(b, s.counter)
	b = binary.BigEndian.AppendUint64(b, s.seq)
	b = append(b, s.hash[:]...)
	b = append(b, s.genesis[:]...)
	b = append(b, byte(len(s.gateway)))
	b = append(b, s.gateway...)
	binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeTip reads one slot.
func decodeTip(slot []byte) (tipState, error) {
	var s tipState
	if len(slot) < tipFixed+4 || string(slot[:8]) != tipMagic {
		return s, errors.New("no tip slot (magic)")
	}
	n := tipFixed + int(slot[tipFixed-1])
	if n+4 > len(slot) {
		return s, errors.New("gateway length runs past the slot")
	}
	if crc32.Checksum(slot[:n], castagnoli) != binary.BigEndian.Uint32(slot[n:]) {
		return s, errors.New("checksum does not match")
	}
	s.counter, s.seq = binary.BigEndian.Uint64(slot[8:]), binary.BigEndian.Uint64(slot[16:])
	copy(s.hash[:], slot[24:])
	copy(s.genesis[:], slot[24+hashSize:])
	s.gateway = string(slot[tipFixed:n])
	return s, nil
}

// readTip reads the tip file at path. It returns the tip (ok false when
// there is none to use) and a warning when the file is missing or a slot
// is damaged.
func readTip(path string) (tipState, bool, string) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return tipState{}, false, fmt.Sprintf("no tip file %s: a transaction lost by the ledger cannot be ruled out", path)
	}
	if err != nil {
		return tipState{}, false, fmt.Sprintf("tip file %s cannot be read (%v): a transaction lost by the ledger cannot be ruled out", path, err)
	}
	var best tipState
	var ok bool
	var bad []string
	for i := range 2 {
		var s tipState
		err := io.ErrUnexpectedEOF
		if len(b) >= (i+1)*tipSlot {
			s, err = decodeTip(b[i*tipSlot : (i+1)*tipSlot])
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("slot %d: %v", i, err))
			continue
		}
		if !ok || s.counter > best.counter {
			best, ok = s, true
		}
	}
	switch {
	case !ok:
		return best, false, fmt.Sprintf("tip file %s is damaged (%v; %v): a transaction lost by the ledger cannot be ruled out; a writable open replaces it", path, bad[0], bad[1])
	case len(bad) > 0:
		return best, true, fmt.Sprintf("tip file %s: %s is damaged; the other is used (a writable open rewrites both)", path, bad[0])
	}
	return best, true, ""
}

// tipFile is the tip of a writable ledger, open for the writer.
type tipFile struct {
	path    string
	f       *os.File
	st      tipState
	buf     [tipSlot]byte
	checked time.Time // when the path was last checked to name f
	failed  bool      // the last write failed (logged once)
}

// createTip writes a new tip file at path holding st in both slots,
// synced with its directory entry: once, at Open, off the hot path.
func createTip(path string, st tipState) (*tipFile, error) {
	t := &tipFile{path: path, st: st}
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	var both [2 * tipSlot]byte
	for range 2 {
		t.st.counter++
		t.st.encode(both[t.st.counter%2*tipSlot:][:tipSlot])
	}
	if _, err = f.WriteAt(both[:], 0); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	t.f, t.checked = f, time.Now()
	return t, nil
}

// write records seq and hash as the last committed movement: one pwrite
// of the next slot, not synced.
func (t *tipFile) write(seq uint64, hash [hashSize]byte) error {
	t.st.counter++
	t.st.seq, t.st.hash = seq, hash
	t.st.encode(t.buf[:])
	_, err := t.f.WriteAt(t.buf[:], int64(t.st.counter%2)*tipSlot)
	return err
}

// gone reports whether the tip's path no longer names its open file.
func (t *tipFile) gone() bool {
	return fileGone(t.f, t.path) != ""
}

func (t *tipFile) close() {
	if t != nil && t.f != nil {
		_ = t.f.Close()
	}
}

// tipFor is the tip state of the ledger l at its last committed movement.
func (l *Ledger) tipFor() tipState {
	return tipState{
		seq:     l.last.Load(),
		hash:    l.lastHash,
		genesis: genesisHash(l.gateway, uint64(l.created.UnixNano())),
		gateway: l.gateway,
	}
}

// compareTip compares the ledger, just opened, with its tip file: it sets
// l.loss when the ledger lost committed movements and keeps the tip's
// warnings for Verify. hashAt returns the Hash of a movement of the file.
func (l *Ledger) compareTip(hashAt func(seq uint64) ([]byte, error)) {
	st, ok, warn := readTip(l.path + tipSuffix)
	if warn != "" {
		l.tipWarn = append(l.tipWarn, warn)
	}
	if !ok {
		return
	}
	cur := l.tipFor()
	loss := &Loss{LedgerLast: cur.seq, TipSeq: st.seq, TipHash: bytes.Clone(st.hash[:]),
		TipGateway: st.gateway, TipGenesis: bytes.Clone(st.genesis[:])}
	switch {
	case (st.genesis != cur.genesis || st.gateway != cur.gateway) && st.seq == 0:
		l.tipWarn = append(l.tipWarn, fmt.Sprintf("the tip file is of another ledger (gateway %q, genesis %s), which held no movement", st.gateway, short(st.genesis[:])))
		return
	case st.genesis != cur.genesis || st.gateway != cur.gateway:
		loss.Kind = LossReplaced
	case st.seq > cur.seq:
		loss.Kind = LossMissing
	default:
		h := cur.genesis[:]
		if st.seq > 0 {
			var err error
			if h, err = hashAt(st.seq); err != nil {
				l.tipWarn = append(l.tipWarn, fmt.Sprintf("the tip's movement %d cannot be read to compare its hash: %v", st.seq, err))
				return
			}
		}
		if bytes.Equal(h, st.hash[:]) {
			return
		}
		loss.Kind = LossRewritten
	}
	l.loss = loss
}

// Loss returns what the ledger lost, as found when it was opened by
// comparing the file with its tip file (see tip.go), or nil when it lost
// nothing it can tell. A writable Open records the loss in the ledger as
// its next movement (Loss.Recorded); Verify reports an unrecorded one.
func (l *Ledger) Loss() *Loss {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	if l.loss == nil {
		return nil
	}
	return l.loss.clone()
}

// tipWarnings returns what Verify reports about the tip file.
func (l *Ledger) tipWarnings() []string {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	return append([]string(nil), l.tipWarn...)
}

// lossMovement is the context movement that records loss.
func (l *Ledger) lossMovement(loss *Loss) agent.Movement {
	return agent.Movement{
		Time:     time.Now(),
		Kind:     agent.KindContext,
		Location: "ledger",
		Station:  "ledger",
		Reason:   loss.reason(),
		Flags:    []string{FlagLedgerLoss},
	}
}

// recordLoss appends the context movement that records l.loss, in a
// transaction of its own, and then rewrites the tip. The writer calls it
// before any other transaction while the loss is not recorded; Open calls
// it first.
func (l *Ledger) recordLoss() error {
	l.statsMu.Lock()
	loss := l.loss.clone()
	l.statsMu.Unlock()
	batch := []request{{m: l.lossMovement(loss)}}
	if err := l.prepare(&batch[0]); err != nil {
		return err
	}
	if _, err := l.guardedWrite(batch, 0, 1); err != nil {
		return fmt.Errorf("bolt: record the ledger loss: %w", err)
	}
	rec := batch[0].m
	l.statsMu.Lock()
	l.loss.Recorded = rec.Seq
	l.stats.Transactions++
	l.stats.Movements++
	l.statsMu.Unlock()
	l.lossPending = false
	l.log.Error("ledger loss recorded", "path", l.path, "kind", loss.Kind, "ledger_last", loss.LedgerLast,
		"tip_seq", loss.TipSeq, "tip_hash", hex.EncodeToString(loss.TipHash), "recorded_as", rec.Seq)
	l.openTip()
	return nil
}

// openTip (re)creates the tip file at the ledger's last committed
// movement, for the writer to keep up to date. A tip that cannot be
// written is logged, never fatal: the ledger goes on without it.
func (l *Ledger) openTip() {
	l.tip.close()
	t, err := createTip(l.path+tipSuffix, l.tipFor())
	if err != nil {
		l.tip = nil
		l.log.Error("tip file cannot be written: a lost transaction will not be noticed at the next open", "path", l.path+tipSuffix, "err", err)
		return
	}
	l.tip = t
}

// updateTip is the writer's step after a commit: the tip gets the last
// movement, and once a second the tip's path is checked to still name
// the file written (recreated when it was removed).
func (l *Ledger) updateTip(now time.Time) {
	t := l.tip
	if t == nil {
		return
	}
	if now.Sub(t.checked) >= time.Second {
		t.checked = now
		if t.gone() {
			l.log.Warn("tip file removed or replaced: writing it anew", "path", t.path)
			l.openTip()
			return
		}
	}
	if err := t.write(l.last.Load(), l.lastHash); err != nil {
		if !t.failed {
			l.log.Error("tip file write failed", "path", t.path, "err", err)
		}
		t.failed = true
		return
	}
	t.failed = false
}
