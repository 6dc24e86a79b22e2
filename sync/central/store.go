package central

import (
	"context"
	"slices"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

// HashSize is the size of a movement's PrevHash and Hash.
const HashSize = record.HashSize

// Head is where the centre stands on one history of one ledger of a
// gateway: the highest sequence number up to which it holds every
// movement, each checked.
type Head struct {
	// Gateway and Created name the ledger: a gateway whose ledger file was
	// re-created has a new Created, and its movements form a new chain.
	Gateway string
	Created int64
	// Branch numbers the ledger's histories: 0 is the first one the
	// centre stored; 1, 2, ... are the histories stored after a conflict
	// (see Conflict), in the order they forked. The current branch, the
	// one Head returns, is the highest.
	Branch int
	// Parent is the branch a branch forked from (0 for branch 0), and Fork
	// the sequence number of its first own movement: the branch's history
	// is its parent's movements 1 .. Fork-1, then its own Fork .. Seq.
	// Fork is 1 for branch 0.
	Parent int
	Fork   uint64
	// Site is the site the ledger's movements were first stored under, ""
	// while the store holds none of them.
	Site string
	// Seq is the highest sequence number up to which every movement of
	// the branch's history is held; 0 when none is.
	Seq uint64
	// Hash is the Hash of movement Seq; for Seq 0 the genesis hash of
	// (Gateway, Created), which movement 1's PrevHash must be.
	Hash [HashSize]byte
}

// Own returns how many movements the branch holds of its own (Fork ..
// Seq), not shared with its parent.
func (h Head) Own() uint64 {
	if h.Seq < h.Fork {
		return 0
	}
	return h.Seq - h.Fork + 1
}

// EmptyHead returns the head of a ledger the store holds nothing of.
func EmptyHead(gateway string, created int64) Head {
	return Head{Gateway: gateway, Created: created, Fork: 1, Hash: record.Genesis(gateway, uint64(created))}
}

// Conflict is the record of a branch: two histories of one ledger that
// agree up to movement Seq-1 and differ at Seq. The centre keeps both (a
// movement once stored is never replaced) and stores the later one as
// Branch, forked from Parent. It happens when a gateway's ledger file is
// restored from a backup and written on (same ledger, same key), or when
// two devices share one gateway's ledger and key.
type Conflict struct {
	// Site, Gateway and Created name the ledger.
	Site    string
	Gateway string
	Created int64
	// Branch is the branch stored after the conflict, Parent the one
	// holding the movement it differs from.
	Branch, Parent int
	// Seq is the first movement that differs (the branch's Fork).
	Seq uint64
	// Held is the Hash of movement Seq as Parent holds it; Hash the Hash
	// of the branch's movement Seq.
	Held, Hash [HashSize]byte
	// At is when the store recorded the conflict (its own clock).
	At time.Time
}

// MaxBranches is the most histories a Store keeps of one ledger (branch 0
// included). A conflict beyond them is refused with ErrConflict, as
// every conflict was before branches: a gateway that forks its own
// ledger that often is not a restored backup.
const MaxBranches = 64

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
	// Received is the product key of the item the movement received
	// (ReceivedProduct), "" when it is no receive: what the store's index
	// of received products (Store.ReceivedProducts) takes from it.
	Received string
	// Record is the record as received. It may alias the message it came
	// in: a Store copies what it keeps.
	Record []byte
}

