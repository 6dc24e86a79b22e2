package central_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const goodCatalogue = "产品标识,名称,单价,高值\n06901234100013,髋关节假体 股骨柄,6850.00,是\n06901234200010,药物洗脱冠脉支架系统,798,是\n"

// badCatalogue has six rows, five bad (lines 3 to 7).
const badCatalogue = "gtin,name,unit_price\n" +
	"06901234100013,股骨柄,6850\n" +
	"06901234100014,髋臼杯,5320.50\n" +
	"06901234100037,股骨髁,12.5x\n" +
	"6.90123E+12,支架,798\n" +
	"06901234100044,,236\n" +
	"06901234100051,缝合线,-45\n"

// TestMasterEndpointValidates posts master data to the HTTP API: a
// catalogue with bad rows is refused with 400, naming every bad row in
// "rows", nothing is published and no version is taken; a GBK file is
// published as UTF-8; partial=1 publishes the good rows only; a file
// with no rows needs allow_empty=1. Whatever is published, a gateway
// reading it as it reads the centre's data (strict rows, an empty set
// accepted) takes it.
func TestMasterEndpointValidates(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	post := func(query string, data []byte) (int, []byte) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/master?site="+site+"&set=catalogue&"+query, "text/csv", strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	published := func(n int) (wire.Master, []master.CatalogueEntry) {
		t.Helper()
		ms := f.published(n)
		m, err := wire.DecodeMaster(ms[n-1].Payload)
		if err != nil || !ms[n-1].Retained {
			t.Fatal(err)
		}
		// As a gateway applies the centre's data: every row must be good;
		// an empty set was allowed by the centre.
		cat, _, err := master.ParseCatalogue(strings.NewReader(m.Data), master.ImportOptions{Format: m.Format, AllowEmpty: true})
		if err != nil {
			t.Fatalf("a gateway refuses version %d: %v", m.Version, err)
		}
		return m, cat
	}

	if code, body := post("format=csv", []byte(goodCatalogue)); code != http.StatusCreated {
		t.Fatalf("good: %d %s", code, body)
	}
	code, body := post("format=csv", []byte(badCatalogue))
	var e central.ErrorResponse
	if err := json.Unmarshal(body, &e); code != http.StatusBadRequest || err != nil || len(e.Rows) != 5 {
		t.Fatalf("bad: %d %s", code, body)
	}
	for i, l := range []string{"line 3: column gtin", "line 4: column unit_price", "line 5: column gtin", "line 6: column name", "line 7: column unit_price"} {
		if !strings.HasPrefix(e.Rows[i], l) {
			t.Errorf("rows[%d] = %q, want %q...", i, e.Rows[i], l)
		}
	}
	if !strings.Contains(e.Error, "5 of 6 rows bad") {
		t.Errorf("error %q", e.Error)
	}
	if m, cat := published(1); m.Version != 1 || len(cat) != 2 {
		t.Fatalf("after the refusal: version %d, %d entries", m.Version, len(cat))
	}

	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(goodCatalogue))
	code, body = post("format=csv", gbk)
	var mr central.MasterResponse
	if err := json.Unmarshal(body, &mr); code != http.StatusCreated || err != nil || mr.Version != 2 || mr.Encoding != "GB18030" || mr.Rows != 2 {
		t.Fatalf("GBK: %d %s", code, body)
	}
	if m, cat := published(2); m.Data != goodCatalogue || cat[0].Name != "髋关节假体 股骨柄" {
		t.Fatalf("GBK published as %q", m.Data)
	}

	code, body = post("format=csv&partial=1", []byte(badCatalogue))
	mr = central.MasterResponse{}
	if err := json.Unmarshal(body, &mr); code != http.StatusCreated || err != nil || mr.Version != 3 || mr.Rows != 1 || len(mr.Rejected) != 5 {
		t.Fatalf("partial: %d %s", code, body)
	}
	if m, cat := published(3); len(cat) != 1 || cat[0].GTIN != "06901234100013" || strings.Contains(m.Data, "12.5x") {
		t.Fatalf("partial published as %q", m.Data)
	}

	for _, q := range []string{"format=csv", "format=json"} {
		if code, body := post(q, []byte("")); code != http.StatusBadRequest || !strings.Contains(string(body), "no rows") {
			t.Fatalf("empty, %s: %d %s", q, code, body)
		}
	}
	if code, body := post("format=csv&allow_empty=1", []byte("gtin,name,unit_price\n")); code != http.StatusCreated {
		t.Fatalf("allow_empty: %d %s", code, body)
	}
	if m, cat := published(4); m.Version != 4 || len(cat) != 0 {
		t.Fatalf("allow_empty published version %d with %d entries", m.Version, len(cat))
	}
	for _, q := range []string{"format=csv&partial=maybe", "format=csv&encoding=big5", "format=xml"} {
		if code, body := post(q, []byte(goodCatalogue)); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	f.published(4)
}

// TestPublishMasterRefusesBeforeVersion: a refused file takes no version
// and publishes nothing; the error wraps both ErrInvalid and the master
// data error.
func TestPublishMasterRefusesBeforeVersion(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, []byte(badCatalogue), central.MasterOptions{Format: "csv"})
	var be *master.BadRowsError
	if !errors.Is(err, central.ErrInvalid) || !errors.As(err, &be) || be.Bad != 5 {
		t.Fatalf("%v", err)
	}
	pub, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, []byte(goodCatalogue), central.MasterOptions{Format: "csv"})
	if err != nil || pub.Version != 1 || pub.Report.Kept != 2 {
		t.Fatalf("%+v %v", pub, err)
	}
	f.published(1)
}
