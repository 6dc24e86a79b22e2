package insurance

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// documented lists each interface's fields in the order
// firmware-notes/insurance.md gives them: a record must carry exactly
// these.
var documented = map[string][]string{
	InfStockTake: {"med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "rx_flag", "invdate", "inv_cnt",
		"manu_lotnum", "fixmedins_bchno", "manu_date", "expy_end", "memo", "drugtracinfo"},
	InfStockChange: {"med_list_codg", "inv_chg_type", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno",
		"pric", "cnt", "rx_flag", "inv_chg_time", "inv_chg_opter_name", "memo", "trdn_flag", "drugtracinfo"},
	InfPurchase: {"med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "dynt_no", "fixmedins_bchno",
		"spler_name", "spler_pmtno", "manu_lotnum", "prodentp_name", "aprvno", "manu_date", "expy_end", "finl_trns_pric",
		"purc_retn_cnt", "purc_invo_codg", "purc_invo_no", "rx_flag", "purc_retn_stoin_time", "purc_retn_opter_name",
		"prod_geay_flag", "memo"},
	InfPurchaseReturn: {"med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno", "spler_name",
		"spler_pmtno", "manu_date", "expy_end", "finl_trns_pric", "purc_retn_cnt", "purc_invo_codg", "purc_invo_no",
		"rx_flag", "purc_retn_stoin_time", "purc_retn_opter_name", "memo", "medins_prod_purc_no"},
	InfSale: {"med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno", "prsc_dr_cert_type",
		"prsc_dr_certno", "prsc_dr_name", "phar_cert_type", "phar_certno", "phar_name", "phar_prac_cert_no",
		"hi_feesetl_type", "setl_id", "mdtrt_sn", "psn_no", "psn_cert_type", "certno", "psn_name", "manu_lotnum",
		"manu_date", "expy_end", "rx_flag", "trdn_flag", "finl_trns_pric", "rxno", "rx_circ_flag", "rtal_docno",
		"stoout_no", "bchno", "drug_prod_barc", "shelf_posi", "sel_retn_cnt", "sel_retn_time", "sel_retn_opter_name",
		"memo", "mdtrt_setl_type", "drugtracinfo"},
	InfSaleReturn: {"med_list_codg", "fixmedins_hilist_id", "fixmedins_hilist_name", "fixmedins_bchno", "setl_id",
		"psn_no", "psn_cert_type", "certno", "psn_name", "manu_lotnum", "manu_date", "expy_end", "rx_flag", "trdn_flag",
		"finl_trns_pric", "sel_retn_cnt", "sel_retn_time", "sel_retn_opter_name", "memo", "medins_prod_sel_no",
		"mdtrt_sn", "drugtracinfo"},
}

// nodes is each interface's input node.
var nodes = map[string]string{InfStockTake: "invinfo", InfStockChange: "invinfo", InfPurchase: "purcinfo",
	InfPurchaseReturn: "purcinfo", InfSale: "selinfo", InfSaleReturn: "selinfo"}

func exportOptions() Options {
	return Options{
		Operator: func(actor string) string { return map[string]string{"B0042": "张护士"}[actor] },
		Visit: func(c string) (Visit, bool) {
			if c != "C1" {
				return Visit{}, false
			}
			return Visit{VisitID: "MDT44010620260310000123", Person: "44000000000000012345", PersonCertType: "01",
				Settlement: "SETL4401062026031200001", FeeSettleType: "1", Doctor: "王医生"}, true
		},
		Place: func(loc string) Place {
			return map[string]Place{"BRANCH-2": PlaceOther, "SUPPLIER-A": PlaceSupplier}[loc]
		},
		PharmacistName: "李药师", PharmacistCert: "Z440106000077",
	}
}

