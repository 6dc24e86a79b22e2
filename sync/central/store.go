package central

import (
	"context"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

// HashSize is the size of a movement's PrevHash and Hash.
const HashSize = record.HashSize

// Head is where the centre stands on one ledger of a gateway: the highest
// sequence number up to which it holds every movement, each checked.
type Head struct {
	// Gateway and Created name the ledger: a gateway whose ledger file was
	// re-created has a new Created, and its movements form a new chain.
	Gateway string
	Created int64
	// Site is the site the ledger's movements were first stored under, ""
	// while the store holds none of them.
	Site string
	// Seq is the highest sequence number up to which every movement is
	// held; 0 when none is.
	Seq uint64
	// Hash is the Hash of movement Seq; for Seq 0 the genesis hash of
	// (Gateway, Created), which movement 1's PrevHash must be.
	Hash [HashSize]byte
}

// EmptyHead returns the head of a ledger the store holds nothing of.
func EmptyHead(gateway string, created int64) Head {
	return Head{Gateway: gateway, Created: created, Hash: record.Genesis(gateway, uint64(created))}
}

// Stored is one checked movement as a Store keeps it: the record exactly
// as the gateway sent it (agent/record encoding) and what the checks read
// from it.
type Stored struct {
	// Seq is the movement's sequence number.
	Seq uint64
	// PrevHash and Hash are the record's chain hashes.
	PrevHash, Hash [HashSize]byte
	// Keys are the keys the movement is traced under: its item key and its
	// tag key, when it has them (IndexKeys).
	Keys []string
	// Record is the record as received. It may alias the message it came
	// in: a Store copies what it keeps.
	Record []byte
}

// Traced is one movement found by a trace, with the ledger it belongs to.
type Traced struct {
	// Site is the site the ledger is held under.
	Site string
	// Created names the gateway's ledger (Movement.Gateway is the gateway).
	Created int64
	// Movement is the decoded movement, Seq and hashes filled in.
	Movement agent.Movement
}

// Store is the centre's durable record of every gateway's movements. A
// bbolt file implements it (sync/central/boltstore); a database such as
// PostgreSQL can (see the package documentation). Every method returns
// ctx's error when ctx ends first, and ErrClosed after Close.
//
// Ledgers are keyed by (gateway, created) and movements by (gateway,
// created, seq): a re-created ledger is a new chain, never mixed with the
// old one.
type Store interface {
	// Head returns the head of the ledger (gateway, created); EmptyHead
	// when the store holds none of its movements.
	Head(ctx context.Context, gateway string, created int64) (Head, error)
	// Append stores recs, consecutive movements of the ledger (gateway,
	// created) of site, in one durable transaction, and returns the
	// ledger's new head and how many of recs this call stored (the others
	// were held already, perhaps stored meanwhile by another instance of
	// the service). It is idempotent: movements already held with
	// the same Hash change nothing. It stores nothing and returns a
	// *CheckError wrapping
	//   - ErrGap when recs[0].Seq is beyond head.Seq+1,
	//   - ErrConflict when a held movement has another Hash,
	//   - ErrChain when the first new movement's PrevHash is not the
	//     head's Hash, or a movement's PrevHash not the Hash of the one
	//     before it in recs,
	//   - ErrMismatch when the ledger is held under another site;
	// and an error wrapping ErrInvalid for recs that are empty or not
	// consecutive from 1 or more. Once Append has returned, the movements
	// survive a crash. On error the Head returned is the ledger's head as
	// far as it could be read.
	Append(ctx context.Context, site, gateway string, created int64, recs []Stored) (head Head, added int, err error)
	// Trace returns every movement, of every gateway and ledger, indexed
	// under key (an item key or a tag key), ordered by gateway, ledger and
	// sequence number. It reads an index; it never scans the movements.
	// A key that names nothing returns an empty slice.
	Trace(ctx context.Context, key string) ([]Traced, error)
	// Range calls fn with every movement of the ledger (gateway, created)
	// from sequence number from on, in order, until fn returns an error,
	// which Range returns. rec is valid only during the call.
	Range(ctx context.Context, gateway string, created int64, from uint64, fn func(seq uint64, rec []byte) error) error
	// Ledgers returns the head of every ledger the store holds, ordered by
	// gateway and then Created.
	Ledgers(ctx context.Context) ([]Head, error)
	// NextMasterVersion durably sets the version of master data set of
	// site to the greater of its last version + 1 and atLeast, and returns
	// it: max(1, atLeast) for the first publication. A floor such as the
	// time keeps versions increasing across a re-created store.
	NextMasterVersion(ctx context.Context, site, set string, atLeast uint64) (uint64, error)
	// Close releases the store. It is safe to call more than once.
	Close() error
}

// IndexKeys returns the keys a movement is traced under
// (agent.Movement.TraceKeys), as the gateway's ledger indexes them.
func IndexKeys(m *agent.Movement) []string { return m.TraceKeys() }
