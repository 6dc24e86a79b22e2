package master

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/nhsa"
)

// CodeRelease is one row of the NHSA's code releases kept as master data
// (the "codes" set): a national consumable code replaced by a newer one
// (转码表, old→new) or withdrawn (停用表). Reconciliation maps the codes of
// the catalogue, the settlements and the fee detail through them
// (Data.MapCode).
type CodeRelease struct {
	// Code is the code the row is about: 27 characters, or 20.
	Code string
	// NewCode is the code that replaces it; "" for a withdrawn code.
	NewCode string
	// Withdrawn marks a code withdrawn with no replacement.
	Withdrawn bool
	// Date is when the change took effect, "2026-03-01"; "" if not given.
	Date string
}

// Code release columns.
const (
	relCode = iota
	relNew
	relWithdrawn
	relDate
)

var codesSchema = &schema{
	what: "codes",
	cols: []column{
		// The NHSA's own tables (停用表, 转码表, with 27位码 and 原27位码
		// headers) are read by agent/nhsa, not here (core.Import).
		relCode:      {name: "code", aliases: []string{"原代码", "旧代码"}, required: true},
		relNew:       {name: "new_code", aliases: []string{"新代码"}},
		relWithdrawn: {name: "withdrawn", aliases: []string{"停用"}},
		relDate:      {name: "date", aliases: []string{"日期", "生效日期", "停用日期"}},
	},
}

// ParseCodes reads a code releases file; options, results and errors as
// for ParseCatalogue. Each row names a code and either the code replacing
// it or that it is withdrawn.
func ParseCodes(r io.Reader, opt ImportOptions) ([]CodeRelease, Report, error) {
	s, rep, err := parseSet("codes", r, opt)
	return s.codes, rep, err
}

func buildCode(r *row) (CodeRelease, bool) {
	c := CodeRelease{Code: r.get(relCode), NewCode: r.get(relNew)}
	c.Withdrawn = parseBool(r.get(relWithdrawn), r.report, "withdrawn")
	c.Date = parseDay(r.get(relDate), r.report, "date")
	c.Code = checkInsurance(c.Code, r.report, "code")
	c.NewCode = checkInsurance(c.NewCode, r.report, "new_code")
	switch {
	case c.Code == "":
		r.report("code", "missing")
	case c.NewCode == "" && !c.Withdrawn:
		r.report("new_code", "missing: give the code that replaces it, or withdrawn true")
	case c.NewCode != "" && c.Withdrawn:
		r.report("withdrawn", "a withdrawn code has no new code: give one or the other")
	case c.NewCode == c.Code:
		r.report("new_code", "is the code itself")
	}
	return c, true
}

// maxCodeHops bounds the chain MapCode follows.
const maxCodeHops = 32

// MapCode maps a national code along the code releases: the code in force
// now (following replacements, newest last) and whether it is withdrawn.
// A code no release names is in force as it is. A chain that loops ends
// where it would revisit a code (the code reached is returned, with
// withdrawn false).
func (d *Data) MapCode(code string) (now string, withdrawn bool) {
	if d == nil || len(d.codeRel) == 0 || code == "" {
		return code, false
	}
	seen := map[string]bool{}
	now = code
	for range maxCodeHops {
		i, ok := d.codeRel[now]
		if !ok {
			return now, false
		}
		r := &d.codes[i]
		if r.Withdrawn {
			return now, true
		}
		seen[now] = true
		if seen[r.NewCode] {
			return now, false
		}
		now = r.NewCode
	}
	return now, false
}

func (d *Data) indexCodes() []Duplicate {
	l := dupList{set: "codes"}
	d.codeRel = make(map[string]int32, len(d.codes))
	for i := range d.codes {
		l.key(d.codes[i].Code, i, d.codeRel)
	}
	d.codes = keep(d.codes, d.codeRel)
	return l.list
}

func putCodes(b []byte, s *sets) []byte {
	b = binary.AppendUvarint(b, uint64(len(s.codes)))
	for i := range s.codes {
		c := &s.codes[i]
		b = putString(b, c.Code)
		b = putString(b, c.NewCode)
		b = putString(b, c.Date)
		var f byte
		if c.Withdrawn {
			f = 1
		}
		b = append(b, f)
	}
	return b
}

func getCodes(r *decoder, s *sets) {
	s.codes = entries[CodeRelease](r.count(4))
	for i := range s.codes {
		c := &s.codes[i]
		c.Code, c.NewCode, c.Date = r.str(), r.str(), r.str()
		c.Withdrawn = r.byte()&1 != 0
	}
}

// Codes returns the code releases held.
func (d *Data) Codes() []CodeRelease {
	if d == nil {
		return nil
	}
	return d.codes
}

// AddReleaseTable reads file (named name in errors) as one of the NHSA's
// own release tables, CSV in their headers (agent/nhsa): a withdrawn-codes
// table (停用表) or an old→new table (转码表); and returns rows with the
// table's rows added, a row replacing the one of the same code, sorted by
// code: the tables of successive releases accumulate. The error says why
// the file is neither table.
func AddReleaseTable(rows []CodeRelease, file []byte, name string) ([]CodeRelease, error) {
	rs := new(nhsa.Releases)
	if _, err := rs.ReadWithdrawn(bytes.NewReader(file), name, nhsa.Options{}); err != nil {
		rs = new(nhsa.Releases)
		if _, err2 := rs.ReadTranscode(bytes.NewReader(file), name, nhsa.Options{}); err2 != nil {
			return nil, fmt.Errorf("as a withdrawn-codes table: %w; as an old→new table: %w", err, err2)
		}
	}
	var add []CodeRelease
	for _, t := range rs.Transcodes() {
		add = append(add, CodeRelease{Code: string(t.Old), NewCode: string(t.New)})
	}
	for _, w := range rs.Withdrawals() {
		add = append(add, CodeRelease{Code: string(w.Code), Withdrawn: true})
	}
	return MergeCodes(rows, add), nil
}

// MergeCodes returns rows with add's rows added, a row of add replacing
// the one of the same code (the later in add when it names a code twice),
// sorted by code.
func MergeCodes(rows, add []CodeRelease) []CodeRelease {
	byCode := make(map[string]CodeRelease, len(rows)+len(add))
	for _, c := range slices.Concat(rows, add) {
		byCode[c.Code] = c
	}
	out := make([]CodeRelease, 0, len(byCode))
	for _, code := range slices.Sorted(maps.Keys(byCode)) {
		out = append(out, byCode[code])
	}
	return out
}

// CodesCSV writes code releases as a codes file, in the form ParseCodes
// reads.
func CodesCSV(rows []CodeRelease) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"code", "new_code", "withdrawn", "date"})
	for _, c := range rows {
		_ = cw.Write([]string{c.Code, c.NewCode, strconv.FormatBool(c.Withdrawn), c.Date})
	}
	cw.Flush()
	return b.Bytes() // writes to a bytes.Buffer do not fail
}
