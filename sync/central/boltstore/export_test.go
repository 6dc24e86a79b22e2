package boltstore

import (
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/runindex"
)

// SetSmall makes index blocks of at most blockBytes, merges of more than
// small entries incremental and their steps at least minStep entries, so
// that a test sees every kind of merge with few movements. It returns a
// function that restores the defaults.
func SetSmall(blockBytes int, small uint64, minStep int) (restore func()) {
	saved := indexConfig
	indexConfig = runindex.Config{Block: blockBytes, Small: small, MinStep: minStep}
	return func() { indexConfig = saved }
}

// IndexState returns the entries of every live run of the index, and how
// many the merge in progress has written (-1 when none is in progress).
func (s *Store) IndexState(ctx context.Context) (runs []uint64, merging int64, err error) {
	merging = -1
	err = s.view(ctx, func(tx *bolt.Tx) error {
		st, err := indexIn(tx, nil).State()
		runs, merging = st.Runs, st.Merging
		return err
	})
	return runs, merging, err
}

// TxStats returns bbolt's statistics of the write transactions so far.
func (s *Store) TxStats() bolt.TxStats { return s.db.Stats().TxStats }

// RawView runs fn in a read transaction of the file.
func (s *Store) RawView(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// RawUpdate runs fn in a write transaction of the file, for tests that
// damage it.
func (s *Store) RawUpdate(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }
