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
	return forkAs(t, l, n, total, "(01)09506000134352(21)FORK")
}

// forkAs is fork with the others moving item.
func forkAs(t *testing.T, l *testkit.Ledger, n, total int, item string) *testkit.Ledger {
	f := testkit.NewLedger(l.Site, l.Gateway, l.Created)
	for i := range total {
		if i < n {
			f.Add(t, l.Movements[i])
		} else {
			f.Add(t, testkit.Movement(i+1, item))
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
		prev       uint64 // the batch continues a group that ends at movement prev; 0 for none
		batch      *wire.Batch
		first, end uint64 // the movements that pass; 0, 0 for none
		err        error
		errSeq     uint64
		cause      error
	}{
		{name: "first batch", batch: l.Batch(1, 10), first: 1, end: 10},
		{name: "next batch", batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "continues its group", prev: 10, batch: l.Batch(11, 20), first: 11, end: 20},
		{name: "another history (the store decides)", batch: splice(l, forked, 11, 20, 15), first: 11, end: 20},
		{name: "another chain (the store decides)", batch: splice(l, recreated, 11, 20, 11), first: 11, end: 20},
		{name: "does not continue its group", prev: 10, batch: splice(l, recreated, 11, 20, 11), err: ErrChain, errSeq: 11},
		{name: "broken chain inside", batch: splice(l, recreated, 11, 20, 14), first: 11, end: 13, err: ErrChain, errSeq: 14},
		{name: "wrong genesis", batch: splice(l, recreated, 1, 5, 1), err: ErrChain, errSeq: 1},
		{name: "wrong genesis in a group", prev: 20, batch: splice(l, recreated, 1, 5, 1), err: ErrChain, errSeq: 1},
		{name: "corrupt record", batch: damage(l, 11, 20, 12, false), first: 11, end: 11, err: ErrRecord, errSeq: 12, cause: record.ErrCorrupt},
		{name: "changed record resealed", batch: damage(l, 11, 20, 13, true), first: 11, end: 12, err: ErrRecord, errSeq: 13, cause: record.ErrHash},
		{name: "record of another gateway", batch: foreign.Batch(1, 1), err: ErrRecord, errSeq: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var prev *[HashSize]byte
			if tc.prev > 0 {
				h := l.Hash(tc.prev)
				prev = &h
			}
			recs, cerr := checkBatch(tc.batch, prev)
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
				sent := tc.batch.Records[r.Seq-tc.batch.First]
				if _, h := record.Hashes(sent); r.Hash != h || !slices.Equal(r.Record, sent) {
					t.Errorf("movement %d passed with another record or hash than the one sent", r.Seq)
				}
				m, _ := record.Decode(r.Seq, sent)
				if want := IndexKeys(&m); !slices.Equal(r.Keys, want) {
					t.Errorf("movement %d keys %q, want %q", r.Seq, r.Keys, want)
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
		out, cerr := checkBatch(l.Batch(first, last), nil)
		if cerr != nil {
			t.Fatal(cerr)
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

// branches is a ledger's branches in memory, for PlaceAppend: what a
// Store keeps, without the store.
type branches struct {
	heads []Head
	own   map[[2]uint64][HashSize]byte // (branch, seq) → Hash
}

func newBranches(l *testkit.Ledger) *branches {
	return &branches{heads: []Head{EmptyHead(l.Gateway, l.Created)}, own: map[[2]uint64][HashSize]byte{}}
}

func (bs *branches) read(branch int, from, to uint64) ([][HashSize]byte, error) {
	var out [][HashSize]byte
	for seq := from; seq <= to; seq++ {
		h, ok := bs.own[[2]uint64{uint64(branch), seq}]
		if !ok {
			return nil, errors.New("movement not held by the branch")
		}
		out = append(out, h)
	}
	return out, nil
}

// apply stores recs as p says, as a Store would.
func (bs *branches) apply(p Placement, site string, recs []Stored) {
	if p.New {
		bs.heads = append(bs.heads, Head{Gateway: bs.heads[0].Gateway, Created: bs.heads[0].Created, Branch: p.Branch, Parent: p.Parent, Fork: recs[p.Fresh].Seq})
	}
	h := &bs.heads[p.Branch]
	for _, r := range recs[p.Fresh:] {
		bs.own[[2]uint64{uint64(p.Branch), r.Seq}] = r.Hash
		h.Seq, h.Hash, h.Site = r.Seq, r.Hash, site
	}
}

func TestPlaceAppend(t *testing.T) {
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 30)
	restored := fork(t, l, 12, 30)                      // differs from movement 13 on
	again := forkAs(t, restored, 15, 20, "AGAIN")       // differs from restored's 16 on
	early := forkAs(t, l, 9, 15, "EARLY")               // differs from movement 10 on
	unlinked := forkAs(t, restored, 13, 20, "UNLINKED") // shares restored's 13, which l does not hold
	recs := func(x *testkit.Ledger, first, last uint64) []Stored {
		out, cerr := checkBatch(x.Batch(first, last), nil)
		if cerr != nil {
			t.Fatal(cerr)
		}
		return out
	}
	bs := newBranches(l)
	steps := []struct {
		name   string
		recs   []Stored
		max    int
		want   Placement
		err    error
		errSeq uint64
	}{
		{name: "first", recs: recs(l, 1, 20), want: Placement{Branch: 0, Fresh: 0}},
		{name: "restored from a backup: a branch from 13", recs: recs(restored, 8, 18), want: Placement{Branch: 1, Fresh: 5, New: true, Parent: 0, Held: l.Hash(13)}},
		{name: "the branch goes on", recs: recs(restored, 19, 25), want: Placement{Branch: 1, Fresh: 0}},
		{name: "the branch again", recs: recs(restored, 10, 25), want: Placement{Branch: 1, Fresh: 16}},
		{name: "the first history goes on (a copy of the key)", recs: recs(l, 18, 22), want: Placement{Branch: 0, Fresh: 3}},
		{name: "what both hold: the current branch", recs: recs(l, 3, 12), want: Placement{Branch: 1, Fresh: 10}},
		{name: "a branch of the branch", recs: recs(again, 14, 17), want: Placement{Branch: 2, Fresh: 2, New: true, Parent: 1, Held: restored.Hash(16)}},
		{name: "a fork before every branch's: forked from branch 0", recs: recs(early, 9, 11), want: Placement{Branch: 3, Fresh: 1, New: true, Parent: 0, Held: l.Hash(10)}},
		{name: "gap after the current branch", recs: recs(early, 13, 15), err: ErrGap, errSeq: 12},
		{name: "too many branches", recs: recs(unlinked, 14, 20), max: 4, err: ErrConflict, errSeq: 14},
		{name: "a branch of branch 1 at 14", recs: recs(unlinked, 14, 20), want: Placement{Branch: 4, Fresh: 0, New: true, Parent: 1, Held: restored.Hash(14)}},
	}
	for _, st := range steps {
		max := st.max
		if max == 0 {
			max = MaxBranches
		}
		p, err := PlaceAppend(bs.heads, "st-marys", st.recs, bs.read, max)
		var ce *CheckError
		switch {
		case st.err != nil && (!errors.Is(err, st.err) || !errors.As(err, &ce) || ce.Seq != st.errSeq):
			t.Fatalf("%s: %+v, %v; want %v at %d", st.name, p, err, st.err, st.errSeq)
		case st.err == nil && (err != nil || p != st.want):
			t.Fatalf("%s: %+v, %v;\nwant %+v", st.name, p, err, st.want)
		case err == nil:
			bs.apply(p, "st-marys", st.recs)
		}
	}
	if h := bs.heads[1]; h.Seq != 25 || h.Hash != restored.Hash(25) || h.Fork != 13 {
		t.Fatalf("branch 1: %+v", h)
	}
	if h := bs.heads[0]; h.Seq != 22 || h.Hash != l.Hash(22) {
		t.Fatalf("branch 0: %+v", h)
	}

	// An unlinked conflict: movement 14 of a history whose 13 is not held.
	one := newBranches(l)
	p, _ := PlaceAppend(one.heads, "st-marys", recs(l, 1, 20), one.read, MaxBranches)
	one.apply(p, "st-marys", recs(l, 1, 20))
	if _, err := PlaceAppend(one.heads, "st-marys", recs(restored, 14, 16), one.read, MaxBranches); !errors.Is(err, ErrConflict) {
		t.Fatalf("a conflict that links to nothing held: %v, want ErrConflict", err)
	}
	// Every segment of a branch's history, in order.
	got := History(bs.heads, 2, 1, bs.heads[2].Seq)
	want := []Segment{{0, 1, 12}, {1, 13, 15}, {2, 16, 17}}
	if !slices.Equal(got, want) {
		t.Fatalf("history of branch 2: %v, want %v", got, want)
	}
	if got := History(bs.heads, 2, 14, 16); !slices.Equal(got, []Segment{{1, 14, 15}, {2, 16, 16}}) {
		t.Fatalf("history of branch 2 from 14 to 16: %v", got)
	}
}
