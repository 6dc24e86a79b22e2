package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	registerCampaign(campaign{
		Name:    "install",
		Summary: "the Debian packages on a fresh Debian root under a real systemd: install, start, scan, kill, upgrade",
		Help: "Follows the README's \"Install on a gateway\" on a fresh Debian system: a root made by\n" +
			"debootstrap (cached, and copied for each run), booted with systemd as PID 1 in its own\n" +
			"mount, PID, network, UTS and IPC namespaces. It builds the release packages of this\n" +
			"checkout (udi-lab release), installs them with apt, sets up Debian's Mosquitto with\n" +
			"deploy/mosquitto (TLS with a CA made by the README's openssl commands, passwords, ACL),\n" +
			"configures the gateway from /etc/udi-edge/examples/or.json with a pseudo-terminal\n" +
			"scanner named as the udev rules name one, and the centre from its example; enrols the\n" +
			"gateway's key at the centre and pins the centre's key at the gateway; checks both with\n" +
			"run --check as the services' users, and starts them with systemctl. Checks: nothing\n" +
			"starts before it is configured; the services reach active (Type=notify) with no unit\n" +
			"failed; a case opened and an implant scanned at the scanner are in the ledger, accepted,\n" +
			"and at the centre; the station page, /metrics, /healthz and /readyz answer, as does\n" +
			"the centre's API. Each round kills the gateway's main process (SIGKILL)\n" +
			"and sends the centre SIGABRT, as its watchdog would: systemd restarts both, and the next\n" +
			"scan is accepted in the case still open. Once, the gateway is frozen (SIGSTOP) until its\n" +
			"watchdog fires, and is restarted. Then a newer package is installed over the running\n" +
			"services (both restarted on the new binary, configuration and ledger kept), and purged\n" +
			"(the ledger kept). Needs root, unshare and nsenter (util-linux), debootstrap and the\n" +
			"Debian mirror (UDI_LAB_DEBIAN_MIRROR, default http://deb.debian.org/debian; suite\n" +
			"UDI_LAB_DEBIAN_SUITE, default bookworm); skipped otherwise. The root is cached in\n" +
			"UDI_LAB_CACHE (default /var/cache/udi-lab).",
		Short: 1, Long: 5,
		Run: runInstall,
	})
}

// installSite and the codes the install campaign scans.
const (
	installGTIN     = "09506000134352"
	installPatient  = "PAT0000017"
	installCase     = "CASE-LAB-1"
	installScanner  = "or3-scanner"
	installSite     = "lab-hospital"
	installGateway  = "or3-gw1"
	installEdgeConf = "/etc/udi-edge/udi-edge.json"
	// The broker's passwords of the centre and of the gateway.
	installCentrePassword  = "centre-lab-secret"
	installGatewayPassword = "gateway-lab-secret"
	installCentConf        = "/etc/udi-central/udi-central.json"
)

// installLab is one run of the install campaign.
type installLab struct {
	r   *campaignRun
	box *debBox
	scn *boxScanner
	// serials scanned at the scanner as uses, in order.
	serials []string
}

func runInstall(ctx context.Context, r *campaignRun) error {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return fmt.Errorf("%w: booting systemd in namespaces needs root on Linux", errCampaignSkipped)
	}
	for _, tool := range []string{"unshare", "nsenter", "debootstrap", "pivot_root", "mknod"} {
		if _, ok := sbinPath(tool); !ok {
			return fmt.Errorf("%w: %s is not installed (apt-get install util-linux debootstrap)", errCampaignSkipped, tool)
		}
	}
	probe := exec.CommandContext(ctx, "unshare", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "--propagation", "private", "true")
	probe.Env = boxEnv()
	if out, err := probe.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: new namespaces refused: %v: %s", errCampaignSkipped, err, bytes.TrimSpace(out))
	}
	arch, ok := map[string]string{"amd64": "amd64", "arm64": "arm64", "arm": "armv7"}[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("%w: no package for %s", errCampaignSkipped, runtime.GOARCH)
	}

	// The packages: the release of this checkout, and a newer one to
	// upgrade to.
	start := time.Now()
	debs := map[string]map[string]string{} // version → program → .deb
	for _, v := range []string{"0.0.1-lab", "0.0.2-lab"} {
		rel, err := newRelease("", filepath.Join(r.Dir, "dist-"+v), v, []string{arch})
		if err != nil {
			return err
		}
		rel.Maintainer, rel.Log = "udi-edge lab <lab@udi-edge.invalid>", io.Discard
		files, err := rel.build(ctx)
		if err != nil {
			return fmt.Errorf("release %s: %w", v, err)
		}
		debs[v] = map[string]string{}
		for _, f := range files {
			if strings.HasSuffix(f, ".deb") {
				debs[v][strings.SplitN(f, "_", 2)[0]] = filepath.Join(rel.Out, f)
			}
		}
		if len(debs[v]) != 2 {
			return fmt.Errorf("release %s made %q, want two packages", v, files)
		}
	}
	r.Logf("packages built in %.1f s", time.Since(start).Seconds())

	root, err := debianRoot(ctx, r)
	if err != nil {
		return err
	}
	start = time.Now()
	box, err := bootBox(ctx, r, root)
	if err != nil {
		// Nothing of the product has run yet: a Debian root that does not
		// boot here says what the machine allows (device nodes, mounts,
		// control groups), not what the packages do.
		return fmt.Errorf("%w: the Debian root does not boot here: %w", errCampaignSkipped, err)
	}
	defer box.stop()
	r.Figure("boot to running", time.Since(start).Seconds(), "s", "", true)
	l := &installLab{r: r, box: box}
	return l.run(ctx, debs)
}

