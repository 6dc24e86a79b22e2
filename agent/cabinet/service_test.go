package cabinet_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// shelf reads a cabinet's tags for its reader, as a streaming reader
// does, until it is stopped.
type shelf struct {
	mu     sync.Mutex
	tags   [][]byte
	reader bool
}

func (sh *shelf) set(reading bool, tags ...[]byte) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.reader, sh.tags = reading, tags
}

func (sh *shelf) stream(ctx context.Context, s *cabinet.Service) {
	for ctx.Err() == nil {
		sh.mu.Lock()
		if sh.reader {
			for _, e := range sh.tags {
				s.Offer(agent.TagRead{Reader: "r1", Antenna: 1, EPC: e, Time: time.Now()})
			}
		}
		sh.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReaderDownCountsNoRound: a cabinet whose reader is not reading
// (not connected yet at start, or unplugged later) reports none of its
// tags taken out, however many of its rounds pass; once the reader is up
// again, a tag really taken out is reported, and only that one.
func TestReaderDownCountsNoRound(t *testing.T) {
	stayEPC, _ := epc.EncodeSGTIN96("09520123456788", "1", 1, 7)
	takenEPC, _ := epc.EncodeSGTIN96("09520123456788", "2", 1, 7)
	stay, taken := epc.Key(stayEPC), epc.Key(takenEPC)
	l := &testkit.MemLedger{}
	// The ledger says both are on the shelf: restored at start.
	for _, it := range []string{stay, taken} {
		l.Add(agent.Movement{Kind: agent.KindCount, Item: it, Symbology: agent.SymbologyEPC, Station: "r1", Antenna: 1, Location: "cabinet-1"})
	}
	const round = 20 * time.Millisecond
	s, err := cabinet.New(cabinet.Config{
		Zones: []cabinet.Zone{{Name: "cab1", Location: "cabinet-1", Role: presence.RoleCabinet}},
		Presence: presence.Config{MissRounds: 3, RescanRounds: 1,
			Zones: map[string]presence.ZoneConfig{"cab1": {Role: presence.RoleCabinet, RoundLength: round}}},
		Antennas: map[string]map[int]string{"r1": {1: "cab1"}},
	}, l, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.ReaderState("r1", false) // not connected yet
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, nil)
	}()
	sh := &shelf{}
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		sh.stream(ctx, s)
	}()
	defer func() {
		cancel()
		<-done
		<-streamed
	}()

	issued := func() []string {
		var out []string
		for _, m := range l.All() {
			if m.Kind == agent.KindIssue {
				out = append(out, m.Item)
			}
		}
		return out
	}
	// The tracker's rounds end every 100 ms at most (its tick): fifteen
	// of them without a read would remove every tag five times over.
	holds := func(when string) {
		t.Helper()
		before := len(issued())
		for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if got := issued(); len(got) > before {
				t.Fatalf("%s: %v reported taken out", when, got[before:])
			}
		}
		inv, err := s.Inventory(ctx, "cab1")
		if err != nil || !slices.Contains(inv, stay) {
			t.Fatalf("%s: inventory %v, %v", when, inv, err)
		}
	}
	holds("reader not connected yet")

	// The reader comes up; one item was taken meanwhile.
	sh.set(true, stayEPC)
	s.ReaderState("r1", true)
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := issued(); !slices.Equal(got, []string{taken}) {
			return fmt.Errorf("taken out: %v, want %s", got, taken)
		}
		return nil
	})

	// The reader is unplugged: the item that stays is not taken out.
	sh.set(false)
	s.ReaderState("r1", false)
	holds("reader unplugged")
}
