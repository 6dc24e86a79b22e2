package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// releaseTarget is one platform a release is built for.
type releaseTarget struct {
	Name          string // amd64, arm64, armv7: in the binaries' file names
	GOARCH, GOARM string
	DebArch       string // the Debian architecture
}

// releaseTargets are the gateways' and the centre's platforms.
var releaseTargets = []releaseTarget{
	{Name: "amd64", GOARCH: "amd64", DebArch: "amd64"},
	{Name: "arm64", GOARCH: "arm64", DebArch: "arm64"},
	{Name: "armv7", GOARCH: "arm", GOARM: "7", DebArch: "armhf"},
}

// releaseBinary is one program a release builds, and the variable its
// version is stamped into.
type releaseBinary struct {
	Name, Pkg, VersionVar string
}

var releaseBinaries = []releaseBinary{
	{Name: "udi-edge", Pkg: "./cmd/udi-edge", VersionVar: "github.com/udi-edge/udi-edge/cmd/internal/edge.Version"},
	{Name: "udi-central", Pkg: "./cmd/udi-central", VersionVar: "main.Version"},
}

// release builds the binaries, their checksums and their Debian packages
// from the checkout Source into Out.
type release struct {
	Source, Out string
	// Version is stamped in the binaries (`version` prints it); DebVersion
	// is its Debian form.
	Version, DebVersion string
	Targets             []releaseTarget
	Maintainer          string
	// MTime is every packaged file's time: SOURCE_DATE_EPOCH, else the
	// commit's time, so that a release can be built again the same.
	MTime time.Time
	Go    string
	Log   io.Writer
}

func releaseCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "release", "[flags]",
		"Build udi-edge and udi-central for linux/amd64, linux/arm64 and linux/arm (v7) with\n"+
			"CGO_ENABLED=0 and the version stamped, their SHA256SUMS, and one Debian package per\n"+
			"program and architecture (the service user, the systemd unit, the udev rules, the\n"+
			"example configurations, shell completion; deploy/deb and firmware-notes/packaging.md).\n"+
			"Run it from the checkout: go run ./cmd/udi-lab release --version 1.4.0")
	out := fs.String("out", "dist", "directory the binaries, packages and SHA256SUMS are written to")
	version := fs.String("version", "", "release version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (default 0.0.0-dev+REVISION)")
	arches := fs.StringSlice("arch", []string{"amd64", "arm64", "armv7"}, "targets to build: amd64, arm64, armv7")
	source := fs.String("source", "", "the udi-edge checkout (default: the module the working directory is in)")
	maintainer := fs.String("maintainer", "udi-edge maintainers <packaging@udi-edge.invalid>", "the packages' Maintainer field (NAME <EMAIL>)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("release takes no arguments, got %q", fs.Args())
	}
	r, err := newRelease(*source, *out, *version, *arches)
	if err != nil {
		return err
	}
	r.Maintainer, r.Log = *maintainer, env.Stderr
	files, err := r.build(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "release %s (Debian %s) in %s:\n", r.Version, r.DebVersion, r.Out)
	for _, f := range files {
		fmt.Fprintf(env.Stdout, "  %s\n", f)
	}
	return nil
}

