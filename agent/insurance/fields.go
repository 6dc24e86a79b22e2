package insurance

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent/master"
)

// kind is how a fee-detail field's value is read.
type kind uint8

const (
	kText   kind = iota // a string of at most max characters
	kTime               // "yyyy-MM-dd HH:mm:ss"
	kQty                // 16 digits, 4 decimals
	kPrice              // 16 digits, 6 decimals
	kAmount             // 16 digits, 2 decimals, in fen
	kRatio              // 5 digits, 4 decimals
	kKnown              // a field of the interface this package does not use: any value
)

// field is one field of a 2301 fee line, input or result.
type field struct {
	name     string
	kind     kind
	max      int  // characters, for kText
	required bool // the platform requires it, and so does the reader
	private  bool // identifies a patient or a visit: never quoted
	result   bool // a field of the platform's per-line result
	set      func(l *FeeLine, v parsed)
}

// parsed is a field's value as read.
type parsed struct {
	s string
	n int64
	t time.Time
}

// timeLayout is the platform's date-time format.
const timeLayout = "2006-01-02 15:04:05"

func result(l *FeeLine) *FeeResult {
	if l.Result == nil {
		l.Result = &FeeResult{}
	}
	return l.Result
}

// feeFields lists the fields of the 2301 input (feedetail) and output
// (result), and the other columns hospital systems keep with a fee line
// (5204's output), with the platform's types and lengths (see
// firmware-notes/insurance.md). Required are the fields the platform
// requires that reconciliation needs: the billing department and doctor,
// required by the platform, are read when present.
var feeFields = []field{
	{name: "feedetl_sn", kind: kText, max: 30, required: true, set: func(l *FeeLine, v parsed) { l.SN = v.s }},
	{name: "init_feedetl_sn", kind: kText, max: 30, set: func(l *FeeLine, v parsed) { l.InitSN = v.s }},
	{name: "mdtrt_id", kind: kText, max: 30, required: true, private: true, set: func(l *FeeLine, v parsed) { l.Visit = v.s }},
	{name: "drord_no", kind: kText, max: 30, set: func(l *FeeLine, v parsed) { l.Order = v.s }},
	{name: "psn_no", kind: kText, max: 30, required: true, private: true, set: func(l *FeeLine, v parsed) { l.Person = v.s }},
	{name: "med_type", kind: kText, max: 6, set: func(l *FeeLine, v parsed) { l.MedType = v.s }},
	{name: "fee_ocur_time", kind: kTime, required: true, set: func(l *FeeLine, v parsed) { l.Time = v.t }},
	{name: "med_list_codg", kind: kText, max: 50, required: true, set: func(l *FeeLine, v parsed) { l.Code = v.s }},
	{name: "medins_list_codg", kind: kText, max: 150, required: true, set: func(l *FeeLine, v parsed) { l.HospitalCode = v.s }},
	{name: "det_item_fee_sumamt", kind: kAmount, required: true, set: func(l *FeeLine, v parsed) { l.Amount = master.Amount(v.n) }},
	{name: "cnt", kind: kQty, required: true, set: func(l *FeeLine, v parsed) { l.Qty = Qty(v.n) }},
	{name: "pric", kind: kPrice, required: true, set: func(l *FeeLine, v parsed) { l.Price = Price(v.n) }},
	{name: "bilg_dept_codg", kind: kText, max: 30, set: func(l *FeeLine, v parsed) { l.Dept = v.s }},
	{name: "bilg_dept_name", kind: kText, max: 100, set: func(l *FeeLine, v parsed) { l.DeptName = v.s }},
	{name: "bilg_dr_codg", kind: kText, max: 30, set: func(l *FeeLine, v parsed) { l.Doctor = v.s }},
	{name: "bilg_dr_name", kind: kText, max: 50, set: func(l *FeeLine, v parsed) { l.DoctorName = v.s }},
	{name: "pric_uplmt_amt", kind: kPrice, result: true, set: func(l *FeeLine, v parsed) { result(l).PriceCap = Price(v.n) }},
	{name: "selfpay_prop", kind: kRatio, result: true, set: func(l *FeeLine, v parsed) { result(l).SelfPayRatio = Ratio(v.n) }},
	{name: "fulamt_ownpay_amt", kind: kAmount, result: true, set: func(l *FeeLine, v parsed) { result(l).OwnPay = master.Amount(v.n) }},
	{name: "overlmt_amt", kind: kAmount, result: true, set: func(l *FeeLine, v parsed) { result(l).OverCap = master.Amount(v.n) }},
	{name: "preselfpay_amt", kind: kAmount, result: true, set: func(l *FeeLine, v parsed) { result(l).PreSelfPay = master.Amount(v.n) }},
	{name: "inscp_scp_amt", kind: kAmount, result: true, set: func(l *FeeLine, v parsed) { result(l).InScope = master.Amount(v.n) }},
	{name: "chrgitm_lv", kind: kText, max: 3, result: true, set: func(l *FeeLine, v parsed) { result(l).ChargeLevel = v.s }},
	{name: "med_chrgitm_type", kind: kText, max: 6, result: true, set: func(l *FeeLine, v parsed) { result(l).ChargeType = v.s }},
}

