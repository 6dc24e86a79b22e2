package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
)

// sourceFlags say where trace and gateways read: the store file of a
// stopped service, or the HTTP API of a running one.
type sourceFlags struct {
	store   string
	httpURL string
	timeout time.Duration
	api     apiClientFlags
}

func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.store, "store", DefaultStore, "store of a stopped service's bbolt file, or any service's PostgreSQL database URL; "+storeHelp)
	fs.StringVar(&f.httpURL, "http-url", "", "base URL of a running service's HTTP API (http://127.0.0.1:8380); used instead of --store")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for the store's lock or the service's answer")
	f.api.register(fs)
}

// openStore opens the store read-only, waiting at most --timeout.
func (f *sourceFlags) openStore() (central.Store, error) {
	return openStoreReadOnly(context.Background(), f.store, f.timeout)
}

// getJSON GETs path of the service's API into v.
func (f *sourceFlags) getJSON(ctx context.Context, path string, v any) error {
	return f.call(ctx, http.MethodGet, path, nil, v)
}

// call makes a request of the service's API and decodes its JSON answer
// into v.
func (f *sourceFlags) call(ctx context.Context, method, path string, body io.Reader, v any) error {
	return f.callType(ctx, method, path, "", body, v)
}

// callType is call with the body's Content-Type ("" for none).
func (f *sourceFlags) callType(ctx context.Context, method, path, contentType string, body io.Reader, v any) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.httpURL, "/")+path, body)
	if err != nil {
		return usagef("--http-url: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c, err := f.api.client()
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeAnswer(resp, v)
}

// decodeAnswer decodes a JSON answer of the API, or its error.
func decodeAnswer(resp *http.Response, v any) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	return json.Unmarshal(body, v)
}

func traceCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "trace", "[flags] CODE",
		"Print every movement of one item across all gateways, oldest first, with the decision of\n"+
			"each point-of-use check. CODE is any form of the item's code that udi-edge decode and\n"+
			"trace read: as a scanner sends it, (01)...(21)..., a Digital Link URI, HIBC, an item key\n"+
			"as printed, or an RFID tag's EPC (hex or urn:epc:); a tag leads to the item it was\n"+
			"commissioned to. Patient identifiers are shown only with --include-patient.")
	var sf sourceFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object per movement")
	withPatient := fs.Bool("include-patient", false, "show patient identifiers")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return usagef("want exactly one CODE, got %d arguments", fs.NArg())
	}
	key := fs.Arg(0)
	var ms []central.MovementJSON
	if sf.httpURL != "" {
		q := url.Values{"code": {key}}
		if *withPatient {
			q.Set("include_patient", "1")
		}
		var resp central.TraceResponse
		if err := sf.getJSON(ctx, "/v1/trace?"+q.Encode(), &resp); err != nil {
			return err
		}
		key, ms = resp.Key, resp.Movements
	} else {
		st, err := sf.openStore()
		if err != nil {
			return err
		}
		defer st.Close()
		found, ts, err := central.TraceCode(ctx, st, key)
		if err != nil {
			return err
		}
		key = found
		for _, t := range ts {
			ms = append(ms, central.NewMovementJSON(t, *withPatient))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, m := range ms {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
	} else if err := printTrace(env.Stdout, key, ms); err != nil {
		return err
	}
	if len(ms) == 0 {
		return fmt.Errorf("no movement of %s", key)
	}
	return nil
}

// printTrace prints the centre's movements as udi-edge trace does, the
// site before each gateway.
func printTrace(w io.Writer, key string, js []central.MovementJSON) error {
	ms := make([]agent.Movement, len(js))
	for i, j := range js {
		m, err := j.Movement()
		if err != nil {
			return err
		}
		m.Gateway = j.Site + "/" + m.Gateway
		ms[i] = m
	}
	show.Trace(w, key, ms)
	return nil
}

var dash = show.Dash

func gatewaysCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "gateways", "[flags]",
		"List every gateway: its site, current ledger (created), the highest sequence number up to\n"+
			"which the centre holds every movement, and, from a running service (--http-url), its\n"+
			"online state, last batch and counters.")
	var sf sourceFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	var gs []central.GatewayInfo
	if sf.httpURL != "" {
		var resp central.GatewaysResponse
		if err := sf.getJSON(ctx, "/v1/gateways", &resp); err != nil {
			return err
		}
		gs = resp.Gateways
	} else {
		st, err := sf.openStore()
		if err != nil {
			return err
		}
		defer st.Close()
		if gs, err = central.GatewaysFromStore(ctx, st); err != nil {
			return err
		}
	}
	if *asJSON {
		if gs == nil {
			gs = []central.GatewayInfo{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(central.GatewaysResponse{Gateways: gs})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tGATEWAY\tLEDGER CREATED\tSEQ\tLEDGERS\tBRANCH\tCONFLICTS\tSTATE\tLAST BATCH\tBATCHES\tSTORED\tDUPLICATES\tGAPS\tCHAIN ERRORS\tBAD SIGNATURES\tRESENDS")
	for _, g := range gs {
		last := "-"
		if !g.LastSeen.IsZero() {
			last = g.LastSeen.Format(time.RFC3339)
		}
		c := g.Counters
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
			g.Site, g.Gateway, time.Unix(0, g.Created).UTC().Format(time.RFC3339), g.Seq, g.Ledgers, g.Branch, len(g.Conflicts), dash(g.State), last,
			c.Batches, c.Stored, c.Duplicates, c.Gaps, c.ChainErrors, c.BadSignatures, c.Resends)
	}
	return tw.Flush()
}
