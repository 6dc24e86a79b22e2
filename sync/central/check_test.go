package central

import (
	"errors"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const created = 1764028800000000000

func headAt(l *testkit.Ledger, seq uint64) Head {
	h := EmptyHead(l.Gateway, l.Created)
	if seq > 0 {
		h.Seq, h.Hash, h.Site = seq, l.Hash(seq), l.Site
	}
	return h
}

// fork returns a ledger with l's first n movements, then others.
func fork(t *testing.T, l *testkit.Ledger, n, total int) *testkit.Ledger {
	f := testkit.NewLedger(l.Site, l.Gateway, l.Created)
	for i := range total {
		if i < n {
			f.Add(t, l.Movements[i])
		} else {
			f.Add(t, testkit.Movement(i+1, "(01)09506000134352(21)FORK"))
		}
	}
	return f
}

// splice returns a batch of first to last with a's records before from
// and b's from on, under a's header.
func splice(a, b *testkit.Ledger, first, last, from uint64) *wire.Batch {
	bt := a.Batch(first, last)
	bt.Records = slices.Clone(bt.Records)
	for s := from; s <= last; s++ {
		bt.Records[s-first] = b.Records[s-1]
	}
	return bt
}

// damage returns the batch first to last with one byte of movement seq's
// body changed; resealed, its checksum is made right again (so only its
// hash is wrong).
func damage(l *testkit.Ledger, first, last, seq uint64, resealed bool) *wire.Batch {
	bt := l.Batch(first, last)
	bt.Records = slices.Clone(bt.Records)
	rec := slices.Clone(bt.Records[seq-first])
	rec[len(record.Body(rec))-1] ^= 0x40
	if resealed {
		prev, hash := record.Hashes(rec)
		record.Seal(rec, crc32.Checksum(record.Body(rec), crc32.MakeTable(crc32.Castagnoli)), &prev, &hash)
	}
	bt.Records[seq-first] = rec
	return bt
}

func TestCheckBatch(t *testing.T) {
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 20)
	recreated := testkit.NewLedger("st-marys", "or-3", created+1)
	recreated.AddN(t, 20)
	forked := fork(t, l, 14, 20)
	foreign := testkit.NewLedger("st-marys", "or-3", created)
	m := testkit.Movement(1, testkit.ItemKey(1))
	m.Gateway = "or-4"
	foreign.Add(t, m)

	tests := []struct {
		name       string
		head       uint64
		batch      *wire.Batch
		first, end uint64 // the movements that pass; 0, 0 for none
		err        error
		errSeq     uint64
		cause      error
	}{
		{name: "first batch", head: 0, batch: l.Batch(1, 10), first: 1, end: 10},
		{name: "next batch", head: 10, batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "after a gap (the store decides)", head: 5, batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "duplicate", head: 20, batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "duplicate of the start", head: 20, batch: l.Batch(1, 3), first: 1, end: 3},
		{name: "overlap", head: 15, batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "conflict at the head", head: 15, batch: splice(l, forked, 11, 20, 15), first: 11, end: 14, err: ErrConflict, errSeq: 15},
		{name: "broken chain after the head", head: 10, batch: splice(l, recreated, 11, 20, 11), err: ErrChain, errSeq: 11},
		{name: "broken chain inside", head: 10, batch: splice(l, recreated, 11, 20, 14), first: 11, end: 13, err: ErrChain, errSeq: 14},
		{name: "wrong genesis", head: 0, batch: splice(l, recreated, 1, 5, 1), err: ErrChain, errSeq: 1},
		{name: "wrong genesis in an overlap", head: 5, batch: splice(l, recreated, 1, 5, 1), err: ErrChain, errSeq: 1},
		{name: "corrupt record", head: 10, batch: damage(l, 11, 20, 12, false), first: 11, end: 11, err: ErrRecord, errSeq: 12, cause: record.ErrCorrupt},
		{name: "changed record resealed", head: 10, batch: damage(l, 11, 20, 13, true), first: 11, end: 12, err: ErrRecord, errSeq: 13, cause: record.ErrHash},
		{name: "record of another gateway", head: 0, batch: foreign.Batch(1, 1), err: ErrRecord, errSeq: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, cerr := checkBatch(tc.batch, headAt(l, tc.head))
			switch {
			case tc.err == nil && cerr != nil:
				t.Fatalf("error %v, want none", cerr)
			case tc.err != nil && (cerr == nil || !errors.Is(cerr, tc.err) || cerr.Seq != tc.errSeq):
				t.Fatalf("error %v, want %v at movement %d", cerr, tc.err, tc.errSeq)
			case tc.cause != nil && !errors.Is(cerr, tc.cause):
				t.Fatalf("error %v does not wrap %v", cerr, tc.cause)
			}
			var got []uint64
			for _, r := range recs {
				got = append(got, r.Seq)
				if r.Hash != l.Hash(r.Seq) {
					t.Errorf("movement %d passed with a hash other than the ledger's", r.Seq)
				}
				if want := testkit.ItemKey(int(r.Seq)); len(r.Keys) != 1 || r.Keys[0] != want {
					t.Errorf("movement %d keys %q, want [%q]", r.Seq, r.Keys, want)
				}
			}
			var want []uint64
			for s := tc.first; s != 0 && s <= tc.end; s++ {
				want = append(want, s)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("passed %v, want %v", got, want)
			}
		})
	}
}

