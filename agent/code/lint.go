package code

import (
	"slices"
	"strconv"
	"time"
)

// lintID names one of the GS1 Barcode Syntax Dictionary's component checks
// ("linters"). The generated table refers to them as lint + the
// dictionary's name with its first letter upper-cased.
type lintID uint8

// The dictionary's checks, one per name it uses.
const (
	lintNone lintID = iota
	lintCsum
	lintCsumalpha
	lintGcppos1
	lintGcppos2
	lintPcenc
	lintIso3166
	lintIso3166999
	lintIso3166alpha2
	lintIso4217
	lintYymmd0
	lintYymmdd
	lintYyyymmdd
	lintHh
	lintMi
	lintSs
	lintHhmi
	lintHyphen
	lintYesno
	lintNonzero
	lintZero
	lintWinding
	lintPieceoftotal
	lintPosinseqslash
	lintPackagetype
	lintNozeroprefix
	lintMediatype
	lintLatitude
	lintLongitude
	lintIso5218
	lintImporteridx
	lintIban
	lintHasnondigit
	lintCouponcode
	lintCouponposoffer
	lintCount
)

// lintErr is a failed check of one component.
type lintErr struct {
	off int   // offset of the fault in the component
	err error // the sentinel
	// reason says what is wrong and may quote the component.
	reason string
	// plain says what is wrong without any part of the value, for AIs
	// whose value may identify a person; "" when reason quotes nothing.
	plain string
}

// text returns the reason to show: plain for a personal-data AI.
func (l *lintErr) text(personal bool) string {
	if personal && l.plain != "" {
		return l.plain
	}
	return l.reason
}

// linter checks one component, already known to be in its character set
// and of a length its component allows.
type linter func(v string, now time.Time) *lintErr

// linters maps each check to its function. A test asserts none is missing.
var linters = [lintCount]linter{
	lintCsum:          lintCheckDigit,
	lintCsumalpha:     lintCheckPair,
	lintGcppos1:       lintGCP1,
	lintGcppos2:       lintGCP2,
	lintPcenc:         lintPercent,
	lintIso3166:       lintCountry,
	lintIso3166999:    lintCountryOr999,
	lintIso3166alpha2: lintCountryAlpha2,
	lintIso4217:       lintCurrency,
	lintYymmd0:        lintDateDay0,
	lintYymmdd:        lintDate,
	lintYyyymmdd:      lintDate8,
	lintHh:            lintHour,
	lintMi:            lintMinute,
	lintSs:            lintSecond,
	lintHhmi:          lintHourMinute,
	lintHyphen:        lintHyphens,
	lintYesno:         lintYesNo,
	lintNonzero:       lintNonZero,
	lintZero:          lintZeroDigit,
	lintWinding:       lintWindingDirection,
	lintPieceoftotal:  lintPieceOfTotal,
	lintPosinseqslash: lintPosInSeq,
	lintPackagetype:   lintPackageType,
	lintNozeroprefix:  lintNoZeroPrefix,
	lintMediatype:     lintMediaType,
	lintLatitude:      lintLatitudeValue,
	lintLongitude:     lintLongitudeValue,
	lintIso5218:       lintSex,
	lintImporteridx:   lintImporterIndex,
	lintIban:          lintIBAN,
	lintHasnondigit:   lintHasNonDigit,
	// The North American coupon structures of (8110) and (8112) are not
	// decoded: such coupons are not met on medical supplies. Their
	// character set and length are still checked.
	lintCouponcode:     notApplied,
	lintCouponposoffer: notApplied,
}

func notApplied(string, time.Time) *lintErr { return nil }

func lintCheckDigit(v string, _ time.Time) *lintErr {
	if ok, want := checkDigitOK(v); !ok {
		return &lintErr{off: len(v) - 1, err: ErrCheckDigit,
			reason: "check digit invalid: " + v + " ends in " + v[len(v)-1:] + ", the check digit of the digits before it is " + string(want) + " (misprinted, misread or mistyped number)",
			plain:  "check digit invalid (misprinted, misread or mistyped number)"}
	}
	return nil
}

// cset82Order lists GS1 character set 82 in the order of its values, the
// weights of the alphanumeric check character pair (GS1 General
// Specifications 7.9.5); cset32 lists the check characters by value.
const (
	cset82Order = `!"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz`
	cset32      = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)

var cset82Value [256]uint8 // value + 1; 0 for a character outside the set

