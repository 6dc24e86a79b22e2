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
	if uint64(len(w.b)) > 1<<32-1 {
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

// Flags of an encoded entry. flagMore says that the fields added since
// the first format follow the flags, as one length-prefixed block
// (putMore): an entry of the first format has none and reads with them
// zero, and a block a later build made longer is read as far as this
// build knows it.
const (
	flagHighValue = 1 << iota
	flagImported
	flagSerial
	flagMore
)

// putEntry appends the encoding of e to b: its strings, price and flags,
// then the block of the later fields when any is set.
func putEntry(b []byte, e *CatalogueEntry) []byte {
	for _, x := range [...]string{e.GTIN, e.HIBC, e.Name, e.Model, e.Manufacturer, e.Registration, e.InsuranceCode, e.ChargeCode} {
		b = putString(b, x)
	}
	b = binary.AppendVarint(b, int64(e.UnitPrice))
	var f byte
	if e.HighValue {
		f |= flagHighValue
	}
	if e.Imported {
		f |= flagImported
	}
	if e.Tracking == TrackSerial {
		f |= flagSerial
	}
	if !e.more() {
		return append(b, f)
	}
	b = append(b, f|flagMore)
	// The block's length is written in a fixed 3 bytes (at most 2 MiB:
	// its strings are each bounded far below), so that it need not be
	// measured first.
	at := len(b)
	b = append(b, 0, 0, 0)
	b = putMore(b, e)
	n := len(b) - at - 3
	b[at], b[at+1], b[at+2] = byte(n), byte(n>>8), byte(n>>16)
	return b
}

// more reports whether e has a field of the block putMore writes.
func (e *CatalogueEntry) more() bool {
	return e.GenericName != "" || e.PackageOf != "" || e.PackageQuantity != 0 || e.UseUnit != "" ||
		e.UseUnits != 0 || e.Label != 0 || e.RFID || e.SingleUse || e.Sterile || e.Storage != "" ||
		e.Withdrawn != "" || e.Implant || e.Intervention || e.Restriction != "" || e.Procurement ||
		e.PriceCap != 0 || e.AgreedVolume != 0 || e.OutsideDRG || e.Supplier != "" || e.Consigned || e.LeadDays != 0
}

// Flags of the block of later fields.
const (
	moreRFID = 1 << iota
	moreSingleUse
	moreSterile
	moreImplant
	moreIntervention
	moreProcurement
	moreOutsideDRG
	moreConsigned
)

// putMore appends the later fields of e.
func putMore(b []byte, e *CatalogueEntry) []byte {
	for _, x := range [...]string{e.GenericName, e.PackageOf, e.UseUnit, e.Storage, e.Withdrawn, e.Restriction, e.Supplier} {
		b = putString(b, x)
	}
	b = binary.AppendUvarint(b, uint64(e.PackageQuantity))
	b = binary.AppendUvarint(b, uint64(e.UseUnits))
	b = binary.AppendUvarint(b, uint64(e.AgreedVolume))
	b = binary.AppendVarint(b, int64(e.PriceCap))
	var f byte
	for i, on := range [...]bool{e.RFID, e.SingleUse, e.Sterile, e.Implant, e.Intervention, e.Procurement, e.OutsideDRG, e.Consigned} {
		if on {
			f |= 1 << i
		}
	}
	// Fields added later follow, so that a block stored before them
	// ends here and reads them as zero.
	b = append(b, byte(e.Label), f)
	return binary.AppendUvarint(b, uint64(e.LeadDays))
}

// getEntry decodes an entry putEntry encoded.
func getEntry(r *decoder, e *CatalogueEntry) {
	e.GTIN, e.HIBC, e.Name, e.Model = r.str(), r.str(), r.str(), r.str()
	e.Manufacturer, e.Registration, e.InsuranceCode, e.ChargeCode = r.str(), r.str(), r.str(), r.str()
	e.UnitPrice = Amount(r.varint())
	f := r.byte()
	e.HighValue, e.Imported = f&flagHighValue != 0, f&flagImported != 0
	e.Tracking = TrackLot
	if f&flagSerial != 0 {
		e.Tracking = TrackSerial
	}
	if f&flagMore == 0 {
		return
	}
	n := int(r.byte()) | int(r.byte())<<8 | int(r.byte())<<16
	if r.bad || n > len(r.s)-r.off {
		r.bad = true
		return
	}
	end := r.off + n
	m := decoder{s: r.s[:end], off: r.off}
	e.GenericName, e.PackageOf, e.UseUnit, e.Storage = m.str(), m.str(), m.str(), m.str()
	e.Withdrawn, e.Restriction, e.Supplier = m.str(), m.str(), m.str()
	e.PackageQuantity, e.UseUnits, e.AgreedVolume = int(m.uvarint()), int(m.uvarint()), int(m.uvarint())
	e.PriceCap = Amount(m.varint())
	e.Label = Label(m.byte())
	g := m.byte()
	e.RFID, e.SingleUse, e.Sterile = g&moreRFID != 0, g&moreSingleUse != 0, g&moreSterile != 0
	e.Implant, e.Intervention = g&moreImplant != 0, g&moreIntervention != 0
	e.Procurement, e.OutsideDRG, e.Consigned = g&moreProcurement != 0, g&moreOutsideDRG != 0, g&moreConsigned != 0
	if m.off < end {
		e.LeadDays = int(m.uvarint())
	}
	r.bad = r.bad || m.bad
	r.off = end
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
		if e.more() {
			size += 40 + len(e.GenericName) + len(e.PackageOf) + len(e.UseUnit) + len(e.Storage) +
				len(e.Withdrawn) + len(e.Restriction) + len(e.Supplier)
		}
	}
	return size
}
