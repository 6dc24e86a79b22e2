package nationaldb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The rules of putDevice, for imports that apply them in the order of the
// keys rather than one device after another in the order of the file (a
// first import, bulk.go; a re-import, reimport.go): the versions of one
// device, in the order of the file, against the record the index holds
// (versions); then the events of one product key, in the order of the
// file, against the device the index has it lead to (replay). Devices
// interact only through the product keys, so the two give what putDevice
// gives.

// keyEvent is an event of a product key: a version of device dev gives it
// (keyClaim) or, replacing a version that gave it, no longer does
// (keyRelease).
type keyEvent struct {
	kind  byte
	seq   uint64 // the version's place in the file
	sub   int    // the key's place among the version's keys
	chunk int    // the transaction of a re-import that writes dev
	dev   []byte
}

// appendEvent appends the payload of a product key's event in a sorter
// (the key and the version's place are the entry's key and sequence).
func appendEvent(b []byte, kind byte, sub, chunk int, dev []byte) []byte {
	b = append(b, kind)
	b = binary.AppendUvarint(b, uint64(sub))
	b = binary.AppendUvarint(b, uint64(chunk))
	return append(b, dev...)
}

// parseEvent reads the payload of an event of sequence seq; dev is a
// slice of p.
func parseEvent(seq uint64, p []byte) (keyEvent, error) {
	if len(p) == 0 || p[0] != keyClaim && p[0] != keyRelease {
		return keyEvent{}, fmt.Errorf("sorted run: %w: key event %q", ErrCorrupt, p)
	}
	dec := decoder{b: p[1:]}
	ev := keyEvent{kind: p[0], seq: seq, sub: dec.int(), chunk: dec.int()}
	if dec.err != nil {
		return keyEvent{}, fmt.Errorf("sorted run: key event: %w", dec.err)
	}
	ev.dev = dec.b
	return ev, nil
}

// versions applies the versions of one device read from the file (start,
// then add for each in the order of the file) to the record the index
// holds of it, as putDevice does: a version the held one is later than
// is stale, a version without product keys drops the device, any other
// replaces it. It counts what it does and hands each product key's
// events to event and each problem to note.
type versions struct {
	// event is called with each event of a product key (k is valid
	// during the call); nil: none wanted.
	event func(kind byte, k []byte, seq uint64, sub int) error
	// note is called with the problem a version gives.
	note func(seq uint64, sub int, text string)

	// Of the device, after its versions were added.
	key     []byte   // the device key
	held0   []byte   // the index's record of it (nil: none)
	held    []byte   // the record the device is left with: held0 or the last version applied
	isHeld  bool     // whether it is left with one (a version without keys drops it)
	applied bool     // whether a version was applied (not stale)
	gone    [][]byte // national codes of records replaced (some held again)
	// heldKeys and heldCodes are the product keys and national codes of
	// held.
	heldKeys, heldCodes [][]byte
	// Counts: versions kept, stale, without product keys; product keys
	// a version gave that the one it replaced did not, or lost.
	kept, stale, unkeyed, keyChanges int64

	heldV       version
	known       bool   // whether heldV and the lists of held0 are read
	buf         []byte // the copy of the version held
	pair        []byte // a key of the codes bucket
	keys, codes [][]byte
}

// start starts device key, of which the index holds held0 (nil: none).
func (v *versions) start(key, held0 []byte) {
	v.key = append(v.key[:0], key...)
	v.held0, v.held, v.isHeld, v.applied, v.known = held0, held0, held0 != nil, false, held0 == nil
	v.gone, v.heldKeys, v.heldCodes = v.gone[:0], v.heldKeys[:0], v.heldCodes[:0]
	v.kept, v.stale, v.unkeyed, v.keyChanges = 0, 0, 0, 0
}

