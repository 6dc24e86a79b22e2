package forecast

import (
	"math"
	"strconv"
)

// Default parameters of the methods; see firmware-notes/forecast.md for
// their sources.
const (
	// DefaultAlpha smooths the level (SES), the sizes and intervals
	// (Croston, SBA) and the sizes (TSB): low, in the 0.05–0.2 range the
	// intermittent-demand literature works in (e.g. Syntetos and Boylan
	// 2005).
	DefaultAlpha = 0.1
	// DefaultBeta smooths TSB's demand probability, as slowly as the
	// sizes (the default of common TSB implementations).
	DefaultBeta = 0.1
	// DefaultWindow is the moving average's window in periods: four weeks
	// of days, so that each weekday weighs the same.
	DefaultWindow = 28
)

// Name names a forecasting method.
type Name string

// The methods.
const (
	// Mean is the plain mean of every period so far.
	Mean Name = "mean"
	// Naive is the last period's demand.
	Naive Name = "naive"
	// MovingAverage is the mean of the last Window periods.
	MovingAverage Name = "moving-average"
	// SES is simple exponential smoothing of the demand with Alpha.
	SES Name = "ses"
	// Croston smooths the non-zero sizes and the intervals between them
	// with Alpha, each updated in a period with demand, and forecasts
	// size / interval (Croston 1972).
	Croston Name = "croston"
	// SBA is Croston's forecast times 1 − Alpha/2, the Syntetos–Boylan
	// approximation that removes most of Croston's upward bias (Syntetos
	// and Boylan 2005).
	SBA Name = "sba"
	// TSB smooths the probability of demand in every period with Beta
	// and the non-zero sizes with Alpha, and forecasts probability × size
	// (Teunter, Syntetos and Babai 2011).
	TSB Name = "tsb"
)

// Method is a forecasting method with its parameters. A zero parameter
// takes its default (DefaultAlpha, DefaultBeta, DefaultWindow); parameters
// the method does not use are ignored.
type Method struct {
	// Name is the method.
	Name Name
	// Alpha is the smoothing constant of SES, Croston, SBA and of TSB's
	// sizes, in (0, 1].
	Alpha float64
	// Beta is the smoothing constant of TSB's probability, in (0, 1].
	Beta float64
	// Window is the moving average's window in periods, ≥ 1.
	Window int
}

// String describes the method and the parameters it uses, defaults
// applied, e.g. "Croston–SBA α=0.1"; a Method with no Name (Choose's to
// make) is "chosen by pattern".
func (m Method) String() string {
	m = m.withDefaults()
	a := strconv.FormatFloat(m.Alpha, 'g', -1, 64)
	switch m.Name {
	case Mean:
		return "plain mean"
	case Naive:
		return "last value"
	case MovingAverage:
		return "moving average N=" + strconv.Itoa(m.Window)
	case SES:
		return "SES α=" + a
	case Croston:
		return "Croston α=" + a
	case SBA:
		return "Croston–SBA α=" + a
	case TSB:
		return "TSB α=" + a + " β=" + strconv.FormatFloat(m.Beta, 'g', -1, 64)
	case "":
		return "chosen by pattern"
	}
	return "method " + strconv.Quote(string(m.Name))
}

// withDefaults returns m with its zero parameters set to the defaults.
func (m Method) withDefaults() Method {
	if m.Alpha == 0 {
		m.Alpha = DefaultAlpha
	}
	if m.Beta == 0 {
		m.Beta = DefaultBeta
	}
	if m.Window == 0 {
		m.Window = DefaultWindow
	}
	return m
}

// Validate returns an *OptionError if the method is unknown or a
// parameter it uses is out of range once defaults are applied.
func (m Method) Validate() error {
	m = m.withDefaults()
	switch m.Name {
	case Mean, Naive:
		return nil
	case MovingAverage:
		if m.Window < 1 {
			return optionErr("window", m.Window, "at least 1 period")
		}
		return nil
	case SES, Croston, SBA, TSB:
		if !(m.Alpha > 0 && m.Alpha <= 1) {
			return optionErr("alpha", m.Alpha, "a number in (0, 1]")
		}
		if m.Name == TSB && !(m.Beta > 0 && m.Beta <= 1) {
			return optionErr("beta", m.Beta, "a number in (0, 1]")
		}
		return nil
	}
	return optionErr("method", strconv.Quote(string(m.Name)),
		"one of mean, naive, moving-average, ses, croston, sba, tsb")
}

