package central

import (
	"fmt"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// checkBatch checks the records of batch b against head, the head of its
// ledger as last read, as sync/PROTOCOL.md asks: every record on its own
// (record.Check), its gateway, PrevHash equal to the Hash of the movement
// before (the genesis hash for movement 1, head.Hash for the movement right
// after the head), and the movement at the head equal to the one held.
// It returns the records that passed, in order from b.First, and a
// *CheckError for the first one that did not (the records after it are
// not looked at). Whether the batch continues what is held (no gap) and
// matches the movements held before the head is for Store.Append to
// decide, in its transaction: another instance of the service may have
// moved the head since it was read.
func checkBatch(b *wire.Batch, head Head) ([]Stored, *CheckError) {
	genesis := record.Genesis(b.Gateway, uint64(b.Created))
	out := make([]Stored, 0, len(b.Records))
	for i, rec := range b.Records {
		seq := b.First + uint64(i)
		prev, hash, err := record.Check(seq, rec)
		if err != nil {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, err, "movement %d: %v", seq, err)
		}
		var want [HashSize]byte
		link := true
		switch {
		case seq == 1:
			want = genesis
		case i > 0:
			want = out[i-1].Hash
		case seq == head.Seq+1:
			want = head.Hash
		default:
			link = false // before the head or after a gap: the Store decides
		}
		if link && prev != want {
			return out, ChainErr(b.Gateway, b.Created, seq).(*CheckError)
		}
		if seq == head.Seq && hash != head.Hash {
			return out, ConflictErr(b.Gateway, b.Created, seq).(*CheckError)
		}
		m, err := record.Decode(seq, rec)
		if err != nil {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, err, "movement %d: %v", seq, err)
		}
		if m.Gateway != b.Gateway {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, nil, "movement %d was recorded by gateway %q", seq, m.Gateway)
		}
		out = append(out, Stored{Seq: seq, PrevHash: prev, Hash: hash, Keys: IndexKeys(&m), Record: rec})
	}
	return out, nil
}

// CheckAppend applies the rules of Store.Append to recs, for a Store
// implementation: head is the ledger's head read in the appending
// transaction, held returns the Hash of a held movement (seq <= head.Seq).
// It returns the index in recs of the first movement to store (len(recs)
// when every one is held already), or the error Append must return. When
// fresh < len(recs), the caller stores recs[fresh:] and the new head
// (recs[len(recs)-1]'s Seq and Hash) in the same transaction.
func CheckAppend(head Head, site string, recs []Stored, held func(seq uint64) ([HashSize]byte, error)) (fresh int, err error) {
	if len(recs) == 0 {
		return 0, fmt.Errorf("%w: no movements to append", ErrInvalid)
	}
	first := recs[0].Seq
	if first == 0 {
		return 0, fmt.Errorf("%w: sequence numbers start at 1", ErrInvalid)
	}
	for i := range recs {
		if recs[i].Seq != first+uint64(i) {
			return 0, fmt.Errorf("%w: movement %d follows %d", ErrInvalid, recs[i].Seq, recs[i-1].Seq)
		}
	}
	if head.Site != "" && head.Site != site {
		return 0, SiteErr(head.Gateway, head.Created, site, head.Site)
	}
	if first > head.Seq+1 {
		return 0, GapErr(head.Gateway, head.Created, first, head.Seq+1)
	}
	fresh = len(recs)
	for i := range recs {
		r := &recs[i]
		if r.Seq <= head.Seq {
			h, err := held(r.Seq)
			if err != nil {
				return 0, err
			}
			if h != r.Hash {
				return 0, ConflictErr(head.Gateway, head.Created, r.Seq)
			}
			continue
		}
		want := head.Hash
		if r.Seq > head.Seq+1 {
			want = recs[i-1].Hash
		} else {
			fresh = i
		}
		if r.PrevHash != want {
			return 0, ChainErr(head.Gateway, head.Created, r.Seq)
		}
	}
	return fresh, nil
}
