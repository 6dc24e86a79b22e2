package nationaldb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Sizes of a re-import.
const (
	// pageCost is what a re-import counts, in the size of a transaction,
	// for a write that falls at random in a bucket: the page it dirties,
	// copied to memory and written at the commit.
	pageCost = 4096
	// dropEvery is how many devices, or product keys, a re-import reads
	// between two calls of dropMapped.
	dropEvery = 4096
)

// reimport writes a UDID file into an index that holds devices, as
// putDevice would, one device after another in the order of the file,
// but reading and writing each bucket in the order of its keys: bbolt
// then reads each page once and copies each page it writes once a
// transaction, where devices in the order of the file would read and
// dirty a page at random for each device and each of its keys.
//
// The file's versions, sorted by device key (bulk.read), are read three
// times, nothing written before the third:
//
//  1. planDevices merges them with the devices bucket: each device's
//     versions applied to the record the index holds (versions) give
//     what its record and codes become, counted; its product keys'
//     events go to a sorter. The devices are cut into chunks, runs of
//     device keys whose writes make a transaction of about txBytes, each
//     device's in the chunk of its key.
//  2. planKeys merges the events, sorted by product key, with the keys
//     bucket: each key's events, in the order of the file, from the
//     device it leads to (replay), give where it leads after each chunk
//     that holds one of its devices. Those writes go to a sorter by
//     chunk, then key.
//  3. write merges the versions with the devices bucket again and writes
//     each chunk in a transaction: its devices' records and codes, then
//     its keys' writes, and the counts.
//
// After each commit the index is what putDevice leaves after the
// devices of the file whose keys sort before the next chunk's, in the
// order of the file: each device whole with its index entries. A
// re-import stopped before it writes has written nothing; stopped while
// it writes, it keeps the chunks committed, and run again finishes as a
// re-import of the whole file over them does. A re-import of a file
// whose devices the index holds as they are writes nothing at all.
type reimport struct {
	b       *bulk
	events  *runSorter // the product keys' events (planDevices)
	writes  *runSorter // the keys bucket's writes, by chunk (planKeys)
	chunks  []chunk
	writing []uint64 // a bit a device, in the order of the keys: whether write writes it
	done    int      // the chunks written (or with nothing to write)
}

// chunk is a transaction of a re-import: the devices from first on, up
// to the next chunk's first, and what writing them does.
type chunk struct {
	first  []byte // the first device key (none for the first chunk)
	writes bool   // whether the chunk writes anything
	// The changes to the index's counts, and the import's counts.
	nDevices, nKeys                 int64
	kept, stale, unkeyed, conflicts int64
}

// reimport writes what was read into an index that holds devices.
func (b *bulk) reimport() error {
	r := &reimport{b: b, events: b.sorter(), writes: b.sorter(), chunks: []chunk{{}}}
	defer r.events.close()
	defer r.writes.close()
	err := r.planDevices()
	if err == nil {
		err = r.planKeys()
	}
	if err == nil && b.opt.planned != nil {
		b.opt.planned()
	}
	if err == nil {
		err = r.write()
	}
	for _, c := range r.chunks[:r.done] {
		b.st.Kept += c.kept
		b.st.Stale += c.stale
		b.st.Unkeyed += c.unkeyed
		b.st.Conflicts += c.conflicts
	}
	b.notes.flush(b.st, r.done-1)
	if err != nil {
		return fmt.Errorf("nationaldb: %s: %w", b.db.path, err)
	}
	return nil
}

// txBytes is about how much a transaction writes.
func (r *reimport) txBytes() int { return cmp.Or(r.b.opt.txBytes, loadTxBytes) }

// view runs fn in a read transaction; every dropEvery calls of tick, it
// checks the import's context and lets go of the pages read.
func (r *reimport) view(fn func(tx *bolt.Tx, tick func() error) error) error {
	tx, err := r.b.db.db.Begin(false)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer tx.Rollback()
	defer r.b.db.dropMapped(tx.Size())
	n := 0
	return fn(tx, func() error {
		if n++; n%dropEvery != 0 {
			return nil
		}
		r.b.db.dropMapped(tx.Size())
		return r.b.ctx.Err()
	})
}

