package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/record"
	bolt "go.etcd.io/bbolt"
)

// The hash chain is agent/record's (see chain.go there). The writer
// chains, one SHA-256 of 90 bytes per movement; the digest is computed in
// Submit, on the caller's goroutine. firmware-notes/ledger.md explains how
// VerifyChain tells a changed movement from a removed, inserted or
// reordered one.

// maxShift bounds how far from its place VerifyChain looks for the
// sequence number a movement was written under.
const maxShift = 1 << 16

func genesisHash(gateway string, created uint64) [hashSize]byte {
	return record.Genesis(gateway, created)
}

func chainHash(seq uint64, prev, digest *[hashSize]byte) [hashSize]byte {
	return record.ChainHash(seq, prev, digest)
}

// ChainSummary describes a hash chain VerifyChain found intact.
type ChainSummary struct {
	// Movements is how many movements were checked.
	Movements uint64
	// LastSeq is the sequence number of the last movement, 0 when the
	// ledger is empty.
	LastSeq uint64
	// Genesis is the PrevHash of movement 1, derived from the file's
	// gateway id and creation time.
	Genesis []byte
	// LastHash is the Hash of the last movement (Genesis when the ledger
	// is empty): it stands for the whole chain. Kept elsewhere, for
	// example by the central service, it shows later that no movement up
	// to LastSeq was changed, even by someone who recomputed every hash.
	LastHash []byte
	// Anchor is where the chain starts after retention (nil when no
	// movement was ever retained away): the walk starts at Anchor.Seq from
	// Anchor.PrevHash, and Carried movements before it were checked
	// against Anchor.CarriedDigest. Movements counts those from the
	// anchor on.
	Anchor  *Anchor
	Carried uint64
	// Warnings, set by VerifyAll only, are what it found that loses
	// nothing: bbolt's meta page that is not in use is damaged (rewritten
	// at the next commit), the tip file is missing or damaged (a lost
	// transaction cannot be ruled out, see Loss).
	Warnings []string
}

// VerifyChain walks the movements in sequence order, recomputes every
// hash, and checks that each movement's PrevHash is the Hash of the one
// before it and that the meta bucket's last hash is the last movement's.
// It returns the summary of an intact chain, or a *ChainError naming the
// first movement that was changed, removed, inserted or reordered, or
// ctx's error. It reads one snapshot of the file and does not hold up the
// writer. Structural damage (see Verify) is reported as a change when it
// stops the walk.
func (l *Ledger) VerifyChain(ctx context.Context) (ChainSummary, error) {
	var sum ChainSummary
	if err := l.safe(bucketMovements, bucketCarried); err != nil {
		return sum, err
	}
	p := &place{bucket: "movements"}
	err := l.viewAt(p, func(tx *bolt.Tx) error {
		var err error
		sum, err = verifyChain(ctx, tx, p)
		return err
	})
	return sum, err
}

// chainRec is what the chain check reads of one record.
type chainRec struct {
	seq    uint64
	prev   [hashSize]byte
	hash   [hashSize]byte
	digest [hashSize]byte
	bad    error // set when the record or its batch is damaged
}

// read fills r from the record stored as movement seq: its hashes and the
// digest of its body, or bad.
func (r *chainRec) read(seq uint64, rec []byte) {
	r.seq, r.bad = seq, nil
	var err error
	r.prev, r.hash, r.digest, err = record.Parts(seq, rec)
	r.bad = recordCorrupt(seq, err)
}

// walkRecords calls fn for every record from sequence number from on, in
// key order, until fn returns false, keeping p (which may be nil) at the
// batch it reads. A batch that is damaged is passed as one record with
// bad set and the batch's first sequence number.
func walkRecords(ctx context.Context, tx *bolt.Tx, from uint64, p *place, fn func(r *chainRec) bool) error {
	c := tx.Bucket(bucketMovements).Cursor()
	p.at("movements", from, 0)
	k, v := seekBatch(c, from)
	var r chainRec
	for batches := 1; k != nil; k, v = c.Next() {
		if batches++; batches%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := nextBatch(k, v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			r.seq, r.bad = 0, err
			if len(k) == 8 {
				r.seq = binary.BigEndian.Uint64(k)
			}
			if r.seq >= from && !fn(&r) {
				return nil
			}
			continue
		}
		p.at("movements", b.First, b.Last())
		for i := range b.N {
			seq := b.First + uint64(i)
			if seq < from {
				continue
			}
			rec, _ := b.Record(i) // in bounds: check passed
			r.read(seq, rec)
			if !fn(&r) {
				return nil
			}
		}
		p.at("movements", b.Last()+1, 0)
	}
	return nil
}

