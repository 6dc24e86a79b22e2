package bolt

import (
	"os"
	"strconv"
)

// bbolt maps the whole file into memory. On a 32-bit machine (linux/arm
// v7 gateways) a process has at most 3 GiB of address space, and bbolt
// maps at most 2 GiB (its maxMapSize there, 0x7FFFFFFF): past that it
// cannot even open the file, and already past 1 GiB its mapping jumps
// from 1 GiB to 2 GiB, one piece of address space a 32-bit process often
// no longer has free. So on 32-bit the ledger is kept under 1 GiB by its
// disk budget and retention (the agent's configuration refuses more, see
// MaxBytes32), Open warns past 1 GiB and refuses a file bbolt could not
// map (MapLimitError), with what to do.

const (
	// mapLimit32 is the largest file bbolt maps on 32-bit, less a margin
	// for the growth of the next commit.
	mapLimit32 = 0x7FFFFFFF - 64<<20
	// mapComfort32 is the largest file mapped in one power-of-two step
	// below 2 GiB.
	mapComfort32 = 1 << 30
	// MaxBytes32 is the largest disk budget the agent accepts on a 32-bit
	// machine; DefaultMaxBytes32 its default there.
	MaxBytes32        = mapComfort32
	DefaultMaxBytes32 = 768 << 20
)

// Is32Bit reports whether this build runs with 32-bit pointers, where
// bbolt's mapping limits the ledger (see MapLimitError).
func Is32Bit() bool { return strconv.IntSize == 32 }

// checkMapLimit returns a *MapLimitError when a file of size bytes at
// path cannot be mapped on a 32-bit machine (is32), and whether it is
// past the size that still maps comfortably.
func checkMapLimit(path string, size int64, is32 bool) (warn bool, err error) {
	if !is32 {
		return false, nil
	}
	if size > mapLimit32 {
		return true, &MapLimitError{Path: path, Size: size, Limit: mapLimit32}
	}
	return size > mapComfort32, nil
}

// CheckMapLimit checks the ledger file at path against bbolt's mapping
// on this machine: nil on 64-bit, a *MapLimitError on 32-bit for a file
// bbolt could not map. A missing file is no error.
func CheckMapLimit(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	_, err = checkMapLimit(path, fi.Size(), Is32Bit())
	return err
}

// openCompacted is Open's look at the path before bbolt opens it: the
// temporary files of a compaction a crash interrupted go (the path's
// lock is held, so no compaction runs), and on 32-bit a file bbolt
// could not map is refused, one past 1 GiB warned about.
func openCompacted(path string, log interface {
	Warn(msg string, args ...any)
}) error {
	removeCompactTemps(path)
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	warn, err := checkMapLimit(path, fi.Size(), Is32Bit())
	if err != nil {
		return err
	}
	if warn {
		log.Warn("ledger file past 1 GiB on a 32-bit machine: bbolt's next mapping is 2 GiB, which may not fit; set ledger.max_bytes and ledger.retention, or compact it",
			"path", path, "bytes", fi.Size())
	}
	return nil
}
