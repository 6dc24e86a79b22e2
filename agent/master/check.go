package master

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/nhsa"
)

// Limits on field lengths, in bytes.
const (
	maxText = 512 // names, reasons
	maxCode = 64  // ids, charge codes, registration numbers
	maxLot  = 20  // lots and serials: GS1 (10) and (21) hold at most 20
)

// reporter receives one problem: the column's English name and the reason.
type reporter func(column, reason string)

// quote renders a value for a message, shortened when long.
func quote(v string) string {
	if len(v) > 48 {
		cut := 45
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		return strconv.Quote(v[:cut]) + "…"
	}
	return strconv.Quote(v)
}

// normGTIN checks a GTIN and returns it padded to 14 digits; "" stays "".
func normGTIN(v string, report reporter, col string) string {
	if v == "" {
		return ""
	}
	if strings.ContainsAny(v, "Ee") && strings.ContainsAny(v, ".+") {
		report(col, quote(v)+" looks like a number reformatted by a spreadsheet: format the column as text and enter the whole GTIN")
		return v
	}
	if !allDigits(v) {
		report(col, quote(v)+" is not a GTIN: a GTIN has digits only")
		return v
	}
	switch len(v) {
	case 8, 12, 13, 14:
	default:
		report(col, quote(v)+" has "+strconv.Itoa(len(v))+" digits: a GTIN has 8, 12, 13 or 14")
		return v
	}
	want, err := code.CheckDigit(v[:len(v)-1])
	if err != nil {
		report(col, quote(v)+" is not a GTIN: "+err.Error())
		return v
	}
	if int(v[len(v)-1]-'0') != want {
		report(col, quote(v)+" has check digit "+v[len(v)-1:]+", the digits before it give "+strconv.Itoa(want)+
			" (misprinted or mistyped GTIN)")
		return v
	}
	return "00000000000000"[:14-len(v)] + v
}

// checkHIBC checks the product key of a product without a GTIN: an HIBC
// product ("+", a 4-character labeler code starting with a letter, a
// product number of 1 to 18 letters and digits, and a unit-of-measure
// digit) or an MA DI ("MA.", the country code, the industry code, the
// registrant and the product, as code.SplitKey reads an MA item key).
func checkHIBC(v string, report reporter, col string) {
	if v == "" {
		return
	}
	if strings.HasPrefix(v, "MA.") {
		if !isMADI(v) {
			report(col, quote(v)+` is not an MA DI: "MA.", the country code, the industry code, the registrant and the product, separated by dots`)
		}
		return
	}
	bad := func(why string) { report(col, quote(v)+" is not an HIBC product: "+why) }
	switch {
	case v[0] != '+':
		bad(`it must start with "+" (an HIBC product) or "MA." (an MA DI)`)
	case len(v) < 7:
		bad("it needs a 4-character labeler code, a product number and a unit-of-measure digit")
	case len(v) > 24:
		bad("the product number is longer than 18 characters")
	case v[1] < 'A' || v[1] > 'Z':
		bad("the labeler code must start with a capital letter")
	case v[len(v)-1] < '0' || v[len(v)-1] > '9':
		bad("it must end with the unit-of-measure digit")
	default:
		for i := 1; i < len(v); i++ {
			if c := v[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
				bad("only capital letters and digits are allowed after the \"+\"")
				return
			}
		}
	}
}

// checkProduct checks that exactly the GTIN or the other product key
// (HIBC or MA), or both when both is true, is set and well-formed; it
// pads the GTIN. An MA DI given as the GTIN (a "di" column holding both
// kinds, as the national database's exports do) moves to hibc.
func checkProduct(gtin, hibc *string, both bool, report reporter) {
	if strings.HasPrefix(*gtin, "MA.") || strings.HasPrefix(*gtin, "ma.") {
		if *hibc != "" {
			report("gtin", quote(*gtin)+" is an MA DI, and the row gives another product key in the hibc column")
			return
		}
		*hibc, *gtin = "MA."+(*gtin)[3:], ""
	}
	if *gtin == "" && *hibc == "" {
		report("gtin", "missing: give a gtin, an hibc product or an MA DI")
		return
	}
	if !both && *gtin != "" && *hibc != "" {
		report("hibc", "give either a gtin or an hibc product, not both")
	}
	checkHIBC(*hibc, report, "hibc")
	*gtin = normGTIN(*gtin, report, "gtin")
}

