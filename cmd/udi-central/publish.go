package main

import (
	"bytes"
	"context"
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
	fs := newFlags(env, "publish", "SET FILE --site SITE [flags]",
		"Publish FILE as the next version of master data SET ("+strings.Join(wire.Sets(), ", ")+")\n"+
			"to the gateways of each site: retained, QoS 1, in parts on udi/v1/SITE/master/SET/N, each\n"+
			"an MQTT packet of at most --max-packet bytes (the broker's max_packet_size). FILE is CSV\n"+
			"(or tab-separated text) with a header row, or a JSON array, in the form the gateway's\n"+
			"import command reads, in UTF-8, GBK/GB18030 or UTF-16 with a byte order mark; it is\n"+
			"published as UTF-8. FILE is checked first as every gateway checks it: a file with a bad\n"+
			"row is refused whole, every bad row named, unless --partial publishes its good rows only;\n"+
			"a file with no rows is refused unless --allow-empty. Nothing refused is published, so\n"+
			"the version the gateways hold stays. The version is the time in milliseconds, or one more\n"+
			"than the last published (kept in the store) when that is later; gateways refuse a version\n"+
			"more than a day ahead of their clock. With --http-url a running service publishes it;\n"+
			"otherwise this command opens the store (the service must not be running) and connects\n"+
			"to the broker.")
	var bf brokerFlags
	bf.register(fs, fmt.Sprintf("udi-central-publish-%s-%d", hostname(), os.Getpid()))
	sites := fs.StringSlice("site", nil, "site id(s) to publish to (repeat or comma-separate); required")
	format := fs.String("format", "", "csv (also tab-separated text) or json (default: from FILE's extension)")
	encoding := fs.String("encoding", "", "FILE's encoding: utf-8, gbk or gb18030, utf-16 (default: detected)")
	partial := fs.Bool("partial", false, "publish the good rows of a file with bad ones, listing the bad ones")
	allowEmpty := fs.Bool("allow-empty", false, "publish a file with no rows, emptying the set on the gateways")
	store := fs.String("store", DefaultStore, "the service's store, for the version; "+storeHelp)
	httpURL := fs.String("http-url", "", "base URL of a running service's HTTP API; used instead of --store and the broker flags")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the broker (for each message) or the service")
	maxPacket := maxPacketFlag(fs)
	minVersion := fs.Uint64("min-version", 0, "publish as at least this version: to replace a version ahead of the clock that gateways hold (sync/PROTOCOL.md)")
	var api apiClientFlags
	api.register(fs)
	key := keyFlag(fs, "signs the parts")
	unsigned := fs.Bool("unsigned", false, "publish unsigned parts (gateways that pin the centre's key refuse them)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want SET and FILE, got %d arguments", fs.NArg())
	}
	set, file := fs.Arg(0), fs.Arg(1)
	if err := wire.ValidSet(set); err != nil {
		return usagef("SET: %v", err)
	}
	if len(*sites) == 0 {
		return usagef("--site is required")
	}
	for _, s := range *sites {
		if err := wire.ValidID(s); err != nil {
			return usagef("--site: %v", err)
		}
	}
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if *format != wire.FormatCSV && *format != wire.FormatJSON {
		return usagef("--format %q: want csv or json", *format)
	}
	if *maxPacket < central.MinMaxPacket {
		return usagef("--max-packet %d: at least %d", *maxPacket, central.MinMaxPacket)
	}
	if *httpURL != "" && (fs.Changed("max-packet") || fs.Changed("min-version")) {
		return usagef("--max-packet and --min-version publish straight to the broker, not with --http-url (the service has its own)")
	}
	opt := central.MasterOptions{Format: *format, Encoding: *encoding, Partial: *partial, AllowEmpty: *allowEmpty,
		MaxPacket: *maxPacket, MinVersion: *minVersion}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// Check the file before anything is opened or contacted, with the
	// rules the service and every gateway apply.
	prepared, rep, err := master.PrepareSet(set, bytes.NewReader(data), master.ImportOptions{
		Format: opt.Format, Encoding: opt.Encoding, Partial: opt.Partial, AllowEmpty: opt.AllowEmpty,
	})
	if err != nil {
		return refused(env, file, err)
	}
	for _, e := range rep.Rejected {
		fmt.Fprintf(env.Stderr, "%s: %s (left out)\n", file, e.Error())
	}
	var publish func(site string) (uint64, int, error)
	if *httpURL != "" {
		c, err := api.client()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		publish = func(site string) (uint64, int, error) {
			v, err := publishHTTP(ctx, env, c, *httpURL, file, site, set, data, opt)
			return v, 0, err
		}
	} else {
		opt.PublishTimeout = *timeout
		if !*unsigned {
			path, err := keyPath(*key, *store)
			if err != nil {
				return err
			}
			if opt.Key, err = loadKey(path); err != nil {
				return err
			}
		}
		mc, err := bf.config()
		if err != nil {
			return err
		}
		mc.CleanSession = true
		st, err := openStore(ctx, *store)
		if err != nil {
			return fmt.Errorf("--store %s: %w", storeName(*store), err)
		}
		defer st.Close()
		mq, err := central.NewMQTT(mc)
		if err != nil {
			return err
		}
		defer mq.Close()
		cctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if err := mq.Connect(cctx); err != nil {
			return err
		}
		publish = func(site string) (uint64, int, error) {
			pub, err := central.PublishMaster(ctx, st, mq, site, set, data, opt)
			return pub.Version, pub.Parts, err
		}
	}
	var note string
	if rep.Converted() {
		note = ", converted from " + rep.Encoding
	}
	if n := len(rep.Rejected); n > 0 {
		note += fmt.Sprintf(", %d row(s) left out", rep.Records-rep.Kept)
	}
	for _, site := range *sites {
		v, parts, err := publish(site)
		if err != nil {
			return fmt.Errorf("site %s: %w", site, err)
		}
		inParts := ""
		if parts > 1 {
			inParts = fmt.Sprintf(" in %d parts", parts)
		}
		fmt.Fprintf(env.Stdout, "published %s version %d to site %s (%d rows, %d bytes%s%s)\n", set, v, site, rep.Kept, len(prepared), inParts, note)
	}
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
