package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader"
)

func init() {
	registerCampaign(campaign{
		Name:    "devices",
		Summary: "scanners and RFID readers unplugged and plugged back in at random moments",
		Help: "Runs the real udi-edge with a barcode scanner (a receiving desk) and a Mercury RFID\n" +
			"reader on a cabinet shelf, both on pseudo-terminals reached through stable links as udev\n" +
			"gives them. Each round pulls the scanner, the reader or both at a random moment (a tag\n" +
			"just put on the shelf, a label half sent), leaves them out for a random time and plugs\n" +
			"them back in under the same path. Checks: every scan after a replug is answered accepted\n" +
			"and is in the ledger; a label cut off by the unplug never becomes an item; tag reads\n" +
			"resume (the tag put on the shelf is recorded); the tags that stayed on the shelf are not\n" +
			"reported taken out while the reader was away; verify passes. Figures: the time from\n" +
			"replug to the first accepted scan (median goal < 1 s, p90, max), to the first tag recorded.",
		Short: 8, Long: 20,
		Run: runDevices,
	})
}

// devicesGTIN is the product of the labels scanned at the desk (serials
// "D…"; the diskfull campaign's "F…"); the tags on the shelf are the
// crash campaign's cabinet's (labCabinet).
const devicesGTIN = "09520123456788"

// devicesLab is one run of the devices campaign.
type devicesLab struct {
	r  *campaignRun
	e  *labEdge
	sc *usbScanner
	rd *labCabinet // its tags' items in rd.placed

	labels      int      // labels scanned so far (their serials)
	accepted    []string // items of the scans answered accepted
	cut         []string // items a label cut off by an unplug would name
	unanswered  int      // scans sent to a connected scanner and not answered
	notAccepted int      // scans answered otherwise than accepted
	tagsMissed  int      // tags put on the shelf and never recorded
	replugs     int
	toScan      []time.Duration // replug to the first accepted scan
	toTag       []time.Duration // replug to the first tag recorded
}

// devicesMaxDown is how long a device stays unplugged at most.
func devicesMaxDown(long bool) time.Duration {
	if long {
		return 8 * time.Second
	}
	return 3 * time.Second
}

func runDevices(ctx context.Context, r *campaignRun) error {
	sc, err := newUSBScanner(filepath.Join(r.Dir, "scanner-desk"))
	if err != nil {
		return err
	}
	defer sc.Unplug()
	rd, err := newLabCabinet(r.Dir, r.Rand.Uint64())
	if err != nil {
		return err
	}
	defer rd.Close()

	cfg := labConfig(r.Dir)
	cfg.Scanners = []edge.ScannerConfig{{ID: "desk", Device: sc.link, Location: "warehouse", Kind: "receive", Feedback: labFeedback}}
	cfg.Readers = []edge.ReaderConfig{{ID: "cab", Type: "mercury", Device: rd.Path(), Baud: 115200, Region: "PRC",
		Antennas: []edge.AntennaConfig{{Port: 1, Zone: "cab1"}}}}
	cfg.Zones = []edge.ZoneConfig{{Name: "cab1", Location: "cabinet-1", Role: "cabinet", Round: edge.Duration(250 * time.Millisecond)}}
	e, err := startLabEdge(ctx, r, cfg)
	if err != nil {
		return err
	}
	defer e.Stop()
	d := &devicesLab{r: r, e: e, sc: sc, rd: rd}

	// Three tags on the shelf before the first fault, recorded.
	for range 3 {
		if err := rd.place(); err != nil {
			return err
		}
	}
	for _, t := range rd.placed {
		if _, err := d.waitTag(ctx, t, time.Now()); err != nil {
			return err
		}
	}
	for i := range r.Rounds {
		if err := d.round(ctx, i); err != nil {
			return err
		}
	}
	return d.finish(ctx)
}