func (l *installLab) run(ctx context.Context, debs map[string]map[string]string) error {
	r, b := l.r, l.box
	// Install, as the README says: apt install ./PACKAGE.deb.
	start := time.Now()
	if err := b.install(ctx, debs["0.0.1-lab"]); err != nil {
		return err
	}
	r.Figure("apt install of both packages", time.Since(start).Seconds(), "s", "", true)
	l.checkInstalled(ctx)

	// Wire the scanner, configure from the OR example, check, start.
	scn, err := b.openScanner(installScanner)
	if err != nil {
		return err
	}
	l.scn = scn
	defer scn.master.Close()
	if err := l.broker(ctx); err != nil {
		return err
	}
	if err := l.configure(ctx); err != nil {
		return err
	}
	for _, unit := range []string{"udi-edge", "udi-central"} {
		start := time.Now()
		if out, err := b.sh(ctx, "systemctl enable --now "+unit); err != nil {
			r.Failf("systemctl enable --now %s: %v\n%s\n%s", unit, err, out, b.journal(ctx, unit))
			return nil
		}
		if err := b.waitActive(ctx, unit, 0); err != nil {
			r.Failf("%s not active: %v\n%s", unit, err, b.journal(ctx, unit))
			return nil
		}
		r.Figure(unit+": enable --now to active", float64(time.Since(start).Milliseconds()), "ms", "", true)
	}
	if st, _ := b.sh(ctx, "systemctl is-system-running"); strings.TrimSpace(st) != "running" {
		failed, _ := b.sh(ctx, "systemctl --failed --no-legend --plain")
		r.Failf("the system is %s, not running: %s", strings.TrimSpace(st), failed)
	}

	// A case opened and an implant used at the scanner.
	l.scanCode(installPatient)
	l.scanCode(installCase)
	l.use(ctx, "the first implant")
	l.checkFaces(ctx)
	l.atCentre(ctx, l.serials[0])

	// Kills: systemd restarts both services; the case is still open.
	var restarts []time.Duration
	for i := range r.Rounds {
		d, err := l.killAndWait(ctx, "udi-edge", "SIGKILL")
		if err != nil {
			r.Failf("round %d: udi-edge after SIGKILL: %v", i+1, err)
			return nil
		}
		restarts = append(restarts, d)
		if _, err := l.killAndWait(ctx, "udi-central", "SIGABRT"); err != nil {
			r.Failf("round %d: udi-central after SIGABRT: %v", i+1, err)
			return nil
		}
		l.use(ctx, fmt.Sprintf("round %d's implant after the restart", i+1))
	}
	slices.Sort(restarts)
	r.Figure("udi-edge: SIGKILL to active again (median)", restarts[len(restarts)/2].Seconds(), "s", "", true)

	// The watchdog: a frozen gateway is restarted.
	if d, err := l.watchdog(ctx); err != nil {
		r.Failf("watchdog: %v", err)
	} else {
		r.Figure("udi-edge: frozen to active again (watchdog 30 s)", d.Seconds(), "s", "", true)
		l.use(ctx, "the implant after the watchdog's restart")
	}

	l.upgrade(ctx, debs["0.0.2-lab"])
	for _, serial := range l.serials {
		l.atCentre(ctx, serial)
	}
	l.purge(ctx)
	r.Figure("implants scanned", float64(len(l.serials)), "", "", true)
	return nil
}

