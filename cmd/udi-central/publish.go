package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func publishCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "publish", "SET FILE --site SITE [flags]",
		"Publish FILE as the next version of master data SET ("+strings.Join(wire.Sets(), ", ")+")\n"+
			"to the gateways of each site: retained, QoS 1, on udi/v1/SITE/master/SET. FILE is CSV\n"+
			"with a header row or a JSON array, in the form the gateway's import command reads.\n"+
			"The version is one more than the last published, kept in the store. With --http-url\n"+
			"a running service publishes it; otherwise this command opens the store (the service\n"+
			"must not be running) and connects to the broker itself.")
	var bf brokerFlags
	bf.register(fs, fmt.Sprintf("udi-central-publish-%s-%d", hostname(), os.Getpid()))
	sites := fs.StringSlice("site", nil, "site id(s) to publish to (repeat or comma-separate); required")
	format := fs.String("format", "", "csv or json (default: from FILE's extension)")
	store := fs.String("store", DefaultStore, "store file, for the version")
	httpURL := fs.String("http-url", "", "base URL of a running service's HTTP API; used instead of --store and the broker flags")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the broker or the service")
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
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	publish := func(site string) (uint64, error) { return 0, nil }
	if *httpURL != "" {
		publish = func(site string) (uint64, error) {
			q := url.Values{"site": {site}, "set": {set}, "format": {*format}}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*httpURL, "/")+"/v1/master?"+q.Encode(), bytes.NewReader(data))
			if err != nil {
				return 0, usagef("--http-url: %v", err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			var mr central.MasterResponse
			err = decodeAnswer(resp, &mr)
			return mr.Version, err
		}
	} else {
		mc, err := bf.config()
		if err != nil {
			return err
		}
		mc.CleanSession = true
		st, err := boltstore.Open(*store)
		if errors.Is(err, boltstore.ErrLocked) {
			return fmt.Errorf("%w: a running service holds it; publish through it with --http-url", err)
		}
		if err != nil {
			return err
		}
		defer st.Close()
		mq, err := central.NewMQTT(mc)
		if err != nil {
			return err
		}
		defer mq.Close()
		if err := mq.Connect(ctx); err != nil {
			return err
		}
		publish = func(site string) (uint64, error) {
			return central.PublishMaster(ctx, st, mq, site, set, *format, data)
		}
	}
	for _, site := range *sites {
		v, err := publish(site)
		if err != nil {
			return fmt.Errorf("site %s: %w", site, err)
		}
		fmt.Fprintf(env.Stdout, "published %s version %d to site %s (%d bytes)\n", set, v, site, len(data))
	}
	return nil
}
