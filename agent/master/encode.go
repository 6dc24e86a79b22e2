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
// to be stored as one value. Sets held as damaged (Damaged) are encoded
// empty. Ledgers now keep each set as its own value (MarshalSets); this
// form is what older ones hold.
func (d *Data) MarshalBinary() ([]byte, error) {
	if d == nil {
		d = empty
	}
	b := make([]byte, 0, 64+len(d.Version)+encodedSize(&d.sets, legacySets...)+16*len(d.versions))
	b = append(b, encMagic...)
	b = append(b, encVersion)
	b = putString(b, d.Version)
	for _, name := range legacySets {
		b = sections[name].put(b, &d.sets)
	}
	names := slices.Sorted(maps.Keys(d.versions))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = putString(b, name)
		b = binary.AppendUvarint(b, d.versions[name])
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// encodedSize estimates the encoded size of the named sets of s.
func encodedSize(s *sets, names ...string) int {
	size := 0
	for _, name := range names {
		switch name {
		case "catalogue":
			size += binary.MaxVarintLen64 + len(s.cat.body())
		case "recalls":
			size += 64 * len(s.recalls)
		case "lots":
			size += 64 * len(s.lots)
		case "settlements":
			size += 64 * len(s.settlements)
		case "schedules":
			size += 128 * len(s.schedules)
		case "par":
			size += 64 * len(s.pars)
		case "codes":
			size += 72 * len(s.codes)
		}
	}
	return size
}

// section encodes and decodes one set: a count, then its entries.
type section struct {
	put func(b []byte, s *sets) []byte
	get func(r *decoder, s *sets)
}

// sections are the sets' encodings, by set name.
var sections = map[string]section{
	"catalogue": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(s.cat.len()))
			return append(b, s.cat.body()...)
		},
		// get decodes the catalogue of an older ledger's single value
		// into a stored value of its own (as LoadSets adopts the values
		// of ledgers that store each set on its own).
		get: func(r *decoder, s *sets) {
			n := r.count(minEntry)
			w := newCatalogueWriter(len(r.s)-r.off, n)
			for range n {
				var e CatalogueEntry
				getEntry(r, &e)
				w.add(&e)
			}
			if r.bad {
				return
			}
			var err error
			if s.cat, err = w.finish(0); err != nil {
				r.bad = true
			}
		},
	},
	"recalls": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(len(s.recalls)))
			for i := range s.recalls {
				r := &s.recalls[i]
				b = putString(b, r.GTIN)
				b = putString(b, r.HIBC)
				b = putStrings(b, r.Lots)
				b = putStrings(b, r.Serials)
				b = putString(b, r.Reason)
				b = putString(b, r.Date)
			}
			return b
		},
		get: func(r *decoder, s *sets) {
			s.recalls = entries[Recall](r.count(6))
			for i := range s.recalls {
				rc := &s.recalls[i]
				rc.GTIN, rc.HIBC = r.str(), r.str()
				rc.Lots, rc.Serials = r.strs(), r.strs()
				rc.Reason, rc.Date = r.str(), r.str()
			}
		},
	},
	"lots": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(len(s.lots)))
			for i := range s.lots {
				l := &s.lots[i]
				for _, x := range [...]string{l.GTIN, l.HIBC, l.Lot, string(l.Status)} {
					b = putString(b, x)
				}
			}
			return b
		},
		get: func(r *decoder, s *sets) {
			s.lots = entries[LotStatus](r.count(4))
			for i := range s.lots {
				l := &s.lots[i]
				l.GTIN, l.HIBC, l.Lot, l.Status = r.str(), r.str(), r.str(), Status(r.str())
			}
		},
	},
	"settlements": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(len(s.settlements)))
			for i := range s.settlements {
				st := &s.settlements[i]
				for _, x := range [...]string{st.ID, st.Patient, st.Case, st.InsuranceCode, st.Item, st.GTIN, st.Lot} {
					b = putString(b, x)
				}
				b = binary.AppendVarint(b, int64(st.Quantity))
				b = binary.AppendVarint(b, int64(st.Amount))
			}
			return b
		},
		get: func(r *decoder, s *sets) {
			s.settlements = entries[Settlement](r.count(9))
			for i := range s.settlements {
				st := &s.settlements[i]
				for _, p := range [...]*string{&st.ID, &st.Patient, &st.Case, &st.InsuranceCode, &st.Item, &st.GTIN, &st.Lot} {
					*p = r.str()
				}
				st.Quantity = int(r.varint())
				st.Amount = Amount(r.varint())
			}
		},
	},
	"schedules": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(len(s.schedules)))
			for i := range s.schedules {
				sc := &s.schedules[i]
				for _, x := range [...]string{sc.Case, sc.Patient, sc.Room, sc.Start.Format(time.RFC3339Nano), sc.End.Format(time.RFC3339Nano), sc.Procedure} {
					b = putString(b, x)
				}
			}
			return b
		},
		get: func(r *decoder, s *sets) {
			s.schedules = entries[Schedule](r.count(6))
			for i := range s.schedules {
				sc := &s.schedules[i]
				sc.Case, sc.Patient, sc.Room = r.str(), r.str(), r.str()
				sc.Start, sc.End = r.time(), r.time()
				sc.Procedure = r.str()
			}
		},
	},
	"codes": {put: putCodes, get: getCodes},
	"par": {
		put: func(b []byte, s *sets) []byte {
			b = binary.AppendUvarint(b, uint64(len(s.pars)))
			for i := range s.pars {
				p := &s.pars[i]
				for _, x := range [...]string{p.Location, p.GTIN, p.HIBC} {
					b = putString(b, x)
				}
				b = binary.AppendUvarint(b, uint64(p.Min))
				b = binary.AppendUvarint(b, uint64(p.Max))
			}
			return b
		},
		get: func(r *decoder, s *sets) {
			s.pars = entries[ParLevel](r.count(5))
			for i := range s.pars {
				p := &s.pars[i]
				p.Location, p.GTIN, p.HIBC = r.str(), r.str(), r.str()
				p.Min, p.Max = int(r.uvarint()), int(r.uvarint())
			}
		},
	},
}

