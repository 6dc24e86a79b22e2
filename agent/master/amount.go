package master

import (
	"errors"
	"math"
	"strconv"
)

// Amount is a sum of money in minor units: fen, a hundredth of a yuan.
// Money is never held in a float.
type Amount int64

// errAmount is wrapped by the errors of ParseAmount.
var errAmount = errors.New("not an amount")

// ParseAmount reads a decimal amount in major units with at most two
// decimal places ("1234.50", "1234.5", "1234", "-3.20", "0.05") and
// returns it in minor units (123450, 123450, 123400, -320, 5). Zeros past
// the second decimal place are allowed ("12.300"); any other digit there,
// thousands separators, currency signs and exponents are errors, as is an
// amount outside ±92,233,720,368,547,758.07.
func ParseAmount(s string) (Amount, error) {
	neg := false
	t := s
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac := t, ""
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			intPart, frac = t[:i], t[i+1:]
			break
		}
	}
	if intPart == "" && frac == "" {
		return 0, errAmount
	}
	if !allDigits(intPart) && intPart != "" || !allDigits(frac) && frac != "" {
		return 0, errAmount
	}
	for len(frac) > 2 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > 2 {
		return 0, errors.New("more than two decimal places")
	}
	var v uint64
	for i := 0; i < len(intPart); i++ {
		d := uint64(intPart[i] - '0')
		if v > (math.MaxInt64/100-d)/10 {
			return 0, errors.New("too large")
		}
		v = v*10 + d
	}
	f := uint64(0)
	switch len(frac) {
	case 1:
		f = uint64(frac[0]-'0') * 10
	case 2:
		f = uint64(frac[0]-'0')*10 + uint64(frac[1]-'0')
	}
	v = v*100 + f
	if v > math.MaxInt64 {
		return 0, errors.New("too large")
	}
	if neg {
		return Amount(-int64(v)), nil
	}
	return Amount(v), nil
}

// String formats a as major units with two decimals: "1234.50", "-0.05".
func (a Amount) String() string {
	u := uint64(a)
	neg := a < 0
	if neg {
		u = -u
	}
	b := make([]byte, 0, 24)
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/100, 10)
	f := u % 100
	return string(append(b, '.', byte('0'+f/10), byte('0'+f%10)))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
