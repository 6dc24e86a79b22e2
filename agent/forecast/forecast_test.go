package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// repeat returns block repeated n times.
func repeat(block []float64, n int) []float64 {
	var out []float64
	for range n {
		out = append(out, block...)
	}
	return out
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		series []float64
		want   Name
	}{
		{[]float64{2, 4, 2, 4}, MovingAverage}, // smooth
		{[]float64{1, 5, 1, 5}, MovingAverage}, // erratic
		{[]float64{0, 2, 0, 0, 4, 0}, SBA},     // intermittent
		{[]float64{0, 1, 0, 0, 5, 0}, TSB},     // lumpy
		{[]float64{0, 0, 3, 0}, Mean},          // one demand
		{[]float64{0, 0, 0}, Mean},             // none
	} {
		m, err := Choose(c.series)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Method{Name: c.want}).withDefaults(); m != want {
			t.Errorf("Choose(%v) = %+v, want %+v", c.series, m, want)
		}
	}
}

func TestForecastBasis(t *testing.T) {
	// 24 demands of 2 and 3 in 120 days: ADI 5; sizes mean 2.5, sample
	// variance 24·0.25/23 = 6/23, CV² 6/23/6.25 = 0.0417.
	inter := repeat([]float64{0, 0, 0, 2, 0, 0, 0, 0, 3, 0}, 12)
	oneDemand := make([]float64, 30)
	oneDemand[10] = 4
	for _, c := range []struct {
		name     string
		series   []float64
		opt      Options
		method   Method
		fallback bool
		perDay   float64 // checked when not 0
		basis    string
	}{
		{"chosen", inter, Options{}, Method{Name: SBA}, false, 0,
			"intermittent (ADI 5, CV² 0.0417): Croston–SBA α=0.1 over 120 days"},
		{"chosen with a caller's alpha", inter, Options{Method: Method{Alpha: 0.2}}, Method{Name: SBA, Alpha: 0.2}, false, 0,
			"intermittent (ADI 5, CV² 0.0417): Croston–SBA α=0.2 over 120 days"},
		{"given", inter, Options{Method: Method{Name: TSB}}, Method{Name: TSB}, false, 0,
			"intermittent (ADI 5, CV² 0.0417): TSB α=0.1 β=0.1 over 120 days (method set by the caller)"},
		{"one demand", oneDemand, Options{}, Method{Name: Mean}, true, 4.0 / 30,
			"too little history (1 demand in 30 days): plain mean over 30 days"},
		{"no demand", make([]float64, 10), Options{}, Method{Name: Mean}, true, 0,
			"no demand in 10 days: plain mean over 10 days"},
		{"given method cannot start", make([]float64, 10), Options{Method: Method{Name: TSB}}, Method{Name: Mean}, true, 0,
			"no demand in 10 days: plain mean over 10 days (TSB α=0.1 β=0.1 cannot start before a first demand)"},
		{"one day", []float64{3}, Options{}, Method{Name: Mean}, true, 3,
			"too little history (1 demand in 1 day): plain mean over 1 day"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Forecast(c.series, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != c.method.withDefaults() || r.Fallback != c.fallback || r.Basis != c.basis {
				t.Errorf("got %v (fallback %v) %q\nwant %v (fallback %v) %q", r.Method, r.Fallback, r.Basis, c.method.withDefaults(), c.fallback, c.basis)
			}
			// The forecast and its error are the method's own, as Fit gives them.
			s, _ := r.Method.Fit(c.series)
			if r.PerDay != s.PerPeriod || r.Errors != s.Errors || !(r.Sigma == s.RMSE() || s.Errors == 0 && math.IsNaN(r.Sigma)) {
				t.Errorf("PerDay %g Sigma %g Errors %d; Fit gives %g %g %d", r.PerDay, r.Sigma, r.Errors, s.PerPeriod, s.RMSE(), s.Errors)
			}
			if c.perDay != 0 && !near(r.PerDay, c.perDay) {
				t.Errorf("PerDay = %g, want %g", r.PerDay, c.perDay)
			}
			if p, _ := Classify(c.series); r.Pattern != p {
				t.Errorf("Pattern %+v, want %+v", r.Pattern, p)
			}
		})
	}
}

