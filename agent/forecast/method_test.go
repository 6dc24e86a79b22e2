package forecast

import (
	"errors"
	"math"
	"testing"
)

// The methods against small series worked by hand.
func TestMethodsByHand(t *testing.T) {
	inter := []float64{0, 0, 3, 0, 2, 0, 0, 0, 4}
	for _, c := range []struct {
		name   string
		m      Method
		series []float64
		want   State // compared: PerPeriod, Level, Interval, Probability, Since, Errors, SSE
	}{
		// Mean 3; one-step forecasts 1, 1.5, 2, 2.5: errors 1, 1.5, 2, 2.5.
		{"mean", Method{Name: Mean}, []float64{1, 2, 3, 4, 5},
			State{PerPeriod: 3, Level: 3, Errors: 4, SSE: 1 + 2.25 + 4 + 6.25}},
		// Last value; errors 1, 1, 1, 1.
		{"naive", Method{Name: Naive}, []float64{1, 2, 3, 4, 5},
			State{PerPeriod: 5, Level: 5, Errors: 4, SSE: 4}},
		// Window 3: forecasts 1, 1.5, 2, 3: errors 1, 1.5, 2, 2; last three mean 4.
		{"moving average", Method{Name: MovingAverage, Window: 3}, []float64{1, 2, 3, 4, 5},
			State{PerPeriod: 4, Level: 4, Errors: 4, SSE: 1 + 2.25 + 4 + 4}},
		// Level 2, 3, 1.5, 3.75; errors 2, −3, 4.5.
		{"ses", Method{Name: SES, Alpha: 0.5}, []float64{2, 4, 0, 6},
			State{PerPeriod: 3.75, Level: 3.75, Errors: 3, SSE: 4 + 9 + 20.25}},
		// First demand at period 3: size 3, interval 3. Period 5, interval 2:
		// size 2.5, interval 2.5. Period 9, interval 4: size 3.25, interval
		// 3.25. Forecast 1 throughout: errors −1, 1, −1, −1, −1, 3.
		{"croston", Method{Name: Croston, Alpha: 0.5}, inter,
			State{PerPeriod: 1, Level: 3.25, Interval: 3.25, Errors: 6, SSE: 1 + 1 + 1 + 1 + 1 + 9}},
		// The same times 1 − 0.5/2: errors −0.75, 1.25, −0.75 ×3, 3.25.
		{"sba", Method{Name: SBA, Alpha: 0.5}, inter,
			State{PerPeriod: 0.75, Level: 3.25, Interval: 3.25, Errors: 6, SSE: 4*0.5625 + 1.5625 + 10.5625}},
		// Probability 1/3 at the first demand (period 3), then 1/6, 7/12
		// (demand), 7/24, 7/48, 7/96, 103/192 (demand); size 3, 2.5, 3.25.
		// Forecasts 1, 0.5, 35/24, 35/48, 35/96, 35/192 before periods 4–9.
		{"tsb", Method{Name: TSB, Alpha: 0.5, Beta: 0.5}, inter,
			State{PerPeriod: 103.0 / 192 * 3.25, Level: 3.25, Probability: 103.0 / 192, Errors: 6,
				SSE: 1 + 1.5*1.5 + 35.0/24*35/24 + 35.0/48*35/48 + 35.0/96*35/96 + (4-35.0/192)*(4-35.0/192)}},
		{"since", Method{Name: SBA}, []float64{0, 1, 2, 0, 0}, State{Since: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.m.Fit(c.series)
			if err != nil {
				t.Fatal(err)
			}
			if s.Since != c.want.Since {
				t.Errorf("Since = %d, want %d", s.Since, c.want.Since)
			}
			if c.name == "since" {
				return
			}
			if !s.Ready || s.Periods != len(c.series) || s.Errors != c.want.Errors {
				t.Errorf("Ready %v, Periods %d, Errors %d; want true, %d, %d", s.Ready, s.Periods, s.Errors, len(c.series), c.want.Errors)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"PerPeriod", s.PerPeriod, c.want.PerPeriod}, {"Level", s.Level, c.want.Level},
				{"Interval", s.Interval, c.want.Interval}, {"Probability", s.Probability, c.want.Probability},
				{"SSE", s.SSE, c.want.SSE}, {"RMSE", s.RMSE(), math.Sqrt(c.want.SSE / float64(c.want.Errors))},
			} {
				if !near(f.got, f.want) {
					t.Errorf("%s = %.15g, want %.15g", f.name, f.got, f.want)
				}
			}
		})
	}
}

