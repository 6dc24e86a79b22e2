package runindex

// Arena hands out the buffers of one write transaction's keys and values:
// bbolt keeps every key and value put (not a copy) until the commit, so
// they must not be reused before it, and allocating them afresh for every
// transaction (megabytes a batch) costs page faults and garbage
// collection. An Arena is used only inside write transactions, which
// bbolt runs one at a time, and Reset when one has ended. The zero value
// is ready to use.
type Arena struct {
	chunks [][]byte
	i      int // the chunk being carved
}

const (
	arenaChunk = 1 << 20
	// arenaKeep is the most an arena keeps across transactions.
	arenaKeep = 16 << 20
)

// Alloc returns a slice of length 0 and capacity n, valid until Reset.
func (a *Arena) Alloc(n int) []byte {
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

// Reset makes every chunk free again, keeping at most 16 MiB. Call it only
// once the transaction that used the buffers has ended.
func (a *Arena) Reset() {
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
