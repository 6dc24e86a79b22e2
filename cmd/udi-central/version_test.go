package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

func TestVersion(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"version"}, &out, &errs); code != ExitOK {
		t.Fatalf("version: exit %d %s", code, errs.String())
	}
	want := regexp.MustCompile(`^udi-central dev \((unknown|[0-9a-f]{40}(\+modified)?), ` + regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) + `\)\n$`)
	if !want.MatchString(out.String()) {
		t.Fatalf("version printed %q", out.String())
	}
	if code := Main(context.Background(), []string{"version", "extra"}, &out, &errs); code != ExitUsage {
		t.Fatalf("version extra: exit %d, want %d", code, ExitUsage)
	}
}

// TestVersionLdflags builds the binary as a release is built, with the
// version set by the linker: it prints that version (and the source
// revision where the toolchain stamps one: not with -buildvcs=false, nor
// in a git worktree).
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "udi-central")
	if b, err := exec.Command("go", "build", "-ldflags", "-X main.Version=v1.2.3-test", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^udi-central v1\.2\.3-test \((unknown|[0-9a-f]{40}(\+modified)?), go1\S* \S+/\S+\)\n$`).Match(out) {
		t.Fatalf("version of a release build: %q", out)
	}
}
