package runindex

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// level returns the level of a run of n entries: floor(log8(n)).
func level(n uint64) int { return (bits.Len64(max(n, 1)) - 1) / 3 }

// run is a run of the index: its id and number of entries.
type run struct{ id, n uint64 }

// merge is a merge in progress: the runs it merges into run dest, and how
// many of their entries it wrote.
type merge struct {
	dest    uint64
	written uint64
	srcs    []run
}

func (m *merge) total() (n uint64) {
	for _, r := range m.srcs {
		n += r.n
	}
	return n
}

func (m *merge) encode() []byte {
	v := make([]byte, 0, 16+16*len(m.srcs))
	v = binary.BigEndian.AppendUint64(v, m.dest)
	v = binary.BigEndian.AppendUint64(v, m.written)
	for _, r := range m.srcs {
		v = binary.BigEndian.AppendUint64(v, r.id)
		v = binary.BigEndian.AppendUint64(v, r.n)
	}
	return v
}

// agrees checks m against the live runs: its sources are live runs of
// the counts it has, each once; it writes into a run that is not live;
// and it has written no more than they hold. A state that disagrees was
// damaged: resuming it would lose or duplicate entries.
func (m *merge) agrees(live []run) error {
	for i, src := range m.srcs {
		if !slices.Contains(live, src) {
			return corruptf("source %d of the merge is not a live run of %d entries", src.id, src.n)
		}
		if slices.ContainsFunc(m.srcs[:i], func(r run) bool { return r.id == src.id }) {
			return corruptf("source %d of the merge is named twice", src.id)
		}
	}
	if slices.ContainsFunc(live, func(r run) bool { return r.id == m.dest }) {
		return corruptf("run %d, which a merge writes, is live", m.dest)
	}
	if total := m.total(); m.written > total {
		return corruptf("merge into run %d wrote %d entries of %d", m.dest, m.written, total)
	}
	return nil
}

func decodeMerge(v []byte) (*merge, error) {
	if len(v) < 16+16 || len(v)%16 != 0 {
		return nil, corruptf("merge state of %d bytes", len(v))
	}
	m := &merge{dest: binary.BigEndian.Uint64(v), written: binary.BigEndian.Uint64(v[8:])}
	for v = v[16:]; len(v) > 0; v = v[16:] {
		m.srcs = append(m.srcs, run{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])})
	}
	return m, nil
}

// live returns the live runs, oldest first.
func (x *Index) live() ([]run, error) {
	var out []run
	err := x.runs.ForEach(func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return corruptf("run entry of %d and %d bytes", len(k), len(v))
		}
		out = append(out, run{binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v)})
		return nil
	})
	return out, err
}

// bucket returns the bucket of run id.
func (x *Index) bucket(id uint64) (*bolt.Bucket, error) {
	b := x.blocks.Bucket(u64(id))
	if b == nil {
		return nil, corruptf("run %d missing", id)
	}
	b.FillPercent = 1.0 // runs are written front to back only
	return b, nil
}

// create creates the bucket of a new run and returns its id.
func (x *Index) create() (uint64, *bolt.Bucket, error) {
	var id uint64
	if v := x.meta.Get(metaRun); v != nil {
		if len(v) != 8 {
			return 0, nil, corruptf("next run id of %d bytes", len(v))
		}
		id = binary.BigEndian.Uint64(v)
	}
	if err := x.meta.Put(metaRun, u64(id+1)); err != nil {
		return 0, nil, fmt.Errorf("runindex: put next run id: %w", err)
	}
	b, err := x.blocks.CreateBucket(u64(id))
	if err != nil {
		return 0, nil, fmt.Errorf("runindex: create run %d: %w", id, err)
	}
	b.FillPercent = 1.0
	return id, b, nil
}

// due returns the runs to merge next: the Fan oldest of the lowest level
// with that many live runs outside the merge m, or nil.
func due(runs []run, m *merge) []run {
	var byLevel [22][]run // the level of 2^64-1 is 21
	for _, r := range runs {
		if m == nil || !slices.ContainsFunc(m.srcs, func(s run) bool { return s.id == r.id }) {
			byLevel[level(r.n)] = append(byLevel[level(r.n)], r)
		}
	}
	for _, at := range byLevel {
		if len(at) >= Fan {
			slices.SortFunc(at, func(a, b run) int { return cmp.Compare(a.id, b.id) })
			return at[:Fan]
		}
	}
	return nil
}

