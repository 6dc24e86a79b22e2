package udid

import (
	"bytes"
	"io"
	"strconv"
	"unicode/utf8"
)

// The bulk download is flat, simple XML read by the gigabyte, and
// encoding/xml tokenises it at about 40 MB/s, under 20,000 records/s
// (BenchmarkReadXML prints both). scanner is a small streaming XML
// tokeniser for what the download uses: elements (attributes skipped),
// text with the five predefined entities and character references,
// CDATA sections, comments, processing instructions and a DOCTYPE
// (skipped). It checks well-formedness as far as this package relies
// on it: end tags match, one root element, no text outside it, no
// unknown entity, names that start as XML names start. Tokens are views
// into its buffer, valid until the next call.

// token kinds.
type tokKind uint8

const (
	tEOF tokKind = iota
	tStart
	tEnd
	tText
)

// maxToken bounds one token (a text, a tag); the buffer grows to it.
const maxToken = 16 << 20

// syntaxError is a well-formedness fault at a line.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.msg }

type scanner struct {
	src        io.Reader
	buf        []byte
	r, w       int
	err        error // from src; io.EOF at the end
	lines      int   // line number of buf[lineAt]
	lineAt     int
	stack      []string
	pendingEnd bool
	name       string // of the current start or end tag
	text       []byte // of the current text token
	scratch    []byte
	intern     map[string]string
	rootDone   bool
	encoding   string // a declared encoding other than UTF-8
}

func newScanner(src io.Reader) *scanner {
	return &scanner{src: src, buf: make([]byte, 256<<10), lines: 1, intern: make(map[string]string)}
}

// line returns the line number of the next unread byte.
func (s *scanner) line() int {
	if s.lineAt < s.r {
		s.lines += bytes.Count(s.buf[s.lineAt:s.r], []byte{'\n'})
		s.lineAt = s.r
	}
	return s.lines
}