// seekBatch moves c to the batch that would hold movement seq: the one
// stored under seq, or else the one before it (the first when there is
// none before), and returns its key and value; nil for no batch at all.
func seekBatch(c *bolt.Cursor, seq uint64) (k, v []byte) {
	k, v = c.Seek(seqKey(seq))
	if k == nil {
		return c.Last()
	}
	if len(k) == 8 && binary.BigEndian.Uint64(k) > seq {
		if k, v = c.Prev(); k == nil {
			k, v = c.First()
		}
	}
	return k, v
}

// chainWalker checks the chain of one snapshot.
type chainWalker struct {
	ctx context.Context
	tx  *bolt.Tx
	p   *place // where it reads
	// q is the last movement found in place (0 before the first); want
	// is its Hash (the genesis hash before the first), which the next
	// movement's PrevHash must be.
	q    uint64
	want [hashSize]byte
	n    uint64
	// anchor is the retention anchor's first movement, 0 when the ledger
	// was never cut: the chain starts there, from the anchor's hash.
	anchor uint64
	// broken is the first movement not in place, and why.
	broken    chainRec
	self      bool // broken's hash verifies under its own sequence number
	link      bool // broken's PrevHash is want
	hasBroken bool
}

// verifyChain checks the chain in tx; see VerifyChain.
func verifyChain(ctx context.Context, tx *bolt.Tx, p *place) (ChainSummary, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil || tx.Bucket(bucketMovements) == nil {
		return ChainSummary{}, corruptf(0, "meta or movements bucket missing")
	}
	gw, created := meta.Get(metaGateway), meta.Get(metaCreated)
	if len(gw) == 0 || len(created) != 8 {
		return ChainSummary{}, corruptf(0, "meta gateway or created missing")
	}
	genesis := genesisHash(string(gw), binary.BigEndian.Uint64(created))
	w := &chainWalker{ctx: ctx, tx: tx, p: p, want: genesis}
	anchor, cut, err := anchorIn(tx)
	if err != nil {
		return ChainSummary{}, err
	}
	from := uint64(1)
	var carried uint64
	if cut {
		// The chain goes on from the anchor: what came before was
		// retained away, but for the carried movements.
		if carried, err = verifyCarried(ctx, tx, &anchor); err != nil {
			return ChainSummary{}, err
		}
		w.q, w.want, w.anchor, from = anchor.Seq-1, [hashSize]byte(anchor.PrevHash), anchor.Seq, anchor.Seq
	} else if cb := tx.Bucket(bucketCarried); cb != nil {
		if k, _ := cb.Cursor().First(); k != nil {
			return ChainSummary{}, &ChainError{Kind: ChainInserted, Reason: "the ledger carries movements, but has no retention anchor (meta anchor): the anchor was removed, or the carried movements put in"}
		}
	}
	err = walkRecords(ctx, tx, from, p, func(r *chainRec) bool {
		if r.bad == nil && r.seq == w.q+1 {
			w.self = chainHash(r.seq, &r.prev, &r.digest) == r.hash
			w.link = r.prev == w.want
			if w.self && w.link {
				w.q, w.want = r.seq, r.hash
				w.n++
				return true
			}
		}
		w.broken, w.hasBroken = *r, true
		return false
	})
	if err != nil {
		return ChainSummary{}, err
	}
	if w.hasBroken {
		cerr, err := w.classify()
		if err != nil {
			return ChainSummary{}, err
		}
		return ChainSummary{}, cerr
	}
	if last := meta.Get(metaLastHash); len(last) != hashSize || [hashSize]byte(last) != w.want {
		if w.q == 0 {
			return ChainSummary{}, &ChainError{Kind: ChainChanged,
				Reason: "the ledger holds no movement, but its last hash (meta last_hash) is not the genesis hash: movements were removed, or the meta bucket was changed"}
		}
		return ChainSummary{}, &ChainError{Seq: w.q + 1, Kind: ChainRemoved,
			Reason: fmt.Sprintf("the ledger's last hash (meta last_hash) is not the hash of movement %d, the last one stored: movements after it were removed (or movement %d was replaced and its hash recomputed)", w.q, w.q)}
	}
	sum := ChainSummary{
		Movements: w.n,
		LastSeq:   w.q,
		Genesis:   genesis[:],
		LastHash:  append([]byte(nil), w.want[:]...),
		Carried:   carried,
	}
	if cut {
		sum.Anchor = &anchor
	}
	return sum, nil
}