// State is a method's state after a series: the forecast it gives for
// every period ahead (all these methods forecast a flat demand rate), the
// quantities it smooths, and its one-step-ahead errors over the series.
type State struct {
	// Method is the method, with defaults applied.
	Method Method
	// Periods is the number of periods observed.
	Periods int
	// Ready is false while the method cannot forecast: before the first
	// period, and for Croston, SBA and TSB before the first demand.
	Ready bool
	// PerPeriod is the forecast demand in each period ahead.
	PerPeriod float64
	// Level is the smoothed quantity: the mean (Mean, MovingAverage), the
	// last value (Naive), the level (SES), or the smoothed non-zero size
	// (Croston, SBA, TSB).
	Level float64
	// Interval is the smoothed interval between demands, in periods
	// (Croston, SBA).
	Interval float64
	// Probability is the smoothed probability of demand in a period (TSB).
	Probability float64
	// Since is the number of periods since the last demand, 0 when the
	// last period had one.
	Since int
	// Errors is the number of one-step-ahead forecasts made over the
	// series (one for each period observed while Ready).
	Errors int
	// SSE is the sum of their squared errors (actual − forecast).
	SSE float64

	sum    float64   // Mean, MovingAverage: sum of the periods it averages
	window []float64 // MovingAverage: the last Window periods, a ring
	demand bool      // a demand has been seen
}

// Fit runs the method over series and returns its state after the last
// period. It returns ErrEmpty for an empty series, a *ValueError for a bad
// value, and an *OptionError for a bad method.
func (m Method) Fit(series []float64) (State, error) {
	if err := m.Validate(); err != nil {
		return State{}, err
	}
	if err := check(series); err != nil {
		return State{}, err
	}
	return fit(m.withDefaults(), series), nil
}

// RMSE is the root mean squared one-step-ahead error, NaN with no error.
func (s *State) RMSE() float64 {
	if s.Errors == 0 {
		return math.NaN()
	}
	return math.Sqrt(s.SSE / float64(s.Errors))
}

// fit runs a valid method with defaults over a checked series.
func fit(m Method, series []float64) State {
	s := State{Method: m}
	for _, y := range series {
		s.observe(y)
	}
	return s
}

// observe records the one-step-ahead error of the forecast for period y,
// then updates the state with y.
func (s *State) observe(y float64) {
	if s.Ready {
		e := y - s.PerPeriod
		s.Errors++
		s.SSE += e * e
	}
	s.Periods++
	s.Since++
	q := float64(s.Since) // periods since the previous demand, this one included
	if y > 0 {
		s.Since = 0
	}
	m := s.Method
	switch m.Name {
	case Mean:
		s.sum += y
		s.Level = s.sum / float64(s.Periods)
		s.PerPeriod, s.Ready = s.Level, true
	case Naive:
		s.Level = y
		s.PerPeriod, s.Ready = y, true
	case MovingAverage:
		if len(s.window) < m.Window {
			s.window = append(s.window, y)
		} else {
			i := (s.Periods - 1) % m.Window
			s.sum -= s.window[i]
			s.window[i] = y
		}
		s.sum += y
		s.Level = s.sum / float64(len(s.window))
		s.PerPeriod, s.Ready = s.Level, true
	case SES:
		if s.Periods == 1 {
			s.Level = y
		} else {
			s.Level += m.Alpha * (y - s.Level)
		}
		s.PerPeriod, s.Ready = s.Level, true
	case Croston, SBA:
		if y > 0 {
			if !s.demand {
				s.Level, s.Interval = y, q
			} else {
				s.Level += m.Alpha * (y - s.Level)
				s.Interval += m.Alpha * (q - s.Interval)
			}
			s.demand, s.Ready = true, true
			s.PerPeriod = s.Level / s.Interval
			if m.Name == SBA {
				s.PerPeriod *= 1 - m.Alpha/2
			}
		}
	case TSB:
		switch {
		case y > 0 && !s.demand:
			s.Level, s.Probability = y, 1/q
			s.demand, s.Ready = true, true
		case y > 0:
			s.Level += m.Alpha * (y - s.Level)
			s.Probability += m.Beta * (1 - s.Probability)
		case s.demand:
			s.Probability -= m.Beta * s.Probability
		}
		s.PerPeriod = s.Probability * s.Level
	}
}