// add applies the version of the device read seq-th in the file, as
// bulk.read encoded it.
func (v *versions) add(seq uint64, payload []byte) error {
	dec := decoder{b: payload}
	kind := byte(dec.uint())
	ver := version{dec.time(), dec.int()}
	if dec.err == nil && kind != versionKeyed && kind != versionUnkeyed {
		dec.fail("unknown version entry")
	}
	if dec.err != nil {
		return fmt.Errorf("sorted run: device %s: %w", v.key, dec.err)
	}
	if !v.known {
		// The record the index holds, read once a version needs it;
		// when the version is the very same record, it is not read.
		var err error
		if kind == versionKeyed && bytes.Equal(dec.b, v.held0) {
			v.heldV = ver
			v.heldKeys, v.heldCodes, err = deviceLists(v.held0, v.heldKeys[:0], v.heldCodes[:0])
		} else {
			v.heldKeys, v.heldCodes, v.heldV, err = deviceHead(v.held0, v.heldKeys[:0], v.heldCodes[:0])
		}
		if err != nil {
			return fmt.Errorf("device %s: %w", v.key, err)
		}
		v.known = true
	}
	if v.isHeld && v.heldV.after(ver) {
		v.stale++
		return nil
	}
	v.applied = true
	keys, codes := v.keys[:0], v.codes[:0]
	if kind == versionKeyed {
		var err error
		if keys, codes, err = deviceLists(dec.b, keys, codes); err != nil {
			return fmt.Errorf("sorted run: device %s: %w", v.key, err)
		}
	}
	v.keys, v.codes = keys, codes
	if v.isHeld {
		for _, k := range v.heldKeys {
			if !containsBytes(keys, k) {
				v.keyChanges++
				if err := v.emit(keyRelease, k, seq, 0); err != nil {
					return err
				}
			}
		}
		for _, c := range v.heldCodes {
			if !containsBytes(codes, c) {
				v.gone = append(v.gone, bytes.Clone(c))
			}
		}
	}
	if kind != versionKeyed {
		v.unkeyed++
		if note := dec.str(); note != "" {
			v.note(seq, 0, note)
		}
		v.isHeld, v.held, v.heldKeys, v.heldCodes = false, nil, v.heldKeys[:0], v.heldCodes[:0]
		return nil
	}
	for i, k := range keys {
		if !v.isHeld || !containsBytes(v.heldKeys, k) {
			v.keyChanges++
		}
		if err := v.emit(keyClaim, k, seq, i); err != nil {
			return err
		}
	}
	v.kept++
	v.buf = append(v.buf[:0], dec.b...)
	v.held, v.heldV, v.isHeld = v.buf, ver, true
	var err error
	v.heldKeys, v.heldCodes, err = deviceLists(v.held, v.heldKeys[:0], v.heldCodes[:0])
	return err
}

func (v *versions) emit(kind byte, k []byte, seq uint64, sub int) error {
	if v.event == nil {
		return nil
	}
	return v.event(kind, k, seq, sub)
}

// deviceWrite says what the device's versions do to its record: put
// held, delete it, or neither (nothing applied, or the same bytes).
func (v *versions) deviceWrite() (put, del bool) {
	switch {
	case v.isHeld:
		return !bytes.Equal(v.held, v.held0), false
	case v.held0 != nil:
		return false, true
	}
	return false, false
}

