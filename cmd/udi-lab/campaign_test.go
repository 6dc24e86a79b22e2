package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testBins builds the programs once for every campaign the tests run.
var (
	testBinsOnce sync.Once
	testBins     *binaries
)

func campaignBinaries(t *testing.T) *binaries {
	t.Helper()
	testBinsOnce.Do(func() {
		d, err := os.MkdirTemp("", "udi-campaign-bin-")
		if err != nil {
			t.Fatal(err)
		}
		testBins = &binaries{dir: d}
	})
	return testBins
}

// TestCampaigns runs the short form of every campaign, as CI does: each
// must run and keep every promise it checks.
func TestCampaigns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fault campaigns")
	}
	bins := campaignBinaries(t)
	t.Cleanup(func() { os.RemoveAll(bins.dir) })
	for _, c := range campaigns {
		t.Run(c.Name, func(t *testing.T) {
			var log bytes.Buffer
			// Not t.TempDir(): its long path would make the agents'
			// control sockets too long for a unix socket.
			dir, err := os.MkdirTemp("", "uc")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			r, err := runCampaign(context.Background(), c, campaignOptions{Seed: 1, Dir: dir, Log: &log}, bins)
			if errors.Is(err, errCampaignSkipped) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatalf("campaign %s could not run: %v\n%s", c.Name, err, log.String())
			}
			var out bytes.Buffer
			if err := printCampaign(&out, r, false); err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + out.String())
			if f := r.Failures(); len(f) > 0 {
				t.Fatalf("campaign %s broke promises:\n%s\n%s%s", c.Name, strings.Join(f, "\n"), log.String(), logTails(dir))
			}
			if len(r.Figures()) < 2 {
				t.Fatalf("campaign %s reported no figure of its own", c.Name)
			}
		})
	}
}

// TestCampaignVerdict: a figure that misses its goal, or a broken
// promise, fails the command; the list and bad names are answered.
func TestCampaignVerdict(t *testing.T) {
	saved := campaigns
	t.Cleanup(func() { campaigns = saved })
	campaigns = nil
	registerCampaign(campaign{Name: "good", Summary: "meets its goal", Help: "Counts its rounds.", Short: 2, Long: 5,
		Run: func(ctx context.Context, r *campaignRun) error {
			r.Figure("rounds", float64(r.Rounds), "", "= 2", r.Rounds == 2)
			return nil
		}})
	registerCampaign(campaign{Name: "odd", Summary: "cannot run here", Short: 1, Long: 1,
		Run: func(ctx context.Context, r *campaignRun) error {
			// What it made before it found it cannot run goes with it.
			if err := os.WriteFile(filepath.Join(r.Dir, "half-made"), []byte("x"), 0o600); err != nil {
				return err
			}
			return fmt.Errorf("%w: needs root", errCampaignSkipped)
		}})
	registerCampaign(campaign{Name: "bad", Summary: "misses its goal", Short: 1, Long: 1,
		Run: func(ctx context.Context, r *campaignRun) error {
			r.Figure("lost", 3, "scans", "0", false)
			r.Failf("scan %d lost", 7)
			return nil
		}})
	code, out, _ := runMain(t, "campaign", "--list")
	if code != 0 || !strings.Contains(out, "good  2      5     meets its goal") || strings.Index(out, "bad") > strings.Index(out, "good") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	if code, out, _ := runMain(t, "campaign", "--list", "good"); code != 0 || !strings.Contains(out, "good (short 2, long 5): meets its goal") || !strings.Contains(out, "Counts its rounds.") {
		t.Fatalf("list good: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	if code, out, _ := runMain(t, "campaign", "-q", "--bin", t.TempDir(), "--dir", dir, "odd", "good"); code != 0 || !strings.Contains(out, "campaign odd: skipped: campaign: cannot run here: needs root") {
		t.Fatalf("a campaign skipped: exit %d\n%s", code, out)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a skipped and a passing campaign left %d entries in --dir", len(left))
	}
	code, out, _ = runMain(t, "campaign", "-q", "--bin", t.TempDir(), "--dir", t.TempDir(), "good")
	if code != 0 || !strings.Contains(out, "campaign good: 2 rounds") || !strings.Contains(out, "goal = 2") {
		t.Fatalf("good: exit %d\n%s", code, out)
	}
	code, out, _ = runMain(t, "campaign", "-q", "--bin", t.TempDir(), "--dir", t.TempDir(), "--long", "all")
	if code != 1 || !strings.Contains(out, "campaign good: 5 rounds") || !strings.Contains(out, "goal 0  NOT MET") || !strings.Contains(out, "FAIL scan 7 lost") {
		t.Fatalf("all --long: exit %d\n%s", code, out)
	}
	if code, _, errOut := runMain(t, "campaign", "nosuch"); code != 2 || !strings.Contains(errOut, `no campaign "nosuch"`) {
		t.Fatalf("unknown campaign: exit %d, %s", code, errOut)
	}
}

// logTails returns the last 200 lines of every program's log a campaign
// left under dir: what a failed run in CI, whose files go with it, can
// still be read from.
func logTails(dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "\n--- %s (last %d of %d lines)\n%s\n", path, min(200, len(lines)), len(lines), strings.Join(lines[max(0, len(lines)-200):], "\n"))
		return nil
	})
	return b.String()
}
