package udid

import (
	"bufio"
	"encoding/xml"
	"io"
	"os"
	"unicode/utf8"
)

// Repairs counts the repairs a Repairer made, one field per kind.
type Repairs struct {
	// Controls counts characters XML 1.0 does not allow anywhere and that
	// were removed: the C0 controls other than tab, line feed and
	// carriage return (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F),
	// and U+FFFE and U+FFFF.
	Controls int64
	// CharRefs counts character references to such characters ("&#1;",
	// "&#x1F;", "&#0;") that were removed.
	CharRefs int64
	// Ampersands counts '&' that began no entity (not &amp; &lt; &gt;
	// &quot; &apos; or a character reference ended by ';') and were
	// written as "&amp;": "A&B" reads as "A&B", "&nbsp;" as "&nbsp;".
	Ampersands int64
	// LessThans counts '<' that could not begin markup (followed by a
	// digit, a space, '=', or other punctuation than / ! ? _ :) and were
	// written as "&lt;": "<5mm" reads as "<5mm".
	LessThans int64
	// InvalidUTF8 counts bytes that were not part of valid UTF-8, each
	// replaced by U+FFFD.
	InvalidUTF8 int64
}

// Total returns the number of repairs of every kind.
func (r Repairs) Total() int64 {
	return r.Controls + r.CharRefs + r.Ampersands + r.LessThans + r.InvalidUTF8
}

func (r *Repairs) add(o Repairs) {
	r.Controls += o.Controls
	r.CharRefs += o.CharRefs
	r.Ampersands += o.Ampersands
	r.LessThans += o.LessThans
	r.InvalidUTF8 += o.InvalidUTF8
}

// Repairer is an io.Reader that repairs the dirt found in UDID XML
// exports on the fly (see Repairs for each repair) and passes everything
// else through unchanged. A UTF-8 byte order mark at the start is
// dropped. Inside CDATA sections '&' and '<' are left alone. No repair
// removes a line break, so line numbers stay those of the original.
//
// It holds at most one buffer of input (64 KiB) and its output.
type Repairer struct {
	src     io.Reader
	buf     []byte // input: unprocessed bytes are buf[r:w]
	r, w    int
	err     error // from src, returned once buf is drained
	out     []byte
	o       int
	started bool
	cdata   bool
	n       Repairs
}

// repairBuf is the input buffer size; lookahead never exceeds maxLook.
const (
	repairBuf = 64 << 10
	maxLook   = 32
)

// Repair returns a Repairer reading from src.
func Repair(src io.Reader) *Repairer {
	return &Repairer{src: src, buf: make([]byte, repairBuf), out: make([]byte, 0, repairBuf+repairBuf/4)}
}

// Repairs returns the repairs made so far.
func (f *Repairer) Repairs() Repairs { return f.n }

// Read implements io.Reader.
func (f *Repairer) Read(p []byte) (int, error) {
	for f.o == len(f.out) {
		if f.r == f.w && f.err != nil {
			return 0, f.err
		}
		f.fill()
		f.out = f.out[:0]
		f.o = 0
		f.process()
	}
	n := copy(p, f.out[f.o:])
	f.o += n
	return n, nil
}

// fill reads more input: it moves the unprocessed bytes to the front and
// reads until at least maxLook bytes are buffered or src ends.
func (f *Repairer) fill() {
	if f.err != nil {
		return
	}
	if f.r > 0 {
		f.w = copy(f.buf, f.buf[f.r:f.w])
		f.r = 0
	}
	for f.w < len(f.buf) {
		n, err := f.src.Read(f.buf[f.w:])
		f.w += n
		if err != nil {
			f.err = err
			break
		}
		if f.w-f.r >= maxLook {
			break
		}
	}
	if !f.started && (f.w-f.r >= 3 || f.err != nil) {
		f.started = true
		if f.w-f.r >= 3 && f.buf[f.r] == 0xEF && f.buf[f.r+1] == 0xBB && f.buf[f.r+2] == 0xBF {
			f.r += 3
		}
	}
}

// plain marks the ASCII bytes that need no look: printable ASCII and tab,
// LF, CR, except '&', '<' and ']'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = true, true, true
	t['&'], t['<'], t[']'] = false, false, false
	return t
}()

