package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	udevRulesFile = "../../deploy/udev/90-udi-edge.rules"
	testVersion   = "1.4.0-rc.1"
	testDebVer    = "1.4.0~rc.1"
)

func TestDebVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.4.0", "1.4.0"},
		{"v1.4.0", "1.4.0"},
		{"1.4.0-rc.1", "1.4.0~rc.1"},
		{"0.0.0-dev+g0123456789ab", "0.0.0~dev+g0123456789ab"},
		{"2.0.1+build.7", "2.0.1+build.7"},
	} {
		if got, err := debVersion(tc.in); err != nil || got != tc.want {
			t.Errorf("debVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "dev", "1.4", "1.4.0-", "1.4.0 rc1", "1.4.0_rc1", "v1.4.0-rc/1"} {
		if _, err := debVersion(bad); !errors.Is(err, ErrBadVersion) {
			t.Errorf("debVersion(%q): %v, want ErrBadVersion", bad, err)
		}
	}
}

// TestReleaseFlags checks that bad flags are refused before anything is
// built, naming what is wrong.
func TestReleaseFlags(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--version", "latest"}, `--version "latest": want MAJOR.MINOR.PATCH`},
		{[]string{"--arch", "riscv64"}, `--arch "riscv64": want amd64, arm64 or armv7`},
		{[]string{"--source", out}, "not the udi-edge module"},
		{[]string{"extra"}, "release takes no arguments"},
	} {
		code, _, errOut := runMain(t, append([]string{"release", "--out", out, "--source", "../.."}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("refused releases wrote %d files", len(entries))
	}
}

// TestUdevRules checks the shipped rules as udev reads them, that they
// keep ModemManager away from and give group dialout to every device
// they take, and that each device an example configuration names under
// /dev/udi is named by a rule. Where udevadm is installed, udev reads
// them too (checkWithUdevadm).
func TestUdevRules(t *testing.T) {
	b, err := os.ReadFile(udevRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseUdevRules(udevRulesFile, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	names, err := udevNames(udevRulesFile, rules)
	if err != nil {
		t.Fatal(err)
	}
	var ignore, dialout, mode, bySerial bool
	for _, r := range rules {
		for _, p := range r.Pairs {
			ignore = ignore || p == udevPair{Key: "ENV", Attr: "ID_MM_DEVICE_IGNORE", Op: "=", Value: "1"}
			dialout = dialout || p == udevPair{Key: "GROUP", Op: "=", Value: "dialout"}
			mode = mode || p == udevPair{Key: "MODE", Op: "=", Value: "0660"}
			bySerial = bySerial || p.Key == "SYMLINK" && strings.HasPrefix(p.Value, "udi/by-serial/")
		}
	}
	if !ignore || !dialout || !mode || !bySerial {
		t.Errorf("rules: ModemManager ignored %v, group dialout %v, mode 0660 %v, by-serial links %v", ignore, dialout, mode, bySerial)
	}
	// Each example's devices are named by a rule of their own.
	examples, _ := filepath.Glob("../../deploy/examples/*.json")
	if len(examples) == 0 {
		t.Fatal("no examples")
	}
	for _, path := range examples {
		var cfg struct {
			Scanners, Readers []struct{ Device string }
		}
		eb, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(eb, &cfg); err != nil {
			t.Fatal(err)
		}
		for _, d := range append(cfg.Scanners, cfg.Readers...) {
			n, ok := strings.CutPrefix(d.Device, "/dev/udi/")
			if _, named := names[n]; !ok || !named {
				t.Errorf("%s: device %s is not a /dev/udi name the rules give (%v)", path, d.Device, names)
			}
		}
	}
	checkWithUdevadm(t, b)
}

// checkWithUdevadm has udev read the rules: `udevadm verify` where it
// exists (systemd 253 and later); else, as root, `udevadm test` in a
// mount namespace of its own where the rules are the only file in
// /etc/udev/rules.d, which logs each line udev refuses with its file and
// line.
func checkWithUdevadm(t *testing.T, rules []byte) {
	udevadm, err := exec.LookPath("udevadm")
	if err != nil {
		t.Log("no udevadm: the rules are checked by this test's parser only")
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "90-udi-edge.rules")
	if err := os.WriteFile(path, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if exec.Command(udevadm, "verify", "--help").Run() == nil {
		if out, err := exec.Command(udevadm, "verify", "--resolve-names=never", path).CombinedOutput(); err != nil {
			t.Errorf("udevadm verify: %v\n%s", err, out)
		}
		return
	}
	unshare, err := exec.LookPath("unshare")
	const dev = "/sys/class/tty/tty"
	if _, serr := os.Stat(dev); err != nil || os.Geteuid() != 0 || serr != nil {
		t.Log("no udevadm verify, and no root, unshare or " + dev + " for udevadm test: the rules are checked by this test's parser only")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, unshare, "-m", "sh", "-c",
		`mount --bind "$1" /etc/udev/rules.d && exec "$2" test --action=add `+dev, "sh", dir, udevadm).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Reading rules file: /etc/udev/rules.d/90-udi-edge.rules") {
		t.Logf("udevadm test in a mount namespace did not run (%v): the rules are checked by this test's parser only\n%.500s", err, out)
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "90-udi-edge.rules:") {
			t.Errorf("udevadm test: %s", line)
		}
	}
}

// TestUdevParserRefuses checks that each fault udev would refuse or
// misread is an error naming its line.
func TestUdevParserRefuses(t *testing.T) {
	for _, tc := range []struct{ rules, want string }{
		{`SUBSYSTEM=="tty", SYMLNK+="udi/x"`, "unknown key SYMLNK"},
		{`SUBSYSTEM=="tty", MODE=="0660"`, "MODE takes =, :=, not =="},
		{`ATTRS=="0403", SYMLINK+="udi/x"`, "ATTRS needs an {attribute}"},
		{`KERNEL{x}=="ttyUSB0", SYMLINK+="udi/x"`, "KERNEL takes no {attribute}"},
		{`ENV{}="1"`, "ENV{}: an empty {attribute}"},
		{`IMPORT{rpc}="x"`, "IMPORT{rpc}: want one of program"},
		{`SUBSYSTEM=="tty" SYMLINK+="udi/x"`, "want a comma between pairs"},
		{`SUBSYSTEM=="tty", SYMLINK+="udi/x",`, "a comma ends the rule"},
		{`SUBSYSTEM=="tty", SYMLINK+=udi/x`, `want KEY=="value"`},
		{`SUBSYSTEM=="tty", ATTRS{serial}=="A1"`, "only matches"},
		{"\n# a comment\nSUBSYSTEM!=\"tty\", GOTO=\"end\"\n", `GOTO "end" has no LABEL after it`},
		{"LABEL=\"end\"\nSUBSYSTEM!=\"tty\", GOTO=\"end\"", `GOTO "end" has no LABEL after it`},
		{"LABEL=\"a\"\nLABEL=\"a\"", `LABEL "a" is given twice`},
		{"SUBSYSTEM==\"tty\", \\", "ends in a continued line"},
	} {
		_, err := parseUdevRules("t.rules", strings.NewReader(tc.rules))
		var ue *UdevError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) || ue.Line < 1 {
			t.Errorf("%q: %v, want a *UdevError with a line, saying %q", tc.rules, err, tc.want)
		}
	}
	// A continued line is one rule, reported at its first line.
	rules, err := parseUdevRules("t.rules", strings.NewReader("# x\n\nSUBSYSTEM==\"tty\", \\\n  SYMLINK+=\"udi/a\"\nATTRS{serial}==\"2\", SYMLINK+=\"udi/a\"\n"))
	if err != nil || len(rules) != 2 || rules[0].Line != 3 || rules[1].Line != 5 {
		t.Fatalf("continued rule: %+v, %v", rules, err)
	}
	if _, err := udevNames("t.rules", rules); err == nil || !strings.Contains(err.Error(), "t.rules:5: /dev/udi/a is already the name of line 3's device") {
		t.Errorf("a name given twice: %v", err)
	}
}

// TestRelease builds the amd64 release (the full matrix is the same code
// with --arch amd64,arm64,armv7), then checks the binaries, the checksums
// and the packages as an installer sees them.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two release binaries")
	}
	out := t.TempDir()
	code, stdout, errOut := runMain(t, "release", "--out", out, "--version", testVersion, "--arch", "amd64", "--source", "../..")
	if code != 0 {
		t.Fatalf("release: exit %d\n%s\n%s", code, stdout, errOut)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"SHA256SUMS", "udi-central-linux-amd64", "udi-central_" + testDebVer + "_amd64.deb", "udi-edge-linux-amd64", "udi-edge_" + testDebVer + "_amd64.deb"}
	if !slices.Equal(names, want) {
		t.Fatalf("release wrote %q, want %q", names, want)
	}
	checkSums(t, out, want[1:])
	// Built again from the same commit, every file is the same.
	again := t.TempDir()
	if code, stdout, errOut := runMain(t, "release", "--out", again, "--version", testVersion, "--arch", "amd64", "--source", "../.."); code != 0 {
		t.Fatalf("release again: exit %d\n%s\n%s", code, stdout, errOut)
	}
	first, _ := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	second, _ := os.ReadFile(filepath.Join(again, "SHA256SUMS"))
	if len(first) == 0 || !bytes.Equal(first, second) {
		t.Errorf("two releases of one commit differ:\n%s\n%s", first, second)
	}
	for _, bin := range []string{"udi-edge", "udi-central"} {
		exe := filepath.Join(out, bin+"-linux-amd64")
		checkReleaseBinary(t, bin, exe)
		checkDeb(t, bin, filepath.Join(out, bin+"_"+testDebVer+"_amd64.deb"), exe)
	}
}

