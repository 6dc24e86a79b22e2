package nationaldb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// Format is the version of the file's layout.
const Format = 1

// DefaultTimeout is how long Open waits for another process's lock.
const DefaultTimeout = 2 * time.Second

// initialMmapSize is the address space the file is mapped in at first (1
// GiB where addresses are 64 bits): bbolt maps it again whenever the file
// outgrows the map, and copies every node of the transaction under way to
// the heap when it does, which a first import's large transactions would
// do at each doubling of the file. Only the pages read take memory.
const initialMmapSize = (math.MaxInt >> 32 & 1) << 30

var (
	bucketMeta    = []byte("meta")
	bucketDevices = []byte("devices")
	bucketKeys    = []byte("keys")
	bucketCodes   = []byte("codes")
	bucketNHSA    = []byte("nhsa")
	bucketNHSADI  = []byte("nhsadi")
	allBuckets    = [][]byte{bucketMeta, bucketDevices, bucketKeys, bucketCodes, bucketNHSA, bucketNHSADI}

	metaFormat  = []byte("format")
	metaDevices = []byte("devices")
	metaKeys    = []byte("keys")
	metaRows    = []byte("nhsa")
)

// DB is the national index in a bbolt file. It is safe for concurrent
// use; imports are serialised by bbolt's one writer.
type DB struct {
	db       *bolt.DB
	path     string
	readOnly bool
	imports  sync.Mutex // held by an import
}

// Open opens the index file at path for reading and importing, creating
// it with mode 0600 when it does not exist. It returns an error wrapping
// ErrLocked when another process holds the file longer than
// DefaultTimeout, ErrFormat for a file this package did not write.
func Open(path string) (*DB, error) { return open(path, false, DefaultTimeout) }

// OpenReadOnly opens an existing index file for lookups only, waiting at
// most timeout for an import's lock.
func OpenReadOnly(path string, timeout time.Duration) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("nationaldb: %w", err)
	}
	return open(path, true, timeout)
}

func open(path string, readOnly bool, timeout time.Duration) (*DB, error) {
	// The free list is written at every commit, bbolt's default (a few
	// pages even after every device was replaced: the pages a transaction
	// frees are reused by the next). Where it is not, bbolt rebuilds it
	// when opening for writing by reading every page of the file through
	// its map, which makes the whole index resident in the process before
	// an import has begun. A file written without it gets one at the first
	// opening for writing.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly,
		FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmapSize})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("nationaldb: open %s: %w", path, err)
	}
	if readOnly {
		err = db.View(checkFormat)
	} else {
		err = db.Update(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketMeta) != nil {
				return checkFormat(tx)
			}
			if k, _ := tx.Cursor().First(); k != nil {
				return fmt.Errorf("%w: %s holds buckets but no meta", ErrFormat, path)
			}
			for _, name := range allBuckets {
				if _, err := tx.CreateBucket(name); err != nil {
					return fmt.Errorf("nationaldb: create bucket %s: %w", name, err)
				}
			}
			return tx.Bucket(bucketMeta).Put(metaFormat, binary.BigEndian.AppendUint64(nil, Format))
		})
	}
	if err != nil {
		_ = db.Close()
		if !errors.Is(err, ErrFormat) {
			err = fmt.Errorf("nationaldb: %s: %w", path, err)
		}
		return nil, err
	}
	return &DB{db: db, path: path, readOnly: readOnly}, nil
}

// checkFormat checks that tx's file is an index of Format.
func checkFormat(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: no meta bucket", ErrFormat)
	}
	if v := meta.Get(metaFormat); len(v) != 8 || binary.BigEndian.Uint64(v) != Format {
		return fmt.Errorf("%w: format %x, want %d", ErrFormat, v, Format)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s missing", ErrFormat, name)
		}
	}
	return nil
}

// Path returns the file's path.
func (db *DB) Path() string { return db.path }

// Close closes the file. It is safe to call more than once.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("nationaldb: close: %w", err)
	}
	return nil
}

// Info says what the index holds.
type Info struct {
	// Devices is the number of UDID devices, Keys the number of product
	// keys they give (sales units, units of use, packages), NHSARows the
	// number of NHSA catalogue rows.
	Devices  int64 `json:"devices"`
	Keys     int64 `json:"keys"`
	NHSARows int64 `json:"nhsa_rows"`
	// Bytes is the size of the file.
	Bytes int64 `json:"bytes"`
}

// Info returns what the index holds (counters kept by the imports, not a
// scan).
func (db *DB) Info() (Info, error) {
	var in Info
	err := db.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		in.Devices, in.Keys, in.NHSARows = getCount(meta, metaDevices), getCount(meta, metaKeys), getCount(meta, metaRows)
		in.Bytes = tx.Size()
		return nil
	})
	return in, err
}

func getCount(meta *bolt.Bucket, name []byte) int64 {
	v := meta.Get(name)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// addCount adds delta to the counter name of meta.
func addCount(meta *bolt.Bucket, name []byte, delta int64) error {
	if delta == 0 {
		return nil
	}
	return meta.Put(name, binary.BigEndian.AppendUint64(nil, uint64(getCount(meta, name)+delta)))
}
