package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/runindex"
)

// The index from item and tag keys to movements is an agent/runindex index
// (a log-structured merge of sorted runs) in the buckets meta, runs and
// index, with one entry per key of a movement (central.IndexKeys):
//
//	key 0x00 gateway 0x00 created(8) seq(8)
//
// Movements arrive in sequence order but their keys in no order at all;
// a B+tree of one key per entry would rewrite about one 4 KiB page per
// entry once the index outgrows a transaction.

// indexConfig sizes the index's blocks and merges; the tests make them
// small.
var indexConfig = runindex.Config{Block: valueTarget}

// indexIn returns the index in tx; a is nil in read transactions.
func indexIn(tx *bolt.Tx, a *runindex.Arena) *runindex.Index {
	return runindex.In(tx.Bucket(bucketMeta), tx.Bucket(bucketRuns), tx.Bucket(bucketIndex), indexConfig, a)
}

// indexErr makes a damaged index one of this package's ErrCorrupt errors.
func indexErr(err error) error {
	if errors.Is(err, runindex.ErrCorrupt) && !errors.Is(err, ErrCorrupt) {
		return fmt.Errorf("%w: index: %w", ErrCorrupt, err)
	}
	return err
}

// appendEntry appends the index entry of key for movement seq of ledger
// lk to dst.
func appendEntry(dst []byte, key string, lk []byte, seq uint64) []byte {
	dst = append(dst, key...)
	dst = append(dst, 0)
	dst = append(dst, lk...)
	return binary.BigEndian.AppendUint64(dst, seq)
}
