package insurance

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
)

// wantLines are the lines of testdata/fees.json and fees.csv.
func wantLines() []FeeLine {
	at := func(h, m, s int) time.Time { return time.Date(2026, 3, 12, h, m, s, 0, ChinaTime) }
	base := FeeLine{Visit: "MDT44010620260310000123", Person: "44000000000000012345", MedType: "21",
		Dept: "A03.01", DeptName: "心血管内科", Doctor: "D440106000123", DoctorName: "王医生"}
	l1, l2, l3, l4, l5 := base, base, base, base, base
	l1.SN, l1.Order, l1.Time, l1.Code, l1.HospitalCode = "F20260312001", "YZ0000881", at(10, 42, 7), stentCode, "HC-1001"
	l1.Amount, l1.Qty, l1.Price = 75000, 10000, 750_000000
	l1.Result = &FeeResult{PriceCap: 800_000000, SelfPayRatio: 1000, PreSelfPay: 7500, InScope: 75000, ChargeLevel: "02", ChargeType: "08"}
	l2.SN, l2.Time, l2.Code, l2.HospitalCode = "F20260312002", at(10, 43, 15), balloonCode, "HC-1002"
	l2.Amount, l2.Qty, l2.Price = 240000, 20000, 1200_000000
	l3.SN, l3.InitSN, l3.Time, l3.Code, l3.HospitalCode = "F20260312003", "F20260312002", at(16, 5, 0), balloonCode, "HC-1002"
	l3.Amount, l3.Qty, l3.Price = -120000, -10000, 1200_000000
	l4.SN, l4.Time, l4.Code, l4.HospitalCode = "F20260312004", at(11, 0, 0), "XB01ABA051B002010100483", "YP-20031"
	l4.Amount, l4.Qty, l4.Price = 701, 20000, 3_505000
	l5.SN, l5.Time, l5.Code, l5.HospitalCode = "F20260312005", at(11, 20, 30), staplerCode, "HC-1003"
	l5.Amount, l5.Qty, l5.Price = 258000, 10000, 2580_000000
	l5.Result = &FeeResult{PriceCap: 2500_000000, OverCap: 8000}
	return []FeeLine{l1, l2, l3, l4, l5}
}

// sameLine compares two lines field by field, leaving out where they
// were read.
func sameLine(t *testing.T, what string, got, want FeeLine) {
	t.Helper()
	got.File, got.Line, got.Record = "", 0, 0
	if !got.Time.Equal(want.Time) {
		t.Errorf("%s: Time = %v, want %v", what, got.Time, want.Time)
	}
	got.Time = want.Time
	gr, wr := got.Result, want.Result
	got.Result, want.Result = nil, nil
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
	switch {
	case (gr == nil) != (wr == nil):
		t.Errorf("%s: Result = %+v, want %+v", what, gr, wr)
	case gr != nil && *gr != *wr:
		t.Errorf("%s: Result = %+v, want %+v", what, *gr, *wr)
	}
}

func TestReadFees(t *testing.T) {
	for _, c := range []struct {
		file, format string
		lines        []int // CSV line of each fee line, 0 for JSON
	}{
		{"fees.json", FormatJSON, []int{0, 0, 0, 0, 0}},
		{"fees.csv", "CSV", []int{2, 3, 4, 6, 7}}, // a blank line 5
	} {
		lines, bad, err := ReadFees(strings.NewReader(readFile(t, c.file)), c.file, c.format, FeeOptions{})
		if err != nil || len(bad) > 0 {
			t.Fatalf("%s: err %v, bad %v", c.file, err, bad)
		}
		want := wantLines()
		if len(lines) != len(want) {
			t.Fatalf("%s: %d lines, want %d", c.file, len(lines), len(want))
		}
		for i := range want {
			sameLine(t, c.file+" "+want[i].SN, lines[i], want[i])
			if lines[i].File != c.file || lines[i].Record != i+1 || lines[i].Line != c.lines[i] {
				t.Errorf("%s: line %d read at %s/%d/%d", c.file, i, lines[i].File, lines[i].Line, lines[i].Record)
			}
		}
	}
}

