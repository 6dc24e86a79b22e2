package bolt

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these where
// one applies; test for them with errors.Is.
var (
	// ErrClosed is returned (or passed to a done callback) when the ledger
	// has been closed.
	ErrClosed = errors.New("bolt: ledger closed")

	// ErrLocked is returned when another process (or another Ledger of
	// this one) holds the ledger file or its path. See LockedError.
	ErrLocked = errors.New("bolt: ledger file locked by another process")

	// ErrLedgerGone is returned to Submit (through done) once the ledger
	// file was removed or replaced while the ledger had it open. See
	// GoneError.
	ErrLedgerGone = errors.New("bolt: ledger file gone")

	// ErrLedgerLoss is wrapped by a *Loss: movements were committed that
	// the ledger file no longer holds.
	ErrLedgerLoss = errors.New("bolt: committed movements lost")

	// ErrGatewayMismatch is returned when a ledger file is opened for a
	// gateway other than the one it was created for, and passed to the done
	// callback of a movement that names another gateway. See
	// GatewayMismatchError.
	ErrGatewayMismatch = errors.New("bolt: gateway mismatch")

	// ErrCorrupt is returned when the file or a record in it is not what the
	// ledger wrote. See CorruptError.
	ErrCorrupt = errors.New("bolt: ledger corrupt")

	// ErrInvalidMovement is passed to the done callback of a movement the
	// ledger refuses to record: unknown kind, no item key on a movement that
	// needs one, a sequence number already set, a time the encoding cannot
	// hold, or a record too large.
	ErrInvalidMovement = errors.New("bolt: invalid movement")

	// ErrNotFound is returned by Get for a sequence number that is not in
	// the ledger.
	ErrNotFound = errors.New("bolt: movement not found")

	// ErrReadOnly is returned when a write is attempted on a ledger opened
	// with OpenReadOnly.
	ErrReadOnly = errors.New("bolt: ledger is read-only")

	// ErrVersion is returned when the file was written in a format version
	// this build does not know.
	ErrVersion = errors.New("bolt: unsupported ledger format version")

	// ErrNotLedger is returned when the file is a bbolt database but not a
	// udi-edge ledger.
	ErrNotLedger = errors.New("bolt: not a udi-edge ledger file")

	// ErrChainBroken is returned when the hash chain of the movements does
	// not hold: a movement was changed, removed, inserted or reordered
	// after it was written. See ChainError.
	ErrChainBroken = errors.New("bolt: hash chain broken")

	// ErrRetained is wrapped by a *RetainedError: the movement was taken
	// out of the ledger by retention (acknowledged by the centre and older
	// than the horizon, retention.go); the centre holds it.
	ErrRetained = errors.New("bolt: movement retained away")

	// ErrMapLimit is wrapped by a *MapLimitError: the ledger file is too
	// large for bbolt to map on this 32-bit machine.
	ErrMapLimit = errors.New("bolt: ledger file too large to map on a 32-bit machine")
)

// RetainedError reports a movement, or a range of them, that retention
// took out of the ledger: its sequence number is below the anchor and it
// was not carried (see Anchor). It wraps ErrRetained and ErrNotFound.
type RetainedError struct {
	// Seq is the movement asked for.
	Seq uint64
	// Anchor is where the ledger's movements now start.
	Anchor Anchor
}

// Error implements error.
func (e *RetainedError) Error() string {
	return fmt.Sprintf("bolt: movement %d was retained away on %s (the ledger keeps movements from %d on: %s); the centre holds it",
		e.Seq, e.Anchor.At.UTC().Format("2006-01-02"), e.Anchor.Seq, e.Anchor.Reason)
}

// Unwrap returns ErrRetained and ErrNotFound.
func (e *RetainedError) Unwrap() []error { return []error{ErrRetained, ErrNotFound} }

// MapLimitError reports a ledger file that bbolt cannot map on a 32-bit
// machine, or that would outgrow the mapping (see CheckMapLimit). It
// wraps ErrMapLimit.
type MapLimitError struct {
	// Path is the ledger file, Size its size in bytes, Limit the most
	// this machine maps.
	Path        string
	Size, Limit int64
}

