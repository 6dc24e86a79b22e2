package master

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"unsafe"
)

// catalogue is the catalogue as a Data holds it: its stored value, as
// MarshalSets writes it under "catalogue" ("UDIS", the format byte, the
// set name, the central version, the number of entries, the entries),
// and where each entry begins. A lookup decodes the one entry it finds;
// its strings share the value's memory, so it does not allocate. A
// catalogue so costs about its encoded size (a slice of entries holding
// strings costs about twice as much), and applying one copies nothing
// more: the value written while a file is read is the value the ledger
// stores.
type catalogue struct {
	// value is the stored value; nil for an empty catalogue that was
	// never stored. It is never written again once built. When built
	// here, its capacity holds its CRC-32C after it (see seal).
	value []byte
	// text is value as a string sharing its memory; decoded strings are
	// substrings of it.
	text string
	// at is the offset in text of each entry, in order.
	at []uint32
	// version is the central version value holds.
	version uint64
}

// Minimum encoded size of a catalogue entry: eight string lengths, the
// price and the flags.
const minEntry = 10

// headRoom is the most a stored catalogue's header takes: magic, format
// byte, set name with its length, version and count.
const headRoom = len(setMagic) + 1 + 1 + len("catalogue") + 2*binary.MaxVarintLen64

// len returns the number of entries.
func (c *catalogue) len() int { return len(c.at) }

// entry decodes the entry at offset off of c.text.
func (c *catalogue) entry(off uint32) CatalogueEntry {
	r := decoder{s: c.text, off: int(off)}
	var e CatalogueEntry
	getEntry(&r, &e)
	return e
}

// entries decodes every entry; nil when there are none.
func (c *catalogue) entries() []CatalogueEntry {
	if c.len() == 0 {
		return nil
	}
	out := make([]CatalogueEntry, c.len())
	r := decoder{s: c.text, off: int(c.at[0])}
	for i := range out {
		getEntry(&r, &out[i])
	}
	return out
}

// index returns the position of the entry at offset off.
func (c *catalogue) index(off uint32) int {
	i, _ := slices.BinarySearch(c.at, off)
	return i
}

// keys returns the GTIN and HIBC of the entry at offset off.
func (c *catalogue) keys(off uint32) (gtin, hibc string) {
	r := decoder{s: c.text, off: int(off)}
	return r.str(), r.str()
}

// body returns the encoded entries, without the count.
func (c *catalogue) body() string {
	if c.len() == 0 {
		return ""
	}
	return c.text[c.at[0]:]
}

// stored returns the stored value of c with central version version:
// c's own value when it holds that version, else a new one.
func (c *catalogue) stored(version uint64) []byte {
	if c.value != nil && c.version == version {
		return c.value
	}
	b := catalogueHeader(make([]byte, 0, headRoom+len(c.body())+4), version, c.len())
	return seal(append(b, c.body()...))
}

// catalogueHeader appends the header of a stored catalogue of n entries
// to b.
func catalogueHeader(b []byte, version uint64, n int) []byte {
	b = append(b, setMagic...)
	b = append(b, storeVersion)
	b = putString(b, "catalogue")
	b = binary.AppendUvarint(b, version)
	return binary.AppendUvarint(b, uint64(n))
}

// seal appends the CRC-32C (Castagnoli) of b, little-endian, in b's
// capacity, and returns b without it: a SetStore that frames values with
// that checksum (agent/bolt's Ledger) finds it there and stores b
// without copying it.
func seal(b []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))[:len(b)]
}

// adoptCatalogue makes a catalogue of the stored value v, whose header r
// has read up to the count, without copying it: v must not be changed
// afterwards. It checks that the entries fill v exactly.
func adoptCatalogue(v []byte, r *decoder, version uint64) (catalogue, error) {
	n := r.count(minEntry)
	at := make([]uint32, 0, n)
	for range n {
		at = append(at, uint32(r.off))
		skipEntry(r)
	}
	if r.bad || r.off != len(r.s) {
		return catalogue{}, fmt.Errorf("master: %w: set catalogue malformed at byte %d", ErrCorrupt, r.off)
	}
	if n == 0 {
		return catalogue{}, nil
	}
	return catalogue{value: v, text: r.s, at: at, version: version}, nil
}