func init() {
	for i := 0; i < len(cset82Order); i++ {
		cset82Value[cset82Order[i]] = uint8(i + 1)
	}
}

// checkPair returns the two check characters of s (GS1 General
// Specifications 7.9.5): each character's value in set 82 times a prime,
// 2 for the last character, 3 for the one before and so on, summed modulo
// 1021; the sum's high and low five bits index set 32. ok is false when s
// holds a character outside set 82 or is longer than the primes below.
func checkPair(s string) (pair [2]byte, ok bool) {
	if len(s) > len(primes) {
		return pair, false
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		w := cset82Value[s[i]]
		if w == 0 {
			return pair, false
		}
		sum += int(w-1) * int(primes[len(s)-1-i])
	}
	sum %= 1021
	return [2]byte{cset32[sum>>5], cset32[sum&31]}, true
}

// primes are the first 97 primes, enough for any GS1 value.
var primes = func() []uint16 {
	var p []uint16
	for n := uint16(2); len(p) < 97; n++ {
		prime := true
		for _, q := range p {
			if q*q > n {
				break
			}
			if n%q == 0 {
				prime = false
				break
			}
		}
		if prime {
			p = append(p, n)
		}
	}
	return p
}()

func lintCheckPair(v string, _ time.Time) *lintErr {
	if len(v) < 2 {
		return &lintErr{err: ErrTruncated, reason: "too short to hold its two check characters"}
	}
	n := len(v) - 2
	for i := n; i < len(v); i++ {
		if !isCset32(v[i]) {
			return &lintErr{off: i, err: ErrCharset,
				reason: "character " + quoteByte(v[i]) + " cannot be a check character (only 2-9 and A-Z without I and O)",
				plain:  "a check character is outside 2-9 and A-Z without I and O"}
		}
	}
	pair, ok := checkPair(v[:n])
	if !ok {
		return &lintErr{err: ErrTooLong, reason: "too long for its check character pair"}
	}
	if v[n] != pair[0] || v[n+1] != pair[1] {
		return &lintErr{off: n, err: ErrCheckDigit,
			reason: "check characters " + v[n:] + " invalid: those of the characters before them are " + string(pair[:]) + " (misprinted, misread or mistyped)",
			plain:  "check characters invalid (misprinted, misread or mistyped)"}
	}
	return nil
}

func isCset32(c byte) bool {
	return (c >= '2' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O')
}

func lintGCP1(v string, _ time.Time) *lintErr { return lintGCP(v, 0) }
func lintGCP2(v string, _ time.Time) *lintErr { return lintGCP(v, 1) }

// lintGCP checks that v has a GS1 Company Prefix at offset at: the
// shortest prefix has four digits.
func lintGCP(v string, at int) *lintErr {
	const minGCP = 4
	if len(v) < at+minGCP {
		return &lintErr{err: ErrTruncated, reason: "too short to start with a GS1 Company Prefix (4 digits at least)"}
	}
	for i := at; i < at+minGCP; i++ {
		if !isDigit(v[i]) {
			return &lintErr{off: i, err: ErrSyntax,
				reason: "must start with a GS1 Company Prefix, but character " + quoteByte(v[i]) + " is not a digit",
				plain:  "must start with a GS1 Company Prefix (digits)"}
		}
	}
	return nil
}

func lintPercent(v string, _ time.Time) *lintErr {
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && (i+2 >= len(v) || unhex(v[i+1]) < 0 || unhex(v[i+2]) < 0) {
			return &lintErr{off: i, err: ErrSyntax, reason: "'%' must be followed by two hexadecimal digits (percent-encoding)"}
		}
	}
	return nil
}

func lintCountry(v string, _ time.Time) *lintErr      { return countryCode(v, false) }
func lintCountryOr999(v string, _ time.Time) *lintErr { return countryCode(v, true) }

func countryCode(v string, or999 bool) *lintErr {
	if iso3166Numeric[atoi(v)] || (or999 && v == "999") {
		return nil
	}
	what := "an ISO 3166-1 numeric country code"
	if or999 {
		what += " (or 999)"
	}
	return &lintErr{err: ErrValue, reason: "country code " + v + " is not " + what, plain: "not " + what}
}

func lintCountryAlpha2(v string, _ time.Time) *lintErr {
	if _, ok := slices.BinarySearch(iso3166Alpha2, v); ok {
		return nil
	}
	return &lintErr{err: ErrValue, reason: "country code '" + v + "' is not an ISO 3166-1 alpha-2 code", plain: "not an ISO 3166-1 alpha-2 country code"}
}