// Error implements error.
func (e *MapLimitError) Error() string {
	return fmt.Sprintf("bolt: ledger %s is %d MiB; bbolt on this 32-bit machine maps at most %d MiB: compact it with retention "+
		"(udi-edge compact, ledger.retention and ledger.max_bytes) on this or a 64-bit machine before the agent opens it",
		e.Path, e.Size>>20, e.Limit>>20)
}

// Unwrap returns ErrMapLimit.
func (e *MapLimitError) Unwrap() error { return ErrMapLimit }

// GatewayMismatchError reports a ledger file that belongs to another gateway
// (Path set), or a movement that names another gateway than its ledger (Path
// empty). It wraps ErrGatewayMismatch.
type GatewayMismatchError struct {
	// Path is the ledger file, when the mismatch was found on open.
	Path string
	// Ledger is the gateway the ledger file belongs to.
	Ledger string
	// Requested is the gateway that was asked for.
	Requested string
}

// Error implements error.
func (e *GatewayMismatchError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("bolt: ledger %s belongs to gateway %q, not %q", e.Path, e.Ledger, e.Requested)
	}
	return fmt.Sprintf("bolt: movement for gateway %q submitted to the ledger of gateway %q", e.Requested, e.Ledger)
}

// Unwrap returns ErrGatewayMismatch.
func (e *GatewayMismatchError) Unwrap() error { return ErrGatewayMismatch }

// LockedError reports a ledger that another writer holds: a process
// with the same path open for writing (its pid when it could be found),
// or a lock on the file that did not go within the timeout. It wraps
// ErrLocked.
type LockedError struct {
	// Path is the ledger file.
	Path string
	// PID is the process that holds it, 0 when not known.
	PID int
}

// Error implements error.
func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("bolt: ledger %s is held by process %d (another agent or tool has it open for writing)", e.Path, e.PID)
	}
	return fmt.Sprintf("bolt: ledger %s is locked by another process", e.Path)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// CorruptError reports a record or index entry that does not decode or does
// not agree with the rest of the file. Seq is the movement's sequence number
// (0 when the damage is not in one movement). It wraps ErrCorrupt.
type CorruptError struct {
	Seq    uint64
	Reason string
}

// Error implements error.
func (e *CorruptError) Error() string {
	if e.Seq == 0 {
		return "bolt: ledger corrupt: " + e.Reason
	}
	return fmt.Sprintf("bolt: movement %d corrupt: %s", e.Seq, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corruptf(seq uint64, format string, args ...any) error {
	return &CorruptError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

// Kinds of ChainError: what the evidence says happened to the ledger.
const (
	// ChainChanged: a movement's content, or its hashes, differ from what
	// was written.
	ChainChanged = "changed"
	// ChainRemoved: movements were taken out of the file.
	ChainRemoved = "removed"
	// ChainInserted: a movement the writer never wrote was put in.
	ChainInserted = "inserted"
	// ChainReordered: movements were moved to other sequence numbers.
	ChainReordered = "reordered"
	// ChainGap: sequence numbers are missing although the chain runs on
	// through them: the numbering was altered, no movement is missing.
	ChainGap = "gap"
)

// ChainError reports the first movement at which the hash chain of the
// ledger breaks (see VerifyChain). Seq is that movement's sequence number,
// or 0 when what changed is the file's meta bucket (gateway id, creation
// time); Kind is one of the Chain* constants; Reason says what the
// evidence is. It wraps ErrChainBroken and ErrCorrupt.
type ChainError struct {
	Seq    uint64
	Kind   string
	Reason string
}

// Error implements error.
func (e *ChainError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("bolt: hash chain broken: ledger meta %s: %s", e.Kind, e.Reason)
	}
	return fmt.Sprintf("bolt: hash chain broken: movement %d %s: %s", e.Seq, e.Kind, e.Reason)
}

// Unwrap returns ErrChainBroken and ErrCorrupt.
func (e *ChainError) Unwrap() []error { return []error{ErrChainBroken, ErrCorrupt} }