// codeWrites calls fn with each entry of the codes bucket (b) the
// device's versions change: put (the held record's codes the bucket
// lacks) or deleted (the codes of the records replaced that the held one
// has not, which the bucket has). p is valid during the call.
func (v *versions) codeWrites(b *bolt.Bucket, fn func(p []byte, put bool) error) error {
	if !v.applied {
		return nil
	}
	for _, c := range v.heldCodes {
		if v.pair = appendPair(v.pair[:0], c, v.key); !has(b, v.pair) {
			if err := fn(v.pair, true); err != nil {
				return err
			}
		}
	}
	for i, c := range v.gone {
		if containsBytes(v.heldCodes, c) || containsBytes(v.gone[:i], c) {
			continue
		}
		if v.pair = appendPair(v.pair[:0], c, v.key); has(b, v.pair) {
			if err := fn(v.pair, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// replay returns the device product key k leads to after events (the
// events of k, in the order of the file) when it led to holder before
// (empty: none), as putDevice leaves it, leaving out the events of
// chunks after upTo; and the change to the count of keys putDevice
// makes. conflict, if set, is called with each claim that is a conflict.
func replay(k, holder []byte, evs []keyEvent, upTo int, conflict func(k []byte, ev *keyEvent, c claim, held []byte)) ([]byte, int64) {
	var delta int64
	for i := range evs {
		ev := &evs[i]
		if ev.chunk > upTo {
			continue
		}
		switch ev.kind {
		case keyRelease:
			if len(holder) > 0 && bytes.Equal(holder, ev.dev) {
				holder = nil
				delta--
			}
		case keyClaim:
			c := claimOf(len(holder) == 0, bytes.Equal(holder, ev.dev), bytes.Equal(holder, k), bytes.Equal(k, ev.dev))
			switch c {
			case claimNew:
				delta++
			case claimKept, claimSale, claimLast:
				if conflict != nil {
					conflict(k, ev, c, holder)
				}
			}
			if c != claimKept {
				holder = ev.dev
			}
		}
	}
	return holder, delta
}

// placedNote is a problem of the writing, placed in the file: the
// version's place, the place among the version's problems; and the
// transaction of a re-import it comes with.
type placedNote struct {
	seq   uint64
	sub   int
	chunk int
	text  string
}

// noteList keeps the first MaxProblems problems of the writing in the
// order of the file, whatever order they come in: the problems
// putDevice notes, one device after another.
type noteList struct{ notes []placedNote }

func placeOrder(a, b placedNote) int {
	if a.seq != b.seq {
		if a.seq < b.seq {
			return -1
		}
		return 1
	}
	return a.sub - b.sub
}

// wants reports whether a problem placed at seq, sub would be kept.
func (l *noteList) wants(seq uint64, sub int) bool {
	if len(l.notes) < MaxProblems {
		return true
	}
	return placeOrder(placedNote{seq: seq, sub: sub}, l.notes[len(l.notes)-1]) < 0
}

// add adds a problem, dropping the last in the order of the file when
// more than MaxProblems are held.
func (l *noteList) add(n placedNote) {
	if !l.wants(n.seq, n.sub) {
		return
	}
	i, _ := slices.BinarySearchFunc(l.notes, n, placeOrder)
	l.notes = slices.Insert(l.notes, i, n)
	if len(l.notes) > MaxProblems {
		l.notes = l.notes[:MaxProblems]
	}
}

// conflict keeps the problem of a conflict: the claim c of product key k
// by event ev, which device held holds, of file.
func (l *noteList) conflict(file string, k []byte, ev *keyEvent, c claim, held []byte) {
	if l.wants(ev.seq, ev.sub) {
		l.add(placedNote{seq: ev.seq, sub: ev.sub, chunk: ev.chunk, text: c.problem(file, string(ev.dev), string(k), string(held))})
	}
}

// flush notes in st, in the order of the file, the problems of chunks up
// to upTo.
func (l *noteList) flush(st *Stats, upTo int) {
	for _, n := range l.notes {
		if n.chunk <= upTo {
			st.note("%s", n.text)
		}
	}
	l.notes = nil
}

// eachDevice hands out the versions of the devices m reads (sorted by
// device key, then place in the file): for each device, start with its
// key, which calls v.start and says whether the device is wanted, then
// for a device wanted v.add with each of its versions and end.
func eachDevice(m *runMerge, v *versions, start func(key []byte) (bool, error), end func() error) error {
	var (
		dev           []byte
		started, want bool
	)
	err := m.each(func(key []byte, seq uint64, payload []byte) error {
		if !started || !bytes.Equal(key, dev) {
			if want {
				if err := end(); err != nil {
					return err
				}
			}
			dev, started = append(dev[:0], key...), true
			var err error
			if want, err = start(key); err != nil {
				return err
			}
		}
		if !want {
			return nil
		}
		return v.add(seq, payload)
	})
	if err != nil || !want {
		return err
	}
	return end()
}

// keyGroup gathers the events of one product key as a merge hands them
// out (sorted by key, then place in the file).
type keyGroup struct {
	key  []byte
	evs  []keyEvent
	devs []byte // the events' devices, back to back
	ends []int  // where each event's device ends in devs
	done bool   // whether key is set
}

// add adds the event of an entry (product key k, sequence seq, payload);
// when k is not the key gathered, it first hands that key's events to
// fn.
func (g *keyGroup) add(k []byte, seq uint64, payload []byte, fn func(k []byte, evs []keyEvent) error) error {
	if !g.done || !bytes.Equal(k, g.key) {
		if err := g.flush(fn); err != nil {
			return err
		}
		g.key, g.done = append(g.key[:0], k...), true
	}
	ev, err := parseEvent(seq, payload)
	if err != nil {
		return err
	}
	g.devs = append(g.devs, ev.dev...)
	ev.dev = nil
	g.evs, g.ends = append(g.evs, ev), append(g.ends, len(g.devs))
	return nil
}

// flush hands the events gathered to fn.
func (g *keyGroup) flush(fn func(k []byte, evs []keyEvent) error) error {
	if len(g.evs) == 0 {
		return nil
	}
	at := 0
	for i := range g.evs {
		g.evs[i].dev, at = g.devs[at:g.ends[i]:g.ends[i]], g.ends[i]
	}
	err := fn(g.key, g.evs)
	g.evs, g.devs, g.ends, g.done = g.evs[:0], g.devs[:0], g.ends[:0], false
	return err
}
