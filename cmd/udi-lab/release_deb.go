package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// releaseGroup is a group a package's service user is added to.
type releaseGroup struct{ Name, Why string }

// releasePackage is one Debian package: its program, the files it ships
// from the checkout beside the binary, and its relations.
type releasePackage struct {
	Binary, Summary, Description string
	// User is the service's user, made by postinst (group of the same name).
	User string
	// Groups are the user's further groups.
	Groups []releaseGroup
	// Udev ships deploy/udev/90-udi-edge.rules.
	Udev bool
	// Examples are files of the checkout installed under
	// /etc/BINARY/examples/.
	Examples   []string
	ExampleDir string // a directory whose *.json are examples too
	Depends    []string
	Suggests   []string
}

// releasePackages are the packages of a release, one per program.
var releasePackages = []releasePackage{
	{
		Binary:  "udi-edge",
		Summary: "hospital consumables edge agent (UDI scanners, RFID readers)",
		Description: "The gateway of udi-edge: reads barcode scanners and UHF RFID readers on serial\n" +
			"lines, records every movement of every individually coded medical item in a\n" +
			"local fsynced ledger, runs the point-of-use checks and syncs to udi-central\n" +
			"over MQTT. The package makes the user udi-edge (in group dialout), installs the\n" +
			"systemd unit, udev rules naming scanners and readers under /dev/udi, and example\n" +
			"configurations in /etc/udi-edge/examples. It enables and starts nothing.",
		User:       "udi-edge",
		Groups:     []releaseGroup{{Name: "dialout", Why: "dialout: the serial devices of the scanners and readers (deploy/udev)"}},
		Udev:       true,
		ExampleDir: "deploy/examples",
		Depends:    []string{"adduser"},
		Suggests:   []string{"mosquitto-clients"},
	},
	{
		Binary:  "udi-central",
		Summary: "central inventory service of udi-edge gateways",
		Description: "Receives every udi-edge gateway's movements over MQTT, checks their hash\n" +
			"chains and signatures, stores them (bbolt for one hospital, PostgreSQL for a\n" +
			"group), acknowledges them, publishes master data and answers traces across\n" +
			"gateways. The package makes the user udi-central, installs the systemd unit and\n" +
			"example configurations in /etc/udi-central/examples. It enables and starts nothing.",
		User:     "udi-central",
		Examples: []string{"deploy/udi-central.json", "deploy/udi-central-group.json"},
		Depends:  []string{"adduser"},
		Suggests: []string{"mosquitto", "postgresql"},
	},
}

// Where the packages put things.
const (
	debBinDir   = "/usr/bin"
	debUnitDir  = "/usr/lib/systemd/system"
	debUdevRule = "/etc/udev/rules.d/90-udi-edge.rules"
	debBashDir  = "/usr/share/bash-completion/completions"
	debZshDir   = "/usr/share/zsh/vendor-completions"
	// manualBinDir is where deploy/*.service expect a binary copied by
	// hand; the packages' units name debBinDir instead.
	manualBinDir = "/usr/local/bin"
)

// maintainerScripts are the templates in deploy/deb.
var maintainerScripts = []string{"postinst", "prerm", "postrm"}

