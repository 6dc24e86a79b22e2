package nationaldb

import (
	"errors"
	"reflect"
	"testing"
)

// TestPipe: every record reaches the writer, in order, in batches of the
// size asked (the last one shorter); after a write fails, add returns its
// error and no later batch is written.
func TestPipe(t *testing.T) {
	var got [][]int
	p := startPipe(3, func(b []int) error {
		got = append(got, append([]int(nil), b...))
		return nil
	})
	for i := range 8 {
		if err := p.add(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.close(false); err != nil {
		t.Fatal(err)
	}
	if want := [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("batches %v, want %v", got, want)
	}

	boom := errors.New("disk full")
	writes := 0
	p = startPipe(2, func(b []int) error {
		writes++
		return boom
	})
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = p.add(i)
	}
	if !errors.Is(err, boom) || !errors.Is(p.close(false), boom) || writes != 1 {
		t.Fatalf("after a failed write: add %v, %d writes", err, writes)
	}

	// Abandoned: what is left is not written.
	got = nil
	p = startPipe(4, func(b []int) error { got = append(got, b); return nil })
	p.add(1)
	if err := p.close(true); err != nil || got != nil {
		t.Fatalf("abandoned: %v %v", got, err)
	}
}
