package epcis

import (
	"time"
	"unicode/utf8"
)

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// control characters, U+2028 and U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&15])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', upperHex[r&15])
			i += n
			start = i
			continue
		}
		i += n
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKey appends "key": (key must need no escaping).
func appendKey(b []byte, key string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendField appends ,"key":"value".
func appendField(b []byte, key, value string) []byte {
	return appendString(appendKey(b, key), value)
}

// appendHex appends p as a JSON string of uppercase hex digits.
func appendHex(b []byte, p []byte) []byte {
	b = append(b, '"')
	for _, c := range p {
		b = append(b, upperHex[c>>4], upperHex[c&15])
	}
	return append(b, '"')
}

// appendTime appends t in its own zone with milliseconds, as EPCIS
// examples write it: 2026-03-14T09:42:17.000+08:00 (Z in UTC).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"')
}

// zoneOffset returns t's zone offset as EPCIS eventTimeZoneOffset wants it
// (+hh:mm), rounded to the minute, and whether it is within -14:00..+14:00.
func zoneOffset(t time.Time) (string, bool) {
	_, sec := t.Zone()
	sign := byte('+')
	if sec < 0 {
		sign = '-'
		sec = -sec
	}
	min := (sec + 30) / 60
	if min > 14*60 {
		return "", false
	}
	h, m := min/60, min%60
	return string([]byte{sign, byte('0' + h/10), byte('0' + h%10), ':', byte('0' + m/10), byte('0' + m%10)}), true
}