// packageDeb writes the package of p for t, with the binary bin and the
// completion scripts comp, staging its generated files in stage; it
// returns the package's file name in r.Out.
func (r *release) packageDeb(p releasePackage, t releaseTarget, bin string, comp map[string]string, stage string) (string, error) {
	dir := filepath.Join(stage, p.Binary)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unit, err := r.packagedUnit(p.Binary, dir)
	if err != nil {
		return "", err
	}
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode}}
	}
	conf := func(src, dst string) *files.Content {
		c := file(src, dst, 0o644)
		c.Type = files.TypeConfig
		return c
	}
	contents := files.Contents{
		file(bin, debBinDir+"/"+p.Binary, 0o755),
		file(unit, debUnitDir+"/"+p.Binary+".service", 0o644),
		file(comp["bash"], debBashDir+"/"+p.Binary, 0o644),
		file(comp["zsh"], debZshDir+"/_"+p.Binary, 0o644),
		{Destination: "/etc/" + p.Binary, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
	}
	examples := append([]string(nil), p.Examples...)
	if p.ExampleDir != "" {
		m, err := filepath.Glob(filepath.Join(r.Source, p.ExampleDir, "*.json"))
		if err != nil || len(m) == 0 {
			return "", fmt.Errorf("no examples in %s: %v", p.ExampleDir, err)
		}
		for _, e := range m {
			rel, _ := filepath.Rel(r.Source, e)
			examples = append(examples, rel)
		}
	}
	for _, e := range examples {
		contents = append(contents, conf(filepath.Join(r.Source, e), "/etc/"+p.Binary+"/examples/"+filepath.Base(e)))
	}
	if p.Udev {
		rules := filepath.Join(r.Source, "deploy/udev/90-udi-edge.rules")
		if err := checkUdevFile(rules); err != nil {
			return "", err
		}
		contents = append(contents, conf(rules, debUdevRule))
	}
	scripts := map[string]string{}
	for _, s := range maintainerScripts {
		if scripts[s], err = r.maintainerScript(p, s, dir); err != nil {
			return "", err
		}
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name:          p.Binary,
		Arch:          t.DebArch,
		Platform:      "linux",
		Version:       r.DebVersion,
		VersionSchema: "none",
		Section:       "misc",
		Priority:      "optional",
		Maintainer:    r.Maintainer,
		Description:   p.Summary + "\n" + p.Description,
		Homepage:      "https://github.com/udi-edge/udi-edge",
		MTime:         r.MTime,
		Overridables: nfpm.Overridables{
			Depends:  p.Depends,
			Suggests: p.Suggests,
			Contents: contents,
			Scripts:  nfpm.Scripts{PostInstall: scripts["postinst"], PreRemove: scripts["prerm"], PostRemove: scripts["postrm"]},
		},
	})
	name := deb.Default.ConventionalFileName(info)
	f, err := os.Create(filepath.Join(r.Out, name))
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}

// packagedUnit writes into dir the package's systemd unit: deploy's unit,
// which runs a binary copied by hand to /usr/local/bin, running the
// packaged binary in /usr/bin instead.
func (r *release) packagedUnit(binary, dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Source, "deploy", binary+".service"))
	if err != nil {
		return "", err
	}
	from, to := manualBinDir+"/"+binary, debBinDir+"/"+binary
	if !bytes.Contains(b, []byte("ExecStart="+from+" ")) {
		return "", fmt.Errorf("deploy/%s.service: no ExecStart=%s: the package's path cannot be set", binary, from)
	}
	path := filepath.Join(dir, binary+".service")
	return path, os.WriteFile(path, bytes.ReplaceAll(b, []byte(from), []byte(to)), 0o644)
}

// maintainerScript renders the template deploy/deb/NAME for p into dir.
func (r *release) maintainerScript(p releasePackage, name, dir string) (string, error) {
	src := filepath.Join(r.Source, "deploy/deb", name)
	tmpl, err := template.New(name).Option("missingkey=error").ParseFiles(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	data := struct {
		Name, User string
		Groups     []releaseGroup
		Udev       bool
	}{p.Binary, p.User, p.Groups, p.Udev}
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	if !strings.HasPrefix(b.String(), "#!/bin/sh\n") {
		return "", fmt.Errorf("%s: want a #!/bin/sh script", src)
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b.Bytes(), 0o755)
}

// checkUdevFile refuses a rules file udev would misread, or one that
// gives one name to two devices.
func checkUdevFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rules, err := parseUdevRules(path, f)
	if err != nil {
		return err
	}
	_, err = udevNames(path, rules)
	return err
}