// round is one fault: the scanner, the reader or both pulled at a random
// moment, left out for a random time, plugged back in.
func (d *devicesLab) round(ctx context.Context, i int) error {
	r := d.r
	which := r.Rand.IntN(3) // 0 the scanner, 1 the reader, 2 both
	down := 50*time.Millisecond + time.Duration(r.Rand.Int64N(int64(devicesMaxDown(r.Long))))
	for range 1 + r.Rand.IntN(2) {
		if err := d.scan(ctx); err != nil {
			return err
		}
	}
	newTag := ""
	if which != 0 {
		// A tag goes on the shelf a moment before the reader's cable
		// goes: it may not have been read yet.
		if err := d.rd.place(); err != nil {
			return err
		}
		newTag = d.rd.placed[len(d.rd.placed)-1]
		if err := reader.SleepContext(ctx, time.Duration(r.Rand.IntN(400))*time.Millisecond); err != nil {
			return err
		}
		d.rd.Unplug()
	}
	cut := false
	if which != 1 {
		// Half the time the cable goes in the middle of a label.
		if cut = r.Rand.IntN(2) == 0; cut {
			d.cutScan()
		}
		d.sc.Unplug()
	}
	r.Logf("round %d: %s unplugged for %v%s", i+1, [...]string{"scanner", "reader", "scanner and reader"}[which],
		down.Round(time.Millisecond), map[bool]string{true: ", in the middle of a label"}[cut])
	// The other device works on meanwhile.
	if which == 1 {
		if err := reader.SleepContext(ctx, down/2); err != nil {
			return err
		}
		if err := d.scan(ctx); err != nil {
			return err
		}
		down -= down / 2
	}
	if err := reader.SleepContext(ctx, down); err != nil {
		return err
	}
	var readerBack time.Time
	if which != 0 {
		if err := d.rd.Replug(); err != nil {
			return fmt.Errorf("replug the reader: %w", err)
		}
		readerBack = time.Now()
		d.replugs++
	}
	if which != 1 {
		if err := d.sc.Plug(); err != nil {
			return err
		}
		back := time.Now()
		d.replugs++
		if _, err := d.e.waitConnected(ctx, 30*time.Second, "desk"); err != nil {
			d.r.Failf("round %d: the scanner was not opened again: %v", i+1, err)
		} else if ok, err := d.scanOK(ctx); err != nil {
			return err
		} else if ok {
			d.toScan = append(d.toScan, time.Since(back))
		}
	}
	if which != 0 {
		took, err := d.waitTag(ctx, newTag, readerBack)
		if err != nil {
			d.tagsMissed++
			d.r.Failf("round %d: tag reads did not resume after the replug: %v", i+1, err)
		} else {
			d.toTag = append(d.toTag, took)
		}
	}
	return nil
}

// scan scans the next label at the desk; a scan not answered accepted is
// a broken promise.
func (d *devicesLab) scan(ctx context.Context) error {
	_, err := d.scanOK(ctx)
	return err
}

// scanOK is scan, saying whether the scan was accepted; its error is the
// context's.
func (d *devicesLab) scanOK(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	d.labels++
	serial := fmt.Sprintf("D%04d", d.labels)
	b, err := d.sc.Scan(labLabel(devicesGTIN, serial), 5*time.Second)
	switch {
	case err != nil:
		d.unanswered++
		d.r.Failf("scan %s: %v", serial, err)
	case b != ansAccepted:
		d.notAccepted++
		d.r.Failf("scan %s answered %s, want accepted", serial, answerName(b))
	default:
		d.accepted = append(d.accepted, labItem(devicesGTIN, serial))
		return true, nil
	}
	return false, nil
}

// cutScan sends a label cut off somewhere in its serial, without its
// suffix, as the cable goes: what arrived names another item (a shorter
// serial) and must not be recorded as one.
func (d *devicesLab) cutScan() {
	d.labels++
	serial := fmt.Sprintf("D%04d", d.labels)
	label := labLabel(devicesGTIN, serial)
	keep := len(label) - 1 - d.r.Rand.IntN(len(serial)-1) // at least "D" of the serial
	_ = d.sc.Send([]byte(label[:keep]))
	d.cut = append(d.cut, labItem(devicesGTIN, serial[:len(serial)-(len(label)-keep)]))
}