// catalogueWriter encodes catalogue entries one by one into a stored
// value, in one buffer sized beforehand.
type catalogueWriter struct {
	b  []byte   // headRoom bytes for the header, then the entries
	at []uint32 // offset in b of each entry
}

// newCatalogueWriter returns a writer for about n entries of about size
// bytes in all; it grows beyond when it must.
func newCatalogueWriter(size, n int) *catalogueWriter {
	return &catalogueWriter{b: make([]byte, headRoom, headRoom+size+4), at: make([]uint32, 0, n)}
}

// add encodes e.
func (w *catalogueWriter) add(e *CatalogueEntry) {
	w.at = append(w.at, uint32(len(w.b)))
	w.b = putEntry(w.b, e)
}

// finish returns the catalogue written, with central version version.
// A value that ended well short of its buffer (by more than a quarter)
// is copied to one of its size, so that the set does not keep the
// difference.
func (w *catalogueWriter) finish(version uint64) (catalogue, error) {
	if len(w.at) == 0 {
		return catalogue{}, nil
	}
	if len(w.b) > 1<<32-1 {
		return catalogue{}, fmt.Errorf("master: %w: the catalogue takes %d bytes encoded, more than 4 GiB", ErrInvalid, len(w.b))
	}
	var h [headRoom]byte
	head := catalogueHeader(h[:0], version, len(w.at))
	start := headRoom - len(head)
	copy(w.b[start:], head)
	v := w.b[start:]
	if cap(v)-len(v) > len(v)/4+4096 {
		v = append(make([]byte, 0, len(v)+4), v...)
	}
	for i := range w.at {
		w.at[i] -= uint32(start)
	}
	at := slices.Clip(w.at)
	if cap(w.at)-len(w.at) > len(w.at)/8+64 {
		at = slices.Clone(at)
	}
	v = seal(v)
	*w = catalogueWriter{}
	return catalogue{value: v, text: unsafe.String(unsafe.SliceData(v), len(v)), at: at, version: version}, nil
}

// putEntry appends the encoding of e to b: its strings, price and flags.
func putEntry(b []byte, e *CatalogueEntry) []byte {
	for _, x := range [...]string{e.GTIN, e.HIBC, e.Name, e.Model, e.Manufacturer, e.Registration, e.InsuranceCode, e.ChargeCode} {
		b = putString(b, x)
	}
	b = binary.AppendVarint(b, int64(e.UnitPrice))
	var f byte
	if e.HighValue {
		f |= 1
	}
	if e.Imported {
		f |= 2
	}
	if e.Tracking == TrackSerial {
		f |= 4
	}
	return append(b, f)
}

// getEntry decodes an entry putEntry encoded.
func getEntry(r *decoder, e *CatalogueEntry) {
	e.GTIN, e.HIBC, e.Name, e.Model = r.str(), r.str(), r.str(), r.str()
	e.Manufacturer, e.Registration, e.InsuranceCode, e.ChargeCode = r.str(), r.str(), r.str(), r.str()
	e.UnitPrice = Amount(r.varint())
	f := r.byte()
	e.HighValue, e.Imported = f&1 != 0, f&2 != 0
	e.Tracking = TrackLot
	if f&4 != 0 {
		e.Tracking = TrackSerial
	}
}

// skipEntry reads past an entry putEntry encoded. It decodes it, so
// that a field added to getEntry is skipped too; decoding allocates
// nothing.
func skipEntry(r *decoder) {
	var e CatalogueEntry
	getEntry(r, &e)
}

// entrySize estimates the encoded size of the entries of cat.
func entrySize(cat []CatalogueEntry) int {
	size := 0
	for i := range cat {
		e := &cat[i]
		size += 24 + len(e.GTIN) + len(e.HIBC) + len(e.Name) + len(e.Model) + len(e.Manufacturer) +
			len(e.Registration) + len(e.InsuranceCode) + len(e.ChargeCode)
	}
	return size
}
