package nhsa

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Options say how a file is read. The zero value detects the encoding and
// refuses a file that has a bad row.
type Options struct {
	// Encoding names the file's character encoding: "utf-8", "gb18030"
	// (also "gbk", "gb2312", "cp936"), "utf-16le" or "utf-16be" ("utf-16"
	// is little-endian unless a byte order mark says otherwise). ""
	// detects it from the file's first 64 KiB: a byte order mark decides;
	// otherwise valid UTF-8 is UTF-8, and bytes that decode as GB18030 are
	// GB18030; anything else is refused (ErrEncoding). A later byte that
	// does not fit the encoding chosen is refused too, naming its line.
	Encoding string
	// SkipBadRows passes a file's good rows on and leaves its bad ones
	// out, listing them in Summary.Rejected. Without it a file with a bad
	// row is refused whole (*BadRowsError). A file without one good row is
	// refused either way.
	SkipBadRows bool
}

// MaxRecordBytes bounds one record (row) of a file. A longer one is
// refused with ErrTooLong: it is nearly always a quote that opened a cell
// and never closed, and reading on would hold the rest of the file in
// memory.
const MaxRecordBytes = 1 << 20

// MaxRejected bounds the row problems a Summary or a BadRowsError lists;
// their row counts cover every bad row.
const MaxRejected = 100

// Encodings, as Summary.Encoding names them.
const (
	EncodingUTF8    = "UTF-8"
	EncodingGB18030 = "GB18030"
	EncodingUTF16LE = "UTF-16LE"
	EncodingUTF16BE = "UTF-16BE"
)

// Summary says how a file was read.
type Summary struct {
	// File is the file's name as the caller gave it.
	File string
	// Encoding is the encoding the file was read in (EncodingUTF8, ...);
	// "" when the file was not read that far.
	Encoding string
	// Delimiter is the cell separator found in the first row: '\t' or ','.
	Delimiter rune
	// Headerless is set when the file had no header row and was read by
	// the positions of the 71 columns of interface 1306 (ReadCatalogue
	// only).
	Headerless bool
	// Missing lists the optional columns of the table that the file does
	// not have, by their English names: their values are zero in every row.
	Missing []string
	// Ignored lists the columns of the file the table does not use, as the
	// header names them.
	Ignored []string
	// Rows is the number of data rows read, blank rows not counted.
	Rows int
	// Passed is the number of rows passed on (to the callback, or into
	// the tables).
	Passed int
	// RejectedRows is the number of bad rows left out with
	// Options.SkipBadRows.
	RejectedRows int
	// Rejected lists the problems of the rows left out, in file order, at
	// most MaxRejected of them (a row may have several).
	Rejected []RowError
}