func TestForecastBadOptions(t *testing.T) {
	for _, m := range []Method{{Name: "holt"}, {Name: SES, Alpha: 2}, {Alpha: -1}, {Name: MovingAverage, Window: -1}} {
		_, err := Forecast([]float64{1, 2, 3}, Options{Method: m})
		if !errors.Is(err, ErrInvalidOption) {
			t.Errorf("Forecast with %+v: %v, want ErrInvalidOption", m, err)
		}
	}
}

func TestNormalQuantile(t *testing.T) {
	for _, c := range []struct{ p, z float64 }{
		{0.5, 0},
		{0.95, 1.6448536269514722},
		{0.99, 2.3263478740408408},
		{0.975, 1.959963984540054},
		{0.05, -1.6448536269514722},
		{0.8413447460685429, 1}, // Φ(1)
	} {
		if got := NormalQuantile(c.p); math.Abs(got-c.z) > 1e-13 {
			t.Errorf("NormalQuantile(%v) = %.17g, want %.17g", c.p, got, c.z)
		}
	}
	// Against the standard library's inverse error function where it is
	// accurate (away from the tails): Φ⁻¹(p) = √2·erfinv(2p − 1).
	for p := 0.001; p < 0.999; p += 0.00731 {
		if got, want := NormalQuantile(p), math.Sqrt2*math.Erfinv(2*p-1); math.Abs(got-want) > 1e-13 {
			t.Errorf("NormalQuantile(%g) = %.17g, want %.17g", p, got, want)
		}
	}
	// In the tails, the round trip through the CDF (math.Erfc, accurate
	// there): the tail probability comes back to within 1e-15·max(1, z²)
	// of itself, z² being how much a relative change of z moves it.
	for _, p := range []float64{1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02, 0.02425, 0.03, 0.1, 0.3, 0.49,
		0.51, 0.7, 0.9, 0.97, 0.97575, 0.98, 0.999, 1 - 1e-9, 1 - 1e-15} {
		z, tail := NormalQuantile(p), math.Min(p, 1-p)
		if back := 0.5 * math.Erfc(math.Abs(z)/math.Sqrt2); math.Abs(back-tail) > 1e-15*math.Max(1, z*z)*tail || (z < 0) != (p < 0.5) {
			t.Errorf("NormalQuantile(%g) = %.17g: tail Φ(−|z|) = %g, want %g", p, z, back, tail)
		}
	}
	if z := NormalQuantile(1e-10); math.Abs(z+6.361340902404056) > 1e-13 {
		t.Errorf("NormalQuantile(1e-10) = %.17g, want -6.361340902404056", z)
	}
	if !math.IsInf(NormalQuantile(0), -1) || !math.IsInf(NormalQuantile(1), 1) {
		t.Error("NormalQuantile(0), (1) not −Inf, +Inf")
	}
	for _, p := range []float64{-0.1, 1.1, math.NaN(), math.Inf(1)} {
		if !math.IsNaN(NormalQuantile(p)) {
			t.Errorf("NormalQuantile(%v) = %v, want NaN", p, NormalQuantile(p))
		}
	}
}