// knownFields are the other fields of 2301 (input and result) and of the
// fee-line tables hospital systems keep (5204's output): accepted, not
// used.
var knownFields = []string{
	"acord_dept_codg", "acord_dept_name", "orders_dr_code", "orders_dr_name",
	"hosp_appr_flag", "tcmdrug_used_way", "etip_flag", "etip_hosp_code",
	"dscg_tkdrug_flag", "matn_fee_flag", "memo", "exp_content", "comb_no",
	"bas_medn_flag", "hi_nego_drug_flag", "chld_medc_flag", "list_sp_item_flag",
	"lmt_used_flag", "drt_reim_flag", "setl_id", "rx_drord_no", "hilist_code",
	"hilist_name", "list_type", "medins_list_name", "prodname", "spec",
	"dosform_name", "sin_dos_dscr", "used_frqu_dscr", "prd_days", "medc_way_dscr",
	"hosp_prep_flag", "prodplac_type", "opter_id", "opter_name", "opt_time",
}

// fieldIndex returns the index in feeFields of the field named name, -2
// for a known field this package does not use, -1 for an unknown name.
func fieldIndex(name string) int {
	for i := range feeFields {
		if feeFields[i].name == name {
			return i
		}
	}
	for _, k := range knownFields {
		if k == name {
			return -2
		}
	}
	return -1
}

// quote quotes a value for an error, cut to 40 characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

// parseField reads v as field f's value; the reason is "" when it is good.
func parseField(f *field, v string, loc *time.Location) (parsed, string) {
	shown := func() string {
		if f.private {
			return "the value"
		}
		return quote(v)
	}
	if !utf8.ValidString(v) {
		return parsed{}, "is not valid UTF-8"
	}
	var (
		n   int64
		err error
	)
	switch f.kind {
	case kText:
		if c := utf8.RuneCountInString(v); c > f.max {
			return parsed{}, fmt.Sprintf("%s is %d characters long, the platform takes at most %d", shown(), c, f.max)
		}
		return parsed{s: v}, ""
	case kTime:
		t, err := time.ParseInLocation(timeLayout, v, loc)
		if err != nil {
			return parsed{}, shown() + " is not a date and time as yyyy-MM-dd HH:mm:ss"
		}
		return parsed{t: t}, ""
	case kQty:
		n, err = parseFixed(v, qtyScale, qtyDigits)
	case kPrice:
		n, err = parseFixed(v, priceScale, priceDigits)
	case kAmount:
		n, err = parseFixed(v, amountScale, amountDigits)
	case kRatio:
		n, err = parseFixed(v, ratioScale, ratioDigits)
	}
	if err != nil {
		return parsed{}, shown() + " " + err.Error()
	}
	return parsed{n: n}, ""
}
