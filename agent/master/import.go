package master

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/maphash"
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
	// Rejected lists the problems of the rows left out (with
	// ImportOptions.Partial; without it they are in the *BadRowsError),
	// at most MaxRejected of them: Records less Kept counts the rows.
	Rejected []RowError
}

// Converted reports whether the file was converted to UTF-8 from another
// encoding.
func (r *Report) Converted() bool { return r.Encoding != "" && r.Encoding != EncodingUTF8 }

// setDef is how one set is read, moved and indexed.
type setDef struct {
	schema *schema
	// read parses a UTF-8 file into the set's field of dst, or, with dst
	// nil, only checks it. Entries are kept only while every row is good
	// or partial is set: a file with a bad row is otherwise refused.
	read func(text []byte, format string, o readOptions, dst *sets, raw *rawRows) (errs []RowError, st stats, err error)
	// take moves the set from src to dst.
	take func(dst, src *sets)
	// index builds a Data's indexes of the set and returns the
	// duplicates met.
	index func(d *Data) []Duplicate
}

// readOptions are what a set's reader needs of ImportOptions.
type readOptions struct {
	partial bool
	version uint64 // the set's central version, kept in a stored catalogue
}

// defineSet returns the setDef of the set with schema s, whose entries
// build makes, field holds and index indexes.
func defineSet[T any](s *schema, build func(*row) (T, bool), field func(*sets) *[]T, index func(*Data) []Duplicate) setDef {
	return setDef{
		schema: s,
		read: func(text []byte, format string, o readOptions, dst *sets, raw *rawRows) ([]RowError, stats, error) {
			var (
				out  []T
				keep func(T)
			)
			if dst != nil {
				out = make([]T, 0, rowsIn(text, format))
				keep = func(v T) { out = append(out, v) }
			}
			errs, st, err := parseRows(text, format, s, once(build), keep, o.partial, raw)
			if err == nil && dst != nil && st.kept > 0 {
				if cap(out)-len(out) > len(out)/8+64 {
					out = slices.Clone(out)
				}
				*field(dst) = out
			}
			return errs, st, err
		},
		take:  func(dst, src *sets) { *field(dst) = *field(src) },
		index: index,
	}
}

// fileKeyed is an entry no two rows of one file may share the key of
// with different values: the file gives two values for one thing and
// which it means cannot be told (two par levels of a product at one
// location, two prices of one product). A row repeated exactly says
// nothing new and is taken.
type fileKeyed interface {
	// fileKey returns the entry's key, how the error names it, and the
	// column the error names.
	fileKey() (key, said, column string)
}

// once returns build for one file: when T is fileKeyed, a row whose key
// an earlier good row of the file has with other values is refused,
// naming that row.
func once[T any](build func(*row) (T, bool)) func(*row) (T, bool) {
	var zero T
	if _, ok := any(&zero).(fileKeyed); !ok {
		return build
	}
	type first struct {
		line, index int32
		sum         uint64 // of the row's values
	}
	seen := map[string]first{}
	seed := maphash.MakeSeed()
	return func(r *row) (T, bool) {
		v, ok := build(r)
		if !ok || r.failed {
			return v, ok
		}
		var h maphash.Hash
		h.SetSeed(seed)
		for _, x := range r.vals {
			h.WriteString(x)
			h.WriteByte(0)
		}
		key, said, col := any(&v).(fileKeyed).fileKey()
		if f, dup := seen[key]; dup {
			if f.sum == h.Sum64() {
				return v, true // the same row again
			}
			at := RowError{Line: int(f.line), Index: int(f.index)}
			r.report(col, said+" is given twice, differently: "+strings.TrimSuffix(at.Error(), ": ")+" gives it too (keep one row)")
			return v, false
		}
		seen[strings.Clone(key)] = first{int32(r.line), int32(r.index), h.Sum64()}
		return v, true
	}
}