// Croston's methods and TSB cannot forecast before a first demand; the
// others can from the first period.
func TestReadiness(t *testing.T) {
	zeros := []float64{0, 0, 0, 0}
	for _, n := range []Name{Mean, Naive, MovingAverage, SES, Croston, SBA, TSB} {
		s, err := Method{Name: n}.Fit(zeros)
		if err != nil {
			t.Fatal(err)
		}
		wantReady := n != Croston && n != SBA && n != TSB
		if s.Ready != wantReady || s.PerPeriod != 0 {
			t.Errorf("%s on zeros: Ready %v PerPeriod %g, want Ready %v, 0", n, s.Ready, s.PerPeriod, wantReady)
		}
		if wantReady && s.Errors != 3 || !wantReady && (s.Errors != 0 || !math.IsNaN(s.RMSE())) {
			t.Errorf("%s on zeros: %d errors, RMSE %g", n, s.Errors, s.RMSE())
		}
	}
}

// TSB runs the forecast of a product no longer used down; SBA keeps its
// last forecast, which is why Choose gives lumpy demand to TSB.
func TestTSBDecaysWhenDemandStops(t *testing.T) {
	y := make([]float64, 300)
	for i := 0; i < 200; i += 4 {
		y[i] = float64(1 + i%3)
	}
	sbaBefore, _ := Method{Name: SBA}.Fit(y[:200])
	sba, _ := Method{Name: SBA}.Fit(y)
	tsbBefore, _ := Method{Name: TSB}.Fit(y[:200])
	tsb, _ := Method{Name: TSB}.Fit(y)
	if sba.PerPeriod != sbaBefore.PerPeriod || sba.Since != 103 { // the last demand was on day 197
		t.Errorf("SBA after 100 days without demand: %g, before %g (since %d); want unchanged", sba.PerPeriod, sbaBefore.PerPeriod, sba.Since)
	}
	if want := tsbBefore.PerPeriod * math.Pow(1-DefaultBeta, 100); !near(tsb.PerPeriod, want) || tsb.PerPeriod > 0.001*sba.PerPeriod {
		t.Errorf("TSB after 100 days without demand: %g (before %g), want %g, below a thousandth of SBA's %g", tsb.PerPeriod, tsbBefore.PerPeriod, want, sba.PerPeriod)
	}
}

func TestMethodDefaultsAndNames(t *testing.T) {
	for _, c := range []struct {
		m    Method
		want string
	}{
		{Method{Name: Mean}, "plain mean"},
		{Method{Name: Naive}, "last value"},
		{Method{Name: MovingAverage}, "moving average N=28"},
		{Method{Name: MovingAverage, Window: 7}, "moving average N=7"},
		{Method{Name: SES}, "SES α=0.1"},
		{Method{Name: Croston, Alpha: 0.15}, "Croston α=0.15"},
		{Method{Name: SBA}, "Croston–SBA α=0.1"},
		{Method{Name: TSB, Beta: 0.05}, "TSB α=0.1 β=0.05"},
		{Method{Name: "holt"}, `method "holt"`},
		{Method{Alpha: 0.2}, "chosen by pattern"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.m, got, c.want)
		}
	}
	s, _ := Method{Name: TSB}.Fit([]float64{1})
	if s.Method != (Method{Name: TSB, Alpha: DefaultAlpha, Beta: DefaultBeta, Window: DefaultWindow}) {
		t.Errorf("fitted method %+v, want defaults filled in", s.Method)
	}
}

func TestMethodValidate(t *testing.T) {
	for _, c := range []struct {
		m    Method
		name string // the option the error names, "" for none
	}{
		{Method{Name: Mean, Alpha: 7}, ""}, // parameters it does not use are ignored
		{Method{Name: SES, Alpha: 1}, ""},
		{Method{Name: SES, Alpha: 1.5}, "alpha"},
		{Method{Name: Croston, Alpha: -0.1}, "alpha"},
		{Method{Name: SBA, Alpha: math.NaN()}, "alpha"},
		{Method{Name: TSB, Beta: 2}, "beta"},
		{Method{Name: MovingAverage, Window: -3}, "window"},
		{Method{Name: "holt"}, "method"},
	} {
		err := c.m.Validate()
		var oe *OptionError
		switch {
		case c.name == "" && err != nil:
			t.Errorf("%+v: %v, want valid", c.m, err)
		case c.name != "" && (!errors.As(err, &oe) || oe.Name != c.name || !errors.Is(err, ErrInvalidOption)):
			t.Errorf("%+v: %v, want an *OptionError naming %s", c.m, err, c.name)
		}
		if _, ferr := c.m.Fit([]float64{1, 2}); (ferr == nil) != (err == nil) {
			t.Errorf("%+v: Fit error %v disagrees with Validate %v", c.m, ferr, err)
		}
	}
}
