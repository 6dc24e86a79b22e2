package insurance

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/udi-edge/udi-edge/agent/master"
)

// Qty is a quantity in ten-thousandths of the unit: the platform's
// quantities (cnt, sel_retn_cnt, purc_retn_cnt, inv_cnt) carry at most
// four decimals. 1 unit is Qty(10000).
type Qty int64

// Price is a unit price in millionths of a yuan: the platform's prices
// (pric, pric_uplmt_amt, finl_trns_pric) carry at most six decimals. One
// fen is Price(10000).
type Price int64

// Ratio is a proportion in ten-thousandths (selfpay_prop, 5 digits with
// 4 decimals): 1 is Ratio(10000).
type Ratio int64

// Decimal places and total digits of the platform's numeric fields
// ("16,2" is 16 digits of which 2 are decimals).
const (
	qtyScale    = 4
	priceScale  = 6
	amountScale = 2
	ratioScale  = 4

	qtyDigits    = 16
	priceDigits  = 16
	amountDigits = 16
	ratioDigits  = 5
)

// Units returns q as whole units and whether it is a whole number.
func (q Qty) Units() (int64, bool) { return int64(q) / 10000, q%10000 == 0 }

// QtyOf returns n whole units.
func QtyOf(n int) Qty { return Qty(n) * 10000 }

// String formats q with the fewest decimals that are exact: "3", "0.5",
// "-1.25".
func (q Qty) String() string { return formatFixed(int64(q), qtyScale, 0) }

// MarshalJSON writes q as a JSON number, as String formats it.
func (q Qty) MarshalJSON() ([]byte, error) { return []byte(q.String()), nil }

// String formats p in yuan with at least two decimals and no more than
// are exact: "1280.00", "12.345".
func (p Price) String() string { return formatFixed(int64(p), priceScale, 2) }

// MarshalJSON writes p as a JSON number, as String formats it.
func (p Price) MarshalJSON() ([]byte, error) { return []byte(p.String()), nil }

// PriceOf returns the price of a fen amount; ok is false when it is too
// large to hold.
func PriceOf(a master.Amount) (p Price, ok bool) {
	if a > math.MaxInt64/10000 || a < math.MinInt64/10000 {
		return 0, false
	}
	return Price(a) * 10000, true
}

// Above reports whether p is more than the fen amount a.
func (p Price) Above(a master.Amount) bool {
	fen, rest := int64(p)/10000, int64(p)%10000
	return fen > int64(a) || fen == int64(a) && rest > 0
}

// String formats r with the fewest decimals that are exact: "0.1", "1".
func (r Ratio) String() string { return formatFixed(int64(r), ratioScale, 0) }

// errDecimal is the reason of a value that is not a decimal number.
var errDecimal = errors.New("is not a decimal number")

// parseFixed reads a decimal number with at most scale decimals (zeros
// past them allowed) and at most digits digits in all, the platform's
// "digits,scale", and returns it in units of 10^-scale. It takes an
// optional sign; no exponent, thousands separator or currency sign.
func parseFixed(s string, scale, digits int) (int64, error) {
	neg := false
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, errDecimal
	}
	for len(frac) > scale && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > scale {
		return 0, fmt.Errorf("has more than %d decimals", scale)
	}
	for len(intPart) > 1 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	if len(intPart) > digits-scale {
		return 0, fmt.Errorf("has more than %d digits before the point", digits-scale)
	}
	v, err := strconv.ParseInt(intPart+frac+zeros[:scale-len(frac)], 10, 64)
	if err != nil {
		return 0, errDecimal // cannot happen within 16 digits
	}
	if neg {
		v = -v
	}
	return v, nil
}

const zeros = "0000000000"

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatFixed formats v, in units of 10^-scale, with at least minDec and
// at most scale decimals, dropping trailing zeros past minDec.
func formatFixed(v int64, scale, minDec int) string {
	u := uint64(v)
	neg := v < 0
	if neg {
		u = -u
	}
	pow := uint64(1)
	for range scale {
		pow *= 10
	}
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/pow, 10)
	f := strconv.FormatUint(u%pow+pow, 10)[1:] // scale digits, leading zeros kept
	n := len(f)
	for n > minDec && f[n-1] == '0' {
		n--
	}
	if n > 0 {
		b = append(b, '.')
		b = append(b, f[:n]...)
	}
	return string(b)
}
