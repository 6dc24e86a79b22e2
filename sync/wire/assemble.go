package wire

import (
	"crypto/sha256"
	"fmt"
	"unicode/utf8"
)

// MasterAssembler reassembles master data sets from their parts
// (DecodeMasterPart), which may arrive in any order, more than once, and
// interleaved with parts of other versions. It keeps at most one version
// in assembly per set: a part of a newer version drops the assembly of an
// older one, a part of an older version is dropped. So it holds at most
// one buffer of the size of its set per set, and never returns data
// mixed from two versions. It is not safe for concurrent use.
type MasterAssembler struct {
	sets map[string]*assembly
}

// assembly is the version of one set being reassembled.
type assembly struct {
	head    MasterPart // the header every part of the version carries; no Data
	buf     []byte     // the whole data, Size bytes
	have    []bool     // which parts are in buf
	missing int
}

// Add takes part p into the assembly of its set and returns the whole set
// when p completes it, its SHA-256 verified; nil while parts are
// missing. It returns an error, and keeps nothing of p, when p is of an
// older version than the one in assembly (wrapping ErrSuperseded), when p
// disagrees with the other parts of its version (size, chunk, format or
// digest; ErrMalformed: that version's assembly is dropped too), and when
// the completed data do not match their digest (ErrChecksum) or are not
// UTF-8 (ErrMalformed): nothing of the version is returned. A part
// already held changes nothing.
func (a *MasterAssembler) Add(p *MasterPart) (*MasterSet, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if a.sets == nil {
		a.sets = make(map[string]*assembly)
	}
	as := a.sets[p.Set]
	switch {
	case as != nil && p.Version < as.head.Version:
		return nil, fmt.Errorf("%w: %s version %d, assembling version %d", ErrSuperseded, p.Set, p.Version, as.head.Version)
	case as != nil && p.Version == as.head.Version && !as.head.sameHeader(p):
		delete(a.sets, p.Set)
		return nil, fieldErr(ErrMalformed, partPayload, "header", "parts of %s version %d disagree on size, chunk, format or digest: the version is dropped", p.Set, p.Version)
	case as == nil || p.Version > as.head.Version:
		as = &assembly{head: *p, buf: make([]byte, p.Size), have: make([]bool, p.Count), missing: p.Count}
		as.head.Data, as.head.Index = nil, 0
		a.sets[p.Set] = as
	}
	if as.have[p.Index] {
		return nil, nil
	}
	from, _ := p.span(p.Index)
	copy(as.buf[from:], p.Data)
	as.have[p.Index] = true
	if as.missing--; as.missing > 0 {
		return nil, nil
	}
	delete(a.sets, p.Set)
	if sha256.Sum256(as.buf) != as.head.SHA256 {
		return nil, fieldErr(ErrChecksum, partPayload, "sha256", "%s version %d: the %d parts do not match the digest of the whole", p.Set, p.Version, p.Count)
	}
	if !utf8.Valid(as.buf) {
		return nil, fieldErr(ErrMalformed, partPayload, "data", "%s version %d: not UTF-8", p.Set, p.Version)
	}
	return &MasterSet{Set: p.Set, Format: p.Format, Version: p.Version, Data: as.buf}, nil
}

// Assembling returns the version of set in assembly, how many of its parts
// are held and how many it has; zeros when none is.
func (a *MasterAssembler) Assembling(set string) (version uint64, held, count int) {
	as := a.sets[set]
	if as == nil {
		return 0, 0, 0
	}
	return as.head.Version, as.head.Count - as.missing, as.head.Count
}

// Drop drops the assembly of set when its version is at most upTo.
func (a *MasterAssembler) Drop(set string, upTo uint64) {
	if as := a.sets[set]; as != nil && as.head.Version <= upTo {
		delete(a.sets, set)
	}
}