// planDevices applies each device's versions to the index's record of
// it, counting, cuts the devices into chunks, and hands their product
// keys' events to r.events.
func (r *reimport) planDevices() error {
	return r.view(func(tx *bolt.Tx, tick func() error) error {
		devices, codes := tx.Bucket(bucketDevices), tx.Bucket(bucketCodes)
		m, err := r.b.devs.merge()
		if err != nil {
			return err
		}
		var (
			n, cost int // the devices, the size of the chunk's writes
			event   []byte
		)
		v := &versions{note: r.note}
		v.event = func(kind byte, k []byte, seq uint64, sub int) error {
			event = appendEvent(event[:0], kind, sub, len(r.chunks)-1, v.key)
			return r.events.add(k, seq, event)
		}
		return eachDevice(m, v, func(key []byte) (bool, error) {
			if err := tick(); err != nil {
				return false, err
			}
			if cost >= r.txBytes() {
				r.chunks, cost = append(r.chunks, chunk{first: bytes.Clone(key)}), 0
			}
			v.start(key, devices.Get(key))
			return true, nil
		}, func() error {
			c := &r.chunks[len(r.chunks)-1]
			c.kept, c.stale, c.unkeyed = c.kept+v.kept, c.stale+v.stale, c.unkeyed+v.unkeyed
			put, del := v.deviceWrite()
			switch {
			case put:
				cost += 2*len(v.key) + len(v.held) + 96
				if v.held0 == nil {
					c.nDevices++
				}
			case del:
				cost += 2*len(v.key) + 96
				c.nDevices--
			}
			writes := put || del
			err := v.codeWrites(codes, func([]byte, bool) error {
				writes, cost = true, cost+pageCost
				return nil
			})
			cost += int(v.keyChanges) * pageCost // most are writes
			if n/64 >= len(r.writing) {
				r.writing = append(r.writing, 0)
			}
			if writes {
				r.writing[n/64] |= 1 << (n % 64)
				c.writes = true
			}
			n++
			return err
		})
	})
}

// note keeps a problem of a device's version.
func (r *reimport) note(seq uint64, sub int, text string) {
	r.b.notes.add(placedNote{seq: seq, sub: sub, chunk: len(r.chunks) - 1, text: text})
}

// conflict counts and notes a conflict: the claim c of product key k by
// event ev, which device held holds.
func (r *reimport) conflict(k []byte, ev *keyEvent, c claim, held []byte) {
	r.chunks[ev.chunk].conflicts++
	r.b.notes.conflict(r.b.st.File, k, ev, c, held)
}

// planKeys replays each product key's events on the device the keys
// bucket has it lead to and hands to r.writes where it leads after each
// chunk that changes it.
func (r *reimport) planKeys() error {
	return r.view(func(tx *bolt.Tx, tick func() error) error {
		keys := tx.Bucket(bucketKeys)
		m, err := r.events.merge()
		if err != nil {
			return err
		}
		var (
			g      keyGroup
			entry  []byte
			chunks []int
		)
		plan := func(k []byte, evs []keyEvent) error {
			if err := tick(); err != nil {
				return err
			}
			chunks = chunks[:0]
			for i := range evs {
				if !slices.Contains(chunks, evs[i].chunk) {
					chunks = append(chunks, evs[i].chunk)
				}
			}
			slices.Sort(chunks)
			// Where the key leads after each chunk: the events of the
			// devices written so far, in the order of the file.
			held := keys.Get(k)
			prev, prevDelta := held, int64(0)
			for i, c := range chunks {
				var conflict func([]byte, *keyEvent, claim, []byte)
				if i == len(chunks)-1 { // all the events: counted once
					conflict = r.conflict
				}
				holder, delta := replay(k, held, evs, c, conflict)
				if !bytes.Equal(holder, prev) {
					entry = append(binary.BigEndian.AppendUint32(entry[:0], uint32(c)), k...)
					if err := r.writes.add(entry, 0, holder); err != nil {
						return err
					}
					r.chunks[c].writes = true
				}
				r.chunks[c].nKeys += delta - prevDelta
				prev, prevDelta = holder, delta
			}
			return nil
		}
		err = m.each(func(k []byte, seq uint64, payload []byte) error {
			return g.add(k, seq, payload, plan)
		})
		if err != nil {
			return err
		}
		return g.flush(plan)
	})
}

