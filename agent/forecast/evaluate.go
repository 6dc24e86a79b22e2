package forecast

import (
	"fmt"
	"math"
)

// Score is the accuracy of a method's one-step-ahead forecasts over the
// last periods of a series (the hold-out), each made from the periods
// before it only (a rolling origin), scaled to compare across series.
type Score struct {
	// Method is the method evaluated, with its parameters: the one given
	// in Options, or the one Forecast picks from the training part.
	Method Method
	// Pattern is the training part's demand pattern.
	Pattern Pattern
	// Fallback is set when the plain mean replaced the method (see
	// Result.Fallback).
	Fallback bool
	// Train and Holdout are the lengths of the training part and of the
	// hold-out.
	Train, Holdout int
	// MAE and MSE are the mean absolute and mean squared one-step errors
	// over the hold-out.
	MAE, MSE float64
	// MASE is MAE over the in-sample MAE of the naive one-step forecast
	// (the last value) on the training part (Hyndman and Koehler 2006).
	MASE float64
	// RMSSE is the root of MSE over the in-sample MSE of the naive
	// one-step forecast (the scaled MSE of the M5 competition).
	RMSSE float64
	// SPIS is the periods in stock (Wallström and Segerstedt 2010) over
	// the hold-out, Σⱼ Σᵢ≤ⱼ (forecastᵢ − actualᵢ), over the training
	// part's mean demand: positive when stock built by following the
	// forecast would sit on the shelf, negative when it would fall short.
	SPIS float64
}

// Evaluate scores the method Forecast would use (or opt.Method) on the
// last holdout periods of series: the method is picked and fitted on the
// periods before the hold-out, then each hold-out period is forecast from
// all periods before it and its actual demand fed in before the next (the
// parameters stay as picked). It returns the errors of Forecast, an
// *OptionError when holdout is not between 1 and len(series)−2 (the
// naive scale needs two training periods), and ErrNoScale when the
// training part is constant.
func Evaluate(series []float64, holdout int, opt Options) (Score, error) {
	if err := check(series); err != nil {
		return Score{}, err
	}
	if holdout < 1 || holdout > len(series)-2 {
		return Score{}, optionErr("holdout", holdout, fmt.Sprintf("1 to %d periods for a series of %d", len(series)-2, len(series)))
	}
	train, test := series[:len(series)-holdout], series[len(series)-holdout:]
	s, p, n, err := run(train, opt)
	if err != nil {
		return Score{}, err
	}
	var naiveAE, naiveSE, sum float64
	for i, y := range train {
		sum += y
		if i > 0 {
			d := y - train[i-1]
			naiveAE += math.Abs(d)
			naiveSE += d * d
		}
	}
	if naiveAE == 0 {
		return Score{}, fmt.Errorf("forecast: training part of %d periods is constant at %v: %w", len(train), train[0], ErrNoScale)
	}
	naiveAE /= float64(len(train) - 1)
	naiveSE /= float64(len(train) - 1)

	sc := Score{Method: s.Method, Pattern: p, Fallback: n.fallback, Train: len(train), Holdout: holdout}
	var cum, pis float64
	for _, y := range test {
		f := s.PerPeriod
		e := y - f
		sc.MAE += math.Abs(e)
		sc.MSE += e * e
		cum += f - y
		pis += cum
		s.observe(y)
	}
	sc.MAE /= float64(holdout)
	sc.MSE /= float64(holdout)
	sc.MASE = sc.MAE / naiveAE
	sc.RMSSE = math.Sqrt(sc.MSE / naiveSE)
	sc.SPIS = pis / (sum / float64(len(train)))
	return sc, nil
}