func lintCurrency(v string, _ time.Time) *lintErr {
	if iso4217Numeric[atoi(v)] {
		return nil
	}
	return &lintErr{err: ErrValue, reason: "currency code " + v + " is not an ISO 4217 numeric code", plain: "not an ISO 4217 numeric currency code"}
}

// dateLint turns a date fault into a lintErr.
func dateLint(de *dateErr, plain string) *lintErr {
	if de == nil {
		return nil
	}
	return &lintErr{off: de.off, err: ErrDate, reason: de.reason, plain: plain}
}

// lintDateDay0 checks YYMMDD where day 00 means the month's last day.
func lintDateDay0(v string, now time.Time) *lintErr {
	_, de := yymmdd(v, true, now)
	return dateLint(de, "not a valid date")
}

func lintDate(v string, now time.Time) *lintErr {
	_, de := yymmdd(v, false, now)
	return dateLint(de, "not a valid date")
}

func lintDate8(v string, _ time.Time) *lintErr {
	_, de := yyyymmdd(v)
	return dateLint(de, "not a valid date")
}

func timeErr(de *dateErr) *lintErr { return dateLint(de, "not a valid time") }

func lintHour(v string, _ time.Time) *lintErr       { return timeErr(checkHour(atoi(v), 0)) }
func lintMinute(v string, _ time.Time) *lintErr     { return timeErr(checkSixty(v, "minute", "hour")) }
func lintSecond(v string, _ time.Time) *lintErr     { return timeErr(checkSixty(v, "second", "minute")) }
func lintHourMinute(v string, _ time.Time) *lintErr { return timeErr(hhmm(v)) }

// checkSixty checks a two-digit minute or second (00-59).
func checkSixty(v, unit, of string) *dateErr {
	if atoi(v) > 59 {
		return &dateErr{0, unit + " " + v + " is not a " + unit + " of the " + of}
	}
	return nil
}

func lintHyphens(v string, _ time.Time) *lintErr {
	for i := 0; i < len(v); i++ {
		if v[i] != '-' {
			return &lintErr{off: i, err: ErrValue, reason: "must be '-', found " + quoteByte(v[i])}
		}
	}
	return nil
}

// lintOneOf checks a one-character component against the allowed
// characters.
func lintOneOf(v, allowed, what string) *lintErr {
	for i := 0; i < len(allowed); i++ {
		if v == allowed[i:i+1] {
			return nil
		}
	}
	return &lintErr{err: ErrValue, reason: what + ", found " + v, plain: what}
}

func lintYesNo(v string, _ time.Time) *lintErr {
	return lintOneOf(v, "01", "must be 0 (no) or 1 (yes)")
}

func lintWindingDirection(v string, _ time.Time) *lintErr {
	return lintOneOf(v, "019", "winding direction must be 0, 1 or 9")
}

// lintSex checks an ISO/IEC 5218 code: 0 not known, 1 male, 2 female, 9
// not applicable.
func lintSex(v string, _ time.Time) *lintErr {
	return lintOneOf(v, "0129", "sex code must be 0, 1, 2 or 9 (ISO/IEC 5218)")
}

func lintNonZero(v string, _ time.Time) *lintErr {
	for i := 0; i < len(v); i++ {
		if v[i] != '0' {
			return nil
		}
	}
	return &lintErr{err: ErrValue, reason: "must not be zero"}
}

func lintZeroDigit(v string, _ time.Time) *lintErr {
	if v != "0" {
		return &lintErr{err: ErrValue, reason: "first digit must be 0, found " + v, plain: "first digit must be 0"}
	}
	return nil
}

func lintPieceOfTotal(v string, _ time.Time) *lintErr {
	piece, total := atoi(v[:len(v)/2]), atoi(v[len(v)/2:])
	if piece == 0 || total == 0 || piece > total {
		return &lintErr{err: ErrValue,
			reason: "piece " + strconv.Itoa(piece) + " of " + strconv.Itoa(total) + " is not a valid piece number",
			plain:  "not a valid piece number"}
	}
	return nil
}