// checkSums checks SHA256SUMS against the files, as sha256sum -c would.
func checkSums(t *testing.T, dir string, files []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		if got, err := fileSHA256(filepath.Join(dir, name)); err != nil || got != sum {
			t.Errorf("SHA256SUMS: %s is %s, listed %s (%v)", name, got, sum, err)
		}
		listed = append(listed, name)
	}
	if !slices.Equal(listed, files) {
		t.Errorf("SHA256SUMS lists %q, want %q", listed, files)
	}
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha, "-c", "SHA256SUMS")
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, b)
		}
	}
}

// checkReleaseBinary runs a release binary: its version, help COMMAND,
// and its completion scripts in real bash (and zsh -n where installed).
func checkReleaseBinary(t *testing.T, bin, exe string) {
	t.Helper()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		b, err := exec.Command(exe, args...).Output()
		if err != nil || !strings.HasPrefix(string(b), bin+" "+testVersion+" (") || !strings.Contains(string(b), "linux/amd64") {
			t.Errorf("%s %s: %q, %v; want the release version", bin, args[0], b, err)
		}
	}
	if b, err := exec.Command(exe, "help", "run").Output(); err != nil || !strings.Contains(string(b), "Usage: "+bin+" run") || !strings.Contains(string(b), "--config") {
		t.Errorf("%s help run: %v\n%s", bin, err, b)
	}
	cmd := exec.Command(exe, "help", "fly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); exitCode(err) != 2 || !strings.Contains(stderr.String(), `unknown command "fly"`) {
		t.Errorf("%s help fly: %v %q, want exit 2 naming the command", bin, err, stderr.String())
	}

	// Every command but version has flags: one with only --help did not
	// give its flag set to the completion (its Run must parse first).
	script := run(t, exe, "completion", "bash")
	for _, m := range regexp.MustCompile(`(?m)^    ([a-z-]+)\) flags='--help -h'`).FindAllSubmatch(script, -1) {
		if string(m[1]) != "version" {
			t.Errorf("%s completion: command %s offers no flags: does its Run parse them with cli.Parse first?", bin, m[1])
		}
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Log("no bash")
		return
	}
	fn := "_" + strings.ReplaceAll(bin, "-", "_")
	line := "source <(" + exe + " completion bash); complete -p " + bin +
		"; COMP_WORDS=(" + bin + " run --c); COMP_CWORD=2; " + fn + "; echo \"${COMPREPLY[*]}\""
	b, err := exec.Command(bash, "--norc", "--noprofile", "-c", line).CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err != nil || len(lines) != 2 || lines[0] != "complete -o default -F "+fn+" "+bin {
		t.Fatalf("bash completion of %s: %v\n%s", bin, err, b)
	}
	words := strings.Fields(lines[1])
	if !slices.Contains(words, "--config") || !slices.Contains(words, "--check") ||
		slices.ContainsFunc(words, func(w string) bool { return !strings.HasPrefix(w, "--c") }) {
		t.Errorf("bash completes %s run --c with %q, want its flags starting --c, --config and --check among them", bin, words)
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		s, err := exec.Command(exe, "completion", "zsh").Output()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(zsh, "-n")
		cmd.Stdin = bytes.NewReader(s)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("zsh -n on %s completion zsh: %v\n%s", bin, err, b)
		}
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// debFile is one entry of a package's data archive.
type debFile struct {
	Mode int64
	Dir  bool
	Data []byte
}

