package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func publishCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "publish", "SET FILE --site SITE [flags]   (codes: FILE...)",
		"Publish FILE as the next version of master data SET ("+strings.Join(wire.Sets(), ", ")+")\n"+
			"to the gateways of each site: retained, QoS 1, in parts on udi/v1/SITE/master/SET/N, each\n"+
			"an MQTT packet of at most --max-packet bytes (the broker's max_packet_size). FILE is CSV\n"+
			"(or tab-separated text) with a header row, or a JSON array, in the form the gateway's\n"+
			"import command reads, in UTF-8, GBK/GB18030 or UTF-16 with a byte order mark; it is\n"+
			"published as UTF-8. FILE is checked first as every gateway checks it: a file with a bad\n"+
			"row is refused whole, every bad row named, unless --partial publishes its good rows only;\n"+
			"a file with no rows is refused unless --allow-empty. codes also takes the NHSA's own\n"+
			"release tables (停用表, 转码表), several files at once: their rows accumulate in the order\n"+
			"given, a later row replacing one of the same code, and the whole is published as the\n"+
			"set (give every release to keep). Nothing refused is published, so\n"+
			"the version the gateways hold stays. The version is the time in milliseconds, or one more\n"+
			"than the last published (kept in the store) when that is later; gateways refuse a version\n"+
			"more than a day ahead of their clock. With --http-url a running service publishes it;\n"+
			"otherwise this command opens the store (the service must not be running) and connects\n"+
			"to the broker.")
	var pf publishFlags
	pf.register(fs, "publish")
	format := fs.String("format", "", "csv (also tab-separated text) or json (default: from FILE's extension)")
	encoding := fs.String("encoding", "", "FILE's encoding: utf-8, gbk or gb18030, utf-16 (default: detected)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 2 && fs.Arg(0) != "codes" {
		return usagef("want SET and FILE (codes: one FILE or more), got %d arguments", fs.NArg())
	}
	set, file := fs.Arg(0), fs.Arg(1)
	if err := wire.ValidSet(set); err != nil {
		return usagef("SET: %v", err)
	}
	if err := pf.check(fs); err != nil {
		return err
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if *format != wire.FormatCSV && *format != wire.FormatJSON {
		return usagef("--format %q: want csv or json", *format)
	}
	opt := pf.options(*format, *encoding)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if set == "codes" {
		if file, data, err = codesFile(fs.Args()[1:], data, &opt); err != nil {
			return err
		}
	}
	// Check the file before anything is opened or contacted, with the
	// rules the service and every gateway apply.
	checked, err := checkMaster(env, file, set, data, opt)
	if err != nil {
		return err
	}
	pub, err := pf.open(ctx, env)
	if err != nil {
		return err
	}
	defer pub.Close()
	for _, site := range pf.sites {
		if err := pub.publish(ctx, env, site, file, set, data, checked, opt); err != nil {
			return err
		}
	}
	return nil
}

