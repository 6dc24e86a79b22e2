package central_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mastertest"
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
	t0 := uint64(f.clock.Now().UnixMilli()) // the first version: the time
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
	// published returns what a gateway subscribing now gets.
	published := func() (wire.MasterSet, []master.CatalogueEntry) {
		t.Helper()
		m := retainedSet(t, f.conn.Published(), site, wire.SetCatalogue)
		// As a gateway applies the centre's data: every row must be good;
		// an empty set was allowed by the centre.
		cat, _, err := master.ParseCatalogue(bytes.NewReader(m.Data), master.ImportOptions{Format: m.Format, AllowEmpty: true})
		if err != nil {
			t.Fatalf("a gateway refuses version %d: %v", m.Version, err)
		}
		return m, cat
	}
	// refused posts and checks that the post is refused and nothing is
	// published.
	refused := func(query string, data []byte) []byte {
		t.Helper()
		n := len(f.conn.Published())
		code, body := post(query, data)
		if code != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", query, code, body)
		}
		if m := len(f.conn.Published()); m != n {
			t.Fatalf("%s: refused, but %d messages published", query, m-n)
		}
		return body
	}

	if code, body := post("format=csv", []byte(goodCatalogue)); code != http.StatusCreated {
		t.Fatalf("good: %d %s", code, body)
	}
	var e central.ErrorResponse
	if err := json.Unmarshal(refused("format=csv", []byte(badCatalogue)), &e); err != nil || len(e.Rows) != 5 {
		t.Fatalf("bad: %+v %v", e, err)
	}
	for i, l := range []string{"line 3: column gtin", "line 4: column unit_price", "line 5: column gtin", "line 6: column name", "line 7: column unit_price"} {
		if !strings.HasPrefix(e.Rows[i], l) {
			t.Errorf("rows[%d] = %q, want %q...", i, e.Rows[i], l)
		}
	}
	if !strings.Contains(e.Error, "5 of 6 rows bad") {
		t.Errorf("error %q", e.Error)
	}
	if m, cat := published(); m.Version != t0 || len(cat) != 2 {
		t.Fatalf("after the refusal: version %d, %d entries", m.Version, len(cat))
	}

	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(goodCatalogue))
	code, body := post("format=csv", gbk)
	var mr central.MasterResponse
	if err := json.Unmarshal(body, &mr); code != http.StatusCreated || err != nil || mr.Version != t0+1 || mr.Encoding != "GB18030" || mr.Rows != 2 {
		t.Fatalf("GBK: %d %s", code, body)
	}
	if m, cat := published(); string(m.Data) != goodCatalogue || cat[0].Name != "髋关节假体 股骨柄" {
		t.Fatalf("GBK published as %q", m.Data)
	}

	code, body = post("format=csv&partial=1", []byte(badCatalogue))
	mr = central.MasterResponse{}
	if err := json.Unmarshal(body, &mr); code != http.StatusCreated || err != nil || mr.Version != t0+2 || mr.Rows != 1 || len(mr.Rejected) != 5 {
		t.Fatalf("partial: %d %s", code, body)
	}
	if m, cat := published(); len(cat) != 1 || cat[0].GTIN != "06901234100013" || bytes.Contains(m.Data, []byte("12.5x")) {
		t.Fatalf("partial published as %q", m.Data)
	}

	for _, q := range []string{"format=csv", "format=json"} {
		if body := refused(q, nil); !strings.Contains(string(body), "no rows") {
			t.Fatalf("empty, %s: %s", q, body)
		}
	}
	if code, body := post("format=csv&allow_empty=1", []byte("gtin,name,unit_price\n")); code != http.StatusCreated {
		t.Fatalf("allow_empty: %d %s", code, body)
	}
	if m, cat := published(); m.Version != t0+3 || len(cat) != 0 {
		t.Fatalf("allow_empty published version %d with %d entries", m.Version, len(cat))
	}
	for _, q := range []string{"format=csv&partial=maybe", "format=csv&encoding=big5", "format=xml"} {
		refused(q, []byte(goodCatalogue))
	}
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
	if n := len(f.conn.Published()); n != 0 {
		t.Fatalf("%d messages published for a refused file", n)
	}
	pub, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, []byte(goodCatalogue), central.MasterOptions{Format: "csv"})
	if err != nil || pub.Version != uint64(f.clock.Now().UnixMilli()) || pub.Report.Kept != 2 || pub.Parts != 1 {
		t.Fatalf("%+v %v", pub, err)
	}
	if m := retainedSet(t, f.conn.Published(), site, wire.SetCatalogue); m.Version != pub.Version || string(m.Data) != goodCatalogue {
		t.Fatalf("retained version %d:\n%s", m.Version, m.Data)
	}
}