// lintPosInSeq checks "position/count", like 1/3: both without a leading
// zero, the position not beyond the count.
func lintPosInSeq(v string, _ time.Time) *lintErr {
	slash := -1
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '/' && slash < 0:
			slash = i
		case !isDigit(v[i]):
			return &lintErr{off: i, err: ErrSyntax, reason: "must be a position and a count with '/' between them, like 1/3"}
		}
	}
	if slash <= 0 || slash == len(v)-1 {
		return &lintErr{err: ErrSyntax, reason: "must be a position and a count with '/' between them, like 1/3"}
	}
	pos, count := v[:slash], v[slash+1:]
	if pos[0] == '0' || count[0] == '0' {
		off := 0
		if pos[0] != '0' {
			off = slash + 1
		}
		return &lintErr{off: off, err: ErrValue, reason: "position and count start at 1 and have no leading zero"}
	}
	if len(pos) > len(count) || (len(pos) == len(count) && pos > count) {
		return &lintErr{err: ErrValue, reason: "position " + pos + " is beyond the count " + count, plain: "the position is beyond the count"}
	}
	return nil
}

func lintPackageType(v string, _ time.Time) *lintErr {
	if _, ok := slices.BinarySearch(packageTypes, v); ok {
		return nil
	}
	return &lintErr{err: ErrValue, reason: "'" + v + "' is not a package type code (UN/ECE Recommendation 21 with GS1's additions)"}
}

func lintNoZeroPrefix(v string, _ time.Time) *lintErr {
	if v[0] == '0' {
		return &lintErr{err: ErrValue, reason: "must not start with 0"}
	}
	return nil
}

// lintMediaType checks an AIDC media type: 01-10 assigned by ICCBBA, 80-99
// for local use (GS1 General Specifications, AI 7241).
func lintMediaType(v string, _ time.Time) *lintErr {
	if n := atoi(v); (n >= 1 && n <= 10) || n >= 80 {
		return nil
	}
	return &lintErr{err: ErrValue, reason: "AIDC media type " + v + " is not assigned (01-10, 80-99)"}
}

func lintLatitudeValue(v string, _ time.Time) *lintErr {
	return lintDegrees(v, "latitude", 1800000000)
}

func lintLongitudeValue(v string, _ time.Time) *lintErr {
	return lintDegrees(v, "longitude", 3600000000)
}

// lintDegrees checks a coordinate written as degrees plus 90 (latitude) or
// 180 (longitude), times 10^7, which may not exceed limit.
func lintDegrees(v, what string, limit uint64) *lintErr {
	// Ten digits: beyond a 32-bit int (linux/arm), so in 64 bits.
	if n, err := strconv.ParseUint(v, 10, 64); err != nil || n > limit {
		return &lintErr{err: ErrValue, reason: what + " " + v + " is beyond " + strconv.FormatUint(limit, 10), plain: what + " out of range"}
	}
	return nil
}

func lintImporterIndex(v string, _ time.Time) *lintErr {
	c := v[0]
	if isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z') || c == '-' || c == '_' {
		return nil
	}
	return &lintErr{err: ErrCharset, reason: "importer index " + quoteByte(c) + " must be a letter, a digit, '-' or '_'"}
}

// lintIBAN checks an International Bank Account Number (ISO 13616): an
// ISO 3166 alpha-2 country, two check digits and the account, letters and
// digits only, whose mod-97 remainder, read from the fifth character round
// to the fourth with letters as 10 to 35, is 1.
func lintIBAN(v string, _ time.Time) *lintErr {
	const plain = "not a valid IBAN"
	if len(v) < 5 {
		return &lintErr{err: ErrTruncated, reason: "too short for an IBAN"}
	}
	if le := lintCountryAlpha2(v[:2], time.Time{}); le != nil {
		return &lintErr{err: ErrValue, reason: "IBAN country " + le.reason, plain: plain}
	}
	rem := 0
	for k := 0; k < len(v); k++ {
		i := (k + 4) % len(v)
		c := v[i]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return &lintErr{off: i, err: ErrCharset, reason: "character " + quoteByte(c) + " is not allowed in an IBAN (0-9, A-Z)", plain: plain}
		}
	}
	if rem != 1 {
		return &lintErr{off: 2, err: ErrCheckDigit, reason: "IBAN check digits " + v[2:4] + " do not match the account", plain: "IBAN check digits invalid"}
	}
	return nil
}

func lintHasNonDigit(v string, _ time.Time) *lintErr {
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return nil
		}
	}
	return &lintErr{err: ErrValue, reason: "must contain a character that is not a digit"}
}