// codesFile makes the codes set to publish from files: each a codes
// file in the gateway's form or one of the NHSA's own release tables (a
// withdrawn-codes table, 停用表, or an old→new table, 转码表), their rows
// accumulating in order, a row replacing the one of the same code, as a
// gateway's import accumulates them. A single file in the gateway's form
// is published as it is. first is the first file's content. It returns
// the name to report the file as and its content (opt's format set to
// CSV when it was built).
func codesFile(files []string, first []byte, opt *central.MasterOptions) (string, []byte, error) {
	if len(files) == 1 {
		_, _, err := master.ParseCodes(bytes.NewReader(first), master.ImportOptions{Format: opt.Format, Encoding: opt.Encoding, AllowEmpty: true, Partial: true})
		if !errors.Is(err, master.ErrHeader) || opt.Format == wire.FormatJSON {
			return files[0], first, nil
		}
	}
	var rows []master.CodeRelease
	for i, name := range files {
		b := first
		if i > 0 {
			var err error
			if b, err = os.ReadFile(name); err != nil {
				return "", nil, err
			}
		}
		format := opt.Format
		if i > 0 || format == "" {
			format = strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
		}
		own, _, err := master.ParseCodes(bytes.NewReader(b), master.ImportOptions{Format: format, Encoding: opt.Encoding, Partial: opt.Partial})
		switch {
		case err == nil:
			rows = master.MergeCodes(rows, own)
		case errors.Is(err, master.ErrHeader) && format != wire.FormatJSON:
			if rows, err = master.AddReleaseTable(rows, b, filepath.Base(name)); err != nil {
				return "", nil, fmt.Errorf("%s: neither a codes file nor one of the NHSA's release tables: %w", name, err)
			}
		default:
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	opt.Format, opt.Encoding = wire.FormatCSV, ""
	return strings.Join(files, " + "), master.CodesCSV(rows), nil
}

// publishFlags are the flags of the commands that publish master data
// (publish, catalogue): the sites, how a file is checked, and how it is
// published (through a running service, or the store and the broker).
type publishFlags struct {
	bf         brokerFlags
	api        apiClientFlags
	sites      []string
	partial    bool
	allowEmpty bool
	store      string
	httpURL    string
	timeout    time.Duration
	maxPacket  *int
	minVersion uint64
	key        *string
	unsigned   bool
}

// register registers the flags on fs; name names the command in the
// default client id.
func (f *publishFlags) register(fs *pflag.FlagSet, name string) {
	f.bf.register(fs, fmt.Sprintf("udi-central-%s-%s-%d", name, hostname(), os.Getpid()))
	fs.StringSliceVar(&f.sites, "site", nil, "site id(s) to publish to (repeat or comma-separate); required")
	fs.BoolVar(&f.partial, "partial", false, "publish the good rows of a file with bad ones, listing the bad ones")
	fs.BoolVar(&f.allowEmpty, "allow-empty", false, "publish a file with no rows, emptying the set on the gateways")
	fs.StringVar(&f.store, "store", DefaultStore, "the service's store: the versions of master data (and the movements catalogue --received reads); "+storeHelp)
	fs.StringVar(&f.httpURL, "http-url", "", "base URL of a running service's HTTP API; used instead of --store and the broker flags")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for the broker (for each message) or the service")
	f.maxPacket = maxPacketFlag(fs)
	fs.Uint64Var(&f.minVersion, "min-version", 0, "publish as at least this version: to replace a version ahead of the clock that gateways hold (sync/PROTOCOL.md)")
	f.api.register(fs)
	f.key = keyFlag(fs, "signs the parts")
	fs.BoolVar(&f.unsigned, "unsigned", false, "publish unsigned parts (gateways that pin the centre's key refuse them)")
}

// check checks the flags once parsed.
func (f *publishFlags) check(fs *pflag.FlagSet) error {
	if len(f.sites) == 0 {
		return usagef("--site is required")
	}
	for _, s := range f.sites {
		if err := wire.ValidID(s); err != nil {
			return usagef("--site: %v", err)
		}
	}
	if *f.maxPacket < central.MinMaxPacket {
		return usagef("--max-packet %d: at least %d", *f.maxPacket, central.MinMaxPacket)
	}
	if f.httpURL != "" && (fs.Changed("max-packet") || fs.Changed("min-version")) {
		return usagef("--max-packet and --min-version publish straight to the broker, not with --http-url (the service has its own)")
	}
	return nil
}

// options returns how a file of format and encoding is checked and
// published.
func (f *publishFlags) options(format, encoding string) central.MasterOptions {
	return central.MasterOptions{Format: format, Encoding: encoding, Partial: f.partial, AllowEmpty: f.allowEmpty,
		MaxPacket: *f.maxPacket, MinVersion: f.minVersion}
}

// checked is a master data file as every gateway reads it.
type checked struct {
	prepared []byte
	rep      master.Report
}

// checkMaster checks data, the file named file, as the service and every
// gateway read set: a refused file's bad rows are printed and its error
// returned; the rows --partial leaves out are printed.
func checkMaster(env *Env, file, set string, data []byte, opt central.MasterOptions) (checked, error) {
	prepared, rep, err := master.PrepareSet(set, bytes.NewReader(data), master.ImportOptions{
		Format: opt.Format, Encoding: opt.Encoding, Partial: opt.Partial, AllowEmpty: opt.AllowEmpty,
	})
	if err != nil {
		return checked{}, refused(env, file, err)
	}
	for _, e := range rep.Rejected {
		fmt.Fprintf(env.Stderr, "%s: %s (left out)\n", file, e.Error())
	}
	return checked{prepared, rep}, nil
}

// publisher publishes master data through a running service or the
// store and the broker.
type publisher struct {
	http  *apiClient
	url   string
	store central.Store // nil with --http-url
	mq    *central.MQTT
	key   ed25519.PrivateKey
	f     *publishFlags
}

// open opens what the flags say to publish through: the service's API
// (--http-url), or the store (the service must not be running) and a
// connection to the broker.
func (f *publishFlags) open(ctx context.Context, env *Env) (*publisher, error) {
	p := &publisher{f: f}
	if f.httpURL != "" {
		c, err := f.api.client()
		if err != nil {
			return nil, err
		}
		p.http, p.url = c, f.httpURL
		return p, nil
	}
	if !f.unsigned {
		path, err := keyPath(*f.key, f.store)
		if err != nil {
			return nil, err
		}
		if p.key, err = loadKey(path); err != nil {
			return nil, err
		}
	}
	mc, err := f.bf.config()
	if err != nil {
		return nil, err
	}
	mc.CleanSession = true
	st, err := openStore(ctx, f.store)
	if err != nil {
		return nil, fmt.Errorf("--store %s: %w", storeName(f.store), err)
	}
	p.store = st
	mq, err := central.NewMQTT(mc)
	if err != nil {
		st.Close()
		return nil, err
	}
	p.mq = mq
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := mq.Connect(cctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close closes the connection and the store.
func (p *publisher) Close() {
	if p.mq != nil {
		p.mq.Close()
	}
	if p.store != nil {
		p.store.Close()
	}
}

// publish publishes data, the file named file checked as c, as set to
// site and prints the version published.
func (p *publisher) publish(ctx context.Context, env *Env, site, file, set string, data []byte, c checked, opt central.MasterOptions) error {
	var (
		version uint64
		parts   int
		err     error
	)
	if p.http != nil {
		ctx, cancel := context.WithTimeout(ctx, p.f.timeout)
		defer cancel()
		version, err = publishHTTP(ctx, env, p.http, p.url, file, site, set, data, opt)
	} else {
		opt.PublishTimeout, opt.Key = p.f.timeout, p.key
		var pub central.Published
		pub, err = central.PublishMaster(ctx, p.store, p.mq, site, set, data, opt)
		version, parts = pub.Version, pub.Parts
	}
	if err != nil {
		return fmt.Errorf("site %s: %w", site, err)
	}
	var note string
	if c.rep.Converted() {
		note = ", converted from " + c.rep.Encoding
	}
	if n := len(c.rep.Rejected); n > 0 {
		note += fmt.Sprintf(", %d row(s) left out", c.rep.Records-c.rep.Kept)
	}
	inParts := ""
	if parts > 1 {
		inParts = fmt.Sprintf(" in %d parts", parts)
	}
	fmt.Fprintf(env.Stdout, "published %s version %d to site %s (%d rows, %d bytes%s%s)\n", set, version, site, c.rep.Kept, len(c.prepared), inParts, note)
	return nil
}

// maxPacketFlag registers --max-packet: the largest MQTT packet the broker
// accepts, which master data is published within.
func maxPacketFlag(fs *pflag.FlagSet) *int {
	return fs.Int("max-packet", central.DefaultMaxPacket,
		"the largest MQTT packet the broker accepts, whole (Mosquitto's max_packet_size): master data is published in parts within it")
}

// refused prints every bad row of a refused file, one a line, and
// returns the error to end the command with.
func refused(env *Env, file string, err error) error {
	var be *master.BadRowsError
	if !errors.As(err, &be) {
		return fmt.Errorf("%s: %w", file, err)
	}
	for _, e := range be.Rows {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, e.Error())
	}
	if be.Partial {
		return fmt.Errorf("%s: %s: %d of %d rows bad and none good, nothing published (--allow-empty to empty the set)", file, be.Set, be.Bad, be.Records)
	}
	return fmt.Errorf("%s: %s: %d of %d rows bad, nothing published (--partial publishes the good rows only)", file, be.Set, be.Bad, be.Records)
}

// publishHTTP publishes through a running service's API and returns the
// version; every bad row the service names is printed.
func publishHTTP(ctx context.Context, env *Env, c *apiClient, base, file, site, set string, data []byte, opt central.MasterOptions) (uint64, error) {
	q := url.Values{"site": {site}, "set": {set}, "format": {opt.Format}}
	if opt.Encoding != "" {
		q.Set("encoding", opt.Encoding)
	}
	if opt.Partial {
		q.Set("partial", "1")
	}
	if opt.AllowEmpty {
		q.Set("allow_empty", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/v1/master?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		return 0, usagef("--http-url: %v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		var e central.ErrorResponse
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			return 0, fmt.Errorf("%s", resp.Status)
		}
		for _, r := range e.Rows {
			fmt.Fprintf(env.Stderr, "%s: %s\n", file, r)
		}
		return 0, fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	var mr central.MasterResponse
	if err := json.Unmarshal(body, &mr); err != nil {
		return 0, err
	}
	return mr.Version, nil
}
