package pgstore

import "errors"

// Errors of this package; test for them with errors.Is. A Store also
// returns sync/central's: ErrClosed after Close, *CheckError and
// ErrInvalid from Append.
var (
	// ErrSchema is returned by Open and OpenReadOnly for a database whose
	// schema this version cannot use: newer than it knows (a newer
	// udi-central migrated it), older than it needs when opened read-only,
	// or not a store's schema at all.
	ErrSchema = errors.New("pgstore: database schema not usable")
	// ErrNotDurable is returned by Open for a server that runs with
	// fsync off: a committed transaction would not survive a crash, and
	// the centre acknowledges movements once committed.
	ErrNotDurable = errors.New("pgstore: server is not durable")
	// ErrCorrupt is wrapped by the error for rows that break the store's
	// invariants (a movement missing below a ledger's head, a hash of the
	// wrong size), found while reading them.
	ErrCorrupt = errors.New("pgstore: corrupt rows")
)
