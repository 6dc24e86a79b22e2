package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader"
)

func init() {
	registerCampaign(campaign{
		Name:    "diskfull",
		Summary: "the ledger's disk filled up while scans arrive, then space returned",
		Help: "Runs the real udi-edge with its ledger on a size-limited tmpfs (and, with --long, on a\n" +
			"loop-mounted ext4 image as well) and a pty scanner at a receiving desk. Each round fills\n" +
			"the file system with a filler file and scans until the ledger refuses, scans on while it\n" +
			"is full, then returns the space (removes the filler, or remounts the tmpfs larger) and\n" +
			"scans again, without restarting the agent. Checks: every refused scan is answered failed\n" +
			"at the scanner, shows its reason on the station page and is logged; nothing refused is\n" +
			"on disk; verify passes while full and after; scans are accepted again once there is\n" +
			"space; nothing accepted before was lost. Needs root (mount); skipped otherwise.",
		Short: 1, Long: 5,
		Run: runDiskfull,
	})
}

// diskfullSize is the tmpfs's size, and the ext4 image's.
const diskfullSize = 16 << 20

// diskfullLab is one run of the diskfull campaign, over every file system.
type diskfullLab struct {
	r      *campaignRun
	labels int

	refused, unreasoned, unanswered int
	refusedSerials                  []string // serials of refused scans not scanned again
	accepted                        []string // serials of accepted scans
	lost, onDisk, verifyFailures    int
	restarts, restartFailures       int             // restarts on a full disk, and those that failed
	toAccepted                      []time.Duration // space returned to the first accepted scan
}

func runDiskfull(ctx context.Context, r *campaignRun) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: mounting a size-limited file system needs root", errCampaignSkipped)
	}
	d := &diskfullLab{r: r}
	if err := d.onFS(ctx, "tmpfs"); err != nil {
		return err
	}
	if r.Long {
		if _, err := exec.LookPath("mkfs.ext4"); err != nil {
			r.Logf("ext4 skipped: mkfs.ext4 not found")
			r.Figure("ext4 skipped (no mkfs.ext4)", 1, "", "", true)
		} else if err := d.onFS(ctx, "ext4"); err != nil {
			if !errors.Is(err, errCampaignSkipped) {
				return err
			}
			r.Logf("ext4 skipped: %v", err)
			r.Figure("ext4 skipped (no loop mount)", 1, "", "", true)
		}
	}
	return d.figures()
}

// labDisk is a small file system mounted for a campaign.
type labDisk struct {
	kind, dir, image string
}

// mountLabDisk mounts a file system of kind (tmpfs, or ext4 on a loop
// device) of diskfullSize bytes at dir. A failure to mount wraps
// errCampaignSkipped: the machine does not allow it.
func mountLabDisk(ctx context.Context, kind, dir string) (*labDisk, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	d := &labDisk{kind: kind, dir: dir}
	var out []byte
	var err error
	switch kind {
	case "tmpfs":
		out, err = exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", diskfullSize), "udi-lab", dir).CombinedOutput()
	case "ext4":
		d.image = dir + ".img"
		os.Remove(d.image)
		if err := os.WriteFile(d.image, nil, 0o600); err != nil {
			return nil, err
		}
		if err := os.Truncate(d.image, diskfullSize); err != nil {
			return nil, err
		}
		// No blocks reserved for root: the agent runs as root here.
		if out, err = exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-m", "0", d.image).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%w: mkfs.ext4: %v: %s", errCampaignSkipped, err, out)
		}
		out, err = exec.CommandContext(ctx, "mount", "-o", "loop", d.image, dir).CombinedOutput()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: mount %s: %v: %s", errCampaignSkipped, kind, err, strings.TrimSpace(string(out)))
	}
	return d, nil
}