// retainedSet returns master data set of site as a gateway subscribing
// after the messages ms were published receives it: the last retained
// message of each topic (an empty one clears it), reassembled. It fails
// unless the retained parts are those of one version, every one of them,
// and nothing is left on the whole-set topic of the single-message
// format.
func retainedSet(t testing.TB, ms []testkit.Message, site, set string) wire.MasterSet {
	t.Helper()
	retained := map[string][]byte{}
	for _, m := range ms {
		if !m.Retained {
			t.Fatalf("%s published not retained", m.Topic)
		}
		if len(m.Payload) == 0 {
			delete(retained, m.Topic)
		} else {
			retained[m.Topic] = m.Payload
		}
	}
	var (
		a        wire.MasterAssembler
		versions = map[uint64]int{}
		done     *wire.MasterSet
	)
	for topic, p := range retained {
		s, st, index, err := wire.ParseMasterTopic(topic)
		if err != nil || s != site || st != set {
			continue
		}
		if index < 0 {
			t.Fatalf("%s still holds a message of the single-message format", topic)
		}
		part, err := wire.DecodeMasterPart(p)
		if err != nil || part.Index != index || part.Set != set {
			t.Fatalf("%s: part %+v, %v", topic, part, err)
		}
		versions[part.Version]++
		if d, err := a.Add(part); err != nil {
			t.Fatalf("%s: %v", topic, err)
		} else if d != nil {
			done = d
		}
	}
	if len(versions) != 1 || done == nil {
		t.Fatalf("retained parts of %s by version: %v; complete: %v", set, versions, done != nil)
	}
	return *done
}

// mqttPacket returns the size of the MQTT 3.1.1 PUBLISH packet at QoS 1 of
// payload on topic (section 3.3: fixed header with the remaining length,
// topic name, packet identifier, payload).
func mqttPacket(topic string, payload []byte) int {
	rest := 2 + len(topic) + 2 + len(payload)
	n := 1
	for x := rest; x >= 128; x >>= 7 {
		n++
	}
	return 1 + n + rest
}

// TestPublishMasterInParts: a 40,000-row catalogue (3.4 MB) is published
// in parts, each an MQTT packet within the shipped broker's limit (or a
// smaller one, when told), and what stays retained is that version whole;
// a smaller version after it leaves no part of the bigger one retained.
func TestPublishMasterInParts(t *testing.T) {
	f := newFixture(t)
	big := mastertest.Catalogue(40_000, "a")
	pub, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, big, central.MasterOptions{Format: "csv"})
	if err != nil || pub.Parts != 4 || pub.Bytes != len(big) || pub.Report.Kept != 40_000 {
		t.Fatalf("%+v, %v", pub, err)
	}
	t.Logf("%d bytes in %d parts", len(big), pub.Parts)
	check := func(limit int) {
		t.Helper()
		for _, m := range f.conn.Published() {
			if n := mqttPacket(m.Topic, m.Payload); n > limit {
				t.Fatalf("%s: a packet of %d bytes, over %d", m.Topic, n, limit)
			}
		}
	}
	check(central.DefaultMaxPacket)
	if m := retainedSet(t, f.conn.Published(), site, wire.SetCatalogue); m.Version != pub.Version || !bytes.Equal(m.Data, big) || m.Format != "csv" {
		t.Fatalf("retained version %d, %d bytes", m.Version, len(m.Data))
	}

	small := mastertest.Catalogue(10, "b")
	pub2, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, small, central.MasterOptions{Format: "csv"})
	if err != nil || pub2.Parts != 1 || pub2.Version != pub.Version+1 {
		t.Fatalf("%+v, %v", pub2, err)
	}
	if m := retainedSet(t, f.conn.Published(), site, wire.SetCatalogue); m.Version != pub2.Version || !bytes.Equal(m.Data, small) {
		t.Fatalf("retained version %d, %d bytes", m.Version, len(m.Data))
	}

	pub3, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, big, central.MasterOptions{Format: "csv", MaxPacket: 64 << 10})
	if err != nil || pub3.Parts != 52 {
		t.Fatalf("%+v, %v", pub3, err)
	}
	check(central.DefaultMaxPacket)
	for _, m := range f.conn.Published()[len(f.conn.Published())-pub3.Parts:] {
		if n := mqttPacket(m.Topic, m.Payload); n > 64<<10 || n < 60<<10 && !strings.HasSuffix(m.Topic, "/51") {
			t.Fatalf("%s: a packet of %d bytes with a limit of %d", m.Topic, n, 64<<10)
		}
	}
	if m := retainedSet(t, f.conn.Published(), site, wire.SetCatalogue); m.Version != pub3.Version || !bytes.Equal(m.Data, big) {
		t.Fatalf("retained version %d, %d bytes", m.Version, len(m.Data))
	}
}

