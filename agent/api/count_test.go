package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestCountsOverTheAPI: a count session through the local API: started,
// its scans made at the station, ended with its report read in pages of
// one difference, listed, adjusted (planned, then written); the answers'
// keys are snake_case; bad requests are refused by name, with the kind of
// answer each is, and a read-only peer may not start one.
func TestCountsOverTheAPI(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	l := ledgerWith(t, receipts(now, "WH", "S%d", 3))
	stations := map[string]agent.Station{"hand": {ID: "hand", Location: "WH", Kind: agent.KindStock}}
	g, err := core.New(core.Config{Stations: stations, Live: true, Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveCore(t, g, api.Limits{MaxPage: 1})
	c, ctx := srv.client, context.Background()

	s, err := c.StartCount(ctx, core.CountRequest{Stations: []string{"hand"}, Actor: "badge-9"})
	if err != nil || s.Location != "WH" || s.ID != 4 {
		t.Fatalf("start: %+v %v", s, err)
	}
	for _, serial := range []string{"S0", "S7"} {
		raw := "]d2010952012345678817271231" + "21" + serial
		g.Scan(agent.Read{Source: "hand", Time: now, Raw: []byte(raw), Symbology: "]d2", Data: []byte(raw[3:])})
	}
	g.Wait()
	rep, err := c.EndCount(ctx, s.ID, "badge-9")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range rep.Differences {
		got = append(got, string(d.Kind)+" "+d.Item)
	}
	want := []string{"missing (01)09520123456788(21)S1", "missing (01)09520123456788(21)S2", "unknown (01)09520123456788(21)S7"}
	if !reflect.DeepEqual(got, want) || rep.Scans != 2 || rep.Matched != 1 || rep.Session.EndSeq == 0 {
		t.Fatalf("report read in pages of one: %q %+v", got, rep)
	}
	direct, err := g.CountReport(ctx, s.ID)
	if err != nil || !reflect.DeepEqual(direct, rep) {
		t.Errorf("through the API\n%+v\ndirect\n%+v %v", rep, direct, err)
	}
	sessions, err := c.Counts(ctx)
	if err != nil || len(sessions) != 1 || sessions[0].ID != s.ID || sessions[0].Open() {
		t.Errorf("sessions: %+v %v", sessions, err)
	}
	plan, err := c.AdjustCount(ctx, s.ID, core.CountAdjustment{})
	if err != nil || plan.Applied || plan.Total != 2 || len(plan.Movements) != 1 {
		t.Errorf("plan (a page of one of two): %+v %v", plan, err)
	}
	res, err := c.AdjustCount(ctx, s.ID, core.CountAdjustment{Apply: true, Actor: "badge-9"})
	if err != nil || !res.Applied || res.Total != 2 || res.Movements[0].Kind != agent.KindDispose || res.Movements[0].Seq == 0 || res.Session.Adjustments != 2 {
		t.Errorf("adjust: %+v %v", res, err)
	}

	walk := snakeCase(t)
	ask := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, "http://"+srv.tcp+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		walk(path, v)
		return resp.StatusCode, v
	}
	for _, p := range []string{"/v1/counts", fmt.Sprintf("/v1/counts/%d?limit=3", s.ID)} {
		if code, v := ask(http.MethodGet, p, ""); code != http.StatusOK || v["total"] == nil {
			t.Errorf("%s: %d %v", p, code, v)
		}
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
		kind, says         string
	}{
		{http.MethodGet, "/v1/counts/abc", "", http.StatusBadRequest, api.KindBadRequest, "abc"},
		{http.MethodGet, "/v1/counts/999", "", http.StatusNotFound, api.KindNotFound, "999"},
		{http.MethodPost, "/v1/counts", `{"stations":["hand"]}`, http.StatusForbidden, api.KindForbidden, "read-only"},
	} {
		code, v := ask(tc.method, tc.path, tc.body)
		if code != tc.status || v["kind"] != tc.kind || !strings.Contains(fmt.Sprint(v["error"]), tc.says) {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, code, v)
		}
	}
	for _, tc := range []struct {
		do   func() error
		kind string
		says string
	}{
		{func() error {
			_, err := c.StartCount(ctx, core.CountRequest{Stations: []string{"nowhere"}})
			return err
		}, api.KindBadRequest, "nowhere"},
		{func() error {
			_, err := c.StartCount(ctx, core.CountRequest{Stations: []string{"hand"}, Zone: "z"})
			return err
		}, api.KindBadRequest, "zone"},
		{func() error { _, err := c.EndCount(ctx, s.ID, ""); return err }, api.KindConflict, "ended"},
		{func() error { _, err := c.CountCabinet(ctx, core.CountRequest{Location: "WH"}); return err }, api.KindNotFound, "RFID"},
	} {
		err := tc.do()
		var e *api.Error
		if !errors.As(err, &e) || e.Kind != tc.kind || !strings.Contains(e.Error(), tc.says) {
			t.Errorf("%v: want %s saying %q", err, tc.kind, tc.says)
		}
	}
}
