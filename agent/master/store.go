package master

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"unsafe"
)

// Names of stored values other than the sets (see MarshalSets).
const (
	// StoredLabel is the name of the value holding the Data's Version.
	StoredLabel = "version"
	// StoredLegacy is the name of the value older ledgers hold the whole
	// Data in (MarshalBinary's encoding, its checksum checked and cut off
	// by the store).
	StoredLegacy = "data"
)

// Encoding of one stored set (MarshalSets), all integers unsigned
// varints, strings as length and bytes:
//
//	"UDIS" 0x01
//	set name
//	the set's central version (0 for none)
//	n, then n entries, as in MarshalBinary's section of the set
//
// and of the label: "UDIL" 0x01, then the Data's Version. The store
// frames each value with a checksum of its own.
const (
	setMagic     = "UDIS"
	labelMagic   = "UDIL"
	storeVersion = 1
)

// SetStore keeps master data as one value per name, each guarded by a
// checksum of its own; agent/bolt's Ledger is one.
type SetStore interface {
	// MasterSets returns every stored value whose checksum holds, by
	// name, without the checksum, and the names of those whose checksum
	// does not hold. The values are the caller's to keep (LoadSets
	// keeps the catalogue's); they must not be changed afterwards.
	MasterSets() (values map[string][]byte, damaged []string, err error)
	// PutMasterSets durably stores each value under its name, in one
	// transaction; a nil value deletes the name. Other names keep their
	// values. It does not change the values. A value whose capacity
	// holds its CRC-32C (Castagnoli, little-endian) after its length, as
	// MarshalSets leaves it, may be stored without being copied.
	PutMasterSets(values map[string][]byte) error
}

// Load reads the master data kept in s (see LoadSets). It fails only
// when s cannot be read; damaged sets are named, and left empty in the
// Data.
func Load(s SetStore) (*Data, []string, error) {
	values, damaged, err := s.MasterSets()
	if err != nil {
		return nil, nil, fmt.Errorf("master: load: %w", err)
	}
	d, bad := LoadSets(values, damaged)
	return d, bad, nil
}

// Save durably stores the named sets of d in s (see MarshalSets).
func Save(s SetStore, d *Data, sets ...string) error {
	values, err := d.MarshalSets(sets...)
	if err != nil {
		return err
	}
	if err := s.PutMasterSets(values); err != nil {
		return fmt.Errorf("master: save: %w", err)
	}
	return nil
}

// Damaged names the sets whose stored value was damaged when d was
// loaded (LoadSets) and that no import has replaced since, in SetNames
// order. They are empty in d: the checks that need them behave as with
// no such data.
func (d *Data) Damaged() []string {
	if d == nil || len(d.damaged) == 0 {
		return nil
	}
	return slices.Clone(d.damaged)
}

