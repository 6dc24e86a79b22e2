package nationaldb

import "errors"

// Errors of this package; test for them with errors.Is.
var (
	// ErrLocked is returned by Open and OpenReadOnly when another process
	// holds the file for longer than the timeout (an import in progress).
	ErrLocked = errors.New("nationaldb: file is locked by another process")
	// ErrFormat is returned by Open for a file that is not a national
	// index of this Format.
	ErrFormat = errors.New("nationaldb: not a national index file of a known format")
	// ErrCorrupt is wrapped by the error for a record of the file that is
	// not well formed.
	ErrCorrupt = errors.New("nationaldb: corrupt record")
	// ErrReadOnly is returned by an import into an index opened with
	// OpenReadOnly.
	ErrReadOnly = errors.New("nationaldb: opened read-only")
)