// more reads more input, moving the unread bytes to the front of the
// buffer or growing it (up to maxToken). It returns false when there is
// no more input or the token would pass maxToken.
func (s *scanner) more() bool {
	if s.err != nil {
		return false
	}
	if s.r > 0 {
		s.line()
		n := copy(s.buf, s.buf[s.r:s.w])
		s.w = n
		s.r, s.lineAt = 0, 0
	}
	if s.w == len(s.buf) {
		if len(s.buf) >= maxToken {
			s.err = &syntaxError{s.line(), "a token longer than " + strconv.Itoa(maxToken>>20) + " MiB"}
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	for {
		n, err := s.src.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// index returns the offset from s.r of the first sep at or after offset
// off, reading more input as needed, or -1 if the input ends first.
func (s *scanner) index(off int, sep string) int {
	for {
		if i := bytes.Index(s.buf[s.r+off:s.w], []byte(sep)); i >= 0 {
			return off + i
		}
		if n := s.w - s.r - len(sep) + 1; n > off {
			off = n
		}
		if !s.more() {
			return -1
		}
	}
}

// ensure makes n unread bytes available if the input has them.
func (s *scanner) ensure(n int) bool {
	for s.w-s.r < n {
		if !s.more() {
			return false
		}
	}
	return true
}

// fail returns a syntax error at the current line; a read error from
// the source wins.
func (s *scanner) fail(msg string) error {
	if s.err != nil && s.err != io.EOF {
		return s.err
	}
	return &syntaxError{s.line(), msg}
}

// next returns the next token.
func (s *scanner) next() (tokKind, error) {
	if s.pendingEnd {
		s.pendingEnd = false
		s.stack = s.stack[:len(s.stack)-1]
		return tEnd, nil
	}
	for {
		if s.r == s.w && !s.more() {
			if s.err != io.EOF {
				return tEOF, s.err
			}
			if len(s.stack) > 0 {
				return tEOF, s.fail("the document ends inside <" + s.stack[len(s.stack)-1] + ">")
			}
			if !s.rootDone {
				return tEOF, s.fail("no root element")
			}
			return tEOF, nil
		}
		if s.buf[s.r] != '<' {
			return s.textToken()
		}
		if !s.ensure(2) {
			return tEOF, s.fail("the document ends with '<'")
		}
		switch s.buf[s.r+1] {
		case '/':
			return s.endTag()
		case '?':
			if err := s.pi(); err != nil {
				return tEOF, err
			}
		case '!':
			k, err := s.bang()
			if err != nil || k != tEOF {
				return k, err
			}
		default:
			return s.startTag()
		}
	}
}

// textToken reads text up to the next '<'.
func (s *scanner) textToken() (tokKind, error) {
	i := s.index(0, "<")
	if i < 0 {
		i = s.w - s.r
	}
	raw := s.buf[s.r : s.r+i]
	if len(s.stack) == 0 {
		if len(bytes.TrimLeft(raw, " \t\r\n")) > 0 {
			return tEOF, s.fail("text outside the root element")
		}
		s.r += i
		return s.next()
	}
	text, err := s.decode(raw)
	if err != nil {
		return tEOF, err
	}
	s.text = text
	s.r += i
	return tText, nil
}

// decode resolves entities and character references and normalises
// line ends in raw text.
func (s *scanner) decode(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return raw, nil
	}
	out := s.scratch[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			out = append(out, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '&':
			j := bytes.IndexByte(raw[i:], ';')
			if j < 0 {
				return nil, s.fail("'&' without ';'")
			}
			ent := raw[i+1 : i+j]
			switch string(ent) {
			case "amp":
				out = append(out, '&')
			case "lt":
				out = append(out, '<')
			case "gt":
				out = append(out, '>')
			case "quot":
				out = append(out, '"')
			case "apos":
				out = append(out, '\'')
			default:
				if len(ent) < 2 || ent[0] != '#' {
					return nil, s.fail("unknown entity &" + string(ent) + ";")
				}
				v, ok := charRef(string(ent[1:]))
				if !ok || !xmlChar(v) {
					return nil, s.fail("bad character reference &" + string(ent) + ";")
				}
				out = utf8.AppendRune(out, v)
			}
			i += j
		default:
			out = append(out, c)
		}
	}
	s.scratch = out
	return out, nil
}

// nameEnd returns the offset from s.r of the end of the name starting
// at offset off.
func (s *scanner) nameEnd(off int) int {
	i := off
	for {
		for s.r+i < s.w {
			switch s.buf[s.r+i] {
			case ' ', '\t', '\r', '\n', '/', '>', '=':
				return i
			}
			i++
		}
		if !s.more() {
			return i
		}
	}
}

// intern returns b as a string, sharing the strings of names seen
// before.
func (s *scanner) internName(b []byte) string {
	if v, ok := s.intern[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(s.intern) < 4096 {
		s.intern[v] = v
	}
	return v
}

func nameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

// startTag reads <name attr="…" …> or <name …/>.
func (s *scanner) startTag() (tokKind, error) {
	if !nameStart(s.buf[s.r+1]) {
		return tEOF, s.fail("'<' not followed by a name")
	}
	if s.rootDone {
		return tEOF, s.fail("a second root element")
	}
	e := s.nameEnd(1)
	name := s.internName(s.buf[s.r+1 : s.r+e])
	// Attributes are skipped: find the '>' outside quotes.
	i := e
	var quote byte
	for {
		if s.r+i >= s.w && !s.more() {
			return tEOF, s.fail("the document ends inside the tag <" + name + ">")
		}
		c := s.buf[s.r+i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '<' {
				return tEOF, s.fail("'<' in an attribute value of <" + name + ">")
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '<':
			return tEOF, s.fail("'<' inside the tag <" + name + ">")
		case c == '>':
			self := s.buf[s.r+i-1] == '/'
			s.r += i + 1
			s.name = name
			s.stack = append(s.stack, name)
			if self {
				s.pendingEnd = true
				if len(s.stack) == 1 {
					s.rootDone = true
				}
			}
			return tStart, nil
		}
		i++
	}
}

// endTag reads </name>.
func (s *scanner) endTag() (tokKind, error) {
	i := s.index(2, ">")
	if i < 0 {
		return tEOF, s.fail("the document ends inside an end tag")
	}
	name := bytes.TrimRight(s.buf[s.r+2:s.r+i], " \t\r\n")
	n := len(s.stack)
	if n == 0 || s.stack[n-1] != string(name) {
		want := "no open element"
		if n > 0 {
			want = "<" + s.stack[n-1] + ">"
		}
		return tEOF, s.fail("</" + string(name) + "> closes " + want)
	}
	s.name = s.stack[n-1]
	s.stack = s.stack[:n-1]
	if n == 1 {
		s.rootDone = true
	}
	s.r += i + 1
	return tEnd, nil
}

// pi skips a processing instruction; the XML declaration's encoding
// must be UTF-8.
func (s *scanner) pi() error {
	i := s.index(2, "?>")
	if i < 0 {
		return s.fail("the document ends inside a processing instruction")
	}
	body := s.buf[s.r+2 : s.r+i]
	if bytes.HasPrefix(body, []byte("xml")) && (len(body) == 3 || body[3] == ' ' || body[3] == '\t' || body[3] == '\r' || body[3] == '\n') {
		if k := bytes.Index(body, []byte("encoding")); k >= 0 {
			rest := bytes.TrimLeft(body[k+len("encoding"):], " \t\r\n")
			if len(rest) > 0 && rest[0] == '=' {
				rest = bytes.TrimLeft(rest[1:], " \t\r\n")
				if len(rest) > 1 && (rest[0] == '"' || rest[0] == '\'') {
					if e := bytes.IndexByte(rest[1:], rest[0]); e >= 0 {
						enc := string(rest[1 : 1+e])
						if !bytes.EqualFold([]byte(enc), []byte("utf-8")) && !bytes.EqualFold([]byte(enc), []byte("utf8")) {
							s.encoding = enc
							return s.fail("declares encoding " + strconv.Quote(enc))
						}
					}
				}
			}
		}
	}
	s.r += i + 2
	return nil
}

// bang reads <!-- comments --> and <!DOCTYPE …> (skipped) and
// <![CDATA[…]]> (returned as text).
func (s *scanner) bang() (tokKind, error) {
	s.ensure(9)
	rest := s.buf[s.r:s.w]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		i := s.index(4, "-->")
		if i < 0 {
			return tEOF, s.fail("the document ends inside a comment")
		}
		s.r += i + 3
		return tEOF, nil
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		if len(s.stack) == 0 {
			return tEOF, s.fail("CDATA outside the root element")
		}
		i := s.index(9, "]]>")
		if i < 0 {
			return tEOF, s.fail("the document ends inside a CDATA section")
		}
		s.text = s.buf[s.r+9 : s.r+i]
		s.r += i + 3
		return tText, nil
	case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
		depth := 0
		for i := 2; ; i++ {
			if s.r+i >= s.w && !s.more() {
				return tEOF, s.fail("the document ends inside the DOCTYPE")
			}
			switch s.buf[s.r+i] {
			case '[':
				depth++
			case ']':
				depth--
			case '>':
				if depth <= 0 {
					s.r += i + 1
					return tEOF, nil
				}
			}
		}
	}
	return tEOF, s.fail("'<!' begins neither a comment, CDATA nor a DOCTYPE")
}