// checkInstalled checks what the packages did: users, groups, modes,
// units installed and valid, nothing started.
func (l *installLab) checkInstalled(ctx context.Context) {
	r, b := l.r, l.box
	want := map[string]string{
		"id -nG udi-edge":                                       "udi-edge dialout",
		"id -nG udi-central":                                    "udi-central",
		"stat -c '%U:%G %a' /etc/udi-edge":                      "root:udi-edge 750",
		"stat -c '%U:%G %a' /var/lib/udi-edge":                  "udi-edge:udi-edge 700",
		"stat -c '%U:%G %a' /var/lib/udi-central":               "udi-central:udi-central 700",
		"systemctl is-enabled udi-edge udi-central":             "disabled\ndisabled",
		"systemctl is-active udi-edge udi-central":              "inactive\ninactive",
		"udi-edge version | cut -d' ' -f1,2":                    "udi-edge 0.0.1-lab",
		"ls /etc/udi-edge/examples":                             "or.json\nward-cabinet.json\nwarehouse.json",
		"test -f /etc/udev/rules.d/90-udi-edge.rules && echo y": "y",
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out, _ := b.sh(ctx, k)
		if got := strings.TrimSpace(out); got != want[k] {
			r.Failf("after apt install, %s: %q, want %q", k, got, want[k])
		}
	}
	// systemd itself reads the units as installed.
	if out, err := b.sh(ctx, "systemd-analyze verify udi-edge.service udi-central.service 2>&1"); err != nil || strings.TrimSpace(out) != "" {
		r.Failf("systemd-analyze verify of the installed units: %v\n%s", err, out)
	}
}

// configure writes the gateway's configuration from the OR example and
// the centre's from its example, both connected to the broker with TLS
// and passwords, their keys exchanged, and checks both as the services'
// users, as the README says.
func (l *installLab) configure(ctx context.Context) error {
	b := l.box
	edit := func(from, to, group string, change func(map[string]any)) error {
		data, err := os.ReadFile(b.path(from))
		if err != nil {
			return err
		}
		var cfg map[string]any
		if err := json.Unmarshal(data, &cfg); err != nil {
			return fmt.Errorf("%s: %w", from, err)
		}
		change(cfg)
		out, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(b.path(to), append(out, '\n'), 0o640); err != nil {
			return err
		}
		_, err = b.sh(ctx, "chgrp "+group+" "+to)
		return err
	}
	// The README's step 5: the broker's CA and the gateway's password
	// beside the configuration, readable by the service.
	script := `install -m 0640 -g udi-edge /etc/mosquitto/certs/ca.pem /etc/udi-edge/broker-ca.pem
(umask 027 && printf '%s\n' "` + installGatewayPassword + `" > /etc/udi-edge/broker-password) && chgrp udi-edge /etc/udi-edge/broker-password
install -m 0640 -o udi-central -g udi-central /etc/mosquitto/certs/ca.pem /etc/udi-central/broker-ca.pem
(umask 077 && printf '%s\n' "` + installCentrePassword + `" > /etc/udi-central/broker-password) && chown udi-central /etc/udi-central/broker-password`
	if out, err := b.sh(ctx, script); err != nil {
		return fmt.Errorf("the broker's files: %w: %s", err, out)
	}
	err := edit("/etc/udi-central/examples/udi-central.json", installCentConf, "udi-central", func(c map[string]any) {
		c["sites"] = []string{installSite}
		c["broker"] = map[string]any{"urls": []string{"ssl://localhost:8883"}, "client_id": "udi-central-1", "username": "udi-central",
			"password_file": "/etc/udi-central/broker-password", "ca_file": "/etc/udi-central/broker-ca.pem"}
		c["http"] = map[string]any{"listen": "127.0.0.1:8380"}
	})
	if err != nil {
		return err
	}
	// The keys: the centre's public key pinned at the gateway, the
	// gateway's enrolled at the centre.
	centreKey, err := b.stdout(ctx, "runuser -u udi-central -- udi-central key --config "+installCentConf)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(centreKey), "ed25519:") {
		return fmt.Errorf("udi-central key: %v: %q", err, centreKey)
	}
	edgeSync := map[string]any{
		"brokers": []string{"ssl://localhost:8883"}, "ca_file": "/etc/udi-edge/broker-ca.pem",
		"password_file": "/etc/udi-edge/broker-password", "centre_key": strings.TrimSpace(centreKey),
	}
	err = edit("/etc/udi-edge/examples/or.json", installEdgeConf, "udi-edge", func(c map[string]any) {
		c["site"], c["gateway"] = installSite, installGateway
		c["sync"] = edgeSync
	})
	if err != nil {
		return err
	}
	line, err := b.stdout(ctx, "runuser -u udi-edge -- udi-edge key --config "+installEdgeConf)
	if err != nil {
		return fmt.Errorf("udi-edge key: %w: %s", err, line)
	}
	if err := os.WriteFile(b.path("/etc/udi-central/gateways.txt"), []byte(line), 0o640); err != nil {
		return err
	}
	if out, err := b.sh(ctx, "chown udi-central:udi-central /etc/udi-central/gateways.txt"); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	for _, c := range []string{
		"runuser -u udi-edge -- udi-edge run --check --config " + installEdgeConf,
		"runuser -u udi-central -- udi-central run --check --config " + installCentConf,
	} {
		if out, err := b.sh(ctx, c); err != nil {
			l.r.Failf("%s: %v\n%s", c, err, out)
		}
	}
	return nil
}