// oneLine turns the line breaks and tabs of a spreadsheet cell into
// single spaces.
func oneLine(v string) string {
	if !strings.ContainsAny(v, "\r\n\t") {
		return v
	}
	return strings.Join(strings.Fields(v), " ")
}

// checkText checks free text: valid UTF-8, no control characters, at most
// max bytes. required makes an empty value a problem.
func checkText(v string, max int, required bool, report reporter, col string) {
	if v == "" {
		if required {
			report(col, "missing")
		}
		return
	}
	if !utf8.ValidString(v) {
		report(col, "is not UTF-8 text (save the file as UTF-8, not GBK)")
		return
	}
	if len(v) > max {
		report(col, "is "+strconv.Itoa(len(v))+" bytes long, at most "+strconv.Itoa(max)+" are allowed")
		return
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			report(col, quote(v)+" holds a control character")
			return
		}
	}
}

// checkInsurance checks a national medical-insurance consumable code: 20
// characters, "C" and 19 digits.
func checkInsurance(v string, report reporter, col string) string {
	if v == "" {
		return ""
	}
	c, err := nhsa.ParseCode(v)
	if err != nil {
		report(col, quote(v)+" is not a national insurance consumable code: "+strings.TrimPrefix(err.Error(), "nhsa: "))
		return v
	}
	return string(c)
}