// unmount unmounts the file system (lazily if something still holds it)
// and removes its image.
func (d *labDisk) unmount() error {
	var err error
	for range 20 {
		var out []byte
		if out, err = exec.Command("umount", d.dir).CombinedOutput(); err == nil {
			break
		}
		err = fmt.Errorf("umount %s: %v: %s", d.dir, err, strings.TrimSpace(string(out)))
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		if out, lerr := exec.Command("umount", "-l", d.dir).CombinedOutput(); lerr != nil {
			err = fmt.Errorf("%w; umount -l: %v: %s", err, lerr, out)
		}
	}
	if d.image != "" {
		os.Remove(d.image)
	}
	return err
}

// free returns the file system's free bytes.
func (d *labDisk) free() int64 {
	var st syscall.Statfs_t
	if syscall.Statfs(d.dir, &st) != nil {
		return -1
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a filler file until the file system has no more than
// slack bytes free (none: full).
func (d *labDisk) fill(slack int64) error {
	f, err := os.OpenFile(filepath.Join(d.dir, "filler"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		for d.free()-int64(chunk) >= slack || slack == 0 {
			if _, err := f.Write(buf[:chunk]); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					return err
				}
				break
			}
		}
	}
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	return nil
}

// unfill returns the space: the filler removed, or (a tmpfs, when grow)
// the file system remounted larger with the filler kept. It says which.
func (d *labDisk) unfill(ctx context.Context, grow bool) (string, error) {
	if grow && d.kind == "tmpfs" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(d.dir, &st); err != nil {
			return "", err
		}
		size := int64(st.Blocks)*st.Bsize + diskfullSize
		if out, err := exec.CommandContext(ctx, "mount", "-o", fmt.Sprintf("remount,size=%d", size), d.dir).CombinedOutput(); err != nil {
			return "", fmt.Errorf("remount %s larger: %v: %s", d.dir, err, out)
		}
		return "remounted larger", nil
	}
	return "filler removed", os.Remove(filepath.Join(d.dir, "filler"))
}

