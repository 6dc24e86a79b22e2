package insurance

import (
	"math"
	"testing"

	"github.com/udi-edge/udi-edge/agent/master"
)

func TestParseFixed(t *testing.T) {
	for _, c := range []struct {
		in            string
		scale, digits int
		want          int64
		bad           string
	}{
		{in: "750.00", scale: 2, digits: 16, want: 75000},
		{in: "750", scale: 2, digits: 16, want: 75000},
		{in: "0.05", scale: 2, digits: 16, want: 5},
		{in: ".5", scale: 2, digits: 16, want: 50},
		{in: "5.", scale: 2, digits: 16, want: 500},
		{in: "-1200.00", scale: 2, digits: 16, want: -120000},
		{in: "+3", scale: 4, digits: 16, want: 30000},
		{in: "1.23450000", scale: 4, digits: 16, want: 12345},
		{in: "3.505", scale: 6, digits: 16, want: 3505000},
		{in: "0001.5", scale: 4, digits: 16, want: 15000},
		{in: "99999999999999.99", scale: 2, digits: 16, want: 9999999999999999},
		{in: "1.23456", scale: 4, digits: 16, bad: "has more than 4 decimals"},
		{in: "100000000000000", scale: 2, digits: 16, bad: "has more than 14 digits before the point"},
		{in: "1e3", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "1,000.00", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "¥12", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "-", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: ".", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "1.2.3", scale: 2, digits: 16, bad: "is not a decimal number"},
		{in: "0.12345", scale: 4, digits: 5, bad: "has more than 4 decimals"},
		{in: "10.5", scale: 4, digits: 5, bad: "has more than 1 digits before the point"},
	} {
		got, err := parseFixed(c.in, c.scale, c.digits)
		if c.bad != "" {
			if err == nil || err.Error() != c.bad {
				t.Errorf("parseFixed(%q, %d, %d) = %d, %v; want error %q", c.in, c.scale, c.digits, got, err, c.bad)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseFixed(%q, %d, %d) = %d, %v; want %d", c.in, c.scale, c.digits, got, err, c.want)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Qty(30000).String(), "3"},
		{Qty(5000).String(), "0.5"},
		{Qty(-12500).String(), "-1.25"},
		{Qty(1).String(), "0.0001"},
		{Price(750000000).String(), "750.00"},
		{Price(3505000).String(), "3.505"},
		{Price(1).String(), "0.000001"},
		{Price(-10000).String(), "-0.01"},
		{Ratio(1000).String(), "0.1"},
		{Ratio(10000).String(), "1"},
		{QtyOf(7).String(), "7"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if n, whole := Qty(25000).Units(); n != 2 || whole {
		t.Errorf("Qty(25000).Units() = %d, %v; want 2, false", n, whole)
	}
	if n, whole := Qty(30000).Units(); n != 3 || !whole {
		t.Errorf("Qty(30000).Units() = %d, %v; want 3, true", n, whole)
	}
}

func TestPriceAbove(t *testing.T) {
	for _, c := range []struct {
		p    Price
		a    master.Amount
		want bool
	}{
		{800_000000, 80000, false},
		{800_000001, 80000, true},
		{799_999999, 80000, false},
		{800_010000, 80000, true},
		{0, 0, false},
		{1, 0, true},
	} {
		if got := c.p.Above(c.a); got != c.want {
			t.Errorf("Price(%d).Above(%d) = %v, want %v", c.p, c.a, got, c.want)
		}
	}
	if p, ok := PriceOf(75000); !ok || p != 750_000000 {
		t.Errorf("PriceOf(75000) = %d, %v", p, ok)
	}
	if _, ok := PriceOf(math.MaxInt64 / 1000); ok {
		t.Error("PriceOf of a huge amount did not fail")
	}
}