func TestCheckAppend(t *testing.T) {
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 10)
	recs := func(first, last uint64) []Stored {
		out, cerr := checkBatch(l.Batch(first, last), EmptyHead(l.Gateway, l.Created))
		if first == 1 && cerr != nil {
			t.Fatal(cerr)
		}
		if first > 1 { // checked against the head they follow
			out, cerr = checkBatch(l.Batch(first, last), headAt(l, first-1))
			if cerr != nil {
				t.Fatal(cerr)
			}
		}
		return out
	}
	held := func(seq uint64) ([HashSize]byte, error) { return l.Hash(seq), nil }
	heldOther := func(seq uint64) ([HashSize]byte, error) { return [HashSize]byte{1}, nil }

	broken := recs(6, 10)
	broken[0].PrevHash[0] ^= 1
	skipping := append(recs(6, 7), recs(9, 10)...)

	tests := []struct {
		name  string
		head  Head
		site  string
		recs  []Stored
		held  func(uint64) ([HashSize]byte, error)
		fresh int
		err   error
	}{
		{"first", headAt(l, 0), "st-marys", recs(1, 5), held, 0, nil},
		{"after the head", headAt(l, 5), "st-marys", recs(6, 10), held, 0, nil},
		{"all held", headAt(l, 10), "st-marys", recs(6, 10), held, 5, nil},
		{"overlap", headAt(l, 7), "st-marys", recs(6, 10), held, 2, nil},
		{"gap", headAt(l, 4), "st-marys", recs(6, 10), held, 0, ErrGap},
		{"conflict", headAt(l, 7), "st-marys", recs(6, 10), heldOther, 0, ErrConflict},
		{"broken link", headAt(l, 5), "st-marys", broken, held, 0, ErrChain},
		{"other site", headAt(l, 5), "elsewhere", recs(6, 10), held, 0, ErrMismatch},
		{"empty", headAt(l, 5), "st-marys", nil, held, 0, ErrInvalid},
		{"not consecutive", headAt(l, 5), "st-marys", skipping, held, 0, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := CheckAppend(tc.head, tc.site, tc.recs, tc.held)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && fresh != tc.fresh {
				t.Fatalf("fresh %d, want %d", fresh, tc.fresh)
			}
		})
	}
}

func TestCheckErrorText(t *testing.T) {
	err := GapErr("or-3", 7, 1100, 1043)
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Seq != 1043 || !errors.Is(err, ErrGap) {
		t.Fatalf("GapErr = %#v", err)
	}
	if got, want := err.Error(), "central: gateway or-3 ledger 7: gap: got 1100, expected 1043"; got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
}