func TestReadFeesBareArrayAndTabs(t *testing.T) {
	js := `[{"feedetl_sn":"1","mdtrt_id":"V1","psn_no":"P1","fee_ocur_time":"2026-03-12 08:00:00",` +
		`"med_list_codg":"` + stentCode + `","medins_list_codg":"HC-1001","det_item_fee_sumamt":"750","cnt":"1","pric":"750"}]`
	tsv := "feedetl_sn\tmdtrt_id\tpsn_no\tfee_ocur_time\tmed_list_codg\tmedins_list_codg\tdet_item_fee_sumamt\tcnt\tpric\n" +
		"1\tV1\tP1\t2026-03-12 08:00:00\t" + stentCode + "\tHC-1001\t750\t1\t750\n"
	for _, in := range []struct{ data, format string }{{js, "json"}, {"\ufeff" + js, ".json"}, {tsv, "csv"}, {"\ufeff" + tsv, "csv"}} {
		lines, bad, err := ReadFees(strings.NewReader(in.data), "f", in.format, FeeOptions{})
		if err != nil || len(bad) > 0 || len(lines) != 1 {
			t.Fatalf("%s: %d lines, bad %v, err %v", in.format, len(lines), bad, err)
		}
		if l := lines[0]; l.SN != "1" || l.Code != stentCode || l.Amount != 75000 || l.Qty != QtyOf(1) || l.Price != 750_000000 || l.Result != nil {
			t.Errorf("%s: %+v", in.format, l)
		}
	}
}