// broker sets up Debian's Mosquitto as deploy/mosquitto/README.md says:
// the CA and the broker's certificate by its openssl commands (for the
// name localhost), the shipped mosquitto.conf and ACL, a password per
// user.
func (l *installLab) broker(ctx context.Context) error {
	b := l.box
	src, err := moduleRoot("")
	if err != nil {
		return err
	}
	for _, f := range []string{"mosquitto.conf", "udi-acl"} {
		data, err := os.ReadFile(filepath.Join(src, "deploy", "mosquitto", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(b.path("/etc/mosquitto/"+f), data, 0o644); err != nil {
			return err
		}
	}
	script := `set -e
mkdir -p /root/pki && cd /root/pki
openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj "/CN=udi-edge sync CA" -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out server-key.pem
openssl req -new -key server-key.pem -subj "/CN=localhost" -out server.csr
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 -sha256 -extfile server.ext -out server.pem
install -d -m 755 /etc/mosquitto/certs
install -m 644 ca.pem server.pem /etc/mosquitto/certs/
install -m 640 -g mosquitto server-key.pem /etc/mosquitto/certs/
mosquitto_passwd -c -b /etc/mosquitto/udi-passwd udi-central ` + installCentrePassword + `
mosquitto_passwd -b /etc/mosquitto/udi-passwd ` + installGateway + ` ` + installGatewayPassword + `
chown root:mosquitto /etc/mosquitto/udi-passwd && chmod 640 /etc/mosquitto/udi-passwd
systemctl restart mosquitto
`
	if out, err := b.sh(ctx, script); err != nil {
		return fmt.Errorf("the broker: %w\n%s\n%s", err, out, b.journal(ctx, "mosquitto"))
	}
	if err := b.waitActive(ctx, "mosquitto", 0); err != nil {
		l.r.Failf("mosquitto: %v\n%s", err, b.journal(ctx, "mosquitto"))
	}
	return nil
}

// atCentre waits until the centre holds the use of the implant of serial,
// delivered by the gateway through the broker.
func (l *installLab) atCentre(ctx context.Context, serial string) {
	url := "http://127.0.0.1:8380/v1/trace?code=%2801%29" + installGTIN + "%2821%29" + serial
	var out string
	err := l.box.waitFor(ctx, 60*time.Second, func() (bool, error) {
		out, _ = l.box.sh(ctx, "curl -sS --max-time 10 '"+url+"'")
		return strings.Contains(out, `"gateway":"`+installGateway+`"`) && strings.Contains(out, `"kind":"use"`), nil
	})
	if err != nil {
		l.r.Failf("the implant %s is not at the centre: %v\n%.800s\n%s", serial, err, out, l.box.journal(ctx, "udi-central"))
	}
}

// scanCode types code at the scanner.
func (l *installLab) scanCode(code string) {
	if err := l.scn.scan(code); err != nil {
		l.r.Failf("scan %s: %v", code, err)
	}
}

// use scans a new implant and checks that the ledger holds it as an
// accepted use in the open case.
func (l *installLab) use(ctx context.Context, what string) {
	serial := fmt.Sprintf("LAB%05d", len(l.serials)+1)
	l.serials = append(l.serials, serial)
	l.scanCode("01" + installGTIN + "17291231" + "\x1d10LOT7\x1d21" + serial)
	var last traceLine
	err := l.box.waitFor(ctx, 15*time.Second, func() (bool, error) {
		ms, err := l.trace(ctx, serial)
		if err != nil || len(ms) == 0 {
			return false, nil
		}
		last = ms[len(ms)-1]
		return true, nil
	})
	switch {
	case err != nil:
		l.r.Failf("%s (%s) not in the ledger: %v\n%s", what, serial, err, l.box.journal(ctx, "udi-edge"))
	case last.Kind != "use" || last.Decision != "accepted" || last.Case != "LAB-1":
		l.r.Failf("%s (%s): a %s, %s, in case %q (%s), want an accepted use in case LAB-1", what, serial, last.Kind, last.Decision, last.Case, last.Reason)
	}
}

// traceLine is what the install campaign reads of `udi-edge trace --json`.
type traceLine struct {
	Kind, Decision, Case, Reason string
	Seq                          uint64
}

// trace returns the movements of the implant of serial, from the running
// agent.
func (l *installLab) trace(ctx context.Context, serial string) ([]traceLine, error) {
	out, err := l.box.sh(ctx, "udi-edge trace --json --config "+installEdgeConf+" '(01)"+installGTIN+"(21)"+serial+"'")
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	var ms []traceLine
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m traceLine
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("trace: %q: %w", line, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// checkFaces reads the station page, the metrics and the health of both
// services from inside the system, as a browser or Prometheus there would.
func (l *installLab) checkFaces(ctx context.Context) {
	r, b := l.r, l.box
	checks := []struct{ what, url, want string }{
		{"the station page", "http://127.0.0.1:8780/", `<html lang="zh-CN">`},
		{"the gateway's metrics", "http://127.0.0.1:8711/metrics", `udi_edge_movements_total{kind="use"} 1`},
		{"the gateway's /healthz", "http://127.0.0.1:8711/healthz", `"status":"ok"`},
		{"the gateway's /readyz", "http://127.0.0.1:8711/readyz", `"name":"scanner ` + installScanner + `","ok":true`},
		{"the centre's metrics", "http://127.0.0.1:8381/metrics", `udi_central_`},
		{"the centre's /healthz", "http://127.0.0.1:8381/healthz", `"status":"ok"`},
		{"the centre's API", "http://127.0.0.1:8380/v1/gateways", `{"gateways":`},
	}
	for _, c := range checks {
		out, err := b.sh(ctx, "curl -sSf --max-time 10 "+c.url)
		if err != nil || !strings.Contains(out, c.want) {
			r.Failf("%s (%s): %v; want %q in:\n%.600s", c.what, c.url, err, c.want, out)
		}
	}
}

// killAndWait sends the main process of unit sig and waits until systemd
// has restarted it and it is active again; it returns how long that took.
func (l *installLab) killAndWait(ctx context.Context, unit, sig string) (time.Duration, error) {
	b := l.box
	before, err := b.show(ctx, unit, "NRestarts")
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(before)
	pid, err := b.show(ctx, unit, "MainPID")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if out, err := b.sh(ctx, "systemctl kill --kill-whom=main -s "+sig+" "+unit); err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	if unit == "udi-edge" {
		l.scannerAfterCrash(ctx, pid)
	}
	if err := b.waitActive(ctx, unit, n+1); err != nil {
		return 0, fmt.Errorf("%w\n%s", err, b.journal(ctx, unit))
	}
	return time.Since(start), nil
}

// scannerAfterCrash waits until the agent's process pid (in the box) has
// ended, then gives its scanner back as a real device's would be.
func (l *installLab) scannerAfterCrash(ctx context.Context, pid string) {
	err := l.box.waitFor(ctx, 30*time.Second, func() (bool, error) {
		_, err := l.box.sh(ctx, "kill -0 "+pid)
		return err != nil, nil
	})
	if err == nil {
		err = l.scn.forget()
	}
	if err != nil {
		l.r.Failf("the scanner after the agent's process %s ended: %v", pid, err)
	}
}

// watchdog freezes the gateway until systemd's watchdog fires, then lets
// it take the watchdog's SIGABRT, and waits for the restart.
func (l *installLab) watchdog(ctx context.Context) (time.Duration, error) {
	b := l.box
	before, err := b.show(ctx, "udi-edge", "NRestarts")
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(before)
	pid, err := b.show(ctx, "udi-edge", "MainPID")
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if out, err := b.sh(ctx, "kill -STOP "+pid); err != nil {
		return 0, fmt.Errorf("%w: %s", err, out)
	}
	// A stopped process takes the SIGABRT only once continued.
	err = b.waitFor(ctx, 60*time.Second, func() (bool, error) {
		out, _ := b.sh(ctx, "journalctl -u udi-edge --no-pager -o cat | grep -c 'Watchdog timeout' || true")
		return strings.TrimSpace(out) != "0", nil
	})
	if err != nil {
		_, _ = b.sh(ctx, "kill -CONT "+pid)
		return 0, fmt.Errorf("no watchdog timeout: %w", err)
	}
	_, _ = b.sh(ctx, "kill -CONT "+pid)
	l.scannerAfterCrash(ctx, pid)
	if err := b.waitActive(ctx, "udi-edge", n+1); err != nil {
		return 0, fmt.Errorf("%w\n%s", err, b.journal(ctx, "udi-edge"))
	}
	return time.Since(start), nil
}

// upgrade installs the newer packages over the running services.
func (l *installLab) upgrade(ctx context.Context, debs map[string]string) {
	r, b := l.r, l.box
	conf, _ := os.ReadFile(b.path(installEdgeConf))
	pids := map[string]string{}
	for _, u := range []string{"udi-edge", "udi-central"} {
		pids[u], _ = b.show(ctx, u, "MainPID")
	}
	if err := b.install(ctx, debs); err != nil {
		r.Failf("upgrade: %v", err)
		return
	}
	for _, u := range []string{"udi-edge", "udi-central"} {
		err := b.waitFor(ctx, 30*time.Second, func() (bool, error) {
			pid, _ := b.show(ctx, u, "MainPID")
			st, _ := b.show(ctx, u, "ActiveState")
			return pid != pids[u] && pid != "0" && st == "active", nil
		})
		if err != nil {
			r.Failf("upgrade: %s not restarted on the new binary: %v\n%s", u, err, b.journal(ctx, u))
		}
		if out, _ := b.sh(ctx, u+" version | cut -d' ' -f2"); strings.TrimSpace(out) != "0.0.2-lab" {
			r.Failf("upgrade: %s version prints %q", u, strings.TrimSpace(out))
		}
	}
	if after, _ := os.ReadFile(b.path(installEdgeConf)); !bytes.Equal(after, conf) || len(conf) == 0 {
		r.Failf("upgrade: the configuration changed")
	}
	ms, err := l.trace(ctx, l.serials[0])
	if err != nil || len(ms) == 0 || ms[0].Decision != "accepted" {
		r.Failf("upgrade: the first implant's movements: %+v, %v", ms, err)
	}
	l.use(ctx, "the implant after the upgrade")
}

// purge removes the gateway's package with its configuration: the
// ledger stays.
func (l *installLab) purge(ctx context.Context) {
	r, b := l.r, l.box
	if out, err := b.sh(ctx, "DEBIAN_FRONTEND=noninteractive apt-get purge -y udi-edge"); err != nil {
		r.Failf("apt-get purge udi-edge: %v\n%s", err, out)
		return
	}
	if st, _ := b.show(ctx, "udi-edge", "ActiveState"); st == "active" {
		r.Failf("after purge, udi-edge is still %s", st)
	}
	if _, err := os.Stat(b.path("/var/lib/udi-edge/ledger.db")); err != nil {
		r.Failf("after purge, the ledger: %v", err)
	}
}

// debianRoot returns a fresh Debian root for this run: a copy of the
// cached one, made by debootstrap the first time.
func debianRoot(ctx context.Context, r *campaignRun) (string, error) {
	suite := cmp.Or(os.Getenv("UDI_LAB_DEBIAN_SUITE"), "bookworm")
	mirror := cmp.Or(os.Getenv("UDI_LAB_DEBIAN_MIRROR"), "http://deb.debian.org/debian")
	cache := cmp.Or(os.Getenv("UDI_LAB_CACHE"), "/var/cache/udi-lab")
	base := filepath.Join(cache, "debian-"+suite+"-"+runtime.GOARCH+"-"+debianRootVersion)
	if _, err := os.Stat(filepath.Join(base, "lib/systemd/systemd")); err != nil {
		r.Logf("debootstrap %s from %s into %s (once)", suite, mirror, base)
		start := time.Now()
		tmp := base + ".new"
		_ = os.RemoveAll(tmp)
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", err
		}
		debootstrap, _ := sbinPath("debootstrap")
		cmd := exec.CommandContext(ctx, debootstrap, "--variant=minbase",
			"--include="+debianRootPackages, suite, tmp, mirror)
		cmd.Env = boxEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.RemoveAll(tmp)
			tail := out[max(0, len(out)-800):]
			return "", fmt.Errorf("%w: debootstrap %s from %s: %v\n%s", errCampaignSkipped, suite, mirror, err, tail)
		}
		if err := os.Rename(tmp, base); err != nil {
			return "", err
		}
		r.Figure("debootstrap (once, cached)", time.Since(start).Seconds(), "s", "", true)
	}
	root := filepath.Join(r.Dir, "root")
	if out, err := exec.CommandContext(ctx, "cp", "-a", base, root).CombinedOutput(); err != nil {
		return "", fmt.Errorf("copy the Debian root: %v: %s", err, out)
	}
	// The console is a plain file in the box: no getty on it.
	if err := os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system/console-getty.service")); err != nil {
		return "", err
	}
	// What Debian's installer writes and debootstrap does not.
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tgateway\n"
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), []byte(hosts), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("gateway\n"), 0o644); err != nil {
		return "", err
	}
	return root, nil
}

