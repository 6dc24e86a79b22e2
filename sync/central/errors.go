package central

import (
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/agent/access"
)

// Sentinel errors of this package; test for them with errors.Is.
var (
	// ErrGap is wrapped by the *CheckError for a batch that starts beyond
	// the next movement the centre expects of its ledger.
	ErrGap = errors.New("central: gap in sequence numbers")
	// ErrConflict is wrapped by the *CheckError for a movement whose Hash
	// differs from the one the centre already holds under its sequence
	// number. The held movement is kept.
	ErrConflict = errors.New("central: conflicting movement")
	// ErrChain is wrapped by the *CheckError for a movement whose PrevHash
	// is not the Hash of the movement before it (or, for movement 1, the
	// genesis hash of its gateway and ledger).
	ErrChain = errors.New("central: broken hash chain")
	// ErrRecord is wrapped by the *CheckError for a record that is damaged
	// or whose Hash is not the hash of its content (agent/record.Check),
	// or that names another gateway.
	ErrRecord = errors.New("central: bad record")
	// ErrMismatch is wrapped by the *CheckError for a batch whose header
	// disagrees with its topic, or whose site differs from the site its
	// ledger was first stored under.
	ErrMismatch = errors.New("central: batch does not match its topic or ledger")
	// ErrInvalid is returned for an argument out of range: an invalid site
	// or gateway id, an unknown master data set or format, master data a
	// gateway would refuse (the error wraps agent/master's too), records
	// that are not consecutive.
	ErrInvalid = errors.New("central: invalid argument")
	// ErrClosed is returned by a Service or Store used after Close.
	ErrClosed = errors.New("central: closed")
	// ErrDamaged is wrapped by the error of VerifyBranch (and a store's
	// Verify) for what a store holds wrong: a movement missing, out of
	// order, malformed or unlinked, a head or index at odds with the
	// movements.
	ErrDamaged = errors.New("central: store damaged")
)

// Sentinel errors of the HTTP API's protection (auth.go).
var (
	// ErrCredentials is wrapped by the *CredentialsError for a tokens
	// file, a client certificate roles file or a CA file that cannot be
	// used.
	ErrCredentials = errors.New("central: bad credentials file")
	// ErrNoTLS is returned for an API configuration that would serve
	// plain HTTP on an address other than loopback.
	ErrNoTLS = errors.New("central: plain HTTP beyond loopback")
	// ErrNoCredentials is returned for an API configuration that would
	// serve an address other than loopback (or any address, when
	// authentication is always required) with no bearer token and no
	// client certificate configured.
	ErrNoCredentials = errors.New("central: no credentials configured")
)

// CredentialsError reports a credentials file the API cannot use: the
// file, the line (0 for the whole file) and why, in a text that never
// holds a token; it wraps ErrCredentials (access.As).
type CredentialsError = access.CredentialsError

// CheckError reports a batch, or a movement in it, that the centre does
// not store. It wraps one of ErrGap, ErrConflict, ErrChain, ErrRecord and
// ErrMismatch, and the underlying error (for example agent/record's) when
// there is one. Its text never holds a movement's content.
type CheckError struct {
	// Gateway and Created name the ledger.
	Gateway string
	Created int64
	// Seq is the movement the check failed at: for ErrGap the one the
	// centre expects next, otherwise the offending movement. 0 when the
	// whole batch is refused (ErrMismatch).
	Seq uint64
	// Reason says what was found, with sequence numbers.
	Reason string
	// Err is the sentinel the error wraps.
	Err error
	// Cause is the underlying error, or nil.
	Cause error
}

// Error implements error.
func (e *CheckError) Error() string {
	return fmt.Sprintf("central: gateway %s ledger %d: %s", e.Gateway, e.Created, e.Reason)
}

// Unwrap returns the sentinel and, when set, the cause.
func (e *CheckError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

func checkErr(sentinel error, gateway string, created int64, seq uint64, cause error, format string, args ...any) *CheckError {
	return &CheckError{Gateway: gateway, Created: created, Seq: seq, Reason: fmt.Sprintf(format, args...), Err: sentinel, Cause: cause}
}

// GapErr returns the *CheckError wrapping ErrGap for a batch starting at
// got when the ledger's next expected movement is want. Stores return it
// from Append.
func GapErr(gateway string, created int64, got, want uint64) error {
	return checkErr(ErrGap, gateway, created, want, nil, "gap: got %d, expected %d", got, want)
}

// ConflictErr returns the *CheckError wrapping ErrConflict for movement
// seq, held with another Hash. Stores return it from Append.
func ConflictErr(gateway string, created int64, seq uint64) error {
	return checkErr(ErrConflict, gateway, created, seq, nil, "movement %d differs from the one held under that number", seq)
}

// ChainErr returns the *CheckError wrapping ErrChain for movement seq,
// whose PrevHash is not the Hash of movement seq-1 (the genesis hash for
// movement 1). Stores return it from Append.
func ChainErr(gateway string, created int64, seq uint64) error {
	what := fmt.Sprintf("movement %d", seq-1)
	if seq == 1 {
		what = "the genesis hash of the gateway and ledger"
	}
	return checkErr(ErrChain, gateway, created, seq, nil, "movement %d does not link to %s", seq, what)
}

// SiteErr returns the *CheckError wrapping ErrMismatch for a batch of site
// for a ledger held under another site. Stores return it from Append.
func SiteErr(gateway string, created int64, site, held string) error {
	return checkErr(ErrMismatch, gateway, created, 0, nil, "site %s, but the ledger is held under site %s", site, held)
}
