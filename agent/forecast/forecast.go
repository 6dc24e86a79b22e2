package forecast

import (
	"fmt"
	"math"
	"strconv"
)

// Choose returns the method for series by its pattern (see Classify),
// with default parameters:
//
//	smooth        moving average of DefaultWindow periods
//	erratic       moving average of DefaultWindow periods
//	intermittent  SBA
//	lumpy         TSB
//	unclassified  plain mean (fewer than MinDemands demands)
//
// Demand with regular timing (smooth, erratic) is averaged over four
// weeks; sporadic demand is forecast as size and occurrence apart, by SBA
// where sizes are regular, by TSB where they are lumpy: TSB lowers its
// forecast in every period without demand, so that stock of a product
// that is no longer used (an implant replaced in a tender, a surgeon who
// left) runs down, where SBA would keep its last forecast.
// firmware-notes/forecast.md gives the figures behind the choice.
//
// It returns the errors of Classify.
func Choose(series []float64) (Method, error) {
	p, err := Classify(series)
	if err != nil {
		return Method{}, err
	}
	return choose(p), nil
}

func choose(p Pattern) Method {
	var n Name
	switch p.Kind {
	case Smooth, Erratic:
		n = MovingAverage
	case Intermittent:
		n = SBA
	case Lumpy:
		n = TSB
	default:
		n = Mean
	}
	return Method{Name: n}.withDefaults()
}

// Options tunes Forecast and Evaluate.
type Options struct {
	// Method is the method to use. With an empty Name, Choose picks it by
	// the series' pattern, and the non-zero parameters given here
	// replace the defaults of the method chosen.
	Method Method
}

// Result is a forecast of the demand per period (per day for a daily
// series) with what it rests on.
type Result struct {
	// Method is the method used, with its parameters.
	Method Method
	// Pattern is the series' demand pattern.
	Pattern Pattern
	// PerDay is the forecast demand in each period ahead.
	PerDay float64
	// Sigma is the root mean squared one-step-ahead error of the method
	// over the series (NaN when Errors is 0): the spread of one period's
	// demand around its forecast.
	Sigma float64
	// Errors is the number of one-step-ahead errors Sigma rests on.
	Errors int
	// Fallback is set when the plain mean was used because the series
	// has too little demand for the method (chosen or given).
	Fallback bool
	// Basis says in one sentence what the forecast rests on, e.g.
	// "intermittent (ADI 4.2, CV² 0.31): Croston–SBA α=0.1 over 120 days".
	Basis string
}

// Forecast forecasts the demand per period of series (one value per
// period, oldest first, e.g. a location's daily uses of a product). The
// method is opt.Method, or the one Choose gives; a method that cannot
// start (Croston, SBA or TSB on a series without demand) falls back to
// the plain mean, as Choose does for fewer than MinDemands demands, and
// Basis says so. It returns ErrEmpty for an empty series, a *ValueError
// for a negative, NaN or infinite value and an *OptionError for a bad
// method.
func Forecast(series []float64, opt Options) (Result, error) {
	s, p, note, err := run(series, opt)
	if err != nil {
		return Result{}, err
	}
	r := Result{
		Method: s.Method, Pattern: p, PerDay: s.PerPeriod,
		Sigma: s.RMSE(), Errors: s.Errors,
		Fallback: note.fallback,
	}
	r.Basis = basis(p, s.Method, note)
	return r, nil
}

// note records how run came to its method.
type note struct {
	given    bool   // the caller named the method
	fallback bool   // the plain mean replaced the method
	why      string // why the given method fell back
}

