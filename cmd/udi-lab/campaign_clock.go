package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// The clock campaign: the gateway's wall clock jumps back an hour, again
// and again, at random moments between scans. The machine's own clock
// cannot be moved without root on a shared machine, so the agent's is:
// udi-edge is restarted with UDI_EDGE_LAB_CLOCK_OFFSET=-1h (its core and
// its scanner's driver then run an hour behind), and restarted without
// it to put the clock right. The agent is the real udi-edge binary; its
// scanner is a pseudo-terminal the campaign scans on.
//
// After every round, the promises: every scan was accepted (none
// rejected, none failed); the ledger holds them in the order they were
// scanned, whatever their times; every movement recorded while the clock
// was behind is flagged clock-back with about an hour, and no other is;
// `udi-edge trace` says so on the movement's line; `udi-edge export
// epcis` carries udi:clockBack on its event and keeps the recorded time
// as eventTime; the ledger verifies intact.
func init() {
	registerCampaign(campaign{
		Name:    "clock",
		Summary: "the wall clock jumps back an hour: every scan recorded in order, flagged clock-back, shown by trace and the EPCIS export",
		Help: "Runs the real udi-edge with a scanner on a pseudo-terminal. Each round scans 1-4 items, restarts the\n" +
			"agent with its clock an hour back (UDI_EDGE_LAB_CLOCK_OFFSET=-1h), scans 1-4 more, and puts the clock\n" +
			"right again; a last few scans follow the last round. Checks that no scan is refused, the ledger keeps\n" +
			"the scanning order, every movement recorded behind is flagged clock-back (about an hour) and no other,\n" +
			"trace says so on its line, the EPCIS export carries udi:clockBack with the recorded eventTime, and the\n" +
			"ledger verifies.",
		Short: 3,
		Long:  20,
		Run:   runClockCampaign,
	})
}

// clockGTIN is the product the campaign receives, one serial per scan.
const clockGTIN = "09520123456788"

// clockJump is how far the clock jumps back.
const clockJump = time.Hour

// clockScan is one scan of the campaign and what became of it.
type clockScan struct {
	serial string
	behind bool // scanned while the clock was set back
	answer byte // 0 when none came
}

// clockLab is the campaign's gateway: the real udi-edge with the crash
// campaign's scanner and configuration, its clock set through the
// environment of each run.
type clockLab struct {
	r  *campaignRun
	a  *labAgent
	sc *labScanner
}

func runClockCampaign(ctx context.Context, r *campaignRun) error {
	bin, err := r.Binary(ctx, "udi-edge")
	if err != nil {
		return err
	}
	sc, err := newLabScanner(r.Dir)
	if err != nil {
		return err
	}
	defer sc.Close()
	a, err := newLabAgent(bin, r.Dir, "gw-clock", filepath.Join(r.Dir, "ledger.db"), sc, "", "")
	if err != nil {
		return err
	}
	lab := &clockLab{r: r, a: a, sc: sc}
	defer lab.close()
	if err := lab.start(ctx, 0); err != nil {
		return err
	}
	var scans []clockScan
	scanSome := func(n int, behind bool) error {
		for range n {
			s := clockScan{serial: fmt.Sprintf("C%05d", len(scans)+1), behind: behind}
			s.answer, err = lab.scan(clockLabel(s.serial))
			if err != nil {
				return err
			}
			scans = append(scans, s)
		}
		return nil
	}
	for round := range r.Rounds {
		if err := scanSome(1+r.Rand.IntN(4), false); err != nil {
			return err
		}
		r.Logf("round %d: the clock jumps back %s after scan %d", round+1, clockJump, len(scans))
		if err := lab.restart(ctx, -clockJump); err != nil {
			return err
		}
		if err := scanSome(1+r.Rand.IntN(4), true); err != nil {
			return err
		}
		if err := lab.restart(ctx, 0); err != nil {
			return err
		}
	}
	if err := scanSome(1+r.Rand.IntN(3), false); err != nil {
		return err
	}
	r.Figure("jumps", float64(r.Rounds), "", "", true)
	r.Figure("scans", float64(len(scans)), "", "", true)
	rejected := 0
	for _, s := range scans {
		if s.answer != ansAccepted {
			rejected++
			r.Failf("scan of %s answered %#x, want accepted (%#x)", s.serial, s.answer, ansAccepted)
		}
	}
	r.Figure("rejected", float64(rejected), "scans", "0", rejected == 0)
	// What the running agent says, then its stopped file.
	if err := lab.check(ctx, scans); err != nil {
		return err
	}
	if err := lab.stop(); err != nil {
		return err
	}
	out, errOut, err := lab.a.command(ctx, "verify")
	if err != nil {
		r.Failf("verify after the jumps: %v\n%s%s", err, out, errOut)
	}
	return nil
}

