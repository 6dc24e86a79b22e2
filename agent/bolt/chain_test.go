package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// chainBursts are the transactions of the test ledger: 330 movements in
// batches of one record and of many.
var chainBursts = []int{1, 1, 40, 3, 120, 1, 90, 44, 30}

// chainLedger writes the test ledger to a new file, closes it and returns
// its path and the movements as the ledger reported them.
func chainLedger(t *testing.T) (string, []agent.Movement) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	return path, writeBurst(t, path, chainBursts...)
}

// fileRecords returns the records of a closed ledger file, in sequence
// order, as stored.
func fileRecords(t *testing.T, path string) [][]byte {
	t.Helper()
	batches := rawBatches(t, path)
	firsts := make([]uint64, 0, len(batches))
	for k := range batches {
		firsts = append(firsts, k)
	}
	slices.Sort(firsts)
	var recs [][]byte
	for _, first := range firsts {
		b, err := parseBatch(first, batches[first])
		if err == nil {
			err = b.check()
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.N {
			rec, _ := b.Record(i)
			recs = append(recs, bytes.Clone(rec))
		}
	}
	return recs
}

// rewriteRecords replaces the movements of a closed ledger file with recs,
// numbered from 1, as a careful forger would: batch headers with their
// checksums, the item index rebuilt, last_seq and the rejected count set,
// and last_hash set to the last record's Hash unless keepLastHash. Only the
// hash chain can then tell.
func rewriteRecords(t *testing.T, path string, recs [][]byte, keepLastHash bool) {
	t.Helper()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMovements, bucketRuns, bucketIndex} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		mb, meta := tx.Bucket(bucketMovements), tx.Bucket(bucketMeta)
		for _, k := range [][]byte{[]byte("run"), []byte("merge")} {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		var (
			rejected uint64
			entries  [][]byte
			arena    runindex.Arena
		)
		for first := 0; first < len(recs); first += 37 {
			chunk := recs[first:min(first+37, len(recs))]
			if err := mb.Put(seqKey(uint64(first+1)), appendBatch(nil, chunk)); err != nil {
				return err
			}
			for i, rec := range chunk {
				seq := uint64(first + i + 1)
				m, err := decodeRecord(seq, rec)
				if err != nil {
					return err
				}
				if m.Kind == agent.KindReject {
					rejected++
				}
				entries = indexEntries(entries, &m, seq, &arena)
			}
		}
		slices.SortFunc(entries, bytes.Compare)
		if err := indexIn(tx, 8000, &arena).Add(entries); err != nil {
			return err
		}
		if err := meta.Put(metaLastSeq, seqKey(uint64(len(recs)))); err != nil {
			return err
		}
		if err := meta.Put(metaRejected, seqKey(rejected)); err != nil {
			return err
		}
		if keepLastHash {
			return nil
		}
		last := genesisHash(testGateway, binary.BigEndian.Uint64(meta.Get(metaCreated)))
		if len(recs) > 0 {
			last = [hashSize]byte(recHash(recs[len(recs)-1]))
		}
		return meta.Put(metaLastHash, last[:])
	})
}

// recPrev and recHash return a record's PrevHash and Hash.
func recPrev(rec []byte) []byte { return rec[len(rec)-recordTail : len(rec)-recordTail+hashSize] }
func recHash(rec []byte) []byte { return rec[len(rec)-recordTail+hashSize : len(rec)-crcSize] }