// setDefs are the sets, by name.
var setDefs = map[string]setDef{
	"catalogue": {
		schema: catalogueSchema,
		read:   readCatalogue,
		take:   func(dst, src *sets) { dst.cat = src.cat },
		index:  (*Data).indexCatalogue,
	},
	"recalls":     defineSet(recallSchema, buildRecall, func(s *sets) *[]Recall { return &s.recalls }, (*Data).indexRecalls),
	"lots":        defineSet(lotSchema, buildLotStatus, func(s *sets) *[]LotStatus { return &s.lots }, (*Data).indexLots),
	"settlements": defineSet(settlementSchema, buildSettlement, func(s *sets) *[]Settlement { return &s.settlements }, (*Data).indexSettlements),
	"schedules":   defineSet(scheduleSchema, buildSchedule, func(s *sets) *[]Schedule { return &s.schedules }, (*Data).indexSchedules),
	"par":         defineSet(parSchema, buildParLevel, func(s *sets) *[]ParLevel { return &s.pars }, (*Data).indexPars),
	"codes":       defineSet(codesSchema, buildCode, func(s *sets) *[]CodeRelease { return &s.codes }, (*Data).indexCodes),
}

// readCatalogue is the catalogue's read: it encodes the entries into
// their stored form as they are read, in one buffer sized from the file.
func readCatalogue(text []byte, format string, o readOptions, dst *sets, raw *rawRows) ([]RowError, stats, error) {
	var (
		w    *catalogueWriter
		keep func(CatalogueEntry)
	)
	if dst != nil {
		n := rowsIn(text, format)
		w = newCatalogueWriter(catalogueSize(text, format, n), n)
		keep = func(e CatalogueEntry) { w.add(&e) }
	}
	errs, st, err := parseRows(text, format, catalogueSchema, buildCatalogue, keep, o.partial, raw)
	if err == nil && dst != nil && st.kept > 0 && (len(errs) == 0 || o.partial) {
		dst.cat, err = w.finish(o.version)
	}
	return errs, st, err
}

// catalogueSize estimates the encoded size of the catalogue in text, of
// about n rows: the bytes of the values, plus eight string lengths and
// the flags a row, give or take its price (a varint in place of the
// digits) and yes/no values (bits of the flags). The values are the
// file less the separators of CSV, less the keys and separators of JSON.
func catalogueSize(text []byte, format string, n int) int {
	size := len(text) - bytes.Count(text, []byte{','}) + 9*n + 64
	if !strings.EqualFold(strings.TrimPrefix(format, "."), FormatJSON) {
		return size - bytes.Count(text, []byte{'\t'})
	}
	quotes := bytes.Count(text, []byte{'"'})
	for _, c := range catalogueSchema.cols {
		key := `"` + c.name + `"`
		k := bytes.Count(text, []byte(key))
		size -= k * (len(key) + 1) // with its colon
		quotes -= 2 * k
	}
	return size - quotes // those of the string values
}

// rowsIn returns at least the number of records of a file: its lines
// (CSV) or opening braces (JSON), plus one.
func rowsIn(text []byte, format string) int {
	if strings.EqualFold(strings.TrimPrefix(format, "."), FormatJSON) {
		return bytes.Count(text, []byte{'{'}) + 1
	}
	return bytes.Count(text, []byte{'\n'}) + 1
}

// knownSet returns the definition of set, or an error wrapping ErrFormat.
func knownSet(set string) (setDef, error) {
	def, ok := setDefs[set]
	if !ok {
		return def, fmt.Errorf("master: %w: %q is not a master data set (want one of %s)", ErrFormat, set, strings.Join(SetNames, ", "))
	}
	return def, nil
}

// checkSet returns the definition of set after checking that it is a
// set and format one of the formats.
func checkSet(set, format string) (setDef, error) {
	def, err := knownSet(set)
	if err != nil {
		return def, err
	}
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case FormatCSV, FormatJSON:
		return def, nil
	}
	return def, fmt.Errorf("master: %s: %w: %q (csv or json)", def.schema.what, ErrFormat, format)
}

