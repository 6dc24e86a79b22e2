package bolt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// GoneError reports a ledger file that was removed or replaced while the
// ledger had it open: the path names another file, or none. The
// transaction committed when it was found went into the file the ledger
// still has open, which nobody will read again, and every later Submit
// fails with this error too: nothing is answered accepted into a file
// that is gone. It wraps ErrLedgerGone.
type GoneError struct {
	// Path is the ledger's path.
	Path string
	// What happened: "removed" (the path names no file) or "replaced"
	// (it names another file).
	What string
}

// Error implements error.
func (e *GoneError) Error() string {
	return fmt.Sprintf("bolt: ledger file %s was %s while the ledger had it open: movements written since are not kept, and nothing more is accepted; "+
		"stop the agent and find out what %s the file", e.Path, e.What, e.What)
}

// Unwrap returns ErrLedgerGone.
func (e *GoneError) Unwrap() error { return ErrLedgerGone }

// fileGone returns what happened to the file f opened at path when path
// no longer names it ("removed" or "replaced"), or "" when it does or when
// that cannot be told. One stat of the path: its device and inode against
// f's (os.SameFile); a file whose last link was removed has no path.
func fileGone(f *os.File, path string) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	return pathGone(fi, path)
}

// pathGone is fileGone with the open file's FileInfo, taken once.
func pathGone(open os.FileInfo, path string) string {
	pi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "removed"
	case err != nil:
		return ""
	case !os.SameFile(open, pi):
		return "replaced"
	}
	return ""
}

// checkGone is the writer's check after a commit: it returns the
// *GoneError, and from then on makes Submit fail with it, once the
// ledger's path no longer names the file it writes.
func (l *Ledger) checkGone() error {
	if g := l.gone.Load(); g != nil {
		return g
	}
	what := pathGone(l.fileInfo, l.path)
	if what == "" {
		return nil
	}
	g := &GoneError{Path: l.path, What: what}
	l.gone.Store(g)
	l.log.Error("ledger file gone: refusing every movement from now on", "path", l.path, "what", what, "last_seq", l.last.Load())
	return g
}