// readDeb reads a .deb with Go alone: the ar archive, its control and
// data tarballs (gzip).
func readDeb(t *testing.T, path string) (control, data map[string]debFile) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := bytes.CutPrefix(b, []byte("!<arch>\n"))
	if !ok {
		t.Fatalf("%s: not an ar archive", path)
	}
	members := map[string][]byte{}
	var order []string
	for len(rest) >= 60 {
		name := strings.TrimSuffix(strings.TrimSpace(string(rest[:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(rest[48:58])))
		if err != nil || string(rest[58:60]) != "`\n" || 60+size > len(rest) {
			t.Fatalf("%s: bad ar header %q", path, rest[:60])
		}
		members[name] = rest[60 : 60+size]
		order = append(order, name)
		rest = rest[60+size+size%2:]
	}
	if want := []string{"debian-binary", "control.tar.gz", "data.tar.gz"}; !slices.Equal(order, want) || string(members["debian-binary"]) != "2.0\n" {
		t.Fatalf("%s: members %q, want %q with format 2.0", path, order, want)
	}
	return readTarGz(t, members["control.tar.gz"]), readTarGz(t, members["data.tar.gz"])
}

func readTarGz(t *testing.T, b []byte) map[string]debFile {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]debFile{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimPrefix(strings.TrimPrefix(h.Name, "."), "/")
		out[strings.TrimSuffix(name, "/")] = debFile{Mode: h.Mode & 0o7777, Dir: h.Typeflag == tar.TypeDir, Data: data}
	}
}