// day1 is a day of an operating room's movements.
func day1() []agent.Movement {
	gwSeq["gw-or-1"] = 0
	r := func(gtin, serial, lot string, min int) agent.Movement {
		return mv(agent.KindReceive, gtin, serial, lot, min)
	}
	k := func(kind agent.Kind, gtin, serial, lot string, min int) agent.Movement {
		return mv(kind, gtin, serial, lot, min)
	}
	var ms []agent.Movement
	ms = append(ms,
		r(stentGTIN, "SN0001", "L2309A", 0), r(stentGTIN, "SN0002", "L2309A", 1), r(stentGTIN, "SN0003", "L2309A", 2),
		r(balloonGTIN, "SN0101", "L2310B", 3), r(gauzeGTIN, "G1", "L1", 4), r(strayGTIN, "X1", "L1", 5),
		r(staplerGTIN, "SN0201", "L2401C", 6), r(stentGTIN, "SN0004", "L2309A", 7),
		use(stentGTIN, "SN0001", "L2309A", "C1", 60), use(stentGTIN, "SN0002", "L2309A", "C1", 61),
	)
	balloon := use(balloonGTIN, "SN0101", "L2310B", "C1", 62)
	cancel := k(agent.KindAdjust, balloonGTIN, "SN0101", "L2310B", 63)
	cancel.Reason = agent.CancelReason(agent.KindUse, balloon.Seq)
	blocked := use(stentGTIN, "SN0003", "L2309A", "C1", 64)
	blocked.Decision = agent.DecisionBlocked
	ms = append(ms, balloon, cancel, blocked,
		k(agent.KindReturn, stentGTIN, "SN0002", "L2309A", 90), k(agent.KindReturn, balloonGTIN, "SN0101", "L2310B", 91),
		k(agent.KindWaste, stentGTIN, "SN0003", "L2309A", 100), k(agent.KindAdjust, stentGTIN, "SN0003", "L2309A", 110),
		k(agent.KindAdjust, stentGTIN, "SN0001", "L2309A", 111), k(agent.KindDispose, stentGTIN, "SN0004", "L2309A", 112),
	)
	out := k(agent.KindTransfer, stentGTIN, "SN0002", "L2309A", 120)
	out.From, out.Location = "OR-3", "BRANCH-2"
	inside := k(agent.KindTransfer, balloonGTIN, "SN0101", "L2310B", 121)
	inside.From, inside.Location = "OR-3", "WARD-5"
	back := k(agent.KindTransfer, staplerGTIN, "SN0201", "L2401C", 122)
	back.From, back.Location = "OR-3", "SUPPLIER-A"
	stale := k(agent.KindAdjust, stentGTIN, "SN0009", "L2309A", 123)
	stale.Reason = agent.CancelReason(agent.KindUse, 9999)
	staleCount := k(agent.KindAdjust, stentGTIN, "SN0009", "L2309A", 124)
	staleCount.Reason = agent.CancelReason(agent.KindCount, 9998)
	return append(ms, out, inside, back, stale, staleCount, k(agent.KindCount, stentGTIN, "SN0004", "L2309A", 130))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile("testdata/"+name, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, name); string(got) != want {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

// records returns the records of interface infno in the document d,
// checking each is {node: {…}} with exactly the documented fields, in
// their order.
func records(t *testing.T, d []byte, infno string) []map[string]json.RawMessage {
	t.Helper()
	var doc map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(d, &doc); err != nil {
		t.Fatal(err)
	}
	var out []map[string]json.RawMessage
	for i, in := range doc[infno] {
		raw, ok := in[nodes[infno]]
		if len(in) != 1 || !ok {
			t.Fatalf("%s record %d: %s is not {%q: …}", infno, i, in, nodes[infno])
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		var keys []string
		dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var skip json.RawMessage
			dec.Decode(&skip)
		}
		if !slices.Equal(keys, documented[infno]) {
			t.Errorf("%s record %d fields:\n got %q\nwant %q", infno, i, keys, documented[infno])
		}
		var rec map[string]json.RawMessage
		json.Unmarshal(raw, &rec)
		out = append(out, rec)
	}
	return out
}

// fields checks the named fields of a record, given as JSON text.
func fields(t *testing.T, what string, rec map[string]json.RawMessage, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		var b bytes.Buffer
		json.Compact(&b, rec[kv[i]])
		if got := b.String(); got != kv[i+1] {
			t.Errorf("%s: %s = %s, want %s", what, kv[i], got, kv[i+1])
		}
	}
}

func TestBuild(t *testing.T) {
	e := Build(day1(), cat, exportOptions())
	var buf bytes.Buffer
	if err := WriteJSON(&buf, e); err != nil {
		t.Fatal(err)
	}
	golden(t, "export.golden.json", buf.Bytes())
	d := buf.Bytes()
	stentBatch := `"` + BatchNo(stentGTIN, "L2309A") + `"`
	code := func(serial string) string {
		return `{"drug_trac_codg":"01` + stentGTIN + `172809301125090110L2309A\u001d21` + serial + `"}`
	}

	p := records(t, d, InfPurchase)
	if len(p) != 3 {
		t.Fatalf("%d purchases, want stent, balloon, stapler", len(p))
	}
	fields(t, "stent purchase", p[0], "med_list_codg", `"`+stentCode+`"`, "fixmedins_hilist_id", `"HC-1001"`,
		"fixmedins_hilist_name", `"冠状动脉药物洗脱支架"`, "fixmedins_bchno", stentBatch, "purc_retn_cnt", "4",
		"finl_trns_pric", "720.00", "manu_lotnum", `"L2309A"`, "manu_date", `"2025-09-01"`, "expy_end", `"2028-09-30"`,
		"spler_name", `"示例医药供应链有限公司"`, "prodentp_name", `"示例医疗器械有限公司"`, "aprvno", `"国械注准20233130001"`,
		"purc_retn_stoin_time", `"2026-03-12 09:00:00"`, "purc_retn_opter_name", `"张护士"`, "rx_flag", `"0"`, "prod_geay_flag", `"0"`)
	fields(t, "balloon purchase, price unknown", p[1], "finl_trns_pric", "null")

	s := records(t, d, InfSale)
	if len(s) != 1 {
		t.Fatalf("%d sales, want the stents of case C1 (the balloon's use is cancelled, a use blocked)", len(s))
	}
	fields(t, "sale", s[0], "fixmedins_bchno", stentBatch, "sel_retn_cnt", "2", "finl_trns_pric", "750.00",
		"mdtrt_sn", `"MDT44010620260310000123"`, "psn_no", `"44000000000000012345"`, "psn_cert_type", `"01"`,
		"setl_id", `"SETL4401062026031200001"`, "mdtrt_setl_type", `"1"`, "certno", `""`, "psn_name", `""`,
		"prsc_dr_name", `"王医生"`, "phar_name", `"李药师"`, "phar_prac_cert_no", `"Z440106000077"`,
		"sel_retn_time", `"2026-03-12 10:00:00"`, "drugtracinfo", "["+code("SN0001")+","+code("SN0002")+"]")
	docNo := string(s[0]["rtal_docno"])

	sr := records(t, d, InfSaleReturn)
	if len(sr) != 1 {
		t.Fatalf("%d sale returns, want one", len(sr))
	}
	fields(t, "sale return", sr[0], "fixmedins_bchno", stentBatch, "sel_retn_cnt", "1", "medins_prod_sel_no", docNo,
		"mdtrt_sn", `"MDT44010620260310000123"`, "sel_retn_time", `"2026-03-12 10:30:00"`, "drugtracinfo", "["+code("SN0002")+"]")

	c := records(t, d, InfStockChange)
	var types []string
	for _, r := range c {
		types = append(types, string(r["inv_chg_type"]))
		fields(t, "stock change", r, "fixmedins_bchno", stentBatch, "cnt", "1", "pric", "750.00", "trdn_flag", `"0"`)
	}
	if want := []string{`"104"`, `"103"`, `"105"`, `"102"`}; !slices.Equal(types, want) {
		t.Errorf("stock changes %v, want waste, gain, disposal, transfer out %v", types, want)
	}
	fields(t, "waste", c[0], "inv_chg_time", `"2026-03-12 10:40:00"`, "drugtracinfo", "["+code("SN0003")+"]")

	pr := records(t, d, InfPurchaseReturn)
	if len(pr) != 1 {
		t.Fatalf("%d purchase returns, want the stapler", len(pr))
	}
	fields(t, "purchase return", pr[0], "med_list_codg", `"`+staplerCode+`"`, "purc_retn_cnt", "1",
		"fixmedins_bchno", `"`+BatchNo(staplerGTIN, "L2401C")+`"`)

	var reasons []string
	for _, s := range e.Skipped {
		reasons = append(reasons, s.Item+" "+string(s.Kind)+": "+s.Reason)
	}
	want := []string{
		"(01)06951234000042(21)G1 receive: product 06951234000042 has no national code",
		"(01)06951234000059(21)X1 receive: not in the catalogue",
		"(01)06951234000028(21)SN0101 return: a return with no use of the item before it among the movements given: not a sale return",
		"(01)06951234000011(21)SN0001 adjust: an adjustment of an item sold: the sale stands until the use is cancelled or the item returned",
		"(01)06951234000028(21)SN0101 transfer: a transfer between the hospital's own locations changes no stock at the platform",
		"(01)06951234000011(21)SN0009 adjust: cancels use movement 9999, which is not among the movements given: undo its earlier record (3507 or a return)",
	}
	if !slices.Equal(reasons, want) {
		t.Errorf("skipped:\n got %q\nwant %q", reasons, want)
	}
	// The invoice number of a purchase return is required, and no
	// movement knows it.
	if len(e.Problems) != 1 || e.Problems[0] != (Problem{Infno: InfPurchaseReturn, Record: 0, Batch: BatchNo(staplerGTIN, "L2401C"),
		Field: "purc_invo_no", Reason: "required, and not known"}) {
		t.Errorf("problems: %+v", e.Problems)
	}
}

func TestBuildProblems(t *testing.T) {
	gwSeq["gw-or-1"] = 0
	m := use(stentGTIN, "SN0001", "L2309A", "C2", 0)
	m.Production, m.Raw = "", []byte("]d2")
	long := use(balloonGTIN, "SN0101", "L-"+strings.Repeat("9", 30), "", 1)
	e := Build([]agent.Movement{m, long}, cat, Options{})
	var got []string
	for _, p := range e.Problems {
		got = append(got, p.Infno+" "+p.Field+": "+p.Reason)
	}
	need := func(f string) string { return "3505 " + f + ": required, and not known" }
	want := []string{
		need("prsc_dr_name"), need("phar_name"), need("phar_prac_cert_no"), need("hi_feesetl_type"), need("psn_cert_type"),
		need("manu_date"),
		"3505 drugtracinfo: insurance: movement gw-or-1/1 of (01)06951234000011(21)SN0001: no trace code: no code was scanned",
		need("prsc_dr_name"), need("phar_name"), need("phar_prac_cert_no"), need("hi_feesetl_type"), need("mdtrt_sn"),
		need("psn_cert_type"), "3505 manu_lotnum: 32 characters long, the platform takes at most 30",
	}
	if len(e.Sales) != 2 {
		t.Fatalf("%d sales", len(e.Sales))
	}
	if e.Sales[0].VisitNo != "C2" || e.Sales[0].SettleKind != "2" || e.Sales[0].Operator != "B0042" {
		t.Errorf("a self-paid sale: mdtrt_sn %q, mdtrt_setl_type %q, operator %q", e.Sales[0].VisitNo, e.Sales[0].SettleKind, e.Sales[0].Operator)
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestBuildStockTake(t *testing.T) {
	gwSeq["gw-or-1"] = 0
	c := func(gtin, serial, lot string) agent.Movement { return mv(agent.KindCount, gtin, serial, lot, 0) }
	counts := []agent.Movement{c(stentGTIN, "SN0001", "L2309A"), c(stentGTIN, "SN0002", "L2309A"), c(stentGTIN, "SN0001", "L2309A"),
		c(balloonGTIN, "SN0101", "L2310B"), c(stentGTIN, "SN0005", "L2311A"), c(strayGTIN, "X1", "L1"),
		mv(agent.KindReceive, stentGTIN, "SN0006", "L2309A", 0)}
	lots := []LotCount{{Product: products[staplerGTIN], Lot: "L2401C", Expiry: "2029-01-31", Production: "2024-01-15", Qty: QtyOf(5)},
		{Product: products[balloonGTIN], Lot: "L2310B", Qty: QtyOf(2)}}
	e := BuildStockTake(time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC), counts, lots, cat, Options{})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, e); err != nil {
		t.Fatal(err)
	}
	golden(t, "stocktake.golden.json", buf.Bytes())
	r := records(t, buf.Bytes(), InfStockTake)
	if len(r) != 4 {
		t.Fatalf("%d records, want stent L2309A, balloon, stent L2311A, stapler", len(r))
	}
	fields(t, "stent", r[0], "inv_cnt", "2", "invdate", `"2026-04-01"`, "fixmedins_bchno", `"`+BatchNo(stentGTIN, "L2309A")+`"`,
		"manu_lotnum", `"L2309A"`, "med_list_codg", `"`+stentCode+`"`)
	fields(t, "balloon", r[1], "inv_cnt", "3")
	fields(t, "stapler", r[3], "inv_cnt", "5", "drugtracinfo", "[]", "expy_end", `"2029-01-31"`)
	if len(e.Skipped) != 2 || e.Skipped[0].Reason != "not in the catalogue" || e.Skipped[1].Reason != "not a count" {
		t.Errorf("skipped %+v", e.Skipped)
	}
	if len(e.Problems) != 1 || e.Problems[0].Record != 1 || e.Problems[0].Field != "inv_cnt" {
		t.Errorf("problems %+v", e.Problems)
	}
}

func TestBatchNo(t *testing.T) {
	a, b := BatchNo(stentGTIN, "L2309A"), BatchNo(stentGTIN, "L2309B")
	if len(a) != 29 || a[0] != 'B' || a == b || a != BatchNo(stentGTIN, "L2309A") || BatchNo(stentGTIN+"L", "") == BatchNo(stentGTIN, "L") {
		t.Errorf("BatchNo: %q, %q", a, b)
	}
	e := Build([]agent.Movement{mv(agent.KindReceive, stentGTIN, "S", "L", 0)}, cat, Options{BatchNo: func(p, l string) string { return p + "/" + l }})
	if e.Purchases[0].Batch != stentGTIN+"/L" {
		t.Errorf("Options.BatchNo not used: %q", e.Purchases[0].Batch)
	}
}