// editRecord returns rec with its movement changed by edit and the record
// checksum recomputed; the hashes stay as they were.
func editRecord(t *testing.T, rec []byte, edit func(m *agent.Movement)) []byte {
	t.Helper()
	m, err := decodeRecord(1, rec)
	if err != nil {
		t.Fatal(err)
	}
	edit(&m)
	out, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sealed returns rec with its hashes recomputed as the writer would for
// movement seq after prev: what someone who knows the construction forges.
func sealed(t *testing.T, rec []byte, seq uint64, prev []byte) []byte {
	t.Helper()
	out := bytes.Clone(rec)
	body := recordBody(out)
	p, digest := [hashSize]byte(prev), sha256.Sum256(body)
	h := chainHash(seq, &p, &digest)
	sealRecord(out, crc32.Checksum(body, castagnoli), &p, &h)
	return out
}

// forged returns the record of a movement the writer never wrote, to be
// stored as movement seq after a movement whose Hash is prev. With
// validHash its Hash is computed as the writer would; otherwise it is
// left zero.
func forged(t *testing.T, seq uint64, prev []byte, validHash bool) []byte {
	t.Helper()
	m := movementN("forged", 3)
	m.Gateway = testGateway
	m.PrevHash = prev
	rec, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	if validHash {
		return sealed(t, rec, seq, prev)
	}
	return rec
}

// wantBreak checks that the file's chain breaks with kind at seq, and,
// unless alsoStructural, that Verify finds nothing but that break.
func wantBreak(t *testing.T, path, kind string, seq uint64, alsoStructural bool) *ChainError {
	t.Helper()
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer l.Close()
	_, err = l.VerifyChain(context.Background())
	var ce *ChainError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChainBroken) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("VerifyChain = %v, want a *ChainError", err)
	}
	if ce.Kind != kind || ce.Seq != seq {
		t.Errorf("VerifyChain: %s at %d, want %s at %d (%v)", ce.Kind, ce.Seq, kind, seq, err)
	}
	if !strings.Contains(err.Error(), " "+kind+": ") {
		t.Errorf("error %q does not say %q", err, kind)
	}
	verr := l.Verify(context.Background())
	var vce *ChainError
	if !errors.As(verr, &vce) || *vce != *ce {
		t.Errorf("Verify = %v, want the chain break among its problems", verr)
	}
	if !alsoStructural {
		// The tip file notices a rewrite that reaches its movement (a
		// *Loss, tested in tip_test.go); nothing else may show.
		if joined, ok := verr.(interface{ Unwrap() []error }); ok {
			n := 0
			for _, e := range joined.Unwrap() {
				if !errors.Is(e, ErrLedgerLoss) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("Verify found more than the chain break: %v", verr)
			}
		}
	}
	t.Logf("%v", err)
	return ce
}

