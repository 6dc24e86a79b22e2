package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// Defaults of run.
const (
	DefaultStore = "udi-central.db"
	DefaultHTTP  = "127.0.0.1:8380"
)

func runCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "run", "--site SITE [flags]",
		"Run the central service: subscribe to the movements and status of every gateway of\n"+
			"the sites, check each batch (record checksums, hash chain, continuity), store it\n"+
			"durably, then publish the retained ack; ask for a resend after a gap or a bad record.\n"+
			"Serves the HTTP API (GET /healthz, /v1/trace?code=KEY, /v1/gateways; POST /v1/master)\n"+
			"on --http. On a loopback address a client without credential may do everything (unless\n"+
			"--http-auth always); beyond loopback the API needs HTTPS (--http-tls-cert, --http-tls-key)\n"+
			"and clients authenticate with a bearer token (--http-tokens) or a client certificate\n"+
			"(--http-client-ca, --http-client-roles): role auditor reads, patient identifiers\n"+
			"included; operator reads without them and publishes master data.\n"+
			"With --check, validate the flags and the files they name, print a summary and exit.\n"+
			"Stops on SIGINT or SIGTERM.")
	var bf brokerFlags
	bf.register(fs, "udi-central-"+hostname())
	sites := fs.StringSlice("site", nil, "site id(s) to serve (repeat or comma-separate); required")
	store := fs.String("store", DefaultStore, storeHelp)
	var hf httpFlags
	hf.register(fs)
	var mf metricsFlags
	mf.register(fs)
	shared := fs.Bool("shared", false, "subscribe to movements with the shared subscription $share/"+wire.SharedGroup+"/..., for several instances on one PostgreSQL --store")
	forceShared := fs.Bool("force-shared", false, "with --shared, accept a bbolt --store: only when no other instance subscribes in the group")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	key := keyFlag(fs, "signs acks and master data; made at first start (every instance needs the same file)")
	enrolment := fs.String("enrolment", "", "the enrolment file: one line per gateway, \"site gateway ed25519:KEY\" as udi-edge key prints it;\nonly these gateways' batches are taken, and only signed by their key (without it, any gateway's, for trials)")
	maxPacket := maxPacketFlag(fs)
	var supply supplyFlags
	supply.register(fs)
	config := fs.String("config", "", "configuration file (JSON; keys as in deploy/udi-central.json); flags given win over it")
	check := fs.Bool("check", false, "validate the flags and the files they name (broker and HTTP credentials), print a summary and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *config != "" {
		if err := applyConfigFile(fs, *config); err != nil {
			return err
		}
	}
	if len(*sites) == 0 {
		return usagef("--site is required")
	}
	if err := mf.check(); err != nil {
		return err
	}
	for _, s := range *sites {
		if err := wire.ValidID(s); err != nil {
			return usagef("--site: %v", err)
		}
	}
	if *shared && !isDatabaseURL(*store) && !*forceShared {
		return usagef("--shared with the bbolt file %s: the broker deals each batch to one instance of the group, so "+
			"instances with files of their own would each hold part of every gateway's stream and ask for the rest again "+
			"and again; share one PostgreSQL database (--store postgres://...), or add --force-shared if this is the "+
			"group's only instance", *store)
	}
	log, err := newLogger(env.Stderr, *level)
	if err != nil {
		return err
	}
	mc, err := bf.config()
	if err != nil {
		return err
	}
	mc.Logger = log
	apiCfg, err := hf.config()
	if err != nil {
		return err
	}
	if *maxPacket < central.MinMaxPacket {
		return usagef("--max-packet %d: at least %d", *maxPacket, central.MinMaxPacket)
	}
	keyFile, err := keyPath(*key, *store)
	if err != nil {
		return err
	}
	var enrolled *sign.Enrolment
	if *enrolment != "" {
		if enrolled, err = sign.LoadEnrolment(*enrolment); err != nil {
			return usagef("--enrolment: %v", err)
		}
	}
	catalogue, cursor, err := supply.config(*store, *sites, enrolled)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(env.Stdout, "configuration ok: site(s) %s, broker(s) %s, store %s, %s, %s\n",
			strings.Join(*sites, ","), strings.Join(mc.Brokers, ","), storeName(*store), hf.describe(apiCfg), describeEnrolment(enrolled, *sites))
		if len(supply.ids) > 0 {
			fmt.Fprintf(env.Stdout, "supplier topics: %s (cursor %s)\n", supply.ids, cursor)
		}
		return nil
	}
	priv, made, err := sign.LoadOrCreate(keyFile)
	if err != nil {
		return fmt.Errorf("--signing-key: %w", err)
	}
	if made {
		log.Info("made the centre's key; give its public key to the gateways (sync.centre_key) and the same file to every instance",
			"path", keyFile, "public_key", sign.FormatPublic(sign.Public(priv)))
	}

	st, err := openStore(ctx, *store)
	if err != nil {
		return fmt.Errorf("--store %s: %w", storeName(*store), err)
	}
	defer st.Close()
	mq, err := central.NewMQTT(mc)
	if err != nil {
		return err
	}
	om := newCentreMetrics()
	svc, err := central.NewService(central.Config{Sites: *sites, Store: om.timed(st), Conn: mq, Shared: *shared, Logger: log,
		Enrolment: enrolled, Key: priv, MaxPacket: *maxPacket, Catalogue: catalogue})
	if err != nil {
		return err
	}
	metricsLn, err := mf.listen(log)
	if err != nil {
		_ = svc.Close()
		return err
	}
	if metricsLn != nil {
		defer metricsLn.Close() // on an early return; served until ctx ends
	}
	pub, err := supply.publisher(st, mq, catalogue, cursor, log)
	if err != nil {
		return err
	}
	if pub != nil {
		mq.OnConnect(pub.Wake)
		pub.Start()
		defer pub.Close() // on an early return; Close is idempotent
	}
	if err := svc.Start(ctx); err != nil { // records the subscriptions: made on connect
		return err
	}
	var httpDone <-chan error
	if apiCfg != nil {
		if httpDone, err = hf.serve(ctx, svc, apiCfg, log); err != nil {
			_ = svc.Close()
			return err
		}
	}
	log.Info("connecting to the broker", "brokers", mc.Brokers, "client_id", mc.ClientID, "store", storeName(*store))
	go func() {
		if err := mq.Connect(ctx); err != nil && ctx.Err() == nil {
			log.Error("mqtt connect failed", "err", err)
		}
	}()

	om.observe(ctx, metricsLn, svc, mq, st, log) // until ctx ends
	log.Info("stopping")
	if httpDone != nil {
		<-httpDone // never held up by a client for more than a short grace
	}
	mq.Close() // no more batches
	_ = svc.Close()
	if pub != nil {
		_ = pub.Close()
	}
	if err := st.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// describeEnrolment says how many gateways of sites are enrolled.
func describeEnrolment(e *sign.Enrolment, sites []string) string {
	if e == nil {
		return "no enrolment (any gateway's batches are taken)"
	}
	n := 0
	for _, s := range sites {
		n += len(e.Gateways(s))
	}
	return fmt.Sprintf("%d gateway(s) enrolled on these sites", n)
}