// clockLabel is a GS1 DataMatrix label of the campaign's product with
// serial, as a scanner sends it (AIM prefix, GS, CR).
func clockLabel(serial string) string {
	return "]d201" + clockGTIN + "17281231" + "10L1\x1d21" + serial + "\r"
}

// start runs `udi-edge run` with its clock offset by offset (0: the wall
// clock) and waits until its scanner's port is open.
func (l *clockLab) start(ctx context.Context, offset time.Duration) error {
	l.a.env = []string{edge.LabClockOffset + "="}
	if offset != 0 {
		l.a.env = []string{edge.LabClockOffset + "=" + offset.String()}
	}
	if err := l.a.start(); err != nil {
		return err
	}
	if err := l.a.waitScanner(ctx); err != nil {
		return fmt.Errorf("udi-edge run (clock offset %s): %w\n%s", offset, err, l.a.tail(4096))
	}
	return nil
}

// stop stops the agent with SIGTERM, as systemd does, and waits for it.
func (l *clockLab) stop() error {
	st, err := l.a.signal(syscall.SIGTERM)
	if err != nil {
		return err
	}
	if st != nil && !st.Success() {
		return fmt.Errorf("udi-edge run stopped with %v\n%s", st, l.a.tail(4096))
	}
	return nil
}

func (l *clockLab) restart(ctx context.Context, offset time.Duration) error {
	if err := l.stop(); err != nil {
		return err
	}
	return l.start(ctx, offset)
}

func (l *clockLab) close() {
	if l.a.running() {
		_, _ = l.a.signal(syscall.SIGKILL)
	}
}

// scan sends label as the scanner does and returns the answer byte, 0
// when none came.
func (l *clockLab) scan(label string) (byte, error) {
	b, err := l.sc.scan(label, l.a.exited())
	if errors.Is(err, errNoAnswer) {
		return 0, nil
	}
	return b, err
}