// debianRootPackages are installed in the Debian root beside the minimal
// base; debianRootVersion names the cached root made with them.
const (
	debianRootPackages = "systemd,systemd-sysv,dbus,curl,ca-certificates,adduser,openssl,mosquitto,mosquitto-clients"
	debianRootVersion  = "udi-lab-2"
)

// boxEnv is the environment of the programs that make and boot the box:
// the caller's, with the system directories (mount, pivot_root, mknod and
// debootstrap are in /usr/sbin) on PATH.
func boxEnv() []string {
	return append(os.Environ(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin:"+os.Getenv("PATH"))
}

// debBox is a Debian root booted with systemd as its PID 1, in new
// mount, PID, network, UTS and IPC namespaces: the host's files outside
// the root, its network and its processes are out of its reach.
type debBox struct {
	r    *campaignRun
	root string
	cmd  *exec.Cmd
	pid  int // systemd's, in the host's PID namespace
}

// boxInit mounts what systemd expects over the root and makes it the
// root (pivot_root: a chroot would refuse the services' user namespaces,
// PrivateUsers=), then starts systemd as PID 1. /sys is read-only, so
// that nothing in the box reaches the host's devices through it; the
// box's /dev, /run and /tmp are its own. Its device nodes are made, not
// bound from the host's /dev: systemd sets the owner and mode of
// /dev/console (a plain file here), and of a bound node it would set the
// host's.
const boxInit = `set -e
R=$1
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount -o remount,bind,ro "$R/sys"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
mknod -m 666 "$R/dev/null" c 1 3
mknod -m 666 "$R/dev/zero" c 1 5
mknod -m 666 "$R/dev/full" c 1 7
mknod -m 666 "$R/dev/random" c 1 8
mknod -m 666 "$R/dev/urandom" c 1 9
mknod -m 666 "$R/dev/tty" c 5 0
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,gid=5,mode=620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
touch "$R/dev/console"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
exec /usr/bin/env -i container=udi-lab TERM=dumb /lib/systemd/systemd --system --log-target=journal
`

// bootBox boots root and waits until systemd says the system is up.
func bootBox(ctx context.Context, r *campaignRun, root string) (*debBox, error) {
	script := filepath.Join(r.Dir, "box-init.sh")
	if err := os.WriteFile(script, []byte(boxInit), 0o755); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(r.Dir, "box-console.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	// --kill-child: the box's systemd dies with unshare, which dies with
	// udi-lab (Pdeathsig), however udi-lab ends.
	cmd := exec.Command("unshare", "--mount", "--pid", "--net", "--uts", "--ipc", "--fork", "--kill-child", "--propagation", "private", "/bin/sh", script, root)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = boxEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &debBox{r: r, root: root, cmd: cmd}
	// systemd is unshare's child, once the script has exec'd it.
	err = b.waitFor(ctx, 30*time.Second, func() (bool, error) {
		kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if err != nil {
			return false, fmt.Errorf("unshare ended: %w", err)
		}
		f := strings.Fields(string(kids))
		if len(f) == 0 {
			return false, nil
		}
		exe, _ := os.Readlink("/proc/" + f[0] + "/exe")
		if !strings.HasSuffix(exe, "/systemd") {
			return false, nil
		}
		b.pid, _ = strconv.Atoi(f[0])
		return true, nil
	})
	if err != nil {
		b.stop()
		log, _ := os.ReadFile(out.Name())
		return nil, fmt.Errorf("systemd did not start in the box: %w\n%s", err, log)
	}
	var state string
	err = b.waitFor(ctx, 90*time.Second, func() (bool, error) {
		st, _ := b.sh(ctx, "systemctl is-system-running")
		state = strings.TrimSpace(st)
		return state == "running" || state == "degraded", nil
	})
	if err != nil {
		failed, _ := b.sh(ctx, "systemctl --failed --no-legend --plain")
		b.stop()
		return nil, fmt.Errorf("the box's system is %q: %w\n%s", state, err, failed)
	}
	return b, nil
}

// stop ends the box: its PID 1 killed, every process in it dies.
func (b *debBox) stop() {
	if b.cmd == nil {
		return
	}
	if b.pid > 0 {
		_ = syscall.Kill(b.pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	_ = b.cmd.Wait()
	b.cmd = nil
}

// path returns the host's path of p in the box.
func (b *debBox) path(p string) string { return filepath.Join(b.root, p) }

// sh runs script with /bin/sh in the box, as its root, and returns what
// it printed (stdout, then stderr).
func (b *debBox) sh(ctx context.Context, script string) (string, error) {
	stdout, stderr, err := b.run(ctx, script)
	return stdout + stderr, err
}

// stdout runs script as sh does and returns its standard output; its
// standard error goes into the error, when it fails.
func (b *debBox) stdout(ctx context.Context, script string) (string, error) {
	stdout, stderr, err := b.run(ctx, script)
	if err != nil {
		return stdout, fmt.Errorf("%w: %s", err, stderr)
	}
	return stdout, nil
}

// run runs script with /bin/sh in the box, as its root.
func (b *debBox) run(ctx context.Context, script string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(b.pid), "-m", "-p", "-n", "-u", "-i", "-r", "-w",
		"/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "/bin/sh", "-c", script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// show returns a property of unit.
func (b *debBox) show(ctx context.Context, unit, prop string) (string, error) {
	out, err := b.sh(ctx, "systemctl show -p "+prop+" --value "+unit)
	if err != nil {
		return "", fmt.Errorf("systemctl show %s %s: %w: %s", unit, prop, err, out)
	}
	return strings.TrimSpace(out), nil
}

// waitActive waits until unit is active (its Type=notify READY=1 given)
// after at least restarts restarts.
func (b *debBox) waitActive(ctx context.Context, unit string, restarts int) error {
	var state, n string
	err := b.waitFor(ctx, 60*time.Second, func() (bool, error) {
		state, _ = b.show(ctx, unit, "ActiveState")
		n, _ = b.show(ctx, unit, "NRestarts")
		got, _ := strconv.Atoi(n)
		return state == "active" && got >= restarts, nil
	})
	if err != nil {
		return fmt.Errorf("%s is %s after %s restarts, want active after %d: %w", unit, state, n, restarts, err)
	}
	return nil
}

// journal returns the end of unit's journal.
func (b *debBox) journal(ctx context.Context, unit string) string {
	out, _ := b.sh(ctx, "journalctl -u "+unit+" --no-pager -o cat | tail -n 40")
	return out
}

// waitFor calls f every quarter of a second until it reports true or an
// error, for at most d.
func (b *debBox) waitFor(ctx context.Context, d time.Duration, f func() (bool, error)) error {
	return pollFor(ctx, d, func() (bool, error) {
		ok, err := f()
		if ok || err != nil {
			return ok, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		return false, nil
	})
}

// install installs the packages with apt, as the README says.
func (b *debBox) install(ctx context.Context, debs map[string]string) error {
	var args []string
	for _, prog := range []string{"udi-edge", "udi-central"} {
		data, err := os.ReadFile(debs[prog])
		if err != nil {
			return err
		}
		name := "/root/" + filepath.Base(debs[prog])
		if err := os.WriteFile(b.path(name), data, 0o644); err != nil {
			return err
		}
		args = append(args, "."+name)
	}
	out, err := b.sh(ctx, "cd / && DEBIAN_FRONTEND=noninteractive apt-get install -y "+strings.Join(args, " "))
	if err != nil {
		return fmt.Errorf("apt-get install %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// boxScanner is a scanner plugged into the box: a pseudo-terminal of the
// box's own devpts, named under /dev/udi/ with dialout's group and mode
// 0660, as the package's udev rules name a USB scanner.
type boxScanner struct {
	master *os.File
	slave  string // the slave's path, as the host reaches it
}

// openScanner plugs a scanner named name into the box.
func (b *debBox) openScanner(name string) (*boxScanner, error) {
	m, err := os.OpenFile(b.procRoot("/dev/pts/ptmx"), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, fmt.Errorf("unlock the pty: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("the pty's number: %w", err)
	}
	dev := fmt.Sprintf("/dev/pts/%d", n)
	if out, err := b.sh(context.Background(), fmt.Sprintf("mkdir -p /dev/udi && ln -sfn ../pts/%d /dev/udi/%s && chgrp dialout %s && chmod 0660 %s", n, name, dev, dev)); err != nil {
		m.Close()
		return nil, fmt.Errorf("name the scanner: %w: %s", err, out)
	}
	// Whatever the agent writes to the scanner (its feedback) is read
	// and dropped, as a scanner would.
	go func() { _, _ = io.Copy(io.Discard, m) }()
	return &boxScanner{master: m, slave: b.procRoot(dev)}, nil
}

// procRoot returns p in the box as the host reaches it through systemd's
// root, which the box's own mounts are seen in.
func (b *debBox) procRoot(p string) string {
	return fmt.Sprintf("/proc/%d/root%s", b.pid, p)
}

// forget clears the exclusive mode (TIOCEXCL) that the agent set on the
// scanner's tty and did not clear, having been killed. A USB-serial
// device's tty is freed at its last close, exclusive mode with it; a
// pseudo-terminal's is not while its other side is open, and only root
// may open it then. The campaign, root, clears it to plug in what a real
// scanner is after a crash.
func (s *boxScanner) forget() error {
	f, err := os.OpenFile(s.slave, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return releaseExclusive(f)
}

// scan types code and the scanner's CR suffix.
func (s *boxScanner) scan(code string) error {
	_, err := s.master.Write([]byte(code + "\r"))
	return err
}