// process repairs buf[r:w] into out. It stops early, leaving bytes
// unprocessed, only when a decision needs more input than is buffered
// and src has more.
func (f *Repairer) process() {
	b := f.buf[:f.w]
	i := f.r
	more := f.err == nil // src may have more bytes
	for i < len(b) {
		// Fast path: a run of bytes that need no look.
		j := i
		for j < len(b) && plain[b[j]] {
			j++
		}
		f.out = append(f.out, b[i:j]...)
		i = j
		if i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c >= 0x80:
			if !utf8.FullRune(b[i:]) && more {
				f.r = i
				return
			}
			r, size := utf8.DecodeRune(b[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				f.out = append(f.out, "\uFFFD"...)
				f.n.InvalidUTF8++
			case r == 0xFFFE || r == 0xFFFF:
				f.n.Controls++
			default:
				f.out = append(f.out, b[i:i+size]...)
			}
			i += size
		case c < 0x20:
			f.n.Controls++
			i++
		case c == ']':
			if f.cdata {
				if len(b)-i < 3 && more {
					f.r = i
					return
				}
				if len(b)-i >= 3 && b[i+1] == ']' && b[i+2] == '>' {
					f.out = append(f.out, "]]>"...)
					f.cdata = false
					i += 3
					continue
				}
			}
			f.out = append(f.out, c)
			i++
		case f.cdata:
			f.out = append(f.out, c)
			i++
		case c == '<':
			const open = "<![CDATA["
			if len(b)-i < len(open) && more {
				f.r = i
				return
			}
			if len(b)-i >= len(open) && string(b[i:i+len(open)]) == open {
				f.out = append(f.out, open...)
				f.cdata = true
				i += len(open)
				continue
			}
			if i+1 < len(b) && startsMarkup(b[i+1]) {
				f.out = append(f.out, c)
			} else {
				f.out = append(f.out, "&lt;"...)
				f.n.LessThans++
			}
			i++
		case c == '&':
			n, ok := entity(b[i:], more)
			if !ok {
				f.r = i
				return
			}
			switch {
			case n > 0:
				f.out = append(f.out, b[i:i+n]...)
				i += n
			case n < 0:
				f.n.CharRefs++
				i += -n
			default:
				f.out = append(f.out, "&amp;"...)
				f.n.Ampersands++
				i++
			}
		}
	}
	f.r = i
}

// startsMarkup reports whether c, following '<', can begin markup: a
// name (ASCII letter, '_', ':' or any non-ASCII byte, as XML names may
// start with most letters), an end tag, a comment or declaration, or a
// processing instruction.
func startsMarkup(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' ||
		c == '/' || c == '!' || c == '?' || c >= 0x80
}

// entity looks at b, which starts with '&'. It returns n > 0, the length
// of a well-formed entity or character reference to keep; n < 0, minus
// the length of a character reference to an XML-illegal character, to
// drop; or 0 for a bare '&'. ok is false when more input is needed to
// decide.
func entity(b []byte, more bool) (n int, ok bool) {
	end := -1
	k := 1
	for ; k < len(b) && k <= maxLook; k++ {
		if b[k] == ';' {
			end = k
			break
		}
		if !entityByte(b[k]) {
			break
		}
	}
	if end < 0 {
		// Without a terminator yet, the rest may come with the next read.
		return 0, !(k == len(b) && k <= maxLook && more)
	}
	name := string(b[1:end])
	switch name {
	case "amp", "lt", "gt", "quot", "apos":
		return end + 1, true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, true
	}
	v, valid := charRef(name[1:])
	if !valid {
		return 0, true
	}
	if !xmlChar(v) {
		return -(end + 1), true
	}
	return end + 1, true
}

// entityByte reports whether c may appear between '&' and ';' in an
// entity or character reference this package keeps.
func entityByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '#' || c == '_' || c == '.' || c == '-' || c == ':'
}

// charRef reads the number of a character reference: decimal digits, or
// 'x' and hex digits.
func charRef(s string) (rune, bool) {
	base := rune(10)
	if s[0] == 'x' {
		base, s = 16, s[1:]
	}
	if s == "" {
		return 0, false
	}
	var v rune
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		v = v*base + d
		if v > 0x10FFFF {
			return 0x110000, true
		}
	}
	return v, true
}

// xmlChar reports whether r is a character XML 1.0 allows.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// TokenScan reads r, a UDID XML export, with encoding/xml's tokens alone
// (through Repair, as the export's dirt stops encoding/xml), keeping
// nothing, and returns how many device elements it holds: the bare
// reading that the importers' benchmarks are compared with.
func TokenScan(r io.Reader) (devices int64, err error) {
	d := xml.NewDecoder(bufio.NewReaderSize(Repair(r), 64<<10))
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			return devices, nil
		}
		if err != nil {
			return devices, err
		}
		if s, ok := t.(xml.StartElement); ok && s.Name.Local == "device" {
			devices++
		}
	}
}

// TokenScanFile is TokenScan of the file at path.
func TokenScanFile(path string) (devices int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return TokenScan(f)
}