// verifyCarried checks the movements retention carried (see Anchor):
// each one's hash verifies under its own sequence number, one that
// follows another carried movement links to it, movement Seq-1 when
// carried has the anchor's PrevHash for Hash, and together they are the
// ones the anchor names (its count and digest). It returns how many
// there are, or a *ChainError naming the first that is not as written.
func verifyCarried(ctx context.Context, tx *bolt.Tx, a *Anchor) (uint64, error) {
	d := newCarriedDigest()
	cb := tx.Bucket(bucketCarried)
	if cb != nil {
		var prevSeq uint64
		var prevHash [hashSize]byte
		c := cb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if d.n%1024 == 1023 {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
			}
			if len(k) != 8 {
				return 0, corruptf(0, "carried movement key of %d bytes", len(k))
			}
			seq := binary.BigEndian.Uint64(k)
			prev, hash, digest, err := record.Parts(seq, v)
			if err != nil {
				return 0, &ChainError{Seq: seq, Kind: ChainChanged, Reason: fmt.Sprintf("carried movement: its record is damaged (%v)", recordCorrupt(seq, err))}
			}
			switch {
			case chainHash(seq, &prev, &digest) != hash:
				return 0, &ChainError{Seq: seq, Kind: ChainChanged, Reason: "carried movement: its content no longer matches its hash"}
			case prevSeq > 0 && seq == prevSeq+1 && prev != prevHash:
				return 0, &ChainError{Seq: seq, Kind: ChainChanged, Reason: fmt.Sprintf("carried movement: it does not link to movement %d, carried before it", prevSeq)}
			case seq == a.Seq-1 && !bytes.Equal(hash[:], a.PrevHash):
				return 0, &ChainError{Seq: seq, Kind: ChainChanged, Reason: "carried movement: its hash is not the one the retention anchor names for it"}
			}
			prevSeq, prevHash = seq, hash
			d.add(seq, hash[:])
		}
	}
	if d.n != a.Carried || !bytes.Equal(d.digest(), a.CarriedDigest) {
		return 0, &ChainError{Seq: a.Seq - 1, Kind: ChainRemoved, Reason: fmt.Sprintf("the ledger carries %d movements from before the retention anchor, but the anchor names %d others or another set: carried movements were removed, put in or changed", d.n, a.Carried)}
	}
	return d.n, nil
}

// find returns the first intact record from sequence number from on for
// which match holds.
func (w *chainWalker) find(from uint64, match func(r *chainRec) bool) (uint64, bool, error) {
	var seq uint64
	var found bool
	err := walkRecords(w.ctx, w.tx, from, w.p, func(r *chainRec) bool {
		if r.bad == nil && match(r) {
			seq, found = r.seq, true
			return false
		}
		return true
	})
	return seq, found, err
}

// span names the movements a to b.
func span(a, b uint64) string {
	if a == b {
		return fmt.Sprintf("movement %d", a)
	}
	return fmt.Sprintf("movements %d to %d", a, b)
}

// record returns the intact record stored as movement seq, if any.
func (w *chainWalker) record(seq uint64) (chainRec, bool, error) {
	var out chainRec
	var ok bool
	err := walkRecords(w.ctx, w.tx, seq, w.p, func(r *chainRec) bool {
		if r.seq == seq && r.bad == nil {
			out, ok = *r, true
		}
		return false
	})
	return out, ok, err
}

