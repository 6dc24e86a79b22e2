package master

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"time"
)

// Encoding of a Data (MarshalBinary), version 1, all integers unsigned
// varints unless said otherwise, strings as length and bytes:
//
//	"UDIM" 0x01
//	version
//	n, then n catalogue entries:
//	    gtin hibc name model manufacturer registration insurance_code
//	    charge_code, unit_price (signed varint), flags (bit 0 high value,
//	    bit 1 imported, bit 2 tracked by serial)
//	n, then n recalls: gtin hibc, n lots, n serials, reason date
//	n, then n lot statuses: gtin hibc lot status
//	n, then n settlements: id patient case insurance_code item gtin lot,
//	    quantity and amount (signed varints)
//	n, then n schedules: case patient room, start and end (RFC 3339
//	    with nanoseconds), procedure
//	n, then n par levels: location gtin hibc, min max
//	n, then n set versions: set name, version
//	CRC-32C of everything before it, 4 bytes little-endian
//
// Version 1 is the same up to the settlements; it is still read.
const (
	encMagic   = "UDIM"
	encVersion = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the whole set (not its indexes, which
// UnmarshalBinary rebuilds) in a compact, versioned form with a checksum,
// to be stored as one value.
func (d *Data) MarshalBinary() ([]byte, error) {
	if d == nil {
		d = empty
	}
	size := 64 + len(d.Version)
	for i := range d.cat {
		e := &d.cat[i]
		size += 24 + len(e.GTIN) + len(e.HIBC) + len(e.Name) + len(e.Model) + len(e.Manufacturer) +
			len(e.Registration) + len(e.InsuranceCode) + len(e.ChargeCode)
	}
	size += 64 * (len(d.recalls) + len(d.lots) + len(d.settlements) + len(d.pars) + len(d.versions))
	size += 128 * len(d.schedules)
	b := make([]byte, 0, size)
	b = append(b, encMagic...)
	b = append(b, encVersion)
	b = putString(b, d.Version)
	b = binary.AppendUvarint(b, uint64(len(d.cat)))
	for i := range d.cat {
		e := &d.cat[i]
		for _, s := range [...]string{e.GTIN, e.HIBC, e.Name, e.Model, e.Manufacturer, e.Registration, e.InsuranceCode, e.ChargeCode} {
			b = putString(b, s)
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
		b = append(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(d.recalls)))
	for i := range d.recalls {
		r := &d.recalls[i]
		b = putString(b, r.GTIN)
		b = putString(b, r.HIBC)
		b = putStrings(b, r.Lots)
		b = putStrings(b, r.Serials)
		b = putString(b, r.Reason)
		b = putString(b, r.Date)
	}
	b = binary.AppendUvarint(b, uint64(len(d.lots)))
	for i := range d.lots {
		s := &d.lots[i]
		for _, x := range [...]string{s.GTIN, s.HIBC, s.Lot, string(s.Status)} {
			b = putString(b, x)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(d.settlements)))
	for i := range d.settlements {
		s := &d.settlements[i]
		for _, x := range [...]string{s.ID, s.Patient, s.Case, s.InsuranceCode, s.Item, s.GTIN, s.Lot} {
			b = putString(b, x)
		}
		b = binary.AppendVarint(b, int64(s.Quantity))
		b = binary.AppendVarint(b, int64(s.Amount))
	}
	b = binary.AppendUvarint(b, uint64(len(d.schedules)))
	for i := range d.schedules {
		s := &d.schedules[i]
		for _, x := range [...]string{s.Case, s.Patient, s.Room, s.Start.Format(time.RFC3339Nano), s.End.Format(time.RFC3339Nano), s.Procedure} {
			b = putString(b, x)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(d.pars)))
	for i := range d.pars {
		p := &d.pars[i]
		for _, x := range [...]string{p.Location, p.GTIN, p.HIBC} {
			b = putString(b, x)
		}
		b = binary.AppendUvarint(b, uint64(p.Min))
		b = binary.AppendUvarint(b, uint64(p.Max))
	}
	names := slices.Sorted(maps.Keys(d.versions))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = putString(b, name)
		b = binary.AppendUvarint(b, d.versions[name])
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putStrings(b []byte, s []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	for _, x := range s {
		b = putString(b, x)
	}
	return b
}

// UnmarshalBinary replaces d, which must not be in use by other
// goroutines (decode into a new Data, then Store.Replace), with the set
// encoded in b, and rebuilds the indexes. The entries are not checked
// again: they were checked before they were encoded, and the checksum
// guards them since. It returns an error wrapping ErrCorrupt when b is
// damaged, ErrVersion when it is of a later encoding version.
func (d *Data) UnmarshalBinary(b []byte) error {
	if len(b) < len(encMagic)+1+4 || string(b[:len(encMagic)]) != encMagic {
		return fmt.Errorf("master: %w: not master data", ErrCorrupt)
	}
	v := b[len(encMagic)]
	if v != 1 && v != encVersion {
		return fmt.Errorf("master: %w: version %d (this build reads %d)", ErrVersion, v, encVersion)
	}
	body := b[:len(b)-4]
	if binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(body, castagnoli) {
		return fmt.Errorf("master: %w: checksum mismatch", ErrCorrupt)
	}
	// One string holds every text; the fields are substrings of it.
	r := &decoder{s: string(body), off: len(encMagic) + 1}
	n := &Data{Version: r.str()}
	n.cat = make([]CatalogueEntry, r.count(10))
	for i := range n.cat {
		e := &n.cat[i]
		for _, p := range [...]*string{&e.GTIN, &e.HIBC, &e.Name, &e.Model, &e.Manufacturer, &e.Registration, &e.InsuranceCode, &e.ChargeCode} {
			*p = r.str()
		}
		e.UnitPrice = Amount(r.varint())
		f := r.byte()
		e.HighValue, e.Imported = f&1 != 0, f&2 != 0
		e.Tracking = TrackLot
		if f&4 != 0 {
			e.Tracking = TrackSerial
		}
	}
	n.recalls = make([]Recall, r.count(6))
	for i := range n.recalls {
		rc := &n.recalls[i]
		rc.GTIN, rc.HIBC = r.str(), r.str()
		rc.Lots, rc.Serials = r.strs(), r.strs()
		rc.Reason, rc.Date = r.str(), r.str()
	}
	n.lots = make([]LotStatus, r.count(4))
	for i := range n.lots {
		s := &n.lots[i]
		s.GTIN, s.HIBC, s.Lot, s.Status = r.str(), r.str(), r.str(), Status(r.str())
	}
	n.settlements = make([]Settlement, r.count(9))
	for i := range n.settlements {
		s := &n.settlements[i]
		for _, p := range [...]*string{&s.ID, &s.Patient, &s.Case, &s.InsuranceCode, &s.Item, &s.GTIN, &s.Lot} {
			*p = r.str()
		}
		s.Quantity = int(r.varint())
		s.Amount = Amount(r.varint())
	}
	if v >= 2 {
		n.schedules = make([]Schedule, r.count(6))
		for i := range n.schedules {
			s := &n.schedules[i]
			s.Case, s.Patient, s.Room = r.str(), r.str(), r.str()
			s.Start, s.End = r.time(), r.time()
			s.Procedure = r.str()
		}
		n.pars = make([]ParLevel, r.count(5))
		for i := range n.pars {
			p := &n.pars[i]
			p.Location, p.GTIN, p.HIBC = r.str(), r.str(), r.str()
			p.Min, p.Max = int(r.uvarint()), int(r.uvarint())
		}
		if k := r.count(2); k > 0 {
			n.versions = make(map[string]uint64, k)
			for range k {
				name := r.str()
				n.versions[name] = r.uvarint()
			}
		}
	}
	if r.bad || r.off != len(r.s) {
		return fmt.Errorf("master: %w: malformed at byte %d", ErrCorrupt, r.off)
	}
	n.index()
	*d = *n
	return nil
}

// decoder reads the encoding; after the first fault bad is set and every
// read returns zero values.
type decoder struct {
	s   string
	off int
	bad bool
}

func (r *decoder) uvarint() uint64 {
	if r.bad {
		return 0
	}
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		c := r.s[r.off]
		r.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *decoder) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *decoder) byte() byte {
	if r.bad || r.off >= len(r.s) {
		r.bad = true
		return 0
	}
	r.off++
	return r.s[r.off-1]
}

// time reads an RFC 3339 time.
func (r *decoder) time() time.Time {
	s := r.str()
	if r.bad {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.bad = true
	}
	return t
}

func (r *decoder) str() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.s)-r.off) {
		r.bad = true
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// count reads a number of entries, each at least min bytes long, and
// refuses one the remaining bytes cannot hold.
func (r *decoder) count(min int) int {
	n := r.uvarint()
	if r.bad || n > uint64((len(r.s)-r.off)/min) {
		r.bad = true
		return 0
	}
	return int(n)
}

func (r *decoder) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}