func TestReorderPoint(t *testing.T) {
	z95 := 1.6448536269514722
	r := Result{PerDay: 0.5, Sigma: 1.2, Errors: 10}
	rop, safety, err := r.ReorderPoint(9, 0.95)
	if err != nil || !near(safety, z95*1.2*3) || !near(rop, 4.5+z95*1.2*3) {
		t.Errorf("ReorderPoint(9, 0.95) = %g, %g, %v; want %g, %g", rop, safety, err, 4.5+z95*3.6, z95*3.6)
	}
	if u, err := r.ReorderUnits(9, 0.95); u != 11 || err != nil { // 10.42 → 11
		t.Errorf("ReorderUnits(9, 0.95) = %d, %v; want 11", u, err)
	}
	if u, err := r.OrderUpTo(7, 9, 0.95); u != 16 || err != nil { // 8 + z·1.2·4 = 15.90 → 16
		t.Errorf("OrderUpTo(7, 9, 0.95) = %d, %v; want 16", u, err)
	}
	// A whole quantity is not rounded up by floating-point noise:
	// 0.28 × 25 is 7.000000000000001.
	r = Result{PerDay: 0.28, Sigma: 1, Errors: 5}
	if u, _ := r.ReorderUnits(25, 0.5); u != 7 {
		t.Errorf("ReorderUnits of 0.28/day over 25 days at z=0 = %d, want 7", u)
	}
	if u, _ := r.OrderUpTo(20, 5, 0.5); u != 7 {
		t.Errorf("OrderUpTo of 0.28/day over 20 + 5 days at z=0 = %d, want 7", u)
	}
	if rop, safety, _ := r.ReorderPoint(0, 0.99); rop != 0 || safety != 0 {
		t.Errorf("ReorderPoint with no lead time = %g, %g; want 0, 0", rop, safety)
	}

	for _, c := range []struct {
		name        string
		lead, level float64
	}{
		{"serviceLevel", 5, 0.4}, {"serviceLevel", 5, 1}, {"serviceLevel", 5, math.NaN()},
		{"leadDays", -1, 0.95}, {"leadDays", math.Inf(1), 0.95}, {"leadDays", math.NaN(), 0.95},
	} {
		_, _, err := r.ReorderPoint(c.lead, c.level)
		_, uerr := r.ReorderUnits(c.lead, c.level)
		_, oerr := r.OrderUpTo(c.lead, 7, c.level)
		for _, e := range []error{err, uerr, oerr} {
			var oe *OptionError
			if !errors.As(e, &oe) || oe.Name != c.name {
				t.Errorf("lead %v level %v: %v, want an *OptionError naming %s", c.lead, c.level, e, c.name)
			}
		}
	}
	var oe *OptionError
	if _, err := r.OrderUpTo(5, -7, 0.95); !errors.As(err, &oe) || oe.Name != "reviewDays" {
		t.Errorf("OrderUpTo with review −7: %v, want an *OptionError naming reviewDays", err)
	}
	one, _ := Forecast([]float64{2}, Options{})
	if _, _, err := one.ReorderPoint(5, 0.95); !errors.Is(err, ErrNoErrors) {
		t.Errorf("ReorderPoint on one day of history: %v, want ErrNoErrors", err)
	}
}