// fee is a JSON fee line of visit V1 with the fields given over the
// defaults (a charge of one stent); a value "-" leaves the field out.
func fee(kv ...string) string {
	f := map[string]string{"feedetl_sn": "1", "mdtrt_id": "V1", "psn_no": "P1", "fee_ocur_time": "2026-03-12 08:00:00",
		"med_list_codg": stentCode, "medins_list_codg": "HC-1001", "det_item_fee_sumamt": "750.00", "cnt": "1", "pric": "750"}
	order := []string{"feedetl_sn", "init_feedetl_sn", "mdtrt_id", "psn_no", "fee_ocur_time", "med_list_codg",
		"medins_list_codg", "det_item_fee_sumamt", "cnt", "pric"}
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := f[kv[i]]; !ok && kv[i] != "init_feedetl_sn" {
			order = append(order, kv[i])
		}
		f[kv[i]] = kv[i+1]
	}
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for _, k := range order {
		v, ok := f[k]
		if !ok || v == "-" {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(`"` + k + `":`)
		if strings.HasPrefix(v, "=") { // raw JSON
			b.WriteString(v[1:])
		} else {
			b.WriteString(`"` + v + `"`)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func TestRefunds(t *testing.T) {
	orig := fee("feedetl_sn", "A", "cnt", "3", "det_item_fee_sumamt", "2250.00")
	refund := func(sn, init, cnt, amt string, more ...string) string {
		return fee(append([]string{"feedetl_sn", sn, "init_feedetl_sn", init, "cnt", cnt, "det_item_fee_sumamt", amt}, more...)...)
	}
	known := func(visit, sn string) (FeeLine, bool) {
		if visit == "V1" && sn == "OLD" {
			return FeeLine{SN: "OLD", Code: stentCode, Qty: QtyOf(2), Amount: 150000}, true
		}
		return FeeLine{}, false
	}
	for _, c := range []struct {
		name  string
		lines []string
		good  int
		field string // of the last line's error; "" for none
		why   string
		isRef bool
		at    int // the record of the error, when not the last
	}{
		{name: "partial then rest", lines: []string{orig, refund("R1", "A", "-1", "-750.00"), refund("R2", "A", "-2", "-1500.00")}, good: 3},
		{name: "more than remains", lines: []string{orig, refund("R1", "A", "-2", "-1500.00"), refund("R2", "A", "-2", "-1500.00")},
			good: 2, field: "cnt", why: `refunds 2, but 1 remains of line "A"`, isRef: true},
		{name: "amount more than remains", lines: []string{orig, refund("R1", "A", "-1", "-2300.00")},
			good: 1, field: "det_item_fee_sumamt", why: `refunds 2300.00, but 2250.00 remains`, isRef: true},
		{name: "no original named", lines: []string{orig, refund("R1", "", "-1", "-750.00")},
			good: 1, field: "init_feedetl_sn", why: "missing: a refund", isRef: true},
		{name: "unknown original", lines: []string{orig, refund("R1", "Z", "-1", "-750.00")},
			good: 1, field: "init_feedetl_sn", why: `names line "Z", which is neither earlier`, isRef: true},
		{name: "original later in the file", lines: []string{refund("R1", "A", "-1", "-750.00"), orig},
			good: 1, field: "init_feedetl_sn", why: "neither earlier in the file", isRef: true, at: 1},
		{name: "original of another visit", lines: []string{orig, refund("R1", "A", "-1", "-750.00", "mdtrt_id", "V2")},
			good: 1, field: "init_feedetl_sn", why: "neither earlier", isRef: true},
		{name: "original bad", lines: []string{fee("feedetl_sn", "A", "cnt", "x"), refund("R1", "A", "-1", "-750.00")},
			good: 0, field: "init_feedetl_sn", why: `names line "A", which is bad (record 1)`, isRef: true},
		{name: "original a refund", lines: []string{orig, refund("R1", "A", "-1", "-750.00"), refund("R2", "R1", "-1", "-750.00")},
			good: 2, field: "init_feedetl_sn", why: "itself a refund", isRef: true},
		{name: "another code", lines: []string{orig, refund("R1", "A", "-1", "-750.00", "med_list_codg", balloonCode)},
			good: 1, field: "med_list_codg", why: "is not the code of the line it refunds", isRef: true},
		{name: "positive amount", lines: []string{orig, refund("R1", "A", "-1", "750.00")},
			good: 1, field: "det_item_fee_sumamt", why: "positive on a refund", isRef: true},
		{name: "charge naming an original", lines: []string{orig, fee("feedetl_sn", "B", "init_feedetl_sn", "A")},
			good: 1, field: "init_feedetl_sn", why: "but cnt is not negative"},
		{name: "zero", lines: []string{fee("cnt", "0", "det_item_fee_sumamt", "0")}, field: "cnt", why: "is zero"},
		{name: "known before", lines: []string{refund("R1", "OLD", "-2", "-1500.00")}, good: 1},
		{name: "known before, too much", lines: []string{refund("R1", "OLD", "-1", "-750.00"), refund("R2", "OLD", "-2", "-1500.00")},
			good: 1, field: "cnt", why: `refunds 2, but 1 remains of line "OLD"`, isRef: true},
		{name: "same SN twice", lines: []string{orig, orig}, good: 1, field: "feedetl_sn", why: `"A" appears twice in the visit (first at record 1)`},
		{name: "same SN, two visits", lines: []string{orig, fee("feedetl_sn", "A", "mdtrt_id", "V2")}, good: 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.at == 0 {
				c.at = len(c.lines)
			}
			lines, bad, err := ReadFees(strings.NewReader("["+strings.Join(c.lines, ",\n")+"]"), "fees.json", "json", FeeOptions{Original: known})
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != c.good {
				t.Errorf("%d good lines, want %d (bad: %v)", len(lines), c.good, bad)
			}
			if c.field == "" && c.why == "" {
				if len(bad) > 0 {
					t.Errorf("bad lines: %v", bad)
				}
				return
			}
			if len(bad) == 0 {
				t.Fatalf("no bad line, want field %s: %s", c.field, c.why)
			}
			e := bad[len(bad)-1]
			if e.Field() != c.field || !strings.Contains(e.Error(), c.why) {
				t.Errorf("error %q (field %q), want field %q and %q", e, e.Field(), c.field, c.why)
			}
			if e.Record != c.at || e.File != "fees.json" || !errors.Is(e, ErrLine) {
				t.Errorf("error %q at record %d of %q", e, e.Record, e.File)
			}
			if got := errors.Is(e, ErrRefund); got != c.isRef {
				t.Errorf("errors.Is(ErrRefund) = %v, want %v", got, c.isRef)
			}
		})
	}
}

func TestLineErrorsNameFileLineField(t *testing.T) {
	header := "feedetl_sn,init_feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric,pric_uplmt_amt,selfpay_prop\n"
	good := "1,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750,,\n"
	for _, c := range []struct {
		name, csvRow, json string
		field, why         string
	}{
		{"cnt decimals", "2,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1.23456,750,,", fee("feedetl_sn", "2", "cnt", "1.23456"),
			"cnt", `"1.23456" has more than 4 decimals`},
		{"price decimals", "2,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750.0000001,,", fee("feedetl_sn", "2", "pric", "750.0000001"),
			"pric", "has more than 6 decimals"},
		{"amount decimals", "2,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750.001,1,750,,", fee("feedetl_sn", "2", "det_item_fee_sumamt", "750.001"),
			"det_item_fee_sumamt", "has more than 2 decimals"},
		{"time", "2,,V1,P1,2026/03/12 08:00," + stentCode + ",HC-1001,750,1,750,,", fee("feedetl_sn", "2", "fee_ocur_time", "2026/03/12 08:00"),
			"fee_ocur_time", "is not a date and time as yyyy-MM-dd HH:mm:ss"},
		{"code missing", "2,,V1,P1,2026-03-12 08:00:00,,HC-1001,750,1,750,,", fee("feedetl_sn", "2", "med_list_codg", "-"),
			"med_list_codg", "missing"},
		{"sn too long", strings.Repeat("9", 31) + ",,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750,,", fee("feedetl_sn", strings.Repeat("9", 31)),
			"feedetl_sn", "is 31 characters long, the platform takes at most 30"},
		{"cap", "2,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750,-1,", fee("feedetl_sn", "2", "pric_uplmt_amt", "-1"),
			"pric_uplmt_amt", "is negative"},
		{"ratio", "2,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750,,10.5", fee("feedetl_sn", "2", "selfpay_prop", "10.5"),
			"selfpay_prop", "has more than 1 digits before the point"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, in := range []struct {
				file, format, data string
				line, record       int
			}{
				{"fees.csv", "csv", header + good + c.csvRow + "\n", 3, 2},
				{"fees.json", "json", "[" + fee() + ",\n" + c.json + "]", 0, 2},
			} {
				lines, bad, err := ReadFees(strings.NewReader(in.data), in.file, in.format, FeeOptions{})
				if err != nil || len(lines) != 1 || len(bad) != 1 {
					t.Fatalf("%s: %d lines, bad %v, err %v", in.file, len(lines), bad, err)
				}
				e := bad[0]
				if e.File != in.file || e.Line != in.line || e.Record != in.record || e.Field() != c.field || !strings.Contains(e.Error(), c.why) {
					t.Errorf("%s: %q at line %d record %d field %q; want line %d record %d field %q with %q",
						in.file, e, e.Line, e.Record, e.Field(), in.line, in.record, c.field, c.why)
				}
				where := "line 3: field " + c.field
				if in.line == 0 {
					where = "record 2: field " + c.field
				}
				if !strings.HasPrefix(e.Error(), in.file+": "+where) {
					t.Errorf("%s: %q does not start with %q", in.file, e, in.file+": "+where)
				}
			}
		})
	}
}

// TestErrorsQuoteNoPatient: a bad psn_no or mdtrt_id is never quoted.
func TestErrorsQuoteNoPatient(t *testing.T) {
	person := "440106199001011234" + strings.Repeat("7", 13)
	visit := "MDT" + strings.Repeat("8", 30)
	_, bad, err := ReadFees(strings.NewReader("["+fee("psn_no", person, "mdtrt_id", visit)+"]"), "f.json", "json", FeeOptions{})
	if err != nil || len(bad) != 1 || len(bad[0].Problems) != 2 {
		t.Fatalf("bad %v, err %v", bad, err)
	}
	msg := bad[0].Error()
	if strings.Contains(msg, "440106") || strings.Contains(msg, "888") || !strings.Contains(msg, "field psn_no: the value is 31 characters long") {
		t.Errorf("error quotes a patient id or says nothing: %q", msg)
	}
}

func TestJSONValueTypes(t *testing.T) {
	for _, c := range []struct {
		kv         []string
		field, why string
	}{
		{[]string{"cnt", "=true"}, "cnt", "is true or false"},
		{[]string{"cnt", "=[1]"}, "cnt", "is an object or an array"},
		{[]string{"cnt", "=1e2"}, "cnt", "is not a decimal number"},
		{[]string{"colour", "blue"}, "colour", "unknown field"},
		{[]string{"pric", "=null"}, "pric", "missing"},
	} {
		_, bad, err := ReadFees(strings.NewReader("["+fee(c.kv...)+"]"), "f.json", "json", FeeOptions{})
		if err != nil || len(bad) != 1 {
			t.Fatalf("%v: bad %v, err %v", c.kv, bad, err)
		}
		if bad[0].Field() != c.field || !strings.Contains(bad[0].Error(), c.why) {
			t.Errorf("%v: %q, want field %s: %s", c.kv, bad[0], c.field, c.why)
		}
	}
	// Names in capitals, as tables exported from Oracle have them.
	up := strings.NewReplacer(`"feedetl_sn"`, `"FEEDETL_SN"`, `"cnt"`, `"CNT"`, `"pric"`, `"Pric"`).Replace(fee())
	if lines, bad, err := ReadFees(strings.NewReader("["+up+"]"), "f.json", "json", FeeOptions{}); err != nil || len(bad) > 0 || len(lines) != 1 || lines[0].Qty != QtyOf(1) {
		t.Errorf("capitals: %v, %v, %v", lines, bad, err)
	}
	// A key given twice, and a record that is not an object.
	_, bad, err := ReadFees(strings.NewReader(`[{"cnt":"1","CNT":"2"}, 7]`), "f.json", "json", FeeOptions{})
	if err != nil || len(bad) != 2 || !strings.Contains(bad[0].Error(), "field cnt: given twice") || !strings.Contains(bad[1].Error(), "record 2: is not a JSON object") {
		t.Errorf("bad %v, err %v", bad, err)
	}
}

func TestFileErrors(t *testing.T) {
	line := fee()
	for _, c := range []struct {
		name, format, data string
		want               error
		why                string
	}{
		{"format", "xml", "", ErrFormat, `format "xml"`},
		{"empty json", "json", "", ErrFormat, "the file is empty"},
		{"json scalar", "json", `"x"`, ErrFormat, "not a JSON array"},
		{"no input", "json", `{"infno":"2301"}`, ErrFormat, "no input"},
		{"no feedetail", "json", `{"input":{"data":{}}}`, ErrFormat, "no feedetail"},
		{"feedetail object", "json", `{"input":{"feedetail":{}}}`, ErrFormat, "feedetail is not a JSON array"},
		{"other interface", "json", `{"infno":"3505","input":{"feedetail":[]}}`, ErrFormat, `infno is "3505", not 2301`},
		{"infno after", "json", `{"input":{"feedetail":[]},"infno":"2302"}`, ErrFormat, `infno is "2302"`},
		{"truncated", "json", "[" + line + "," + line[:20], ErrFormat, "ends before it is closed"},
		{"trailing", "json", "[" + line + "] []", ErrFormat, "data after the end"},
		{"syntax", "json", "[" + line + ",}", ErrFormat, "byte"},
		{"empty csv", "csv", "", ErrHeader, "the file is empty"},
		{"unknown column", "csv", "feedetl_sn,colour\n", ErrHeader, `unknown column "colour"`},
		{"twice", "csv", "cnt,CNT\n", ErrHeader, "column cnt named twice"},
		{"missing", "csv", "feedetl_sn,mdtrt_id\n", ErrHeader, "missing column psn_no"},
		{"unnamed", "csv", "feedetl_sn,,cnt\n", ErrHeader, "column 2 has no name"},
	} {
		fr, err := NewFeeReader(strings.NewReader(c.data), "f", c.format, FeeOptions{})
		if err == nil {
			for {
				if _, err = fr.Next(); err == io.EOF || errors.Is(err, ErrFormat) {
					break
				}
			}
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.why) || !strings.HasPrefix(err.Error(), "insurance: f: ") {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.want, c.why)
		}
	}
}