// waitTag waits until the ledger holds a movement of item's tag recorded
// by the reader, and returns how long after since that was.
func (d *devicesLab) waitTag(ctx context.Context, item string, since time.Time) (time.Duration, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res, err := d.e.api.Trace(tctx, core.TraceQuery{Key: item})
		cancel()
		if err == nil && slices.ContainsFunc(res.Movements, func(m agent.Movement) bool { return m.Station == "cab" }) {
			return time.Since(since), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("tag of %s not recorded within 20s of the replug (last answer: %v)", item, err)
		}
		if err := reader.SleepContext(ctx, 20*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// finish stops the agent and checks its ledger: every accepted scan is
// there, no cut-off label became an item, every tag was recorded and none
// was reported taken out; verify passes. Then the figures.
func (d *devicesLab) finish(ctx context.Context) error {
	r := d.r
	st, err := d.e.status(ctx)
	if err != nil {
		return err
	}
	var missedAnswers uint64
	for _, dev := range st.Devices {
		missedAnswers += dev.Missed
	}
	if err := d.e.Stop(); err != nil {
		return err
	}
	verifyFailures := 0
	if out, err := d.e.Run(ctx, "verify"); err != nil {
		verifyFailures++
		r.Failf("udi-edge verify after the campaign: %v\n%s", err, out)
	}
	ms, err := d.e.Movements()
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	received, byReader := map[string]bool{}, map[string]bool{}
	items := map[string]bool{}
	falseRemovals := 0
	for _, m := range ms {
		items[m.Item] = true
		switch {
		case m.Station == "desk" && m.Kind == agent.KindReceive:
			received[m.Item] = true
		case m.Station == "cab" && (m.Kind == agent.KindStock || m.Kind == agent.KindCount):
			byReader[m.Item] = true
		case m.Station == "cab" && m.Kind == agent.KindIssue,
			m.Kind == agent.KindContext && slices.Contains(m.Flags, cabinet.FlagRemovedNotLinked):
			falseRemovals++
			r.Failf("%s reported taken out of %s (movement %d, %s) though it never left the shelf", m.Item, m.Location, m.Seq, m.Reason)
		}
	}
	lost := 0
	for _, it := range d.accepted {
		if !received[it] {
			lost++
			r.Failf("scan of %s was answered accepted and is not in the ledger", it)
		}
	}
	cutRecorded := 0
	for _, it := range d.cut {
		if items[it] {
			cutRecorded++
			r.Failf("a label cut off by the unplug was recorded as item %s", it)
		}
	}
	for _, it := range d.rd.placed {
		if !byReader[it] {
			r.Failf("the tag of %s on the shelf is not in the ledger", it)
		}
	}
	r.Figure("replugs", float64(d.replugs), "", "", true)
	r.Figure("scans answered accepted", float64(len(d.accepted)), "", "", true)
	med := labQuantile(d.toScan, 0.5)
	r.Figure("median re-plug to accepted", med.Seconds(), "s", "< 1", len(d.toScan) > 0 && med < time.Second)
	r.Figure("p90 re-plug to accepted", labQuantile(d.toScan, 0.9).Seconds(), "s", "", true)
	r.Figure("max re-plug to accepted", labQuantile(d.toScan, 1).Seconds(), "s", "", true)
	r.Figure("unanswered scans", float64(d.unanswered), "", "0", d.unanswered == 0)
	r.Figure("scans not accepted", float64(d.notAccepted), "", "0", d.notAccepted == 0)
	r.Figure("accepted scans not in the ledger", float64(lost), "", "0", lost == 0)
	r.Figure("cut-off labels recorded as items", float64(cutRecorded), "", "0", cutRecorded == 0)
	r.Figure("answers lost to an unplug", float64(missedAnswers), "", "", true)
	r.Figure("median re-plug to tag recorded", labQuantile(d.toTag, 0.5).Seconds(), "s", "", true)
	r.Figure("max re-plug to tag recorded", labQuantile(d.toTag, 1).Seconds(), "s", "", true)
	r.Figure("tags not recorded after re-plug", float64(d.tagsMissed), "", "0", d.tagsMissed == 0)
	r.Figure("tags falsely reported taken out", float64(falseRemovals), "", "0", falseRemovals == 0)
	r.Figure("verify failures", float64(verifyFailures), "", "0", verifyFailures == 0)
	return nil
}