// classify says what happened at w.broken, the first movement not in its
// place in the chain. The evidence, in the order it is weighed:
//   - the record is damaged, or sits where the keys skip or overlap;
//   - its PrevHash links to movement q but its hash does not verify: the
//     movement after it linking to q too means it was inserted; another
//     record's content verifying under its hash means the two contents
//     were swapped; otherwise its content changed;
//   - its hash verifies but its PrevHash is not q's hash: q was replaced
//     and re-hashed (or, before movement 1, the meta bucket changed);
//   - its hash verifies under an earlier sequence number s-j: j movements
//     were inserted before it; under a later one s+j: movements were
//     removed before it and the rest renumbered, unless the movement that
//     links to q is found later in the file, which means reordered.
func (w *chainWalker) classify() (*ChainError, error) {
	r := &w.broken
	s, q := r.seq, w.q
	prevName, afterPrev := "the genesis hash", "at the start of the ledger"
	switch {
	case w.anchor > 0 && q == w.anchor-1:
		prevName = fmt.Sprintf("the retention anchor's hash (of movement %d, retained away)", q)
		afterPrev = fmt.Sprintf("after the retention anchor (movement %d)", q)
	case q > 0:
		prevName = fmt.Sprintf("movement %d", q)
		afterPrev = "after " + prevName
	}
	links := func(o *chainRec) bool { return o.prev == w.want }
	switch {
	case r.bad != nil:
		if s <= q {
			s = q + 1
		}
		return &ChainError{Seq: s, Kind: ChainChanged, Reason: fmt.Sprintf("its record is damaged, the chain cannot be checked past it (%v)", r.bad)}, nil
	case s <= q:
		return &ChainError{Seq: s, Kind: ChainInserted, Reason: fmt.Sprintf("a batch of movements starting at %d overlaps movements already stored up to %d", s, q)}, nil
	case s > q+1:
		if r.prev == w.want {
			return &ChainError{Seq: q + 1, Kind: ChainGap, Reason: fmt.Sprintf("no movement is stored as %s, yet movement %d follows %s in the chain: the numbering was altered, no movement is missing from the chain", span(q+1, s-1), s, prevName)}, nil
		}
		missing := span(q+1, s-1) + " are"
		if s-1 == q+1 {
			missing = span(q+1, s-1) + " is"
		}
		return &ChainError{Seq: q + 1, Kind: ChainRemoved, Reason: fmt.Sprintf("%s missing from the file, and movement %d does not link to %s", missing, s, prevName)}, nil
	}

	if w.link { // in its place in the chain, but its hash does not verify
		next, ok, err := w.record(s + 1)
		if err != nil {
			return nil, err
		}
		if ok && next.prev == w.want {
			return &ChainError{Seq: s, Kind: ChainInserted, Reason: fmt.Sprintf("its hash does not verify, and movement %d links to %s directly: movement %d was put in between", s+1, prevName, s)}, nil
		}
		x, ok, err := w.find(s+1, func(o *chainRec) bool { return chainHash(s, &r.prev, &o.digest) == r.hash })
		if err != nil {
			return nil, err
		}
		if ok {
			return &ChainError{Seq: s, Kind: ChainReordered, Reason: fmt.Sprintf("its hash was computed over the content now stored as movement %d: the contents of movements %d and %d were swapped", x, s, x)}, nil
		}
		return &ChainError{Seq: s, Kind: ChainChanged, Reason: "its content no longer matches its hash (its PrevHash still links to " + prevName + ")"}, nil
	}
	if w.self { // intact itself, but chained to another predecessor
		if w.anchor > 0 && q == w.anchor-1 {
			return &ChainError{Seq: s, Kind: ChainChanged, Reason: fmt.Sprintf("movement %d verifies, but its PrevHash is not the retention anchor's hash (meta anchor): the anchor was changed", s)}, nil
		}
		if q == 0 {
			return &ChainError{Kind: ChainChanged, Reason: "movement 1 verifies, but its PrevHash is not the genesis hash of the file's gateway id and creation time: the meta bucket was changed"}, nil
		}
		return &ChainError{Seq: q, Kind: ChainChanged, Reason: fmt.Sprintf("movement %d verifies but was chained to another hash than movement %d's: movement %d was replaced and its hash recomputed", s, q, q)}, nil
	}
	for j := uint64(1); j < s && j <= maxShift; j++ {
		if chainHash(s-j, &r.prev, &r.digest) == r.hash {
			return &ChainError{Seq: s - j, Kind: ChainInserted, Reason: fmt.Sprintf("movement %d was written as movement %d: what is now stored as %s was put in before it", s, s-j, span(s-j, s-1))}, nil
		}
	}
	x, moved, err := w.find(s+1, links)
	if err != nil {
		return nil, err
	}
	for j := uint64(1); j <= maxShift; j++ {
		if chainHash(s+j, &r.prev, &r.digest) == r.hash {
			if moved {
				return &ChainError{Seq: s, Kind: ChainReordered, Reason: fmt.Sprintf("the record stored as movement %d was written as movement %d, and the movement written %s is stored as movement %d", s, s+j, afterPrev, x)}, nil
			}
			return &ChainError{Seq: s, Kind: ChainRemoved, Reason: fmt.Sprintf("movement %d was written as movement %d: %d movement(s) written %s were removed and the later ones renumbered", s, s+j, j, afterPrev)}, nil
		}
	}
	if moved {
		return &ChainError{Seq: s, Kind: ChainReordered, Reason: fmt.Sprintf("it does not link to %s, and the movement that does is stored as movement %d", prevName, x)}, nil
	}
	return &ChainError{Seq: s, Kind: ChainChanged, Reason: fmt.Sprintf("its PrevHash is not %s's hash and its hash verifies under no sequence number: its hashes were changed", prevName)}, nil
}