// TestPublishMasterPacketLimits: a packet limit too small, or one that
// would need more than wire.MaxMasterParts parts, is refused before a
// version is taken or anything published.
func TestPublishMasterPacketLimits(t *testing.T) {
	f := newFixture(t)
	data := mastertest.Catalogue(100_000, "a") // 8.4 MB
	for _, limit := range []int{central.MinMaxPacket - 1, central.MinMaxPacket, 8000} {
		_, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, data, central.MasterOptions{Format: "csv", MaxPacket: limit})
		if !errors.Is(err, central.ErrInvalid) {
			t.Fatalf("a limit of %d bytes: %v", limit, err)
		}
		t.Logf("a limit of %d bytes: %v", limit, err)
	}
	if n := len(f.conn.Published()); n != 0 {
		t.Fatalf("%d messages published", n)
	}
	pub, err := f.svc.PublishMaster(t.Context(), site, wire.SetCatalogue, data, central.MasterOptions{Format: "csv", MaxPacket: 16 << 10})
	if err != nil || pub.Version != uint64(f.clock.Now().UnixMilli()) || pub.Parts != 523 {
		t.Fatalf("%+v, %v; want the first version taken", pub, err)
	}
}

// TestPublishMasterVersionsAreTimes: a version is the publication time in
// milliseconds, or one more than the last when that is later: versions
// increase across publications in the same millisecond, a re-created
// store and a clock set back; MinVersion lifts a version above one ahead
// of the clock, up to a day ahead.
func TestPublishMasterVersionsAreTimes(t *testing.T) {
	f := newFixture(t)
	data := []byte("gtin,lot,serial,reason,date\n09506000134352,L1,,recall,2026-11-01\n")
	publish := func(opt central.MasterOptions) (uint64, error) {
		t.Helper()
		opt.Format = "csv"
		pub, err := f.svc.PublishMaster(t.Context(), site, wire.SetRecalls, data, opt)
		if err == nil {
			if m := retainedSet(t, f.conn.Published(), site, wire.SetRecalls); m.Version != pub.Version {
				t.Fatalf("published %d, retained %d", pub.Version, m.Version)
			}
		}
		return pub.Version, err
	}
	want := func(opt central.MasterOptions, v uint64) {
		t.Helper()
		if got, err := publish(opt); err != nil || got != v {
			t.Fatalf("version %d, %v; want %d", got, err, v)
		}
	}
	t0 := uint64(f.clock.Now().UnixMilli())
	want(central.MasterOptions{}, t0)
	want(central.MasterOptions{}, t0+1) // the same millisecond
	f.clock.Add(time.Minute)
	want(central.MasterOptions{}, t0+60_000)

	// The store is lost and re-created: the time keeps versions above
	// what the old one published.
	f.stop()
	f.path = filepath.Join(t.TempDir(), "central.db")
	f.clock.Add(time.Second)
	f.start()
	want(central.MasterOptions{}, t0+61_000)

	// The clock set back: versions still increase.
	f.clock.Add(-time.Hour)
	want(central.MasterOptions{}, t0+61_001)
	f.clock.Add(time.Hour)

	// Above a version ahead of the clock that gateways hold.
	ahead := t0 + 61_000 + uint64(23*time.Hour/time.Millisecond)
	want(central.MasterOptions{MinVersion: ahead}, ahead)
	want(central.MasterOptions{}, ahead+1)
	n := len(f.conn.Published())
	if v, err := publish(central.MasterOptions{MinVersion: t0 + 61_000 + uint64(25*time.Hour/time.Millisecond)}); !errors.Is(err, central.ErrInvalid) {
		t.Fatalf("a version more than a day ahead: %d, %v", v, err)
	}
	if len(f.conn.Published()) != n {
		t.Fatal("a refused version was published")
	}
	// A store whose last version is more than a day ahead (the clock was
	// wrong when it was published): refused, nothing published.
	f.clock.Add(-2 * 24 * time.Hour)
	if v, err := publish(central.MasterOptions{}); err == nil || !strings.Contains(err.Error(), "ahead of the clock") {
		t.Fatalf("a version more than a day ahead of the clock: %d, %v", v, err)
	}
	if len(f.conn.Published()) != n {
		t.Fatal("a version gateways refuse was published")
	}
}
