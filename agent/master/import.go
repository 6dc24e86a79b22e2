package master

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ImportOptions say how a file of master data is read and what it may
// do to the set it replaces. The zero value (with a Format) is strict: a
// file with a bad row, or with no rows, is refused whole.
type ImportOptions struct {
	// Format is FormatCSV or FormatJSON.
	Format string
	// Partial keeps the good rows of a file that has bad ones, which are
	// left out and listed in Report.Rejected. Without it such a file is
	// refused whole (*BadRowsError). Even with it, a file without one
	// good row is refused unless AllowEmpty is set too.
	Partial bool
	// AllowEmpty accepts a file with no rows (a header only, "[]", or
	// nothing at all), which empties the set. Without it such a file is
	// refused (ErrEmpty): an empty export must not clear a catalogue by
	// accident.
	AllowEmpty bool
	// Encoding names the file's character encoding: "utf-8",
	// "gb18030" (also "gbk", "gb2312"), "utf-16" (little-endian unless a
	// byte order mark says otherwise), "utf-16le" or "utf-16be". "" detects
	// it (see firmware-notes/master-data.md).
	Encoding string
	// Version is the Version of the Data that Data.Import returns.
	Version string
	// SetVersion is the central service's version of the set, kept by
	// Data.Import (SetVersion); 0 for a file imported on the gateway.
	SetVersion uint64
}

// Report says how a file was read.
type Report struct {
	// Set is the set the file was for.
	Set string
	// Encoding is the encoding the file was read in: EncodingUTF8,
	// EncodingGB18030, EncodingUTF16LE or EncodingUTF16BE; "" when it was
	// not read that far.
	Encoding string
	// Records is the number of rows the file has, blank CSV rows not
	// counted; Kept how many of them were kept.
	Records, Kept int
	// Rejected lists every problem of the rows left out (with
	// ImportOptions.Partial; without it they are in the *BadRowsError).
	Rejected []RowError
}

// Converted reports whether the file was converted to UTF-8 from another
// encoding.
func (r *Report) Converted() bool { return r.Encoding != "" && r.Encoding != EncodingUTF8 }

// setDef is how one set is read: its schema, a reader that parses a
// UTF-8 file into the set's field of a Sets, and a function that moves
// that field from one Sets to another.
type setDef struct {
	schema *schema
	read   func(r io.Reader, format string, dst *Sets, raw *rawRows) (kept int, errs []RowError, st stats, err error)
	take   func(dst, src *Sets)
}

// defineSet returns the setDef of the set with schema s, whose entries
// build makes and field holds.
func defineSet[T any](s *schema, build func(*row) (T, bool), field func(*Sets) *[]T) setDef {
	return setDef{
		schema: s,
		read: func(r io.Reader, format string, dst *Sets, raw *rawRows) (int, []RowError, stats, error) {
			out, errs, st, err := parseStats(r, format, s, build, raw)
			*field(dst) = out
			return len(out), errs, st, err
		},
		take: func(dst, src *Sets) { *field(dst) = *field(src) },
	}
}

// setDefs are the sets, by name.
var setDefs = map[string]setDef{
	"catalogue":   defineSet(catalogueSchema, buildCatalogue, func(s *Sets) *[]CatalogueEntry { return &s.Catalogue }),
	"recalls":     defineSet(recallSchema, buildRecall, func(s *Sets) *[]Recall { return &s.Recalls }),
	"lots":        defineSet(lotSchema, buildLotStatus, func(s *Sets) *[]LotStatus { return &s.Lots }),
	"settlements": defineSet(settlementSchema, buildSettlement, func(s *Sets) *[]Settlement { return &s.Settlements }),
	"schedules":   defineSet(scheduleSchema, buildSchedule, func(s *Sets) *[]Schedule { return &s.Schedules }),
	"par":         defineSet(parSchema, buildParLevel, func(s *Sets) *[]ParLevel { return &s.ParLevels }),
}

// knownSet returns the definition of set, or an error wrapping ErrFormat.
func knownSet(set string) (setDef, error) {
	def, ok := setDefs[set]
	if !ok {
		return def, fmt.Errorf("master: %w: %q is not a master data set (want one of %s)", ErrFormat, set, strings.Join(SetNames, ", "))
	}
	return def, nil
}