// TestReaderGoesOnAfterABadLine: a bad line is reported and the lines
// after it are still read; a file-level error stops.
func TestReaderGoesOnAfterABadLine(t *testing.T) {
	data := "[" + fee("feedetl_sn", "1") + "," + fee("feedetl_sn", "2", "cnt", "x") + "," + fee("feedetl_sn", "3") + "]"
	fr, err := NewFeeReader(strings.NewReader(data), "f", "json", FeeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		l, err := fr.Next()
		if err == io.EOF {
			break
		}
		var le *LineError
		switch {
		case errors.As(err, &le):
			got = append(got, "bad "+le.Field())
		case err != nil:
			t.Fatal(err)
		default:
			got = append(got, l.SN)
		}
	}
	if strings.Join(got, ",") != "1,bad cnt,3" {
		t.Errorf("got %v", got)
	}
	if _, err := fr.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v", err)
	}
	// CSV: a line with more fields than the header, a broken quote.
	csv := "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n" +
		"1,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750,extra\n" +
		"2,V1,P1,2026-03-12 08:00:00,\"" + stentCode + "\"x,HC-1001,750,1,750\n" +
		"3,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,750,1,750\n"
	lines, bad, err := ReadFees(strings.NewReader(csv), "f.csv", "csv", FeeOptions{})
	if err != nil || len(lines) != 1 || lines[0].SN != "3" || len(bad) != 2 {
		t.Fatalf("lines %v, bad %v, err %v", lines, bad, err)
	}
	if !strings.Contains(bad[0].Error(), "f.csv: line 2: has 10 fields, the header names 9") ||
		!strings.Contains(bad[1].Error(), "f.csv: line 3: unreadable CSV") {
		t.Errorf("bad: %v", bad)
	}
}

func TestFeeLocation(t *testing.T) {
	lines, _, err := ReadFees(strings.NewReader("["+fee()+"]"), "f", "json", FeeOptions{Location: time.UTC})
	if err != nil || len(lines) != 1 {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 12, 8, 0, 0, 0, time.UTC); !lines[0].Time.Equal(want) {
		t.Errorf("time %v, want %v", lines[0].Time, want)
	}
	if lines[0].Amount != master.Amount(75000) {
		t.Errorf("amount %v", lines[0].Amount)
	}
}