// sniffSize is how much of a file decides its encoding and delimiter.
const sniffSize = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// decode returns r's text as UTF-8 (without a byte order mark), the name of
// the encoding it was in, and whether the text still needs checking for
// invalid UTF-8 (true) or, having been converted, for U+FFFD, which the
// converters put in place of bytes that do not decode (false).
func decode(file string, r io.Reader, forced string) (io.Reader, string, bool, error) {
	fail := func(format string, args ...any) (io.Reader, string, bool, error) {
		return nil, "", false, fmt.Errorf("nhsa: %s: %w: %s", file, ErrEncoding, fmt.Sprintf(format, args...))
	}
	br := bufio.NewReaderSize(r, sniffSize)
	win, err := br.Peek(sniffSize)
	atEOF := errors.Is(err, io.EOF)
	if err != nil && !atEOF {
		return nil, "", false, fmt.Errorf("nhsa: %s: %w", file, err)
	}
	utf16 := func(le bool) (io.Reader, string, bool, error) {
		order, name := unicode.BigEndian, EncodingUTF16BE
		if bytes.HasPrefix(win, bomUTF16LE) || (le && !bytes.HasPrefix(win, bomUTF16BE)) {
			order, name = unicode.LittleEndian, EncodingUTF16LE
		}
		return transform.NewReader(br, unicode.UTF16(order, unicode.UseBOM).NewDecoder()), name, false, nil
	}
	gb := func() (io.Reader, string, bool, error) {
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), EncodingGB18030, false, nil
	}
	switch enc := strings.NewReplacer("_", "-", " ", "").Replace(strings.ToLower(strings.TrimSpace(forced))); enc {
	case "":
	case "utf-8", "utf8":
		if bytes.HasPrefix(win, bomUTF8) {
			_, _ = br.Discard(len(bomUTF8)) // peeked: cannot fail
		}
		if n := invalidUTF8(win, atEOF); n >= 0 {
			return fail("named UTF-8, but not UTF-8 at byte %d (line %d)", n, lineAt(win, n))
		}
		return br, EncodingUTF8, true, nil
	case "gb18030", "gbk", "gb2312", "cp936":
		if !isGB18030(win, atEOF) {
			return fail("named %s, but the file's start is not GB18030", forced)
		}
		return gb()
	case "utf-16", "utf16", "utf-16le", "utf16le", "utf-16be", "utf16be":
		return utf16(!strings.HasSuffix(enc, "be"))
	default:
		return fail("%q is not an encoding this reader reads (utf-8, gb18030 or gbk, utf-16le, utf-16be)", forced)
	}
	switch {
	case bytes.HasPrefix(win, bomUTF16LE), bytes.HasPrefix(win, bomUTF16BE):
		return utf16(true)
	case bytes.HasPrefix(win, bomUTF8):
		_, _ = br.Discard(len(bomUTF8))
		if n := invalidUTF8(win[len(bomUTF8):], atEOF); n >= 0 {
			return fail("the file starts with a UTF-8 byte order mark but is not UTF-8 at byte %d (line %d)", n+len(bomUTF8), lineAt(win, n+len(bomUTF8)))
		}
		return br, EncodingUTF8, true, nil
	}
	// No text in UTF-8 or GB18030 has a NUL byte; UTF-16 has many.
	if i := bytes.IndexByte(win, 0); i >= 0 {
		return fail("NUL byte at byte %d (line %d): UTF-16 without a byte order mark? name the encoding (utf-16le or utf-16be)", i, lineAt(win, i))
	}
	n := invalidUTF8(win, atEOF)
	if n < 0 {
		return br, EncodingUTF8, true, nil
	}
	if isGB18030(win, atEOF) {
		return gb()
	}
	return fail("not UTF-8 at byte %d (line %d), and the file's start is not GB18030 either: save the file as UTF-8, or name its encoding", n, lineAt(win, n))
}

// invalidUTF8 returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1. Unless atEOF, a sequence cut by the end of b is
// taken to continue beyond it.
func invalidUTF8(b []byte, atEOF bool) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			if !atEOF && !utf8.FullRune(b[i:]) {
				return -1
			}
			return i
		}
		i += size
	}
	return -1
}

// isGB18030 reports whether b decodes as GB18030 without a byte that does
// not (which the decoder replaces with U+FFFD). Unless atEOF, a sequence
// cut by the end of b is taken to continue beyond it.
func isGB18030(b []byte, atEOF bool) bool {
	dst := make([]byte, 2*len(b)+8) // GB18030 at most doubles in UTF-8
	nDst, nSrc, err := simplifiedchinese.GB18030.NewDecoder().Transform(dst, b, atEOF)
	if err != nil && !(errors.Is(err, transform.ErrShortSrc) && !atEOF && len(b)-nSrc < 4) {
		return false
	}
	return !bytes.ContainsRune(dst[:nDst], utf8.RuneError)
}

// lineAt returns the line, from 1, that byte n of b is on.
func lineAt(b []byte, n int) int { return bytes.Count(b[:n], []byte{'\n'}) + 1 }

// errRecordTooLong is the limiter's error for a record over MaxRecordBytes.
var errRecordTooLong = errors.New("record too long")

// limiter passes bytes on until more than max have gone since mark, the
// input offset where the current record starts.
type limiter struct {
	r         io.Reader
	n, mark   int64
	max       int64
	exhausted bool
}