// readSet reads file, a whole file of set, under opt's rules into set's
// field of dst (left as it was on error; with dst nil the file is only
// checked) and returns the file's text, as UTF-8, and the report. raw,
// when not nil, receives the good rows' values. file is neither kept nor
// changed: the text returned is file itself, or part of it, when it was
// UTF-8.
func readSet(set string, file []byte, opt ImportOptions, dst *sets, raw *rawRows) ([]byte, Report, error) {
	rep := Report{Set: set}
	def, err := checkSet(set, opt.Format)
	if err != nil {
		return nil, rep, err
	}
	what := def.schema.what
	if len(file) > fileLimit {
		return nil, rep, tooLarge(what)
	}
	text, enc, err := decodeText(what, file, opt.Encoding)
	if err != nil {
		return nil, rep, err
	}
	rep.Encoding = enc
	empty := fmt.Errorf("master: %s: %w: the file has no rows, and importing it would empty the set (an empty file is imported only when asked for)", what, ErrEmpty)
	var got sets
	into := &got
	if dst == nil {
		into = nil
	}
	if len(bytes.TrimSpace(text)) == 0 {
		if !opt.AllowEmpty {
			return nil, rep, empty
		}
		if dst != nil {
			def.take(dst, &got)
		}
		return text, rep, nil
	}
	errs, st, err := def.read(text, opt.Format, readOptions{partial: opt.Partial, version: opt.SetVersion}, into, raw)
	rep.Records = st.records - st.blank
	switch {
	case err != nil:
		return nil, rep, err
	case len(errs) > 0 && (!opt.Partial || (st.kept == 0 && !opt.AllowEmpty)):
		return nil, rep, &BadRowsError{Set: set, Records: rep.Records, Bad: st.bad, Rows: errs, Problems: st.problems, Partial: opt.Partial}
	case rep.Records == 0 && !opt.AllowEmpty:
		return nil, rep, empty
	}
	rep.Kept, rep.Rejected = st.kept, errs
	if dst != nil {
		def.take(dst, &got)
	}
	return text, rep, nil
}

// Import returns a new Data: d with one set (a name of SetNames)
// replaced by the entries of a file read under opt (see ImportOptions),
// labelled opt.Version, with opt.SetVersion as the set's central
// version. A set d holds as damaged (Damaged) is no longer damaged in
// the new Data. d is not changed, and on error no Data is returned: a
// failed import leaves everything as it was. Errors are those of
// ParseCatalogue, and ErrFormat for an unknown set.
//
// The file is read whole, into a buffer of its size when r tells it
// (Len, as bytes.Reader has, or Stat of a regular file). The new Data
// shares d's other sets and their indexes.
func (d *Data) Import(set string, r io.Reader, opt ImportOptions) (*Data, Report, error) {
	_, file, err := readSetFile(set, r, opt.Format)
	if err != nil {
		return nil, Report{Set: set}, err
	}
	return d.ImportBytes(set, file, opt)
}

// readSetFile checks that set is a set and format a format, then reads
// the whole file r.
func readSetFile(set string, r io.Reader, format string) (setDef, []byte, error) {
	def, err := checkSet(set, format)
	if err != nil {
		return def, nil, err
	}
	file, err := readFile(def.schema.what, r)
	return def, file, err
}

// parseSet reads a whole file of set on its own, under opt.
func parseSet(set string, r io.Reader, opt ImportOptions) (sets, Report, error) {
	var s sets
	_, file, err := readSetFile(set, r, opt.Format)
	if err != nil {
		return s, Report{Set: set}, err
	}
	_, rep, err := readSet(set, file, opt, &s, nil)
	return s, rep, err
}

// ImportBytes is Import of a file held in memory, as the central
// service's sets arrive. file is read in place: it is neither copied
// (unless it must be converted to UTF-8), kept, nor changed. Every row
// is checked as Import checks it.
func (d *Data) ImportBytes(set string, file []byte, opt ImportOptions) (*Data, Report, error) {
	var got sets
	_, rep, err := readSet(set, file, opt, &got, nil)
	if err != nil {
		return nil, rep, err
	}
	n := d.with(set, &got, opt.SetVersion)
	n.Version = opt.Version
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
	def, file, err := readSetFile(set, r, opt.Format)
	if err != nil {
		return nil, Report{Set: set}, err
	}
	// The entries are checked, not kept; the rows are kept only when a
	// partial import may leave some out.
	var raw *rawRows
	if opt.Partial {
		raw = new(rawRows)
	}
	text, rep, err := readSet(set, file, opt, nil, raw)
	if err != nil || len(rep.Rejected) == 0 {
		return text, rep, err
	}
	return raw.write(def.schema, opt.Format), rep, nil
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