// readSet reads a file of set under opt's rules into set's field of dst
// (left as it was on error) and returns the file's text, as UTF-8, and
// the report. raw, when not nil, receives the good rows' values.
func readSet(set string, r io.Reader, opt ImportOptions, dst *Sets, raw *rawRows) ([]byte, Report, error) {
	rep := Report{Set: set}
	def, err := knownSet(set)
	if err != nil {
		return nil, rep, err
	}
	what := def.schema.what
	switch strings.ToLower(strings.TrimPrefix(opt.Format, ".")) {
	case FormatCSV, FormatJSON:
	default:
		return nil, rep, fmt.Errorf("master: %s: %w: %q (csv or json)", what, ErrFormat, opt.Format)
	}
	text, enc, err := readText(what, r, opt.Encoding)
	if err != nil {
		return nil, rep, err
	}
	rep.Encoding = enc
	empty := fmt.Errorf("master: %s: %w: the file has no rows, and importing it would empty the set (an empty file is imported only when asked for)", what, ErrEmpty)
	var got Sets
	if len(bytes.TrimSpace(text)) == 0 {
		if !opt.AllowEmpty {
			return nil, rep, empty
		}
		def.take(dst, &got)
		return text, rep, nil
	}
	kept, errs, st, err := def.read(bytes.NewReader(text), opt.Format, &got, raw)
	rep.Records = st.records - st.blank
	switch {
	case err != nil:
		return nil, rep, err
	case len(errs) > 0 && (!opt.Partial || (kept == 0 && !opt.AllowEmpty)):
		return nil, rep, &BadRowsError{Set: set, Records: rep.Records, Bad: badRows(errs), Rows: errs, Partial: opt.Partial}
	case rep.Records == 0 && !opt.AllowEmpty:
		return nil, rep, empty
	}
	rep.Kept, rep.Rejected = kept, errs
	def.take(dst, &got)
	return text, rep, nil
}

// badRows counts the rows errs name.
func badRows(errs []RowError) int {
	n := 0
	for i := range errs {
		if i == 0 || errs[i].Line != errs[i-1].Line || errs[i].Index != errs[i-1].Index {
			n++
		}
	}
	return n
}

// Import returns a new Data: d with one set (a name of SetNames)
// replaced by the entries of a file read under opt (see ImportOptions),
// labelled opt.Version, with opt.SetVersion as the set's central
// version. A set d holds as damaged (Damaged) is no longer damaged in
// the new Data. d is not changed, and on error no Data is returned: a
// failed import leaves everything as it was. Errors are those of
// ParseCatalogue, ErrFormat for an unknown set, and Build's.
func (d *Data) Import(set string, r io.Reader, opt ImportOptions) (*Data, Report, error) {
	s := d.Sets()
	_, rep, err := readSet(set, r, opt, &s, nil)
	if err != nil {
		return nil, rep, err
	}
	if s.Versions == nil {
		s.Versions = map[string]uint64{}
	}
	if opt.SetVersion == 0 {
		delete(s.Versions, set)
	} else {
		s.Versions[set] = opt.SetVersion
	}
	n, err := Build(opt.Version, s)
	if err != nil {
		return nil, rep, err
	}
	if d != nil {
		n.damaged = slices.DeleteFunc(slices.Clone(d.damaged), func(x string) bool { return x == set })
		n.legacy = d.legacy
	}
	return n, rep, nil
}

// WithSet is Import as it was before imports became strict: the good
// rows of a file with bad ones are kept and the bad ones returned, and a
// file with no rows empties the set; the caller decides what to refuse.
// The file's encoding is detected as Import detects it.
//
// Deprecated: use Import, whose ImportOptions refuse a file with bad
// rows or no rows unless asked, and whose Report says the encoding.
func (d *Data) WithSet(version, set, format string, r io.Reader, setVersion uint64) (*Data, []RowError, error) {
	n, rep, err := d.Import(set, r, ImportOptions{Format: format, Version: version, SetVersion: setVersion, Partial: true, AllowEmpty: true})
	return n, rep.Rejected, err
}

// PrepareSet checks a file of set for publication, with the rules and
// options Data.Import applies (opt.Version and opt.SetVersion are not
// used), and returns it as a gateway must receive it: UTF-8 text without
// a byte order mark, in format opt.Format. When every row is good that
// is the file's own text; when a partial import left bad rows out, it is
// the good rows only, written anew with the English column names, so
// that a gateway reading it strictly gets the same entries. Errors are
// those of ParseCatalogue, and ErrFormat for an unknown set.
func PrepareSet(set string, r io.Reader, opt ImportOptions) ([]byte, Report, error) {
	var (
		s   Sets
		raw rawRows
	)
	text, rep, err := readSet(set, r, opt, &s, &raw)
	if err != nil || len(rep.Rejected) == 0 {
		return text, rep, err
	}
	return raw.write(setDefs[set].schema, opt.Format), rep, nil
}

// write writes the rows in format, naming the columns some row set.
func (w *rawRows) write(s *schema, format string) []byte {
	var cols []int
	for c, used := range w.used {
		if used {
			cols = append(cols, c)
		}
	}
	var b bytes.Buffer
	if strings.EqualFold(strings.TrimPrefix(format, "."), FormatJSON) {
		b.WriteByte('[')
		for i, r := range w.rows {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('{')
			first := true
			for _, c := range cols {
				if r[c] == "" {
					continue
				}
				if !first {
					b.WriteByte(',')
				}
				first = false
				k, _ := json.Marshal(s.cols[c].name)
				v, _ := json.Marshal(r[c])
				b.Write(k)
				b.WriteByte(':')
				b.Write(v)
			}
			b.WriteByte('}')
		}
		b.WriteString("]\n")
		return b.Bytes()
	}
	cw := csv.NewWriter(&b)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = s.cols[c].name
	}
	_ = cw.Write(rec) // a bytes.Buffer does not fail
	for _, r := range w.rows {
		for i, c := range cols {
			rec[i] = r[c]
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return b.Bytes()
}