// Read implements io.Reader.
func (l *limiter) Read(p []byte) (int, error) {
	if l.n-l.mark > l.max {
		l.exhausted = true
		return 0, errRecordTooLong
	}
	if room := l.mark + l.max + 1 - l.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// table reads the rows of one file of a schema.
type table struct {
	file  string
	s     *schema
	cr    *csv.Reader
	lim   *limiter
	utf8  bool     // cells need checking for invalid UTF-8 (else for U+FFFD)
	cols  []int    // schema column -> file column, -1 when absent
	names []string // file column -> its name
	width int      // cells a row must have
	enc   string   // the encoding, for messages
	// headerless is set when the file has no header row (its first record
	// is data) and is read by the interface's column positions.
	headerless bool
	// lastLine is the line the last record read started on.
	lastLine int
}

// openTable reads the start of file r, decides its encoding, delimiter and
// columns, and returns a table positioned on its first data row. sum gets
// the encoding, delimiter and columns.
func openTable(r io.Reader, file string, s *schema, opt Options, sum *Summary) (*table, error) {
	dec, enc, checkUTF8, err := decode(file, r, opt.Encoding)
	if err != nil {
		return nil, err
	}
	sum.Encoding = enc
	dr := bufio.NewReaderSize(dec, sniffSize)
	line, err := firstLine(dr)
	if err != nil {
		return nil, fmt.Errorf("nhsa: %s: %w", file, err)
	}
	if line == nil {
		return nil, fmt.Errorf("nhsa: %s: %w: the file is empty (no line with text in its first %d KiB)", file, ErrEmpty, sniffSize>>10)
	}
	t := &table{file: file, s: s, utf8: checkUTF8, enc: enc}
	t.lim = &limiter{r: dr, max: MaxRecordBytes + 2*sniffSize}
	delim, score := '\t', -1
	var tabCells []string
	for _, d := range []rune{'\t', ','} {
		cells := splitLine(line, d)
		if d == '\t' {
			tabCells = cells
		}
		if n := s.known(cells); n > score {
			delim, score = d, n
		}
	}
	sum.Delimiter = delim
	t.cr = csv.NewReader(t.lim)
	t.cr.Comma = delim
	t.cr.LazyQuotes = true
	t.cr.FieldsPerRecord = -1
	t.cr.ReuseRecord = true
	if score == 0 {
		if s.layout == nil || len(tabCells) != len(s.layout) {
			return nil, t.noHeader(len(tabCells))
		}
		if _, err := ParseCode(tabCells[0]); err != nil {
			return nil, t.noHeader(len(tabCells))
		}
		sum.Delimiter, sum.Headerless = '\t', true
		t.cr.Comma = '\t'
		t.names, t.headerless = s.layout, true
	} else {
		rec, err := t.read()
		for err == nil && blankRecord(rec) { // the blank lines firstLine passed over
			rec, err = t.read()
		}
		if errors.Is(err, ErrTooLong) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("nhsa: %s: reading the header: %w", file, err)
		}
		t.names = make([]string, len(rec))
		for i, c := range rec {
			t.names[i] = strings.Clone(trimSpace(c))
		}
	}
	t.width = len(t.names)
	if err := t.resolve(sum); err != nil {
		return nil, err
	}
	return t, nil
}

// noHeader returns the error for a first row that names no column of the
// table; cells is how many tab-separated cells it has.
func (t *table) noHeader(cells int) error {
	msg := fmt.Sprintf("the first row names none of the columns of the %s (want a header naming %s)", t.s.what, t.s.example())
	if t.s.layout != nil {
		msg += fmt.Sprintf(", and it is not the headerless %s either (%d tab-separated cells starting with a national code): it has %d",
			t.s.what, len(t.s.layout), cells)
	}
	return fmt.Errorf("nhsa: %s: %w: %s", t.file, ErrHeader, msg)
}

// firstLine returns the first line of r that holds more than white
// space (without its line end), peeked: nothing is consumed. It looks no
// further than sniffSize bytes, and cuts a longer line there; it returns
// nil when it finds no such line.
func firstLine(r *bufio.Reader) ([]byte, error) {
	for n := 4096; ; n *= 2 {
		n = min(n, sniffSize)
		b, err := r.Peek(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		end := err != nil || n == sniffSize // no more to peek
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				if !end {
					break // the line goes on beyond what was peeked
				}
				i = len(b)
			}
			if line := bytes.TrimSuffix(b[:i], []byte{'\r'}); len(bytes.TrimSpace(line)) > 0 {
				return line, nil
			}
			b = b[min(i+1, len(b)):]
		}
		if end {
			return nil, nil
		}
	}
}

