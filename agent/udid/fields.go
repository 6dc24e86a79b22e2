package udid

import (
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Field names, as the XML download and the API spell them.
const (
	fRecordKey     = "deviceRecordKey"
	fDI            = "zxxsdycpbs"
	fCoding        = "cpbsbmtxmc"
	fUseUnitDI     = "sydycpbs"
	fUseUnits      = "zxxsdyzsydydsl"
	fCarriers      = "bszt"
	fGenericName   = "cpmctymc"
	fTradeName     = "spmc"
	fModel         = "ggxh"
	fRegistrant    = "ylqxzcrbarmc"
	fRegistrations = "zczbhhzbapzbh"
	fInsurance     = "ybbm"
	fCategory      = "cplb"
	fSingleUse     = "sfbjwycxsy"
	fSterile       = "sfwwjbz"
	fLabelLot      = "scbssfbhph"
	fLabelSerial   = "scbssfbhxlh"
	fLabelProd     = "scbssfbhscrq"
	fLabelExpiry   = "scbssfbhsxrq"
	fPublished     = "cpbsfbrq"
	fWithdrawn     = "tsrq"
	fStatus        = "bssjzt"
	fVersion       = "versionNumber"
	fVersionTime   = "versionTime"
	fVersionStatus = "versionStatus"
	fVersionStauts = "versionStauts" // the XML download's spelling

	fPackDI       = "bzcpbs"
	fPackContains = "bznhxyjbzcpbs"
	fPackQuantity = "bznhxyjcpbssl"
	fPackLevel    = "cpbzjb"

	fStoreCondition = "cchcztj"
	fStoreMin       = "zdz"
	fStoreMax       = "zgz"
	fStoreUnit      = "jldw"
)

// deviceFields numbers the device fields this package keeps, for the
// duplicate check; a name not in it is ignored.
var deviceFields = map[string]uint8{
	fRecordKey: 1, fDI: 2, fCoding: 3, fUseUnitDI: 4, fUseUnits: 5, fCarriers: 6,
	fGenericName: 7, fTradeName: 8, fModel: 9, fRegistrant: 10, fRegistrations: 11,
	fInsurance: 12, fCategory: 13, fSingleUse: 14, fSterile: 15, fLabelLot: 16,
	fLabelSerial: 17, fLabelProd: 18, fLabelExpiry: 19, fPublished: 20, fWithdrawn: 21,
	fStatus: 22, fVersion: 23, fVersionTime: 24, fVersionStatus: 25, fVersionStauts: 25,
}

const nDeviceFields = 26

// record collects one device while its fields are read, and the problems
// found in them.
type record struct {
	d    Device
	raw  [nDeviceFields]string
	seen [nDeviceFields]bool
	errs []*FieldError
}

// reset prepares r for the next record; the slices it handed out are
// not reused.
func (r *record) reset() {
	*r = record{}
}

// fail records a bad field.
func (r *record) fail(field, value, reason string, err error) {
	r.errs = append(r.errs, &FieldError{Field: field, Value: clip(value), Reason: reason, Err: err})
}

// set stores one device field. Unknown names are ignored: the export has
// some fifty fields and the package keeps the ones the catalogue uses.
func (r *record) set(name, value string) {
	id, ok := deviceFields[name]
	if !ok {
		return
	}
	value = strings.TrimSpace(value)
	if r.seen[id] {
		switch {
		case value == "" || value == r.raw[id]:
			return
		case r.raw[id] != "":
			r.fail(name, value, "given twice in one record, first as "+strconv.Quote(clip(r.raw[id])), ErrDuplicate)
			return
		}
		// An empty element followed by a filled one: take the value.
	}
	r.seen[id] = true
	r.raw[id] = value
	if value == "" {
		return
	}
	d := &r.d
	switch name {
	case fRecordKey:
		d.RecordKey = value
	case fDI:
		d.DI = value
	case fCoding:
		d.CodingName = value
		d.Coding = parseCoding(value)
	case fUseUnitDI:
		d.UseUnitDI = value
	case fUseUnits:
		d.UseUnits = r.count(name, value)
	case fCarriers:
		c, bad := parseCarriers(value)
		if bad != "" {
			r.fail(name, value, "carrier "+strconv.Quote(bad)+" is not 1 (linear), 2 (2D), 3 (RFID) or 4 (other)", ErrValue)
		}
		d.Carriers = c
	case fGenericName:
		d.GenericName = value
	case fTradeName:
		d.TradeName = value
	case fModel:
		d.Model = value
	case fRegistrant:
		d.Registrant = value
	case fRegistrations:
		d.Registrations = splitList(value, false)
	case fInsurance:
		d.InsuranceCode = value
	case fCategory:
		c, ok := parseCategory(value)
		if !ok {
			r.fail(name, value, "category is not 耗材 (0) or 设备 (1)", ErrValue)
		}
		d.Category = c
	case fSingleUse:
		d.SingleUse = r.flag(name, value)
	case fSterile:
		d.Sterile = r.flag(name, value)
	case fLabelLot:
		d.LabelLot = r.flag(name, value)
	case fLabelSerial:
		d.LabelSerial = r.flag(name, value)
	case fLabelProd:
		d.LabelProduction = r.flag(name, value)
	case fLabelExpiry:
		d.LabelExpiry = r.flag(name, value)
	case fPublished:
		d.Published = r.date(name, value)
	case fWithdrawn:
		d.Withdrawn = r.date(name, value)
	case fStatus:
		d.Status = value
	case fVersion:
		d.Version = r.count(name, value)
	case fVersionTime:
		d.VersionTime = r.date(name, value)
	case fVersionStatus, fVersionStauts:
		d.VersionStatus = value
	}
}

// setPacking stores one field of a packing row; field is the name for
// messages ("packing[2].bzcpbs").
func (r *record) setPacking(p *Packing, name, field, value string) {
	value = strings.TrimSpace(value)
	if value == "" {
		return
	}
	switch name {
	case fPackDI:
		p.DI = value
	case fPackContains:
		p.ContainsDI = value
	case fPackQuantity:
		p.Quantity = r.count(field, value)
	case fPackLevel:
		p.Level = value
	}
}

// setStorage stores one field of a storage row.
func (r *record) setStorage(s *Storage, name, value string) {
	value = strings.TrimSpace(value)
	switch name {
	case fStoreCondition:
		s.Condition = value
	case fStoreMin:
		s.Min = value
	case fStoreMax:
		s.Max = value
	case fStoreUnit:
		s.Unit = value
	}
}

// flag reads a yes/no field.
func (r *record) flag(name, value string) Flag {
	f, ok := parseFlag(value)
	if !ok {
		r.fail(name, value, "not 是 or 否 (1 or 0, true or false)", ErrValue)
	}
	return f
}

// count reads a non-negative whole number.
func (r *record) count(name, value string) int {
	n, err := strconv.Atoi(value)
	if err != nil || n < 0 {
		r.fail(name, value, "not a whole number", ErrValue)
		return 0
	}
	return n
}

// date reads a date field.
func (r *record) date(name, value string) time.Time {
	t, reason := parseDate(value)
	if reason != "" {
		r.fail(name, value, reason, ErrDate)
	}
	return t
}

// finish checks what needs the whole record (the DI and its coding
// system) and returns the device, or nil with the problems in r.errs.
func (r *record) finish() *Device {
	d := &r.d
	if d.DI == "" {
		r.fail(fDI, "", "the record has no DI of the minimum sales unit", ErrMissing)
	} else {
		r.checkDI(fDI, d.DI)
	}
	if d.UseUnitDI != "" {
		r.checkDI(fUseUnitDI, d.UseUnitDI)
	}
	for i := range d.Packing {
		p := &d.Packing[i]
		if p.DI != "" {
			r.checkDI(listField("packing", i, fPackDI), p.DI)
		}
	}
	if len(r.errs) > 0 {
		return nil
	}
	return d
}

// checkDI checks a DI against the record's coding system: a GS1 DI (or
// an all-digit DI when the system is not given) must be a GTIN-8, -12,
// -13 or -14 with its check digit; an MA DI must start with "MA.". An MA
// check character is not checked: a mismatch is a warning for scans
// (firmware-notes/ma-ahm.md), and the UDID is the publisher's word.
func (r *record) checkDI(field, di string) {
	coding := r.d.Coding
	digits := isDigits(di)
	switch {
	case coding == CodingGS1 || (coding == CodingUnknown && digits):
		if !digits {
			r.fail(field, di, "a GS1 DI is digits only", ErrValue)
			return
		}
		switch len(di) {
		case 8, 12, 13, 14:
		default:
			r.fail(field, di, "a GS1 DI has 8, 12, 13 or 14 digits, not "+strconv.Itoa(len(di)), ErrValue)
			return
		}
		ck, _ := code.CheckDigit(di[:len(di)-1])
		if int(di[len(di)-1]-'0') != ck {
			r.fail(field, di, "check digit should be "+strconv.Itoa(ck), ErrCheckDigit)
		}
	case coding == CodingMA:
		if !strings.HasPrefix(di, "MA.") {
			r.fail(field, di, "an MA DI starts with \"MA.\"", ErrValue)
		}
	}
}

// listField names a field of a packing or storage row for messages.
func listField(list string, i int, name string) string {
	return list + "[" + strconv.Itoa(i+1) + "]." + name
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDate reads a date as the exports write it: YYYY-MM-DD (also with
// '/' or '.', one-digit months and days, or YYYYMMDD), optionally
// followed by a space or 'T' and a time hh:mm[:ss[.fraction]], and then
// optionally 'Z' or a zone offset ±hh:mm. It returns a reason when s is
// not such a date.
func parseDate(s string) (time.Time, string) {
	const bad = "not a date (YYYY-MM-DD, optionally with a time)"
	p := 0
	num := func(min, max int) (int, bool) {
		start := p
		for p < len(s) && p-start < max && s[p] >= '0' && s[p] <= '9' {
			p++
		}
		if p-start < min {
			return 0, false
		}
		n, _ := strconv.Atoi(s[start:p])
		return n, true
	}
	var y, m, d int
	var ok bool
	if len(s) >= 8 && isDigits(s[:8]) && (len(s) == 8 || s[8] == ' ' || s[8] == 'T') {
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[4:6])
		d, _ = strconv.Atoi(s[6:8])
		p = 8
	} else {
		if y, ok = num(4, 4); !ok {
			return time.Time{}, bad
		}
		if p >= len(s) || (s[p] != '-' && s[p] != '/' && s[p] != '.') {
			return time.Time{}, bad
		}
		sep := s[p]
		p++
		if m, ok = num(1, 2); !ok {
			return time.Time{}, bad
		}
		if p >= len(s) || s[p] != sep {
			return time.Time{}, bad
		}
		p++
		if d, ok = num(1, 2); !ok {
			return time.Time{}, bad
		}
	}
	if m < 1 || m > 12 {
		return time.Time{}, "month " + strconv.Itoa(m) + " does not exist"
	}
	if d < 1 || d > daysIn(y, time.Month(m)) {
		return time.Time{}, "day " + strconv.Itoa(d) + " does not exist in " + time.Month(m).String() + " " + strconv.Itoa(y)
	}
	var hh, mm, ss, ns int
	loc := time.UTC
	if p < len(s) {
		if s[p] != ' ' && s[p] != 'T' {
			return time.Time{}, bad
		}
		p++
		if hh, ok = num(1, 2); !ok || p >= len(s) || s[p] != ':' {
			return time.Time{}, bad
		}
		p++
		if mm, ok = num(2, 2); !ok {
			return time.Time{}, bad
		}
		if p < len(s) && s[p] == ':' {
			p++
			if ss, ok = num(2, 2); !ok {
				return time.Time{}, bad
			}
			if p < len(s) && s[p] == '.' {
				p++
				start := p
				if _, ok = num(1, 9); !ok {
					return time.Time{}, bad
				}
				frac := s[start:p] + strings.Repeat("0", 9-(p-start))
				ns, _ = strconv.Atoi(frac)
			}
		}
		if hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, "time of day out of range"
		}
		if p < len(s) {
			switch s[p] {
			case 'Z':
				p++
			case '+', '-':
				sign := 1
				if s[p] == '-' {
					sign = -1
				}
				p++
				oh, ok1 := num(2, 2)
				if p < len(s) && s[p] == ':' {
					p++
				}
				om, ok2 := num(2, 2)
				if !ok1 || !ok2 || oh > 14 || om > 59 {
					return time.Time{}, bad
				}
				loc = time.FixedZone("", sign*(oh*3600+om*60))
			}
		}
	}
	if p != len(s) {
		return time.Time{}, bad
	}
	return time.Date(y, time.Month(m), d, hh, mm, ss, ns, loc), ""
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