// onFS runs the campaign's rounds with the ledger on a file system of kind.
func (d *diskfullLab) onFS(ctx context.Context, kind string) (err error) {
	r := d.r
	disk, err := mountLabDisk(ctx, kind, filepath.Join(r.Dir, kind))
	if err != nil {
		return err
	}
	var e *labEdge
	defer func() {
		if e != nil {
			if serr := e.Stop(); serr != nil && err == nil {
				err = serr
			}
		}
		if uerr := disk.unmount(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	sc, err := newUSBScanner(filepath.Join(r.Dir, "scanner-"+kind))
	if err != nil {
		return err
	}
	defer sc.Unplug()
	page, err := freeLoopback()
	if err != nil {
		return err
	}
	cfg := labConfig(r.Dir)
	cfg.Store = filepath.Join(disk.dir, "ledger.db")
	cfg.Page.Listen = &page
	cfg.Page.Lang = "en"
	cfg.Scanners = []edge.ScannerConfig{{ID: "desk", Device: sc.link, Location: "warehouse", Kind: "receive", Feedback: labFeedback}}
	if e, err = startLabEdge(ctx, r, cfg); err != nil {
		return err
	}
	r.Logf("%s: ledger on %s (%d MiB), %d KiB free", kind, disk.dir, diskfullSize>>20, disk.free()>>10)
	for range 3 {
		if _, err := d.scan(sc, ""); err != nil {
			return err
		}
	}
	for i := range r.Rounds {
		if err := d.round(ctx, kind, i, e, sc, disk, page); err != nil {
			return err
		}
	}
	if err := e.Stop(); err != nil {
		return err
	}
	// The log says why scans were refused; it writes ten lines of one
	// error a minute, and then how many it left out (cli.LogBurst).
	if log := e.logs.String(); !strings.Contains(log, `"msg":"scan not recorded: scan again"`) || !strings.Contains(log, "no space left on device") {
		r.Failf("%s: the agent's log does not say scans were refused for a full disk:\n%s", kind, e.tail(800))
	}
	if out, err := e.Run(ctx, "verify"); err != nil {
		d.verifyFailures++
		r.Failf("%s: udi-edge verify of the stopped agent's ledger: %v\n%s", kind, err, out)
	}
	return d.check(kind, e)
}

// round fills the disk, scans until the ledger refuses and on while it
// is full, returns the space and scans until a scan is accepted again.
func (d *diskfullLab) round(ctx context.Context, kind string, i int, e *labEdge, sc *usbScanner, disk *labDisk, page string) error {
	r := d.r
	// The filler leaves up to 256 KiB for the ledger to fill with scans.
	if err := disk.fill(r.Rand.Int64N(256 << 10)); err != nil {
		return fmt.Errorf("%s: fill: %w", kind, err)
	}
	// Scan until the ledger refuses: the last free space, then the pages
	// bbolt freed inside its file, still take some.
	refusedHere, into := 0, 0
	for n := 0; refusedHere == 0; n++ {
		if n == 20000 {
			return fmt.Errorf("%s round %d: 20000 scans accepted on a disk filled but for %d KiB", kind, i+1, disk.free()>>10)
		}
		ok, err := d.scan(sc, "")
		if err != nil {
			return err
		}
		if ok {
			into++
		} else {
			refusedHere++
		}
	}
	// Full: every scan now is refused.
	for range 4 + r.Rand.IntN(4) {
		ok, err := d.scan(sc, "")
		if err != nil {
			return err
		}
		if !ok {
			refusedHere++
		}
	}
	r.Logf("%s round %d: %d scans accepted into the last space, then %d refused on a full disk (%d KiB free)", kind, i+1, into, refusedHere, disk.free()>>10)
	d.checkPage(kind, page, refusedHere)
	if out, err := e.Run(ctx, "verify"); err != nil {
		d.verifyFailures++
		r.Failf("%s round %d: udi-edge verify while the disk is full: %v\n%s", kind, i+1, err, out)
	}
	started := true
	if i%2 == 0 {
		// The power goes while the disk is full; the gateway boots on it.
		if err := e.Kill(); err != nil {
			return err
		}
		d.restarts++
		if err := e.start(ctx); err != nil {
			started = false
			d.restartFailures++
			r.Failf("%s round %d: the agent did not start again on a full disk: %v", kind, i+1, err)
		} else if _, err := d.scan(sc, ""); err != nil {
			return err
		} else if out, err := e.Run(ctx, "verify"); err != nil {
			d.verifyFailures++
			r.Failf("%s round %d: udi-edge verify after a restart on a full disk: %v\n%s", kind, i+1, err, out)
		}
	}
	how, err := disk.unfill(ctx, r.Rand.IntN(2) == 0)
	if err != nil {
		return err
	}
	if !started {
		if err := e.start(ctx); err != nil {
			return fmt.Errorf("%s round %d: the agent did not start once space returned: %w", kind, i+1, err)
		}
	}
	back := time.Now()
	// The nurse scans the refused label again, as the station asks, until
	// it is accepted.
	retry := d.refusedSerials[len(d.refusedSerials)-1]
	for {
		d.refusedSerials = slices.DeleteFunc(d.refusedSerials, func(s string) bool { return s == retry })
		ok, err := d.scan(sc, retry)
		if err != nil {
			return err
		}
		if ok {
			d.toAccepted = append(d.toAccepted, time.Since(back))
			break
		}
		if time.Since(back) > 10*time.Second {
			r.Failf("%s round %d: no scan accepted within 10s of the space returning (%s)", kind, i+1, how)
			break
		}
		if err := reader.SleepContext(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	for range 3 {
		if ok, err := d.scan(sc, ""); err != nil {
			return err
		} else if !ok {
			r.Failf("%s round %d: a scan refused after the space returned (%s)", kind, i+1, how)
		}
	}
	r.Logf("%s round %d: space returned (%s): accepted again after %v", kind, i+1, how, time.Since(back).Round(time.Millisecond))
	return nil
}

// scan scans a label with serial (a new one when "") and says whether it
// was accepted; a scan not answered at all, or answered neither accepted
// nor failed, is a broken promise.
func (d *diskfullLab) scan(sc *usbScanner, serial string) (bool, error) {
	if serial == "" {
		d.labels++
		serial = fmt.Sprintf("F%05d", d.labels)
	}
	b, err := sc.Scan(labLabel(devicesGTIN, serial), 10*time.Second)
	switch {
	case err != nil:
		d.unanswered++
		d.r.Failf("scan %s: %v", serial, err)
		return false, nil
	case b == ansAccepted:
		d.accepted = append(d.accepted, serial)
		return true, nil
	case b == ansFailed:
		d.refused++
		d.refusedSerials = append(d.refusedSerials, serial)
		return false, nil
	}
	d.unanswered++
	d.r.Failf("scan %s answered %s, want accepted or failed", serial, answerName(b))
	return false, nil
}

// checkPage reads the station page as the nurse sees it: each of the
// last n scans, refused, must be there, marked not recorded, with its
// reason: the gateway's disk is full.
func (d *diskfullLab) checkPage(kind, addr string, n int) {
	resp, err := http.Get("http://" + addr + "/station/desk?lang=en")
	if err != nil {
		d.unreasoned += n
		d.r.Failf("%s: station page: %v", kind, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	rows := strings.Split(string(b), `<li class="scan `)[1:]
	fails, reasoned := 0, 0
	for _, row := range rows {
		if !strings.HasPrefix(row, "fail") {
			continue
		}
		fails++
		// The reason a nurse can act on: the disk is full (not a bare
		// "not recorded").
		if _, why, ok := strings.Cut(row, `<ul class="why">`); ok && strings.Contains(why, "disk is full") {
			reasoned++
		}
	}
	want := min(n, 20)
	if fails < want || reasoned < want {
		d.unreasoned += want - min(reasoned, want)
		d.r.Failf("%s: the station page shows %d refused scans, %d with a reason, of the last %d refused", kind, fails, reasoned, want)
	}
}

// check reads the stopped agent's ledger: every accepted scan is there,
// no refused one is.
func (d *diskfullLab) check(kind string, e *labEdge) error {
	ms, err := e.Movements()
	if err != nil {
		return fmt.Errorf("%s: read the ledger: %w", kind, err)
	}
	have := map[string]int{}
	for _, m := range ms {
		have[m.Item]++
	}
	for _, s := range d.accepted {
		if n := have[labItem(devicesGTIN, s)]; n != 1 {
			d.lost++
			d.r.Failf("%s: the scan of %s was answered accepted; the ledger holds it %d times", kind, s, n)
		}
	}
	for _, s := range d.refusedSerials {
		if have[labItem(devicesGTIN, s)] != 0 {
			d.onDisk++
			d.r.Failf("%s: the scan of %s was answered failed, yet the ledger holds it", kind, s)
		}
	}
	d.accepted, d.refusedSerials = nil, nil
	return nil
}

// figures reports what the rounds measured.
func (d *diskfullLab) figures() error {
	r := d.r
	r.Figure("scans refused while full", float64(d.refused), "", "", true)
	r.Figure("refused without a reason", float64(d.unreasoned), "", "0", d.unreasoned == 0)
	r.Figure("scans unanswered", float64(d.unanswered), "", "0", d.unanswered == 0)
	r.Figure("accepted lost", float64(d.lost), "", "0", d.lost == 0)
	r.Figure("refused yet on disk", float64(d.onDisk), "", "0", d.onDisk == 0)
	r.Figure("verify failures", float64(d.verifyFailures), "", "0", d.verifyFailures == 0)
	r.Figure("restarts on a full disk", float64(d.restarts), "", "", true)
	r.Figure("restarts failed on a full disk", float64(d.restartFailures), "", "0", d.restartFailures == 0)
	r.Figure("median space returned to accepted", labQuantile(d.toAccepted, 0.5).Seconds(), "s", "", true)
	r.Figure("max space returned to accepted", labQuantile(d.toAccepted, 1).Seconds(), "s", "", true)
	return nil
}
