package boltstore

// arena hands out the buffers of one write transaction's keys and values:
// bbolt keeps every key and value put (not a copy) until the commit, so
// they must not be reused before it, and allocating them afresh for every
// transaction (megabytes a batch) costs page faults and garbage
// collection. A Store's arena is used only inside its write transactions,
// which bbolt runs one at a time, and reset when one ends.
type arena struct {
	chunks [][]byte
	i      int // the chunk being carved
}

const (
	arenaChunk = 1 << 20
	// arenaKeep is the most an arena keeps across transactions.
	arenaKeep = 16 << 20
)

// alloc returns a slice of length 0 and capacity n, valid until reset.
func (a *arena) alloc(n int) []byte {
	for ; a.i < len(a.chunks); a.i++ {
		c := a.chunks[a.i]
		if cap(c)-len(c) >= n {
			a.chunks[a.i] = c[:len(c)+n]
			return c[len(c) : len(c) : len(c)+n]
		}
	}
	c := make([]byte, n, max(n, arenaChunk))
	a.chunks = append(a.chunks, c)
	return c[:0:n]
}

// reset makes every chunk free again, keeping at most arenaKeep bytes.
func (a *arena) reset() {
	kept := 0
	out := a.chunks[:0]
	for _, c := range a.chunks {
		if kept+cap(c) <= arenaKeep {
			out = append(out, c[:0])
			kept += cap(c)
		}
	}
	clear(a.chunks[len(out):])
	a.chunks, a.i = out, 0
}