// newRelease checks the flags and finds the checkout, the go command, the
// version and the packages' time.
func newRelease(source, out, version string, arches []string) (*release, error) {
	src, err := moduleRoot(source)
	if err != nil {
		return nil, err
	}
	r := &release{Source: src, Version: version}
	if r.Out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	for _, a := range arches {
		i := slices.IndexFunc(releaseTargets, func(t releaseTarget) bool { return t.Name == a })
		if i < 0 {
			return nil, usagef("--arch %q: %v", a, ErrBadArch)
		}
		if !slices.ContainsFunc(r.Targets, func(t releaseTarget) bool { return t.Name == a }) {
			r.Targets = append(r.Targets, releaseTargets[i])
		}
	}
	if r.Version == "" {
		r.Version = "0.0.0-dev"
		if rev, err := r.git("rev-parse", "--short=12", "HEAD"); err == nil {
			r.Version += "+g" + rev
		}
	}
	if r.DebVersion, err = debVersion(r.Version); err != nil {
		return nil, usagef("--version %q: %v", r.Version, err)
	}
	r.MTime = time.Now().UTC().Truncate(time.Second)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, usagef("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		r.MTime = time.Unix(sec, 0).UTC()
	} else if ct, err := r.git("log", "-1", "--format=%ct"); err == nil {
		if sec, err := strconv.ParseInt(ct, 10, 64); err == nil {
			r.MTime = time.Unix(sec, 0).UTC()
		}
	}
	if r.Go, err = exec.LookPath("go"); err != nil {
		r.Go = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	return r, nil
}

// moduleRoot returns dir (default: the working directory) or the first
// directory above it holding udi-edge's go.mod.
func moduleRoot(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module github\.com/udi-edge/udi-edge\s*$`).Match(b) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", usagef("--source %s: %v", abs, ErrNoModule)
		}
	}
}

// semverRE is a release version as `udi-lab release --version` takes it.
var semverRE = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+)(?:-([0-9A-Za-z.]+))?(?:\+([0-9A-Za-z.]+))?$`)

// debVersion returns the Debian version of a release version: the
// pre-release after "~", so that 1.4.0-rc.1 sorts before 1.4.0 as it does
// in semantic versioning, and the build metadata after "+".
func debVersion(v string) (string, error) {
	m := semverRE.FindStringSubmatch(v)
	if m == nil {
		return "", ErrBadVersion
	}
	d := m[1]
	if m[2] != "" {
		d += "~" + m[2]
	}
	if m[3] != "" {
		d += "+" + m[3]
	}
	return d, nil
}

// git runs git in the checkout and returns its output, trimmed.
func (r *release) git(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Source
	b, err := cmd.Output()
	return strings.TrimSpace(string(b)), err
}

// build builds everything and returns the files written, relative to Out.
func (r *release) build(ctx context.Context) ([]string, error) {
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(r.Out, ".stage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)

	var files []string
	bins := map[string]string{} // "udi-edge/amd64" → its path
	for _, t := range r.Targets {
		for _, b := range releaseBinaries {
			name := b.Name + "-linux-" + t.Name
			if err := r.goBuild(ctx, b, t.GOARCH, t.GOARM, filepath.Join(r.Out, name)); err != nil {
				return nil, err
			}
			bins[b.Name+"/"+t.Name] = filepath.Join(r.Out, name)
			files = append(files, name)
		}
	}
	for _, p := range releasePackages {
		comp, err := r.completions(ctx, p.Binary, bins, stage)
		if err != nil {
			return nil, err
		}
		for _, t := range r.Targets {
			deb, err := r.packageDeb(p, t, bins[p.Binary+"/"+t.Name], comp, stage)
			if err != nil {
				return nil, fmt.Errorf("package %s for %s: %w", p.Binary, t.Name, err)
			}
			files = append(files, deb)
		}
	}
	sort.Strings(files)
	if err := writeSums(r.Out, files); err != nil {
		return nil, err
	}
	return append(files, "SHA256SUMS"), nil
}

// goBuild builds b for linux/goarch into out, statically, with the
// version stamped and no path of this machine in it.
func (r *release) goBuild(ctx context.Context, b releaseBinary, goarch, goarm, out string) error {
	fmt.Fprintf(r.Log, "release: go build %s for linux/%s%s\n", b.Name, goarch, goarm)
	cmd := exec.CommandContext(ctx, r.Go, "build", "-trimpath", "-buildvcs=auto",
		"-ldflags", "-s -w -X "+b.VersionVar+"="+r.Version, "-o", out, b.Pkg)
	cmd.Dir = r.Source
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM="+goarm)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", out, goarch, err, b)
	}
	return nil
}

// completions writes the bash and zsh completion scripts of binary into
// stage, from a build that runs here: the release's own when it is for
// this machine, else one built for it.
func (r *release) completions(ctx context.Context, binary string, bins map[string]string, stage string) (map[string]string, error) {
	exe := ""
	for _, t := range r.Targets {
		if runtime.GOOS == "linux" && t.GOARCH == runtime.GOARCH {
			exe = bins[binary+"/"+t.Name]
		}
	}
	if exe == "" {
		exe = filepath.Join(stage, binary+"-host")
		i := slices.IndexFunc(releaseBinaries, func(b releaseBinary) bool { return b.Name == binary })
		cmd := exec.CommandContext(ctx, r.Go, "build", "-o", exe, releaseBinaries[i].Pkg)
		cmd.Dir = r.Source
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s for this machine: %w\n%s", binary, err, b)
		}
	}
	out := map[string]string{}
	for _, shell := range []string{"bash", "zsh"} {
		b, err := exec.CommandContext(ctx, exe, "completion", shell).Output()
		if err != nil {
			return nil, fmt.Errorf("%s completion %s: %w", binary, shell, err)
		}
		out[shell] = filepath.Join(stage, binary+"."+shell)
		if err := os.WriteFile(out[shell], b, 0o644); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeSums writes dir/SHA256SUMS for files, in sha256sum's format
// (`sha256sum -c SHA256SUMS` checks them).
func writeSums(dir string, files []string) error {
	var b bytes.Buffer
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, f)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), b.Bytes(), 0o644)
}

// fileSHA256 returns the hex SHA-256 of a file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