// write writes each chunk that changes the index in a transaction: its
// devices, then the keys' writes, then the counts.
func (r *reimport) write() error {
	if !slices.ContainsFunc(r.chunks, func(c chunk) bool { return c.writes }) {
		r.done = len(r.chunks)
		return nil
	}
	m, err := r.b.devs.merge()
	if err != nil {
		return err
	}
	km, err := r.writes.merge()
	if err != nil {
		return err
	}
	w := &chunkWriter{r: r, keys: km}
	defer w.rollback()
	if w.more, err = km.next(); err != nil {
		return err
	}
	n := 0
	v := &versions{note: func(uint64, int, string) {}} // noted by planDevices
	err = eachDevice(m, v, func(key []byte) (bool, error) {
		for r.done+1 < len(r.chunks) && bytes.Compare(key, r.chunks[r.done+1].first) >= 0 {
			if err := w.end(); err != nil {
				return false, err
			}
		}
		i := n
		n++
		if r.writing[i/64]&(1<<(i%64)) == 0 {
			return false, nil
		}
		if err := w.begin(); err != nil {
			return false, err
		}
		if n%dropEvery == 0 {
			r.b.db.dropMapped(w.tx.Size())
		}
		v.start(key, w.devices.Get(key))
		return true, nil
	}, func() error {
		return w.device(v)
	})
	for err == nil && r.done < len(r.chunks) {
		err = w.end()
	}
	return err
}

// chunkWriter writes the chunks of a re-import, one transaction each.
type chunkWriter struct {
	r    *reimport
	keys *runMerge // the keys' writes
	more bool      // whether keys is at a write

	writeTx
	devices, codes, kbkt *bolt.Bucket
}

// begin begins the transaction of chunk r.done, unless it is begun.
func (w *chunkWriter) begin() error {
	began, err := w.writeTx.begin(w.r.b.ctx, w.r.b.db)
	if began {
		w.devices, w.codes, w.kbkt = w.tx.Bucket(bucketDevices), w.tx.Bucket(bucketCodes), w.tx.Bucket(bucketKeys)
	}
	return err
}

// device writes what a device's versions did to its record and codes.
func (w *chunkWriter) device(v *versions) error {
	var err error
	switch put, del := v.deviceWrite(); {
	case put:
		err = w.devices.Put(v.key, w.value(v.held))
	case del:
		err = w.devices.Delete(v.key)
	}
	if err != nil {
		return fmt.Errorf("write: device %s: %w", v.key, err)
	}
	return v.codeWrites(w.codes, func(p []byte, put bool) error {
		if put {
			return w.codes.Put(p, nil)
		}
		return w.codes.Delete(p)
	})
}

// end writes the keys of chunk r.done and the counts, commits, and moves
// to the next chunk.
func (w *chunkWriter) end() error {
	r := w.r
	c := &r.chunks[r.done]
	if c.writes {
		if err := w.begin(); err != nil {
			return err
		}
		for w.more {
			k := w.keys.key
			if len(k) < 4 || int(binary.BigEndian.Uint32(k)) < r.done {
				return fmt.Errorf("sorted run: %w: key write %q", ErrCorrupt, k)
			}
			if int(binary.BigEndian.Uint32(k)) > r.done {
				break
			}
			var err error
			if holder := w.keys.payload; len(holder) > 0 {
				err = w.kbkt.Put(k[4:], w.value(holder))
			} else {
				err = w.kbkt.Delete(k[4:])
			}
			if err != nil {
				return fmt.Errorf("write: key %s: %w", k[4:], err)
			}
			if w.more, err = w.keys.next(); err != nil {
				return err
			}
		}
		size := w.tx.Size()
		if err := w.commit(c.nDevices, c.nKeys); err != nil {
			return err
		}
		r.b.db.dropMapped(size)
	}
	r.done++
	if c.writes && r.b.opt.committed != nil {
		var next []byte
		if r.done < len(r.chunks) {
			next = r.chunks[r.done].first
		}
		r.b.opt.committed(next)
	}
	return nil
}
