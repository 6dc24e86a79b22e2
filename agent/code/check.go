package code

import "time"

// CheckDigit returns the GS1 mod-10 check digit for digits, the number
// without its check digit (for a GTIN-13, the first 12 digits). It is the
// algorithm of GS1 General Specifications 7.9.1: from the right, weights
// 3, 1, 3, 1 ...; the check digit brings the sum to a multiple of ten.
func CheckDigit(digits string) (int, error) {
	if digits == "" {
		return 0, &Error{Input: digits, Pos: 0, Reason: "no digits to compute a check digit over", Err: ErrSyntax}
	}
	sum := 0
	w := 3
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if !isDigit(c) {
			return 0, &Error{Input: digits, Pos: i, Reason: "character " + quoteByte(c) + " is not a digit", Err: ErrCharset}
		}
		sum += int(c-'0') * w
		w = 4 - w
	}
	return (10 - sum%10) % 10, nil
}

// checkDigitOK reports whether the last digit of s is the GS1 check digit
// of the digits before it. s must be all digits and at least 2 long.
func checkDigitOK(s string) (ok bool, want byte) {
	sum := 0
	w := 3
	for i := len(s) - 2; i >= 0; i-- {
		sum += int(s[i]-'0') * w
		w = 4 - w
	}
	want = byte('0' + (10-sum%10)%10)
	return s[len(s)-1] == want, want
}

// hibcChars is the Code 39 character set in value order: the value of a
// character is its index. HIBC's mod-43 check uses these values.
const hibcChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"

// hibcValue maps a byte to its Code 39 value plus one (0 = not in the set).
var hibcValue [256]uint8

func init() {
	for i := 0; i < len(hibcChars); i++ {
		hibcValue[hibcChars[i]] = uint8(i + 1)
	}
}

// HIBCCheck returns the HIBC mod-43 check character of s, which is the data
// before the check character, leading '+' included (ANSI/HIBC 2.6 and Code
// 39: the sum of the characters' values modulo 43, mapped back to a
// character).
func HIBCCheck(s string) (byte, error) {
	if s == "" {
		return 0, &Error{Input: s, Pos: 0, Reason: "no data to compute a check character over", Err: ErrSyntax}
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		v := hibcValue[s[i]]
		if v == 0 {
			return 0, &Error{Input: s, Pos: i, Reason: "character " + quoteByte(s[i]) + " is not allowed in an HIBC code (Code 39 set: 0-9 A-Z - . space $ / + %)", Err: ErrCharset}
		}
		sum += int(v - 1)
	}
	return hibcChars[sum%43], nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isUpperAlnum(c byte) bool { return isDigit(c) || (c >= 'A' && c <= 'Z') }

// quoteByte renders c for a message: 'A', or a name for control bytes.
func quoteByte(c byte) string {
	switch {
	case c == 0x1D:
		return "GS (0x1D)"
	case c == ' ':
		return "' ' (space)"
	case c < 0x20 || c >= 0x7F:
		const hex = "0123456789ABCDEF"
		return "byte 0x" + string([]byte{hex[c>>4], hex[c&15]})
	}
	return "'" + string([]byte{c}) + "'"
}

// atoi parses a short run of ASCII digits already known to be digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn returns the number of days of month m in year y.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.April, time.June, time.September, time.November:
		return 30
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	}
	return 31
}