// MarshalSets encodes the named sets of d (all when none is named), one
// value per set name, and d's Version under StoredLabel, for a SetStore.
// A set held as damaged (Damaged) is never encoded: its stored value is
// left to be replaced by an import, not by an empty set. When d was
// loaded from an older ledger's single value, every set is encoded, and,
// when none is damaged, a nil value under StoredLegacy deletes that
// value. It returns an error wrapping ErrFormat for an unknown set.
//
// The catalogue's value is d's own memory, not a copy (d holds the
// catalogue in its stored form): it must not be changed. Each value's
// capacity holds its CRC-32C after it, which a SetStore that frames
// values with it (agent/bolt's Ledger) uses instead of copying the value.
func (d *Data) MarshalSets(names ...string) (map[string][]byte, error) {
	if d == nil {
		d = empty
	}
	for _, name := range names {
		if _, err := knownSet(name); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 || d.legacy {
		names = SetNames
	}
	out := make(map[string][]byte, len(names)+2)
	for _, name := range names {
		if slices.Contains(d.damaged, name) {
			continue
		}
		if name == "catalogue" {
			out[name] = d.cat.stored(d.versions[name])
			continue
		}
		b := make([]byte, 0, 32+encodedSize(&d.sets, name)+4)
		b = append(b, setMagic...)
		b = append(b, storeVersion)
		b = putString(b, name)
		b = binary.AppendUvarint(b, d.versions[name])
		b = sections[name].put(b, &d.sets)
		if name == "schedules" {
			b = putSchedulesMore(b, d.sets.schedules)
		}
		out[name] = seal(b)
	}
	label := append(make([]byte, 0, len(labelMagic)+1+binary.MaxVarintLen64+len(d.Version)+4), labelMagic...)
	out[StoredLabel] = seal(putString(append(label, storeVersion), d.Version))
	if d.legacy && len(d.damaged) == 0 {
		out[StoredLegacy] = nil
	}
	return out, nil
}

// LoadSets builds a Data from stored values, by name, as MarshalSets
// encodes them, and from the whole Data older ledgers stored under
// StoredLegacy (a set stored on its own overrides that one's copy).
// damaged names values whose checksum failed in the store. A set whose
// value is damaged or does not decode (or, when it has none of its own,
// whose older single value is damaged) is left empty, with no central
// version, and named in the returned list and in the Data's Damaged; the
// other sets are used. Values of unknown names are ignored. The entries
// are not checked again: the store's checksum guards them.
//
// The Data keeps the catalogue's value as it is, without a copy: it must
// not be changed afterwards.
func LoadSets(values map[string][]byte, damaged []string) (*Data, []string) {
	bad := make(map[string]bool, len(damaged))
	for _, name := range damaged {
		bad[name] = true
	}
	var (
		s        sets
		versions map[string]uint64
		version  string
	)
	legacy, legacyBad := bad[StoredLegacy], bad[StoredLegacy]
	if v, ok := values[StoredLegacy]; ok {
		legacy = true
		if old, err := unmarshalBody(v); err != nil {
			legacyBad = true
		} else {
			s, versions, version = old.sets, old.versions, old.Version
			maps.DeleteFunc(versions, func(name string, _ uint64) bool { return !slices.Contains(SetNames, name) })
		}
	}
	if v, ok := values[StoredLabel]; ok {
		if l, err := decodeLabel(v); err == nil {
			version = l
		}
	}
	var out []string
	for _, name := range SetNames {
		v, ok := values[name]
		if ok {
			if err := decodeSet(name, v, &s, &versions); err == nil {
				continue
			}
		} else if !bad[name] && !legacyBad {
			continue
		}
		setDefs[name].take(&s, &sets{})
		delete(versions, name)
		out = append(out, name)
	}
	d := fromSets(version, s, versions)
	d.damaged, d.legacy = out, legacy
	return d, slices.Clone(out)
}

// decodeSet decodes the stored value of set name into s: its entries,
// and its central version into versions. It returns an error wrapping
// ErrCorrupt or ErrVersion, and leaves s as it was, when v is not such a
// value. The catalogue keeps v as it is.
func decodeSet(name string, v []byte, s *sets, versions *map[string]uint64) error {
	var text string
	if name == "catalogue" && len(v) > 0 {
		text = unsafe.String(unsafe.SliceData(v), len(v))
	} else {
		text = string(v) // the other sets' strings are substrings of a copy
	}
	r, err := storedValue(text, setMagic)
	if err != nil {
		return err
	}
	if got := r.str(); got != name && !r.bad {
		return fmt.Errorf("master: %w: the value of set %s holds set %q", ErrCorrupt, name, got)
	}
	version := r.uvarint()
	var n sets
	if name == "catalogue" && !r.bad {
		if n.cat, err = adoptCatalogue(v, r, version); err != nil {
			return err
		}
	} else {
		sections[name].get(r, &n)
		if name == "schedules" && !r.bad && r.off < len(r.s) {
			getSchedulesMore(r, n.schedules)
		}
	}
	if r.bad || r.off != len(r.s) {
		return fmt.Errorf("master: %w: set %s malformed at byte %d", ErrCorrupt, name, r.off)
	}
	setDefs[name].take(s, &n)
	delete(*versions, name)
	if version != 0 {
		if *versions == nil {
			*versions = map[string]uint64{}
		}
		(*versions)[name] = version
	}
	return nil
}

// decodeLabel decodes the stored label.
func decodeLabel(v []byte) (string, error) {
	r, err := storedValue(string(v), labelMagic)
	if err != nil {
		return "", err
	}
	l := r.str()
	if r.bad || r.off != len(r.s) {
		return "", fmt.Errorf("master: %w: label malformed", ErrCorrupt)
	}
	return l, nil
}

// storedValue checks the magic and version of a stored value and returns
// a decoder after them.
func storedValue(v string, magic string) (*decoder, error) {
	if len(v) < len(magic)+1 || v[:len(magic)] != magic {
		return nil, fmt.Errorf("master: %w: not a stored master data value", ErrCorrupt)
	}
	if v[len(magic)] != storeVersion {
		return nil, fmt.Errorf("master: %w: stored value version %d (this build reads %d)", ErrVersion, v[len(magic)], storeVersion)
	}
	return &decoder{s: v, off: len(magic) + 1}, nil
}