// controlFields parses a control file's fields (continuation lines
// joined with newlines).
func controlFields(b []byte) map[string]string {
	f := map[string]string{}
	key := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, " ") && key != "" {
			f[key] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if ok {
			key = k
			f[k] = strings.TrimSpace(v)
		}
	}
	return f
}

// checkDeb inspects the package of bin: control fields, the files and
// their modes, the conffiles, the maintainer scripts, and the unit; and
// with dpkg-deb, where installed, that dpkg reads the same.
func checkDeb(t *testing.T, bin, path, exe string) {
	t.Helper()
	control, data := readDeb(t, path)
	f := controlFields(control["/control"].Data)
	for k, v := range map[string]string{"Package": bin, "Version": testDebVer, "Architecture": "amd64", "Depends": "adduser", "Section": "misc", "Priority": "optional"} {
		if f[k] != v {
			t.Errorf("%s: %s: %q, want %q", bin, k, f[k], v)
		}
	}
	if !strings.Contains(f["Description"], "\n") || !strings.Contains(f["Maintainer"], "<") {
		t.Errorf("%s: Description %q, Maintainer %q: want a long description and NAME <EMAIL>", bin, f["Description"], f["Maintainer"])
	}

	// The files, their modes and their contents.
	exeData, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("../../deploy/" + bin + ".service")
	if err != nil {
		t.Fatal(err)
	}
	type wantFile struct {
		mode int64
		data []byte
	}
	wantFiles := map[string]wantFile{
		"/usr/bin/" + bin: {0o755, exeData},
		"/usr/lib/systemd/system/" + bin + ".service":   {0o644, bytes.ReplaceAll(unit, []byte("/usr/local/bin/"+bin), []byte("/usr/bin/"+bin))},
		"/usr/share/bash-completion/completions/" + bin: {0o644, run(t, exe, "completion", "bash")},
		"/usr/share/zsh/vendor-completions/_" + bin:     {0o644, run(t, exe, "completion", "zsh")},
	}
	examples := map[string][]string{
		"udi-edge":    {"../../deploy/examples/or.json", "../../deploy/examples/warehouse.json", "../../deploy/examples/ward-cabinet.json"},
		"udi-central": {"../../deploy/udi-central.json", "../../deploy/udi-central-group.json"},
	}[bin]
	for _, e := range examples {
		b, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		wantFiles["/etc/"+bin+"/examples/"+filepath.Base(e)] = wantFile{0o644, b}
	}
	if bin == "udi-edge" {
		b, err := os.ReadFile(udevRulesFile)
		if err != nil {
			t.Fatal(err)
		}
		wantFiles["/etc/udev/rules.d/90-udi-edge.rules"] = wantFile{0o644, b}
	}
	var got, conf []string
	for name, e := range data {
		if e.Dir {
			continue
		}
		got = append(got, name)
		if strings.HasPrefix(name, "/etc/") {
			conf = append(conf, name)
		}
		w, ok := wantFiles[name]
		switch {
		case !ok:
			t.Errorf("%s: unexpected file %s", bin, name)
		case e.Mode != w.mode:
			t.Errorf("%s: %s has mode %o, want %o", bin, name, e.Mode, w.mode)
		case !bytes.Equal(e.Data, w.data):
			t.Errorf("%s: %s differs from its source (%d bytes, want %d)", bin, name, len(e.Data), len(w.data))
		}
	}
	if len(got) != len(wantFiles) {
		t.Errorf("%s: files %q, want %d", bin, got, len(wantFiles))
	}
	if d, ok := data["/etc/"+bin]; !ok || !d.Dir {
		t.Errorf("%s: no /etc/%s directory", bin, bin)
	}
	// Every file in /etc is a conffile, and only those.
	sort.Strings(conf)
	if listed := strings.Fields(string(control["/conffiles"].Data)); !slices.Equal(listed, conf) {
		t.Errorf("%s: conffiles %q, want the files in /etc %q", bin, listed, conf)
	}

	// The unit runs the packaged binary.
	u := string(data["/usr/lib/systemd/system/"+bin+".service"].Data)
	if !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/`+bin+` run --config /etc/`+bin+`/`+bin+`\.json$`).MatchString(u) || strings.Contains(u, "/usr/local/bin/"+bin) {
		t.Errorf("%s: the packaged unit does not run /usr/bin/%s:\n%s", bin, bin, u)
	}

	// The maintainer scripts: shell that parses, the user made, nothing
	// enabled or started.
	post := string(control["/postinst"].Data)
	wantUser := "adduser --system --group --home /var/lib/" + bin + " --no-create-home " + bin
	if !strings.Contains(post, wantUser) || strings.Contains(post, "{{") {
		t.Errorf("%s: postinst does not make the user (%q):\n%s", bin, wantUser, post)
	}
	if inDialout := strings.Contains(post, "adduser "+bin+" dialout"); inDialout != (bin == "udi-edge") {
		t.Errorf("%s: postinst adds the user to dialout: %v", bin, inDialout)
	}
	for _, bad := range []string{"systemctl enable", "systemctl start", "systemctl restart "} {
		if strings.Contains(post, bad) {
			t.Errorf("%s: postinst runs %q: it must enable and start nothing", bin, bad)
		}
	}
	for _, s := range maintainerScripts {
		e, ok := control["/"+s]
		if !ok || e.Mode != 0o755 {
			t.Errorf("%s: %s missing or not executable (%o)", bin, s, e.Mode)
			continue
		}
		cmd := exec.Command("sh", "-n")
		cmd.Stdin = bytes.NewReader(e.Data)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n %s: %v\n%s", bin, s, err, b)
		}
	}

	checkUnitWithSystemd(t, bin, u, exe)
	checkWithDpkgDeb(t, path, got, f)
}

func run(t *testing.T, exe string, args ...string) []byte {
	t.Helper()
	b, err := exec.Command(exe, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", exe, args, err)
	}
	return b
}

// checkUnitWithSystemd runs systemd-analyze verify and security on the
// packaged unit, where it is installed, with the binary at the unit's
// path replaced by exe.
func checkUnitWithSystemd(t *testing.T, bin, unit, exe string) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the packaged unit is not checked by systemd")
		return
	}
	path := filepath.Join(t.TempDir(), bin+".service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/bin/"+bin, exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, sa, "verify", "--man=no", path).CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", bin, err, b)
	}
	// Hardened: an exposure of at most 2.0 ("OK"; the threshold is in
	// tenths). The agent keeps access to devices for its serial lines.
	if b, err := exec.CommandContext(ctx, sa, "security", "--offline=true", "--threshold=20", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security %s: %v\n%s", bin, err, b)
	}
}

// checkWithDpkgDeb checks, where dpkg-deb is installed, that dpkg reads
// the package's fields and files as the Go reader did.
func checkWithDpkgDeb(t *testing.T, path string, files []string, fields map[string]string) {
	t.Helper()
	dd, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Log("no dpkg-deb: the package is read by the test's own reader only")
		return
	}
	for _, k := range []string{"Package", "Version", "Architecture", "Depends"} {
		b, err := exec.Command(dd, "--field", path, k).Output()
		if err != nil || strings.TrimSpace(string(b)) != fields[k] {
			t.Errorf("dpkg-deb --field %s: %q, %v; want %q", k, b, err, fields[k])
		}
	}
	b, err := exec.Command(dd, "--contents", path).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v", err)
	}
	var listed []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		fs := strings.Fields(line)
		if name := fs[len(fs)-1]; strings.HasPrefix(fs[0], "-") {
			listed = append(listed, strings.TrimPrefix(name, "."))
		}
	}
	sort.Strings(listed)
	sort.Strings(files)
	if !slices.Equal(listed, files) {
		t.Errorf("dpkg-deb --contents lists %q, the Go reader %q", listed, files)
	}
	if b, err := exec.Command(dd, "--info", path).CombinedOutput(); err != nil || !strings.Contains(string(b), "conffiles") {
		t.Errorf("dpkg-deb --info: %v\n%s", err, b)
	}
}
