package nationaldb

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// TestRunSorter: whatever the size of its runs (all in memory, a few
// entries a run, between), a runSorter gives back every entry added,
// ordered by key then sequence; it removes its files; a run cut short
// is an error, not an end.
func TestRunSorter(t *testing.T) {
	type entry struct {
		key     string
		seq     uint64
		payload string
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var in []entry
	for i := range 5000 {
		in = append(in, entry{fmt.Sprintf("k%03d", rnd.IntN(700)), uint64(rnd.IntN(1 << 40)), fmt.Sprint(i, bytes.Repeat([]byte{'x'}, rnd.IntN(300)))})
	}
	want := slices.Clone(in)
	slices.SortFunc(want, func(a, b entry) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq)) })
	for _, limit := range []int{1 << 30, 64 << 10, 4096} {
		dir := t.TempDir()
		s := newRunSorter(dir, limit)
		for _, e := range in {
			if err := s.add([]byte(e.key), e.seq, []byte(e.payload)); err != nil {
				t.Fatal(err)
			}
		}
		if limit == 1<<30 && len(s.runs) != 0 || limit < 1<<30 && len(s.runs) == 0 {
			t.Fatalf("limit %d: %d runs", limit, len(s.runs))
		}
		m, err := s.merge()
		if err != nil {
			t.Fatal(err)
		}
		var got []entry
		err = m.each(func(key []byte, seq uint64, payload []byte) error {
			got = append(got, entry{string(key), seq, string(payload)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: %d entries out of order or lost (want %d)", limit, len(got), len(want))
		}
		s.close()
		if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Fatalf("limit %d: files left: %v", limit, files)
		}
	}

	// A run cut short.
	s := newRunSorter(t.TempDir(), 100)
	for _, e := range in[:20] {
		s.add([]byte(e.key), e.seq, []byte(e.payload))
	}
	defer s.close()
	if err := s.spill(); err != nil {
		t.Fatal(err)
	}
	f := s.runs[0]
	size, _ := f.Seek(0, io.SeekEnd)
	f.Truncate(size - 3)
	f.Seek(0, io.SeekStart)
	m, err := s.merge()
	if err == nil {
		err = m.each(func([]byte, uint64, []byte) error { return nil })
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a run cut short: %v", err)
	}
}
