package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

const fees = "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n" +
	"F1,V1,P1,2026-12-06 10:00:00,C0301010010000100001,HC1,6850.00,1,6850.00\n" +
	"F2,V1,P1,2026-12-06 10:01:00,C0301010020000200001,HC2,5320.50,1,5320.50\n" +
	"F3,V1,P1,2026-12-06 10:02:00,C0301020010000300001,HC3,7980.00,1,7980.00\n"

// TestReconcileFeesOverTheAPI: the findings of a fee-detail file come
// page by page, the client sending the file again for each; a reader
// that cannot be sent again says so. A read-only peer may reconcile (it
// changes nothing); a form whose fee file is not its last part, and a
// file with a bad line, are refused saying why.
func TestReconcileFeesOverTheAPI(t *testing.T) {
	s := serve(t, api.Limits{MaxPage: 2})
	ctx := context.Background()
	found, err := s.client.ReconcileFees(ctx, strings.NewReader(fees), "fees.csv", "csv", core.FeeOptions{})
	var lines []string
	for _, f := range found {
		lines = append(lines, f.Kind+" "+f.Line)
	}
	want := []string{"billed-not-scanned F1", "billed-not-scanned F2", "billed-not-scanned F3"}
	if err != nil || !slices.Equal(lines, want) {
		t.Fatalf("findings %q %v, want %q", lines, err, want)
	}
	if _, err := s.client.ReconcileFees(ctx, io.MultiReader(strings.NewReader(fees)), "fees.csv", "csv", core.FeeOptions{}); err == nil ||
		!strings.Contains(err.Error(), "fees.csv cannot be sent again") {
		t.Fatalf("a second page of a reader that cannot be sent again: %v", err)
	}

	post := func(query, ctype string, body io.Reader) (int, api.FeeFindingsResponse, api.ErrorResponse) {
		t.Helper()
		resp, err := http.Post("http://"+s.tcp+"/v1/reconcile/fees?"+query, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var ok api.FeeFindingsResponse
		var bad api.ErrorResponse
		if resp.StatusCode == http.StatusOK {
			err = json.Unmarshal(b, &ok)
		} else {
			err = json.Unmarshal(b, &bad)
		}
		if err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
		return resp.StatusCode, ok, bad
	}
	if code, r, _ := post("format=csv&name=fees.csv&offset=2", "text/csv", strings.NewReader(fees)); code != http.StatusOK || r.Total != 3 || r.Offset != 2 ||
		len(r.Findings) != 1 || r.Findings[0].Line != "F3" {
		t.Fatalf("over TCP, the last page: %d %+v", code, r)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for _, f := range [][2]string{{api.FieldFees, fees}, {core.TableWithdrawn, "27位码\nC03010300100006000010000001\n"}} {
		w, _ := mw.CreateFormFile(f[0], f[0]+".csv")
		io.WriteString(w, f[1])
	}
	mw.Close()
	if code, _, e := post("format=csv", mw.FormDataContentType(), &form); code != http.StatusBadRequest || !strings.Contains(e.Error, "the fees part must be the form's last") {
		t.Fatalf("a table after the fee file: %d %+v", code, e)
	}
	bad := strings.Replace(fees, "5320.50,1,5320.50", "5320.50,one,5320.50", 1)
	body, ctype := api.FormBody([]api.Part{{Field: api.FieldFees, File: "fees.csv", Body: strings.NewReader(bad)}})
	defer body.Close()
	if code, _, e := post("", ctype, body); code != http.StatusUnprocessableEntity || e.Kind != api.KindBadRows ||
		len(e.RowErrors) != 1 || !strings.HasPrefix(e.RowErrors[0], "fees.csv: line 3: field cnt") {
		t.Fatalf("a bad line: %d %+v", code, e)
	}
	_, err = s.client.ReconcileFees(ctx, strings.NewReader(bad), "fees.csv", "", core.FeeOptions{})
	var ae *api.Error
	if !errors.As(err, &ae) || len(ae.RowErrors) != 1 {
		t.Fatalf("a bad line through the client: %v", err)
	}
}

// TestExportInsuranceOverTheAPI: the export's counts come in its header;
// a bad bound is refused naming it.
func TestExportInsuranceOverTheAPI(t *testing.T) {
	s := serve(t, api.Limits{})
	resp, err := http.Get("http://" + s.tcp + "/v1/export/insurance?from=2026-12-06&to=2026-12-06")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	// The 20 receipts are of an item no catalogue lists: each is skipped.
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get(api.ExportHeader) != "records=0 skipped=20 problems=0" || doc["3503"] == nil {
		t.Fatalf("export: %s %q %v", resp.Status, resp.Header.Get(api.ExportHeader), err)
	}
	var b bytes.Buffer
	n, err := s.client.ExportInsurance(context.Background(), &b, core.InsuranceOptions{})
	if err != nil || n.Skipped != 20 || !strings.Contains(b.String(), `"skipped"`) {
		t.Fatalf("export through the client: %+v %v", n, err)
	}
	resp, err = http.Get("http://" + s.tcp + "/v1/export/insurance?to=yesterday")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad bound: %s", resp.Status)
	}
}

// TestFeesBodyBounded: a fee-detail file over the body's bound is
// refused naming the bound, not as a file that breaks off.
func TestFeesBodyBounded(t *testing.T) {
	s := serve(t, api.Limits{MaxBody: 1 << 10})
	big := fees + strings.Repeat("F9,V1,P1,2026-12-06 10:02:00,C0301020010000300001,HC3,7980.00,1,7980.00\n", 100)
	_, err := s.client.ReconcileFees(context.Background(), strings.NewReader(big), "fees.csv", "csv", core.FeeOptions{})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.ErrorResponse.Error, "larger than 1024 bytes") {
		t.Fatalf("a fee file of %d bytes over a 1 KiB bound: %v", len(big), err)
	}
}