func TestChainLinksMovements(t *testing.T) {
	path, ms := chainLedger(t)
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	genesis := genesisHash(testGateway, uint64(l.Created().UnixNano()))
	if !bytes.Equal(ms[0].PrevHash, genesis[:]) {
		t.Errorf("movement 1 PrevHash %x, want the genesis hash %x", ms[0].PrevHash, genesis)
	}
	for i, m := range ms {
		if len(m.Hash) != hashSize || len(m.PrevHash) != hashSize {
			t.Fatalf("movement %d: hashes of %d and %d bytes", m.Seq, len(m.PrevHash), len(m.Hash))
		}
		if i > 0 && !bytes.Equal(m.PrevHash, ms[i-1].Hash) {
			t.Fatalf("movement %d: PrevHash is not movement %d's Hash", m.Seq, ms[i-1].Seq)
		}
		got, err := l.Get(m.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !sameMovement(got, m) || !sameHashes(got, m) {
			t.Fatalf("movement %d read back as %+v, reported as %+v", m.Seq, got, m)
		}
	}
	sum, err := l.VerifyChain(context.Background())
	if err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	last := ms[len(ms)-1]
	if sum.Movements != uint64(len(ms)) || sum.LastSeq != last.Seq || !bytes.Equal(sum.LastHash, last.Hash) || !bytes.Equal(sum.Genesis, genesis[:]) {
		t.Errorf("summary %+v, want %d movements up to %d, last hash %x", sum, len(ms), last.Seq, last.Hash)
	}
	if err := l.Verify(context.Background()); err != nil {
		t.Errorf("Verify: %v", err)
	}
	l.Close()

	// The chain goes on across a reopen.
	w, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	next, err := w.Append(context.Background(), movementN("after", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(next.PrevHash, last.Hash) {
		t.Errorf("after reopen PrevHash %x, want %x", next.PrevHash, last.Hash)
	}
	if _, err := w.Append(context.Background(), next); !errors.Is(err, ErrInvalidMovement) {
		t.Errorf("resubmitting a stored movement (seq and hashes set) = %v", err)
	}
	next.Seq = 0
	if _, err := w.Append(context.Background(), next); !errors.Is(err, ErrInvalidMovement) {
		t.Errorf("a movement with hashes set = %v, want ErrInvalidMovement", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkFile(t, path)
}

func TestEmptyLedgerChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := l.VerifyChain(context.Background())
	if err != nil || sum.Movements != 0 || !bytes.Equal(sum.LastHash, sum.Genesis) {
		t.Errorf("empty ledger: %+v, %v", sum, err)
	}
	l.Close()
}

// TestTamperDetected edits real ledger files the way someone with the file
// and bbolt in hand would, keeping every record checksum, batch header and
// index entry right, and checks that the hash chain names the first
// movement touched and what was done to it.
func TestTamperDetected(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		seq    uint64
		tamper func(t *testing.T, recs [][]byte) [][]byte
	}{
		{"field changed", ChainChanged, 137, func(t *testing.T, recs [][]byte) [][]byte {
			recs[136] = editRecord(t, recs[136], func(m *agent.Movement) { m.Patient = "someone-else" })
			return recs
		}},
		{"first movement changed", ChainChanged, 1, func(t *testing.T, recs [][]byte) [][]byte {
			recs[0] = editRecord(t, recs[0], func(m *agent.Movement) { m.Lot = "L2" })
			return recs
		}},
		{"last movement changed", ChainChanged, 330, func(t *testing.T, recs [][]byte) [][]byte {
			recs[329] = editRecord(t, recs[329], func(m *agent.Movement) { m.Time = m.Time.Add(time.Hour) })
			return recs
		}},
		{"changed and re-hashed", ChainChanged, 90, func(t *testing.T, recs [][]byte) [][]byte {
			rec := editRecord(t, recs[89], func(m *agent.Movement) { m.Kind = agent.KindWaste })
			recs[89] = sealed(t, rec, 90, recPrev(rec))
			return recs
		}},
		{"one removed", ChainRemoved, 200, func(t *testing.T, recs [][]byte) [][]byte {
			return slices.Delete(recs, 199, 200)
		}},
		{"three removed", ChainRemoved, 45, func(t *testing.T, recs [][]byte) [][]byte {
			return slices.Delete(recs, 44, 47)
		}},
		{"first removed", ChainRemoved, 1, func(t *testing.T, recs [][]byte) [][]byte {
			return recs[1:]
		}},
		{"tail removed", ChainRemoved, 326, func(t *testing.T, recs [][]byte) [][]byte {
			return recs[:325]
		}},
		{"forged inserted", ChainInserted, 150, func(t *testing.T, recs [][]byte) [][]byte {
			return slices.Insert(recs, 149, forged(t, 150, recHash(recs[148]), true))
		}},
		{"forged inserted, hash not computed", ChainInserted, 150, func(t *testing.T, recs [][]byte) [][]byte {
			return slices.Insert(recs, 149, forged(t, 150, recHash(recs[148]), false))
		}},
		{"two forged inserted", ChainInserted, 150, func(t *testing.T, recs [][]byte) [][]byte {
			a := forged(t, 150, recHash(recs[148]), true)
			b := forged(t, 151, recHash(a), true)
			return slices.Insert(recs, 149, a, b)
		}},
		{"neighbours swapped", ChainReordered, 120, func(t *testing.T, recs [][]byte) [][]byte {
			recs[119], recs[120] = recs[120], recs[119]
			return recs
		}},
		{"distant movements swapped", ChainReordered, 100, func(t *testing.T, recs [][]byte) [][]byte {
			recs[99], recs[179] = recs[179], recs[99]
			return recs
		}},
		{"contents swapped, hashes left in place", ChainReordered, 100, func(t *testing.T, recs [][]byte) [][]byte {
			a, b := recs[99], recs[179]
			recs[99] = editRecord(t, b, func(m *agent.Movement) { m.PrevHash, m.Hash = recPrev(a), recHash(a) })
			recs[179] = editRecord(t, a, func(m *agent.Movement) { m.PrevHash, m.Hash = recPrev(b), recHash(b) })
			return recs
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, ms := chainLedger(t)
			recs := fileRecords(t, path)
			if len(recs) != len(ms) {
				t.Fatalf("%d records for %d movements", len(recs), len(ms))
			}
			recs = tt.tamper(t, recs)
			rewriteRecords(t, path, recs, tt.name == "tail removed")
			wantBreak(t, path, tt.kind, tt.seq, false)
		})
	}
}

func TestUntouchedRewriteIntact(t *testing.T) {
	path, ms := chainLedger(t)
	rewriteRecords(t, path, fileRecords(t, path), false)
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sum, err := l.VerifyChain(context.Background())
	if err != nil || sum.Movements != uint64(len(ms)) {
		t.Fatalf("VerifyChain after a faithful rewrite: %+v, %v", sum, err)
	}
	if err := l.Verify(context.Background()); err != nil {
		t.Fatalf("Verify after a faithful rewrite: %v", err)
	}
}

func TestTamperedBatchRemovedLeavesGap(t *testing.T) {
	path, _ := chainLedger(t)
	batches := rawBatches(t, path)
	var firsts []uint64
	for k := range batches {
		firsts = append(firsts, k)
	}
	slices.Sort(firsts)
	gone, next := firsts[3], firsts[4]
	rawUpdate(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMovements).Delete(seqKey(gone)) })
	ce := wantBreak(t, path, ChainRemoved, gone, true)
	if want := span(gone, next-1); !strings.Contains(ce.Reason, want+" ") {
		t.Errorf("reason %q does not say %q", ce.Reason, want)
	}
}

func TestTamperedRecordChecksum(t *testing.T) {
	path, _ := chainLedger(t)
	const seq = 61
	var first uint64
	for k, v := range rawBatches(t, path) {
		if b, err := parseBatch(k, v); err == nil && k <= seq && seq <= b.Last() {
			first = k
		}
	}
	// A byte of the record changed and no checksum fixed: damage, or a
	// careless edit.
	damageBatch(t, path, first, func(v []byte) []byte {
		b, _ := parseBatch(first, v)
		rec, _ := b.Record(seq - int(first))
		rec[10] ^= 1
		return v
	})
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.VerifyChain(context.Background())
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != ChainChanged || ce.Seq != seq || !strings.Contains(ce.Reason, "damaged") {
		t.Errorf("VerifyChain = %v, want movement %d changed (damaged)", err, seq)
	}
}

func TestTamperedMeta(t *testing.T) {
	t.Run("creation time", func(t *testing.T) {
		path, _ := chainLedger(t)
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaCreated, seqKey(uint64(time.Now().UnixNano())))
		})
		wantBreak(t, path, ChainChanged, 0, false)
	})
	t.Run("last hash", func(t *testing.T) {
		path, _ := chainLedger(t)
		rawUpdate(t, path, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaLastHash, make([]byte, hashSize))
		})
		wantBreak(t, path, ChainRemoved, 331, false)
		if _, err := Open(Options{Path: path, Gateway: testGateway}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Open with a wrong last hash = %v, want ErrCorrupt: the writer must not chain onto it", err)
		}
	})
}

func TestChainErrorText(t *testing.T) {
	e := &ChainError{Seq: 12, Kind: ChainRemoved, Reason: "why"}
	if got := e.Error(); got != "bolt: hash chain broken: movement 12 removed: why" {
		t.Errorf("%q", got)
	}
	if !errors.Is(e, ErrChainBroken) || !errors.Is(e, ErrCorrupt) {
		t.Error("ChainError must wrap ErrChainBroken and ErrCorrupt")
	}
	if got := (&ChainError{Kind: ChainChanged, Reason: "why"}).Error(); got != "bolt: hash chain broken: ledger meta changed: why" {
		t.Errorf("%q", got)
	}
}