// gs1Set82 marks the characters of GS1 character set 82, which GS1 lots
// and serials use.
var gs1Set82 = func() (t [256]bool) {
	for _, c := range "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// checkLot checks a lot or serial number: 1 to 20 characters of GS1
// character set 82.
func checkLot(v string, required bool, report reporter, col string) {
	if v == "" {
		if required {
			report(col, "missing")
		}
		return
	}
	if len(v) > maxLot {
		report(col, quote(v)+" is longer than 20 characters")
		return
	}
	for i := 0; i < len(v); i++ {
		if !gs1Set82[v[i]] {
			report(col, quote(v)+" holds "+describeByte(v, i)+", which a lot or serial cannot hold")
			return
		}
	}
}

func describeByte(v string, i int) string {
	r, _ := utf8.DecodeRuneInString(v[i:])
	switch {
	case r == ' ':
		return "a space"
	case r == utf8.RuneError:
		return "a byte that is not UTF-8"
	case unicode.IsControl(r):
		return "a control character"
	}
	return strconv.QuoteRune(r)
}

// normDate reads "2026-03-14", "2026/03/14", "2026.03.14" or "20260314"
// and returns "2026-03-14"; "" stays "".
func normDate(v string, report reporter, col string) string {
	if v == "" {
		return ""
	}
	s := v
	if len(s) == 10 && (s[4] == '/' || s[4] == '.') && s[7] == s[4] {
		s = s[:4] + "-" + s[5:7] + "-" + s[8:]
	} else if len(s) == 8 && allDigits(s) {
		s = s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != 10 {
		report(col, quote(v)+" is not a date (write 2026-03-14)")
		return v
	}
	return s
}

// parseBool reads a yes/no column; "" is false.
func parseBool(v string, report reporter, col string) bool {
	switch strings.ToLower(v) {
	case "", "false", "f", "no", "n", "0", "否":
		return false
	case "true", "t", "yes", "y", "1", "是":
		return true
	}
	report(col, quote(v)+" is not yes or no (write true or false)")
	return false
}

// parseTracking reads a tracking mode; "" gives def.
func parseTracking(v string, def Tracking, report reporter, col string) Tracking {
	switch strings.ToLower(v) {
	case "":
		return def
	case "serial", "序列号":
		return TrackSerial
	case "lot", "batch", "批号":
		return TrackLot
	}
	report(col, quote(v)+" is not a tracking mode (serial or lot)")
	return def
}

// parseStatus maps a lot status as written, English or Chinese, to a
// Status; a value it does not know is returned as it is, for normalize to
// report.
func parseStatus(v string) Status {
	switch strings.ToLower(strings.ReplaceAll(v, "_", "-")) {
	case "approved", "released", "合格", "放行":
		return StatusApproved
	case "on-hold", "onhold", "hold", "暂停", "冻结":
		return StatusOnHold
	case "recalled", "召回":
		return StatusRecalled
	case "quarantined", "quarantine", "隔离":
		return StatusQuarantined
	case "expired", "过期":
		return StatusExpired
	}
	return Status(v)
}

// parseAmountCol reads an amount column; negative says whether a negative
// amount is allowed.
func parseAmountCol(v string, negative bool, report reporter, col string) Amount {
	if v == "" {
		report(col, "missing")
		return 0
	}
	a, err := ParseAmount(v)
	if err != nil {
		if err == errAmount {
			report(col, quote(v)+" is not an amount (write yuan with up to two decimals: 1234.50)")
		} else {
			report(col, quote(v)+" is not an amount: "+err.Error())
		}
		return 0
	}
	if a < 0 && !negative {
		report(col, quote(v)+" is negative")
		return 0 // reported: the entry's own check must not report it again
	}
	return a
}

// parseQuantity reads a quantity: a whole number, not zero, at most a
// million either way; "" is 1.
func parseQuantity(v string, report reporter, col string) int {
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n == 0 || n > 1e6 || n < -1e6 {
		report(col, quote(v)+" is not a quantity (a whole number, not zero)")
		return 1
	}
	return n
}

// normItem checks an item key and returns it as code.Code.Key gives it,
// with the GTIN and lot it carries.
func normItem(v string, report reporter, col string) (key, gtin, lot string) {
	if v == "" {
		return "", "", ""
	}
	c, err := code.Any(v)
	if err != nil {
		report(col, quote(v)+" is not an item code: "+err.Error())
		return v, "", ""
	}
	key = c.Key()
	if key == "" || !c.IsItem() {
		report(col, quote(v)+" is not an item code (GS1 with a GTIN, or HIBC)")
		return v, "", ""
	}
	return key, c.GTIN, c.Lot
}

// parseLabel reads the production identifiers a label carries: a list of
// lot, serial, production, expiry (or 批号, 序列号, 生产日期, 失效日期).
func parseLabel(v string, report reporter, col string) Label {
	var l Label
	for _, x := range splitList(v) {
		switch strings.ToLower(x) {
		case "lot", "batch", "批号", "生产批号":
			l |= LabelLot
		case "serial", "序列号":
			l |= LabelSerial
		case "production", "production_date", "生产日期":
			l |= LabelProduction
		case "expiry", "expiry_date", "失效日期", "有效期", "有效期至":
			l |= LabelExpiry
		default:
			report(col, quote(x)+" is not a production identifier (lot, serial, production or expiry)")
		}
	}
	return l
}

// parseUnits reads a number of units: "" is 0, otherwise a whole number
// from 1 to 1,000,000,000.
func parseUnits(v string, report reporter, col string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000_000 {
		report(col, quote(v)+" is not a whole number of units from 1")
		return 0
	}
	return n
}

// parseDay reads a calendar date, "2026-03-14", "2026/03/14" or
// "20260314", with a time after it ignored; it returns "2026-03-14".
func parseDay(v string, report reporter, col string) string {
	if v == "" {
		return ""
	}
	day, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	for _, layout := range []string{"2006-01-02", "2006/01/02", "20060102", "2006/1/2", "2006-1-2"} {
		if t, err := time.Parse(layout, day); err == nil {
			return t.Format("2006-01-02")
		}
	}
	report(col, quote(v)+" is not a date (write 2026-03-14)")
	return ""
}

// checkDI checks a device identifier named by another (a package's
// contents, a unit of use): a GTIN, padded to 14 digits, an HIBC product
// or an MA DI. It returns the DI as product keys are written.
func checkDI(v string, report reporter, col string) string {
	if v == "" {
		return ""
	}
	if allDigits(v) {
		return normGTIN(v, report, col)
	}
	if strings.HasPrefix(v, "ma.") {
		v = "MA." + v[3:]
	}
	checkHIBC(v, report, col)
	return v
}
