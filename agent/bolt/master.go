package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// bucketMaster holds the master data the point-of-use checks use offline
// (catalogue, recalls, lot statuses, settlements, schedules, par levels):
// one value per name (see master.Data.MarshalSets), each followed by the
// CRC-32C of the rest, little-endian, so that one damaged value costs
// that set only. Older ledgers hold the whole set as one value under
// masterLegacyKey, whose encoding ends with the same checksum.
var (
	bucketMaster    = []byte("master")
	masterLegacyKey = []byte("data")
)

// PutMasterSets durably stores each value of values under its name, with
// its CRC-32C appended, in one transaction of its own, beside the
// movement writer's; a nil value deletes the name. Names not in values
// keep their values. It returns ErrReadOnly on a read-only ledger.
//
// The values are not changed. A value whose capacity already holds its
// CRC-32C after its length (master.Data.MarshalSets leaves it there) is
// stored as it is; any other is copied with its checksum appended. A
// catalogue of 100,000 products is a value of about 9 MB, which is so
// not held twice while bbolt writes it.
func (l *Ledger) PutMasterSets(values map[string][]byte) error {
	if l.readOnly {
		return ErrReadOnly
	}
	for name := range values {
		if name == "" {
			return fmt.Errorf("bolt: store master data: empty name")
		}
	}
	if err := l.safe(bucketMaster); err != nil {
		return fmt.Errorf("bolt: store master data: %w", err)
	}
	err := l.update(&place{bucket: "master"}, func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(bucketMaster)
		if err != nil {
			return err
		}
		for _, name := range slices.Sorted(maps.Keys(values)) {
			v := values[name]
			if v == nil {
				if err := mb.Delete([]byte(name)); err != nil {
					return err
				}
				continue
			}
			if err := mb.Put([]byte(name), frame(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt: store master data: %w", err)
	}
	return nil
}

// MasterSets returns a copy of every stored master data value whose
// CRC-32C holds, by name, without the checksum, and the names, sorted,
// of those whose checksum does not hold. A ledger without master data
// returns an empty map. Each copy holds its checksum in its capacity, so
// that storing it again (PutMasterSets) does not copy it again.
func (l *Ledger) MasterSets() (map[string][]byte, []string, error) {
	values := map[string][]byte{}
	var damaged []string
	if err := l.safe(bucketMaster); err != nil {
		return nil, nil, fmt.Errorf("bolt: read master data: %w", err)
	}
	err := l.viewAt(&place{bucket: "master"}, func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMaster)
		if mb == nil {
			return nil
		}
		return mb.ForEach(func(k, v []byte) error {
			if p, ok := unframe(v); ok {
				values[string(k)] = bytes.Clone(v)[:len(p)]
			} else {
				damaged = append(damaged, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bolt: read master data: %w", err)
	}
	return values, damaged, nil
}

// VerifyMaster checks every stored master data value against its
// CRC-32C and returns one *CorruptError, wrapping ErrCorrupt, per value
// whose checksum does not hold; nil when all do.
func (l *Ledger) VerifyMaster() []error {
	var errs []error
	if err := l.safe(bucketMaster); err != nil {
		return []error{fmt.Errorf("bolt: verify master data: %w", err)}
	}
	err := l.viewAt(&place{bucket: "master"}, func(tx *bolt.Tx) error {
		errs = verifyMaster(tx)
		return nil
	})
	if err != nil {
		return []error{fmt.Errorf("bolt: verify master data: %w", err)}
	}
	return errs
}

// verifyMaster is VerifyMaster inside tx, for Verify.
func verifyMaster(tx *bolt.Tx) []error {
	mb := tx.Bucket(bucketMaster)
	if mb == nil {
		return nil
	}
	var errs []error
	_ = mb.ForEach(func(k, v []byte) error {
		switch {
		case v == nil:
			errs = append(errs, corruptf(0, "master data: unexpected bucket %q", k))
		case len(v) < 4:
			errs = append(errs, corruptf(0, "master data %q: %d bytes, too short for its checksum", k, len(v)))
		default:
			if _, ok := unframe(v); !ok {
				errs = append(errs, corruptf(0, "master data %q: checksum mismatch", k))
			}
		}
		return nil
	})
	return errs
}

// frame returns v followed by its CRC-32C, little-endian: v's own
// memory when its capacity holds the checksum already, else a copy. v is
// not changed.
func frame(v []byte) []byte {
	sum := crc32.Checksum(v, castagnoli)
	if cap(v)-len(v) >= 4 {
		if f := v[:len(v)+4]; binary.LittleEndian.Uint32(f[len(v):]) == sum {
			return f
		}
	}
	framed := make([]byte, 0, len(v)+4)
	framed = append(framed, v...)
	return binary.LittleEndian.AppendUint32(framed, sum)
}

// unframe checks a stored value's trailing CRC-32C and returns the value
// without it.
func unframe(v []byte) ([]byte, bool) {
	if len(v) < 4 {
		return nil, false
	}
	p := v[:len(v)-4]
	return p, binary.LittleEndian.Uint32(v[len(p):]) == crc32.Checksum(p, castagnoli)
}

// PutMaster durably replaces the stored master data with b, the whole
// set as master.Data.MarshalBinary encodes it, and removes the values of
// single sets, so that b is all there is.
//
// Deprecated: store each set on its own with PutMasterSets
// (master.Save), so that one damaged value costs one set only.
func (l *Ledger) PutMaster(b []byte) error {
	if l.readOnly {
		return ErrReadOnly
	}
	if err := l.safe(bucketMaster); err != nil {
		return fmt.Errorf("bolt: store master data: %w", err)
	}
	err := l.update(&place{bucket: "master"}, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMaster) != nil {
			if err := tx.DeleteBucket(bucketMaster); err != nil {
				return err
			}
		}
		mb, err := tx.CreateBucket(bucketMaster)
		if err != nil {
			return err
		}
		return mb.Put(masterLegacyKey, b)
	})
	if err != nil {
		return fmt.Errorf("bolt: store master data: %w", err)
	}
	return nil
}

// Master returns a copy of the master data stored by PutMaster, or
// ErrNotFound when there is none.
//
// Deprecated: read the sets with MasterSets (master.Load).
func (l *Ledger) Master() ([]byte, error) {
	var out []byte
	if err := l.safe(bucketMaster); err != nil {
		return nil, fmt.Errorf("bolt: read master data: %w", err)
	}
	err := l.viewAt(&place{bucket: "master"}, func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMaster)
		if mb == nil {
			return ErrNotFound
		}
		v := mb.Get(masterLegacyKey)
		if v == nil {
			return ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("bolt: read master data: %w", err)
	}
	return out, err
}