// splitLine splits one line into cells at delim, with CSV quoting; nil
// when it does not parse.
func splitLine(line []byte, delim rune) []string {
	cr := csv.NewReader(bytes.NewReader(line))
	cr.Comma = delim
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return nil
	}
	return rec
}

// resolve finds the schema's columns among the file's.
func (t *table) resolve(sum *Summary) error {
	t.cols = make([]int, len(t.s.cols))
	for i := range t.cols {
		t.cols[i] = -1
	}
	for c, name := range t.names {
		if other, ok := t.s.foreign[normHeader(name)]; ok {
			return fmt.Errorf("nhsa: %s: %w: column %d (%s) belongs in the %s, not in the %s: the file is another table",
				t.file, ErrHeader, c+1, name, other, t.s.what)
		}
		k, ok := t.s.lookup(name)
		if !ok {
			if trimSpace(name) != "" {
				sum.Ignored = append(sum.Ignored, name)
			}
			continue
		}
		if p := t.cols[k]; p >= 0 {
			return fmt.Errorf("nhsa: %s: %w: columns %d (%s) and %d (%s) both name %s",
				t.file, ErrHeader, p+1, t.names[p], c+1, name, t.s.cols[k].key)
		}
		t.cols[k] = c
	}
	for k, col := range t.s.cols {
		if t.cols[k] >= 0 {
			continue
		}
		if col.required {
			return fmt.Errorf("nhsa: %s: %w: no column for %s (name it %s)",
				t.file, ErrHeader, col.key, strings.Join(col.aliases, ", "))
		}
		sum.Missing = append(sum.Missing, col.key)
	}
	return nil
}

// read reads the next record, keeping the limiter's mark at the start of
// the record after it.
func (t *table) read() ([]string, error) {
	rec, err := t.cr.Read()
	t.lim.mark = t.cr.InputOffset()
	if err != nil {
		if errors.Is(err, errRecordTooLong) || t.lim.exhausted {
			return nil, fmt.Errorf("nhsa: %s: %w: the record after line %d is longer than %d bytes: a quote that opens a cell and never closes?",
				t.file, ErrTooLong, t.lastLine, MaxRecordBytes)
		}
		return rec, err
	}
	t.lastLine, _ = t.cr.FieldPos(0)
	return rec, nil
}

// next returns the next data row and the line it starts on, skipping rows
// whose cells are all empty. It returns io.EOF at the end, a *RowError for
// a row that cannot be read as one (wrong width, broken quoting), and any
// other error for a file that cannot be read on.
func (t *table) next() ([]string, int, error) {
	for {
		rec, err := t.read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, pe.StartLine, &RowError{File: t.file, Line: pe.StartLine, Reason: "cannot be read: " + pe.Err.Error()}
			}
			if errors.Is(err, io.EOF) {
				return nil, 0, io.EOF
			}
			if errors.Is(err, ErrTooLong) {
				return nil, 0, err
			}
			return nil, 0, fmt.Errorf("nhsa: %s: after line %d: %w", t.file, t.lastLine, err)
		}
		line := t.lastLine
		for _, c := range rec {
			if t.utf8 && !utf8.ValidString(c) {
				return nil, line, fmt.Errorf("nhsa: %s:%d: %w: not UTF-8, though the file's start was: a file that changes encoding is refused (save it again as UTF-8; if it is GB18030 throughout and only starts in plain ASCII, name its encoding)", t.file, line, ErrEncoding)
			}
			if !t.utf8 && strings.ContainsRune(c, utf8.RuneError) {
				return nil, line, fmt.Errorf("nhsa: %s:%d: %w: bytes that are not %s, though the file's start was", t.file, line, ErrEncoding, t.enc)
			}
		}
		if blankRecord(rec) {
			continue
		}
		if len(rec) != t.width {
			of := "the header has"
			if t.headerless {
				of = "a headerless 1306 row has"
			}
			return nil, line, &RowError{File: t.file, Line: line, Reason: fmt.Sprintf("has %d cells, %s %d", len(rec), of, t.width)}
		}
		return rec, line, nil
	}
}

// blankRecord reports whether every cell of rec is empty or white space.
func blankRecord(rec []string) bool {
	for _, c := range rec {
		if trimSpace(c) != "" {
			return false
		}
	}
	return true
}
