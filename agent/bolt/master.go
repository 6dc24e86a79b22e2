package bolt

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// bucketMaster holds the master data the point-of-use checks use offline
// (catalogue, recalls, lot statuses, settlements), as one encoded value
// under masterKey: it is replaced whole, never half-applied.
var (
	bucketMaster = []byte("master")
	masterKey    = []byte("data")
)

// PutMaster durably replaces the stored master data with b (an encoded set,
// see master.Data.MarshalBinary). It runs in its own transaction, beside
// the movement writer's.
func (l *Ledger) PutMaster(b []byte) error {
	if l.readOnly {
		return ErrReadOnly
	}
	err := l.db.Update(func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists(bucketMaster)
		if err != nil {
			return err
		}
		return mb.Put(masterKey, b)
	})
	if err != nil {
		return fmt.Errorf("bolt: store master data: %w", err)
	}
	return nil
}

// Master returns a copy of the stored master data, or ErrNotFound when
// none was ever stored.
func (l *Ledger) Master() ([]byte, error) {
	var out []byte
	err := l.db.View(func(tx *bolt.Tx) error {
		mb := tx.Bucket(bucketMaster)
		if mb == nil {
			return ErrNotFound
		}
		v := mb.Get(masterKey)
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("bolt: read master data: %w", err)
	}
	return out, err
}