// run checks series, picks the method as Forecast does and fits it.
func run(series []float64, opt Options) (State, Pattern, note, error) {
	if err := check(series); err != nil {
		return State{}, Pattern{}, note{}, err
	}
	p := classify(series)
	m, n := opt.Method, note{given: opt.Method.Name != ""}
	if !n.given {
		// Parameters given for the method to be chosen are checked
		// whichever it is.
		if err := (Method{Name: TSB, Alpha: m.Alpha, Beta: m.Beta}).Validate(); err != nil {
			return State{}, Pattern{}, note{}, err
		}
		if err := (Method{Name: MovingAverage, Window: m.Window}).Validate(); err != nil {
			return State{}, Pattern{}, note{}, err
		}
		c := choose(p)
		m.Name = c.Name
		n.fallback = c.Name == Mean
	}
	if err := m.Validate(); err != nil {
		return State{}, Pattern{}, note{}, err
	}
	m = m.withDefaults()
	s := fit(m, series)
	if !s.Ready {
		n.fallback = true
		n.why = m.String() + " cannot start before a first demand"
		s = fit(Method{Name: Mean}.withDefaults(), series)
	}
	return s, p, n, nil
}

// basis is Result.Basis.
func basis(p Pattern, m Method, n note) string {
	days := plural(p.Periods, "day")
	var b string
	switch {
	case p.Demands == 0:
		b = "no demand in " + days
	case p.Kind == Unclassified:
		b = "too little history (" + plural(p.Demands, "demand") + " in " + days + ")"
	default:
		b = fmt.Sprintf("%s (ADI %.3g, CV² %.3g)", p.Kind, p.ADI, p.CV2)
	}
	b += ": " + m.String() + " over " + days
	switch {
	case n.why != "":
		b += " (" + n.why + ")"
	case n.given:
		b += " (method set by the caller)"
	}
	return b
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// ReorderPoint returns the stock at which to reorder so that the demand
// over leadDays periods is met with probability serviceLevel: the
// forecast demand over the lead time plus a safety stock of
// z(serviceLevel)·Sigma·√leadDays, where z is the standard normal quantile
// (one-step errors taken as independent and normal). It returns an
// *OptionError for a lead time that is negative or not finite or a service
// level outside [0.5, 1), and ErrNoErrors when Sigma rests on no error.
func (r Result) ReorderPoint(leadDays, serviceLevel float64) (rop, safety float64, err error) {
	if err := checkDays("leadDays", leadDays); err != nil {
		return 0, 0, err
	}
	safety, err = r.safety(leadDays, serviceLevel)
	if err != nil {
		return 0, 0, err
	}
	return r.PerDay*leadDays + safety, safety, nil
}

// ReorderUnits is ReorderPoint rounded up to whole units.
func (r Result) ReorderUnits(leadDays, serviceLevel float64) (int, error) {
	rop, _, err := r.ReorderPoint(leadDays, serviceLevel)
	if err != nil {
		return 0, err
	}
	return units(rop), nil
}

// OrderUpTo returns the order-up-to level, in whole units (rounded up), of
// a periodic review every reviewDays periods with a lead time of leadDays:
// the forecast demand over leadDays + reviewDays plus the safety stock for
// that span at serviceLevel. It returns the errors of ReorderPoint, and an
// *OptionError for a review period that is negative or not finite.
func (r Result) OrderUpTo(leadDays, reviewDays, serviceLevel float64) (int, error) {
	if err := checkDays("leadDays", leadDays); err != nil {
		return 0, err
	}
	if err := checkDays("reviewDays", reviewDays); err != nil {
		return 0, err
	}
	span := leadDays + reviewDays
	safety, err := r.safety(span, serviceLevel)
	if err != nil {
		return 0, err
	}
	return units(r.PerDay*span + safety), nil
}

// safety is the safety stock over span periods at serviceLevel.
func (r Result) safety(span, serviceLevel float64) (float64, error) {
	if !(serviceLevel >= 0.5 && serviceLevel < 1) {
		return 0, optionErr("serviceLevel", serviceLevel, "a probability in [0.5, 1)")
	}
	if r.Errors == 0 {
		return 0, ErrNoErrors
	}
	return NormalQuantile(serviceLevel) * r.Sigma * math.Sqrt(span), nil
}

func checkDays(name string, d float64) error {
	if !(d >= 0) || math.IsInf(d, 1) {
		return optionErr(name, d, "a finite number of periods ≥ 0")
	}
	return nil
}

// units rounds a quantity up to whole units, ignoring the last bits of
// floating-point noise (4.0000000001 is 4 units).
func units(q float64) int {
	return int(math.Ceil(q - 1e-9))
}