// The safety stock scales with the square root of the span, and a
// forecast's reorder point rests on its own one-step errors.
func TestReorderPointFromForecast(t *testing.T) {
	r, err := Forecast(repeat([]float64{0, 0, 0, 2, 0, 0, 0, 0, 3, 0}, 12), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rop4, s4, _ := r.ReorderPoint(4, 0.99)
	rop16, s16, _ := r.ReorderPoint(16, 0.99)
	if !near(s16, 2*s4) || !near(rop16-s16, 4*(rop4-s4)) || !near(s4, 2.3263478740408408*r.Sigma*2) {
		t.Errorf("lead 4: %g (safety %g); lead 16: %g (safety %g); sigma %g", rop4, s4, rop16, s16, r.Sigma)
	}
}

func TestEvaluateByHand(t *testing.T) {
	// Training part 1 3 2 4: naive one-step errors 2, 1, 2 (MAE 5/3, MSE
	// 3), mean 2.5. Hold-out 5 1.
	y := []float64{1, 3, 2, 4, 5, 1}
	for _, c := range []struct {
		m                     Method
		mae, mse, mase, rmsse float64
		spis                  float64
	}{
		// Forecasts 4, 5: errors 1, −4; forecast − actual −1, 4, cumulated
		// −1, 3, summed 2.
		{Method{Name: Naive}, 2.5, 8.5, 1.5, math.Sqrt(8.5 / 3), 2 / 2.5},
		// Forecasts 2.5, 3: errors 2.5, −2; cumulated −2.5, −0.5, summed −3.
		{Method{Name: Mean}, 2.25, (6.25 + 4) / 2, 2.25 / (5.0 / 3), math.Sqrt(10.25 / 2 / 3), -3 / 2.5},
	} {
		s, err := Evaluate(y, 2, Options{Method: c.m})
		if err != nil {
			t.Fatal(err)
		}
		if s.Train != 4 || s.Holdout != 2 || !near(s.MAE, c.mae) || !near(s.MSE, c.mse) || !near(s.MASE, c.mase) || !near(s.RMSSE, c.rmsse) || !near(s.SPIS, c.spis) {
			t.Errorf("%v: %+v\nwant MAE %g MSE %g MASE %g RMSSE %g sPIS %g", c.m, s, c.mae, c.mse, c.mase, c.rmsse, c.spis)
		}
	}
}

// The method is picked, and each forecast made, without looking at the
// hold-out: changing a hold-out period changes no forecast before it.
func TestEvaluateNoLookAhead(t *testing.T) {
	y := repeat([]float64{0, 0, 0, 2, 0, 0, 0, 0, 3, 0}, 12)
	base, err := Evaluate(y, 20, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Classify(y[:100])
	if base.Pattern != p || base.Method.Name != SBA {
		t.Errorf("scored %v on %+v, want SBA on the training part's %+v", base.Method, base.Pattern, p)
	}
	z := slices.Clone(y)
	z[119] = 500 // the last period: only its own error changes
	last, _ := Evaluate(z, 20, Options{})
	f := (Method{Name: SBA}).withDefaults()
	s := fit(f, y[:119])
	wantMAE := base.MAE + (math.Abs(500-s.PerPeriod)-math.Abs(y[119]-s.PerPeriod))/20
	if last.Method != base.Method || last.Pattern != base.Pattern || !near(last.MAE, wantMAE) {
		t.Errorf("with the last period changed: %v MAE %g, want %v MAE %g", last.Method, last.MAE, base.Method, wantMAE)
	}
}

func TestEvaluateRejects(t *testing.T) {
	y := []float64{1, 2, 3, 4}
	for _, h := range []int{0, -1, 3, 4} {
		var oe *OptionError
		if _, err := Evaluate(y, h, Options{}); !errors.As(err, &oe) || oe.Name != "holdout" {
			t.Errorf("Evaluate holdout %d: %v, want an *OptionError naming holdout", h, err)
		}
	}
	if _, err := Evaluate([]float64{0, 0, 0, 0, 3}, 1, Options{}); !errors.Is(err, ErrNoScale) {
		t.Errorf("Evaluate on a constant training part: %v, want ErrNoScale", err)
	}
	if _, err := Evaluate(y, 1, Options{Method: Method{Name: "holt"}}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Evaluate with an unknown method: %v, want ErrInvalidOption", err)
	}
}

// FuzzForecast: any valid series forecasts a finite rate ≥ 0 that no
// larger than the largest demand, and a reorder point no less than the
// demand over the lead time.
func FuzzForecast(f *testing.F) {
	f.Add([]byte{0, 0, 3, 0, 2, 0, 0, 0, 4}, uint8(0))
	f.Add([]byte{5, 7, 6, 5, 8}, uint8(3))
	f.Add([]byte{0}, uint8(6))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		if len(data) == 0 {
			return
		}
		y := make([]float64, len(data))
		for i, b := range data {
			y[i] = float64(b % 32)
		}
		names := []Name{"", Mean, Naive, MovingAverage, SES, Croston, SBA, TSB}
		r, err := Forecast(y, Options{Method: Method{Name: names[int(which)%len(names)]}})
		if err != nil {
			t.Fatal(err)
		}
		top := slices.Max(y)
		if !(r.PerDay >= 0 && r.PerDay <= top+1e-9) {
			t.Fatalf("PerDay %g outside [0, %g] (%s)", r.PerDay, top, r.Basis)
		}
		if r.Errors == 0 {
			return
		}
		rop, safety, err := r.ReorderPoint(7, 0.95)
		if err != nil || safety < 0 || rop < 7*r.PerDay-1e-9 || math.IsNaN(rop) {
			t.Fatalf("ReorderPoint(7, 0.95) = %g, %g, %v for %s", rop, safety, err, r.Basis)
		}
	})
}
