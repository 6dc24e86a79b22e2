package master

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// MaxFileSize bounds an input file: the importer reads a file whole
// (its encoding is known only once every byte is), so a larger one is
// refused with ErrTooLarge rather than held in memory.
const MaxFileSize = 64 << 20

// fileLimit is MaxFileSize, lowered by tests.
var fileLimit = MaxFileSize

// Encodings the importer reads, as Report.Encoding names them.
const (
	EncodingUTF8    = "UTF-8"
	EncodingGB18030 = "GB18030"
	EncodingUTF16LE = "UTF-16LE"
	EncodingUTF16BE = "UTF-16BE"
)

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// readFile reads a whole input file of set what, at most fileLimit
// bytes (ErrTooLarge beyond), into a buffer of its size when r tells it:
// Len (bytes.Reader, strings.Reader, bytes.Buffer) or Stat (a regular
// file).
func readFile(what string, r io.Reader) ([]byte, error) {
	size := 0
	switch x := r.(type) {
	case interface{ Len() int }:
		size = x.Len()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := x.Stat(); err == nil && fi.Mode().IsRegular() {
			size = int(min(fi.Size(), int64(fileLimit)+1))
		}
	}
	// The room of one read more, so that reading the end does not grow
	// the buffer.
	limit := fileLimit + 1
	b := make([]byte, 0, min(size, limit)+bytes.MinRead)
	lr := io.LimitReader(r, int64(limit))
	for {
		if len(b) == cap(b) {
			// Doubled, but never beyond the bound: a file read up to it
			// (a client sending more than the bound, or a size it did not
			// tell) holds one buffer of the bound, not one twice as large.
			nb := make([]byte, len(b), min(2*cap(b), limit+bytes.MinRead))
			copy(nb, b)
			b = nb
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("master: %s: %w", what, err)
		}
	}
	if len(b) > fileLimit {
		return nil, tooLarge(what)
	}
	return b, nil
}

// tooLarge returns the error of a file of set what larger than
// fileLimit.
func tooLarge(what string) error {
	return fmt.Errorf("master: %s: %w: more than %d bytes (%d MiB)", what, ErrTooLarge, fileLimit, fileLimit>>20)
}

// decodeText returns b, a whole input file of set what, as UTF-8
// without a byte order mark, with the name of the encoding it was in.
// UTF-8 is returned in place (b or a part of it); b is never changed.
// forced names the encoding ("utf-8", "gb18030" or "gbk", "utf-16",
// "utf-16le", "utf-16be"); "" detects it: a UTF-16 byte order mark means
// UTF-16; valid UTF-8 (after a UTF-8 byte order mark, if any) is UTF-8;
// anything else is GB18030 (of which GBK and GB2312 are subsets) when
// the whole file decodes as such, and refused otherwise.
func decodeText(what string, b []byte, forced string) ([]byte, string, error) {
	fail := func(format string, args ...any) ([]byte, string, error) {
		return nil, "", fmt.Errorf("master: %s: %w: %s", what, ErrEncoding, fmt.Sprintf(format, args...))
	}
	switch enc := strings.NewReplacer("_", "-", " ", "").Replace(strings.ToLower(strings.TrimSpace(forced))); enc {
	case "":
	case "utf-8", "utf8":
		b = bytes.TrimPrefix(b, bomUTF8)
		if n := invalidUTF8(b); n >= 0 {
			return fail("not UTF-8 at byte %d (line %d)", n, lineAt(b, n))
		}
		return b, EncodingUTF8, nil
	case "gb18030", "gbk", "gb2312", "cp936":
		t, line := decodeGB18030(b)
		if t == nil {
			return fail("not GB18030 at line %d", line)
		}
		return t, EncodingGB18030, nil
	case "utf-16", "utf16", "utf-16le", "utf16le", "utf-16be", "utf16be":
		return utf16Text(what, b, !strings.HasSuffix(enc, "be"))
	default:
		return fail("%q is not an encoding the importer reads (utf-8, gb18030 or gbk, utf-16)", forced)
	}
	switch {
	case bytes.HasPrefix(b, bomUTF16LE), bytes.HasPrefix(b, bomUTF16BE):
		return utf16Text(what, b, true)
	case bytes.HasPrefix(b, bomUTF8):
		b = b[len(bomUTF8):]
		if n := invalidUTF8(b); n >= 0 {
			return fail("the file starts with a UTF-8 byte order mark but is not UTF-8 at byte %d (line %d)", n+len(bomUTF8), lineAt(b, n))
		}
		return b, EncodingUTF8, nil
	}
	// No text file in UTF-8 or GB18030 has a NUL byte; UTF-16 has many.
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return fail("NUL byte at byte %d (line %d): UTF-16 text without a byte order mark? name the encoding (utf-16le or utf-16be)", i, lineAt(b, i))
	}
	n := invalidUTF8(b)
	if n < 0 {
		return b, EncodingUTF8, nil
	}
	t, line := decodeGB18030(b)
	if t == nil {
		return fail("not UTF-8 at byte %d (line %d) and not GB18030 either (line %d): save the file as UTF-8, or name its encoding",
			n, lineAt(b, n), line)
	}
	return t, EncodingGB18030, nil
}

// invalidUTF8 returns the offset of the first byte of b that is not part
// of valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// lineAt returns the line, from 1, that byte n of b is on.
func lineAt(b []byte, n int) int { return bytes.Count(b[:n], []byte{'\n'}) + 1 }

// decodeGB18030 decodes b as GB18030. When a byte sequence does not
// decode (the decoder puts U+FFFD in its place) it returns nil and the
// first line, from 1, where one does not.
func decodeGB18030(b []byte) ([]byte, int) {
	t, err := decodeAll(simplifiedchinese.GB18030, b)
	if err == nil && !bytes.ContainsRune(t, utf8.RuneError) {
		return t, 0
	}
	// Find the line: a line feed is never part of a multi-byte
	// sequence in GB18030, so lines decode one by one.
	line := 1
	for l := range bytes.Lines(b) {
		if t, err := decodeAll(simplifiedchinese.GB18030, l); err != nil || bytes.ContainsRune(t, utf8.RuneError) {
			break
		}
		line++
	}
	return nil, line
}

// utf16Text decodes UTF-16: with the byte order its byte order mark
// gives, or, without one, little-endian when le is set (what Windows
// writes) and big-endian otherwise.
func utf16Text(what string, b []byte, le bool) ([]byte, string, error) {
	order, name := unicode.BigEndian, EncodingUTF16BE
	if bytes.HasPrefix(b, bomUTF16LE) || (le && !bytes.HasPrefix(b, bomUTF16BE)) {
		order, name = unicode.LittleEndian, EncodingUTF16LE
	}
	t, err := decodeAll(unicode.UTF16(order, unicode.UseBOM), b)
	if err != nil {
		return nil, "", fmt.Errorf("master: %s: %w: %s: %w", what, ErrEncoding, name, err)
	}
	if i := bytes.IndexRune(t, utf8.RuneError); i >= 0 {
		return nil, "", fmt.Errorf("master: %s: %w: not %s at line %d (a cut or unpaired character)", what, ErrEncoding, name, lineAt(t, i))
	}
	return t, name, nil
}

// decodeAll decodes b with e.
func decodeAll(e encoding.Encoding, b []byte) ([]byte, error) {
	return e.NewDecoder().Bytes(b)
}