// check asks the running agent, with udi-edge's own commands, for what it
// recorded of scans, and holds it to the promises.
func (l *clockLab) check(ctx context.Context, scans []clockScan) error {
	r := l.r
	out, errOut, err := l.a.command(ctx, "trace", "--json", "--limit", strconv.Itoa(len(scans)+10), clockGTIN)
	if err != nil {
		return fmt.Errorf("trace --json: %v\n%s", err, errOut)
	}
	recorded := map[string]agent.Movement{} // by serial
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var j api.Movement
		if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
			return fmt.Errorf("trace --json line %q: %w", sc.Text(), err)
		}
		if j.Kind == "" {
			continue
		}
		m, err := j.Movement()
		if err != nil {
			return fmt.Errorf("trace --json line %q: %w", sc.Text(), err)
		}
		if _, dup := recorded[m.Serial]; dup {
			r.Failf("serial %s recorded twice", m.Serial)
		}
		recorded[m.Serial] = m
	}
	table, errOut, err := l.a.command(ctx, "trace", "--limit", strconv.Itoa(len(scans)+10), clockGTIN)
	if err != nil {
		return fmt.Errorf("trace: %v\n%s", err, errOut)
	}
	lines := map[uint64]string{}
	for _, line := range strings.Split(table, "\n") {
		if seq, ok := strings.CutPrefix(line, l.a.cfg.Gateway+"/"); ok {
			seq, _, _ = strings.Cut(seq, " ")
			if n, err := strconv.ParseUint(seq, 10, 64); err == nil {
				lines[n] = line
			}
		}
	}
	doc, errOut, err := l.a.command(ctx, "export", "epcis")
	if err != nil {
		return fmt.Errorf("export epcis: %v\n%s", err, errOut)
	}
	events, err := clockEvents(doc)
	if err != nil {
		return err
	}

	var unflagged, falseFlags, disorder, timeBack, traceMissing, exportMissing int
	var prev agent.Movement
	for i, s := range scans {
		m, ok := recorded[s.serial]
		if !ok {
			r.Failf("scan %d (%s) is not in the ledger", i+1, s.serial)
			disorder++
			continue
		}
		if m.Seq <= prev.Seq || m.Kind != agent.KindReceive {
			disorder++
			r.Failf("scan %d (%s) recorded as %s %d after %d: not in the order scanned", i+1, s.serial, m.Kind, m.Seq, prev.Seq)
		}
		if prev.Seq > 0 && m.Time.Before(prev.Time.Add(-clockJump/2)) {
			timeBack++
		}
		back, flagged := agent.ClockBack(m)
		switch {
		case s.behind && !flagged:
			unflagged++
			r.Failf("movement %d (%s), recorded with the clock %s back at %s, is not flagged: %v", m.Seq, s.serial, clockJump, m.Time, m.Flags)
		case s.behind && (back < clockJump-5*time.Minute || back > clockJump):
			r.Failf("movement %d (%s) flagged %s behind; the clock was %s back", m.Seq, s.serial, back, clockJump)
		case !s.behind && flagged:
			falseFlags++
			r.Failf("movement %d (%s), recorded with the clock right, is flagged %v", m.Seq, s.serial, m.Flags)
		}
		line := lines[m.Seq]
		if flagged != strings.Contains(line, "CLOCK SET BACK") || line == "" {
			traceMissing++
			r.Failf("trace's line of movement %d (flagged: %v) does not say so: %q", m.Seq, flagged, line)
		}
		ev, ok := events[m.Seq]
		switch {
		case !ok:
			exportMissing++
			r.Failf("export epcis has no event of movement %d", m.Seq)
		case ev.ClockBack != clockDuration(back, flagged) || !ev.Time.Equal(m.Time.Truncate(time.Millisecond)):
			exportMissing++
			r.Failf("export epcis: movement %d at %s (clock-back %s) exported at %s with udi:clockBack %q",
				m.Seq, m.Time, back, ev.Time, ev.ClockBack)
		}
		prev = m
	}
	if timeBack != r.Rounds {
		r.Failf("the ledger's times went back %d times, for %d jumps: the clock did not jump as set", timeBack, r.Rounds)
	}
	r.Figure("unflagged jumped movements", float64(unflagged), "movements", "0", unflagged == 0)
	r.Figure("flagged with the clock right", float64(falseFlags), "movements", "0", falseFlags == 0)
	r.Figure("out of scanning order", float64(disorder), "movements", "0", disorder == 0)
	r.Figure("trace lines not saying so", float64(traceMissing), "lines", "0", traceMissing == 0)
	r.Figure("export events without udi:clockBack", float64(exportMissing), "events", "0", exportMissing == 0)
	return nil
}

// clockDuration is the udi:clockBack an event of a movement flagged back
// by d must carry; "" when not flagged.
func clockDuration(d time.Duration, flagged bool) string {
	if !flagged {
		return ""
	}
	return "PT" + strconv.FormatInt(int64(d/time.Second), 10) + "S"
}

// clockEvent is what the campaign reads of an EPCIS event.
type clockEvent struct {
	Time      time.Time
	ClockBack string
}

// clockEvents reads an EPCIS document's events by udi:seq.
func clockEvents(doc string) (map[uint64]clockEvent, error) {
	var d struct {
		Body struct {
			Events []struct {
				Seq       uint64 `json:"udi:seq"`
				Time      string `json:"eventTime"`
				ClockBack string `json:"udi:clockBack"`
			} `json:"eventList"`
		} `json:"epcisBody"`
	}
	if err := json.NewDecoder(io.LimitReader(strings.NewReader(doc), 64<<20)).Decode(&d); err != nil {
		return nil, fmt.Errorf("export epcis: not a JSON document: %w", err)
	}
	out := map[uint64]clockEvent{}
	for _, e := range d.Body.Events {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil {
			return nil, fmt.Errorf("export epcis: event %d: eventTime %q: %w", e.Seq, e.Time, err)
		}
		out[e.Seq] = clockEvent{Time: t, ClockBack: e.ClockBack}
	}
	return out, nil
}