// compact merges what is due, writing at most about budget entries in
// merges larger than Config.Small.
func (x *Index) compact(budget int) error {
	runs, err := x.live()
	if err != nil {
		return err
	}
	var m *merge
	if v := x.meta.Get(metaMerge); v != nil {
		if m, err = decodeMerge(v); err != nil {
			return err
		}
		if err := m.agrees(runs); err != nil {
			return err
		}
	}
	// Small merges first, whatever large one is under way.
	for {
		srcs := due(runs, m)
		if srcs == nil || (&merge{srcs: srcs}).total() > x.cfg.Small {
			break
		}
		small, err := x.start(srcs)
		if err != nil {
			return err
		}
		if _, _, err := x.step(small, -1); err != nil {
			return err
		}
		if runs, err = x.finish(small, runs); err != nil {
			return err
		}
	}
	for budget > 0 {
		if m == nil {
			srcs := due(runs, nil)
			if srcs == nil {
				break
			}
			if m, err = x.start(srcs); err != nil {
				return err
			}
		}
		used, done, err := x.step(m, budget)
		if err != nil {
			return err
		}
		budget -= used
		if !done {
			break
		}
		if runs, err = x.finish(m, runs); err != nil {
			return err
		}
		m = nil
	}
	if m != nil {
		return x.meta.Put(metaMerge, m.encode())
	}
	if x.meta.Get(metaMerge) != nil {
		return x.meta.Delete(metaMerge)
	}
	return nil
}

// start creates the run of a merge of srcs.
func (x *Index) start(srcs []run) (*merge, error) {
	id, _, err := x.create()
	if err != nil {
		return nil, err
	}
	return &merge{dest: id, srcs: slices.Clone(srcs)}, nil
}

// step merges the entries of m's sources after the last one in its run,
// front to back, until their end or, once budget entries are written (a
// negative budget has no limit), the end of a block. It returns how many
// it wrote and whether the merge is complete.
func (x *Index) step(m *merge, budget int) (used int, done bool, err error) {
	dest, err := x.bucket(m.dest)
	if err != nil {
		return 0, false, err
	}
	var after []byte
	if m.written > 0 {
		last, err := seekLast(dest)
		if err != nil {
			return 0, false, err
		}
		after = last
	}
	its := make([]*runIter, len(m.srcs))
	for i, r := range m.srcs {
		b, err := x.bucket(r.id)
		if err != nil {
			return 0, false, err
		}
		if its[i], err = seekRun(b, after, true); err != nil {
			return 0, false, err
		}
	}
	w := blockWriter{b: dest, a: x.a, target: x.cfg.Block}
	defer func() { m.written += w.written }()
	for {
		var least *runIter
		for _, it := range its {
			if it.entry != nil && (least == nil || bytes.Compare(it.entry, least.entry) < 0) {
				least = it
			}
		}
		if least == nil {
			return used, true, w.flush()
		}
		if w.full(least.entry) {
			if err := w.flush(); err != nil {
				return used, false, err
			}
			if budget >= 0 && used >= budget {
				return used, false, nil
			}
		}
		if err := w.add(least.entry); err != nil {
			return used, false, err
		}
		used++
		if err := least.next(); err != nil {
			return used, false, err
		}
	}
}

// seekLast returns a copy of the last entry of run bucket b.
func seekLast(b *bolt.Bucket) ([]byte, error) {
	k, v := b.Cursor().Last()
	if k == nil {
		return nil, corruptf("merge state counts entries in an empty run")
	}
	blk, err := parseBlock(k, v)
	if err != nil {
		return nil, err
	}
	last, err := blk.entry(blk.n - 1)
	return bytes.Clone(last), err
}

// finish makes the complete merge m's run live in place of its sources,
// and returns runs so changed.
func (x *Index) finish(m *merge, runs []run) ([]run, error) {
	if total := m.total(); m.written != total {
		return nil, corruptf("merge into run %d wrote %d entries of %d", m.dest, m.written, total)
	}
	for _, r := range m.srcs {
		if err := x.blocks.DeleteBucket(u64(r.id)); err != nil {
			return nil, fmt.Errorf("runindex: delete run %d: %w", r.id, err)
		}
		if err := x.runs.Delete(u64(r.id)); err != nil {
			return nil, fmt.Errorf("runindex: delete run %d: %w", r.id, err)
		}
	}
	if err := x.runs.Put(u64(m.dest), u64(m.written)); err != nil {
		return nil, fmt.Errorf("runindex: put run %d: %w", m.dest, err)
	}
	runs = slices.DeleteFunc(runs, func(r run) bool {
		return slices.ContainsFunc(m.srcs, func(s run) bool { return s.id == r.id })
	})
	return append(runs, run{m.dest, m.written}), nil
}
