//go:build linux

package nationaldb

import (
	"golang.org/x/sys/unix"
)

// dropMapped lets go of the pages of the index file that reading through
// bbolt's map has made resident in the process: every page read stays
// counted in its resident memory until the map goes, and an import that
// reads a whole index of millions of devices would hold all of it.
// MADV_DONTNEED on a shared file map only unmaps the pages: they stay in
// the page cache, and a later read maps them again with the file's
// contents, which are what they were (bbolt never writes over a page a
// transaction may read). It covers the first size bytes of the map (a
// transaction's Size, which the map holds); it is called only by the
// goroutine of an import, the one writer, outside commits, so the map
// does not move meanwhile.
func (db *DB) dropMapped(size int64) {
	if size > 0 {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, db.db.Info().Data, uintptr(size), unix.MADV_DONTNEED)
	}
}