// ReceivedBy returns the products recs received (Stored.Received), each
// once, sorted: what an Append of them adds to the index of received
// products.
func ReceivedBy(recs []Stored) []string {
	var out []string
	for i := range recs {
		if p := recs[i].Received; p != "" && (len(out) == 0 || out[len(out)-1] != p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Traced is one movement found by a trace, with the ledger it belongs to.
type Traced struct {
	// Site is the site the ledger is held under.
	Site string
	// Created names the gateway's ledger (Movement.Gateway is the gateway)
	// and Branch the history of it that holds the movement (Head.Branch).
	Created int64
	Branch  int
	// Movement is the decoded movement, Seq and hashes filled in.
	Movement agent.Movement
}

// GatewayCounts are the totals of one gateway's counters, by name (the
// JSON names of Counters), as a Store keeps them.
type GatewayCounts struct {
	Site, Gateway string
	Counts        map[string]uint64
}

// Store is the centre's durable record of every gateway's movements. A
// bbolt file implements it (sync/central/boltstore); a database such as
// PostgreSQL can (see the package documentation). Every method returns
// ctx's error when ctx ends first, and ErrClosed after Close.
//
// Ledgers are keyed by (gateway, created) and movements by (gateway,
// created, branch, seq): a re-created ledger is a new chain, never mixed
// with the old one, and two histories of one ledger (a Conflict) are two
// branches of it, both kept.
type Store interface {
	// Head returns the head of the current branch of the ledger (gateway,
	// created): its highest-numbered one. EmptyHead when the store holds
	// none of its movements.
	Head(ctx context.Context, gateway string, created int64) (Head, error)
	// Append stores recs, consecutive movements of the ledger (gateway,
	// created) of site, on the branch whose history they continue, in one
	// durable transaction, and returns that branch's new head and how
	// many of recs this call stored (the others were held already,
	// perhaps stored meanwhile by another instance of the service). It
	// applies PlaceAppend's rules, the current branch tried first:
	// movements already held with the same Hash change nothing; movements
	// that continue a branch are added to it; movements that link to a
	// branch's history but differ from what it holds from some movement
	// on are stored as a new branch forked there, the Conflict recorded
	// in the same transaction. It stores nothing and returns a
	// *CheckError wrapping
	//   - ErrGap when recs[0].Seq is beyond the current branch's Seq+1
	//     (and continues no other branch),
	//   - ErrConflict when recs differ from held movements but do not link
	//     to any branch's history, or MaxBranches would be exceeded,
	//   - ErrChain when recs[0]'s PrevHash is not the Hash of the movement
	//     before it in any branch's history, or a movement's PrevHash not
	//     the Hash of the one before it in recs,
	//   - ErrMismatch when the ledger is held under another site;
	// and an error wrapping ErrInvalid for recs that are empty or not
	// consecutive from 1 or more. Once Append has returned, the movements
	// survive a crash. On error the Head returned is the current
	// branch's as far as it could be read.
	Append(ctx context.Context, site, gateway string, created int64, recs []Stored) (head Head, added int, err error)
	// Trace returns every movement, of every gateway, ledger and branch,
	// indexed under key (an item key or a tag key), ordered by gateway,
	// ledger, branch and sequence number. A movement two branches share
	// is returned once, under the branch that holds it (its parent). It
	// reads an index; it never scans the movements. A key that names
	// nothing returns an empty slice.
	Trace(ctx context.Context, key string) ([]Traced, error)
	// Range calls fn with every movement of the current branch's history
	// of the ledger (gateway, created) from sequence number from on, in
	// order, until fn returns an error, which Range returns. rec is valid
	// only during the call.
	Range(ctx context.Context, gateway string, created int64, from uint64, fn func(seq uint64, rec []byte) error) error
	// RangeBranch is Range over the history of branch: its parents'
	// movements before its Fork, then its own. A branch the store does
	// not hold has no movements.
	RangeBranch(ctx context.Context, gateway string, created int64, branch int, from uint64, fn func(seq uint64, rec []byte) error) error
	// Ledgers returns the head of every branch of every ledger the store
	// holds, ordered by gateway, Created and Branch.
	Ledgers(ctx context.Context) ([]Head, error)
	// Conflicts returns every Conflict recorded, ordered by gateway,
	// Created and Branch.
	Conflicts(ctx context.Context) ([]Conflict, error)
	// AddCounts durably adds counts to the totals of each gateway's
	// counters, in one transaction; several instances sharing the store
	// add to the same totals.
	AddCounts(ctx context.Context, counts []GatewayCounts) error
	// Counts returns the totals of every gateway's counters, ordered by
	// site and gateway.
	Counts(ctx context.Context) ([]GatewayCounts, error)
	// NextMasterVersion durably sets the version of master data set of
	// site to the greater of its last version + 1 and atLeast, and returns
	// it: max(1, atLeast) for the first publication. A floor such as the
	// time keeps versions increasing across a re-created store.
	NextMasterVersion(ctx context.Context, site, set string, atLeast uint64) (uint64, error)
	// ReceivedProducts returns the product key (Stored.Received) of
	// every movement of kind receive of the ledgers held under site, on
	// any branch, each once, sorted by byte. Append records them in the
	// transaction that stores the movements. It reads an index; it never
	// scans the movements. A site with none returns an empty slice.
	ReceivedProducts(ctx context.Context, site string) ([]string, error)
	// Close releases the store. It is safe to call more than once.
	Close() error
}

// NewStored returns movement seq, its record rec decoded as m, with its
// chain hashes prev and hash, as a Store takes it: with what the store's
// indexes take from it (IndexKeys, ReceivedProduct), read from m, which
// the caller decoded once (the service's checks, CheckBatch, do).
func NewStored(seq uint64, prev, hash [HashSize]byte, m *agent.Movement, rec []byte) Stored {
	return Stored{Seq: seq, PrevHash: prev, Hash: hash, Keys: IndexKeys(m), Received: ReceivedProduct(m), Record: rec}
}

// IndexKeys returns the keys a movement is indexed under: those it is
// traced under (agent.Movement.TraceKeys), as the gateway's ledger
// indexes them, and those of the supply index (SupplyKeys).
func IndexKeys(m *agent.Movement) []string { return append(m.TraceKeys(), SupplyKeys(m)...) }