// entries returns n zero entries; nil for none, as a set never given is.
func entries[T any](n int) []T {
	if n == 0 {
		return nil
	}
	return make([]T, n)
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
	if v := b[len(encMagic)]; v != 1 && v != encVersion {
		return fmt.Errorf("master: %w: version %d (this build reads %d)", ErrVersion, v, encVersion)
	}
	body := b[:len(b)-4]
	if binary.LittleEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(body, castagnoli) {
		return fmt.Errorf("master: %w: checksum mismatch", ErrCorrupt)
	}
	n, err := unmarshalBody(body)
	if err != nil {
		return err
	}
	*d = *n
	return nil
}

// unmarshalBody decodes MarshalBinary's encoding without its checksum.
func unmarshalBody(body []byte) (*Data, error) {
	if len(body) < len(encMagic)+1 || string(body[:len(encMagic)]) != encMagic {
		return nil, fmt.Errorf("master: %w: not master data", ErrCorrupt)
	}
	v := body[len(encMagic)]
	if v != 1 && v != encVersion {
		return nil, fmt.Errorf("master: %w: version %d (this build reads %d)", ErrVersion, v, encVersion)
	}
	// One string holds every text; the fields are substrings of it.
	r := &decoder{s: string(body), off: len(encMagic) + 1}
	version := r.str()
	var (
		s        sets
		versions map[string]uint64
	)
	names := legacySets
	if v == 1 {
		names = SetNames[:4] // catalogue, recalls, lots, settlements
	}
	for _, name := range names {
		sections[name].get(r, &s)
	}
	if v >= 2 {
		if k := r.count(2); k > 0 {
			versions = make(map[string]uint64, k)
			for range k {
				name := r.str()
				versions[name] = r.uvarint()
			}
		}
	}
	if r.bad || r.off != len(r.s) {
		return nil, fmt.Errorf("master: %w: malformed at byte %d", ErrCorrupt, r.off)
	}
	return fromSets(version, s, versions), nil
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
