package web

import (
	"errors"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/station"
)

// MaxScans is how many of a station's last scans the page shows.
const MaxScans = 20

// maxPending bounds the uses a station's page offers to justify.
const maxPending = 8

// Scan is one scan at a station as the page shows it. It never holds a
// patient identifier unmasked.
type Scan struct {
	Seq      uint64
	Time     time.Time
	Kind     agent.Kind
	Verdict  agent.Verdict
	Decision string
	Item     string
	// Product is the product key the catalogue knows the item by.
	Product string
	Reason  string
	Flags   []string
	Case    string
	// Patient is masked (MaskPatient).
	Patient string
	Actor   string
	// Err is the ledger's error for an unrecorded scan; DiskFull says the
	// ledger's file system was full (no space, or over quota).
	Err      string
	DiskFull bool
}

// stationState is what the page knows of one station: its open case,
// its last scans and the uses waiting for a justification. It follows
// the station's outcomes as they are told (as the station's own context
// does, which starts empty with the agent), after the scans recorded
// before the page first looked (seeded from the ledger).
type stationState struct {
	seeded  bool
	scans   []Scan // oldest first
	pending []Scan // uses pending a justification, oldest first
}

// tracker holds every station's state. update runs on the ledger's
// writer goroutine: the lock is held only to copy small values.
type tracker struct {
	mu sync.Mutex
	m  map[string]*stationState
}

func (t *tracker) get(station string) *stationState {
	if t.m == nil {
		t.m = map[string]*stationState{}
	}
	st := t.m[station]
	if st == nil {
		st = &stationState{}
		t.m[station] = st
	}
	return st
}

// scanOf is the page's view of an outcome, its patient masked.
func scanOf(o agent.Outcome) Scan {
	m := o.Movement
	s := Scan{Seq: m.Seq, Time: m.Time, Kind: m.Kind, Verdict: o.Verdict, Decision: m.Decision, Item: m.Item,
		Reason: m.Reason, Flags: m.Flags, Case: m.Case, Patient: MaskPatient(m.Patient), Actor: m.Actor}
	if m.Item != "" {
		s.Product = lifecycle.Product(m)
	}
	if o.Err != nil {
		s.Err = o.Err.Error()
		s.DiskFull = errors.Is(o.Err, syscall.ENOSPC) || errors.Is(o.Err, syscall.EDQUOT)
	}
	return s
}

// update folds the outcome of a scan at station into its state.
func (t *tracker) update(station string, o agent.Outcome) {
	s := scanOf(o)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.get(station).add(s, false)
}

// add folds s into the state; readBack says it was read back from the
// ledger (seed), not told live.
func (st *stationState) add(s Scan, readBack bool) {
	if s.Seq != 0 && slices.ContainsFunc(st.scans, func(x Scan) bool { return x.Seq == s.Seq }) {
		return
	}
	if slices.Contains(s.Flags, agent.FlagJustification) {
		st.pending = slices.DeleteFunc(st.pending, func(x Scan) bool { return x.Item == s.Item })
	} else if s.Kind == agent.KindUse && s.Decision == agent.DecisionPending && s.Seq != 0 {
		st.pending = slices.DeleteFunc(st.pending, func(x Scan) bool { return x.Item == s.Item })
		if len(st.pending) == maxPending {
			st.pending = st.pending[1:]
		}
		st.pending = append(st.pending, s)
	}
	// In the order recorded: a scan read back from the ledger may come
	// after one told live. An unrecorded scan (no Seq) stays where it
	// came. A scan read back that was not told live was recorded before
	// the page heard anything (a restarted agent): it goes before every
	// scan told live, unrecorded ones included, not after them.
	at := len(st.scans)
	if !readBack {
		for s.Seq != 0 && at > 0 && st.scans[at-1].Seq > s.Seq {
			at--
		}
	} else if i := slices.IndexFunc(st.scans, func(x Scan) bool { return x.Seq == 0 || x.Seq > s.Seq }); i >= 0 {
		at = i
	}
	st.scans = slices.Insert(st.scans, at, s)
	if len(st.scans) > MaxScans {
		st.scans = slices.Delete(st.scans, 0, len(st.scans)-MaxScans)
	}
}

// view is a copy of a station's state: its case and badge (the station's
// own context, from the core), its last scans and pending uses.
type view struct {
	Open    bool
	Case    string
	Patient string
	Actor   string
	Scans   []Scan // newest first
	Pending []Scan
}

func (t *tracker) view(id string, c station.Context) view {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.get(id)
	v := view{Open: c.Open(), Case: c.Case, Patient: MaskPatient(c.Patient), Actor: c.Actor,
		Pending: slices.Clone(st.pending), Scans: make([]Scan, 0, len(st.scans))}
	for i := len(st.scans) - 1; i >= 0; i-- {
		v.Scans = append(v.Scans, st.scans[i])
	}
	return v
}

// seed folds the movements recorded at station before the page looked,
// once: its scans and pending uses (never its case: the station's own
// context starts empty with the agent).
func (t *tracker) seed(station string, ms []agent.Movement) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.get(station)
	if st.seeded {
		return
	}
	st.seeded = true
	for _, m := range ms {
		st.add(scanOf(agent.OutcomeOf(m, nil)), true)
	}
}

// seededAlready reports whether station's state was seeded.
func (t *tracker) seededAlready(station string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.get(station).seeded
}

// settle forgets the pending uses of station that are pending no longer
// (justified elsewhere: the command line, another screen).
func (t *tracker) settle(station string, stillPending func(Scan) bool) {
	t.mu.Lock()
	ps := slices.Clone(t.get(station).pending)
	t.mu.Unlock()
	var done []uint64
	for _, p := range ps {
		if !stillPending(p) {
			done = append(done, p.Seq)
		}
	}
	if len(done) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.get(station)
	st.pending = slices.DeleteFunc(st.pending, func(x Scan) bool { return slices.Contains(done, x.Seq) })
}

// MaskPatient masks a patient identifier for a screen: only its last
// characters show (4 of 8 or more, half of a shorter one), the rest are
// bullets. "" stays "".
func MaskPatient(id string) string {
	r := []rune(id)
	if len(r) == 0 {
		return ""
	}
	keep := min(4, len(r)/2)
	out := make([]rune, 0, len(r))
	for range len(r) - keep {
		out = append(out, '•')
	}
	return string(append(out, r[len(r)-keep:]...))
}
