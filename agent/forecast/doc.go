// Package forecast forecasts the demand for a product at a location from
// its history of uses, one count a period (a day), so that the warehouse
// can keep the stock of each just above what the next days need.
//
// Classify names the series' demand pattern by the Syntetos–Boylan–Croston
// categorisation (smooth, erratic, intermittent, lumpy); Choose picks a
// method for the pattern; Forecast runs it and returns the demand per
// period, the spread of its one-step-ahead errors and a sentence saying
// what the forecast rests on, and Result turns it into a reorder point, a
// safety stock and an order-up-to level. The methods (Method.Fit) are the
// plain mean, the last value, a moving average, simple exponential
// smoothing, Croston's method, its Syntetos–Boylan approximation (SBA)
// and TSB. Evaluate scores a method on a hold-out by rolling one-step
// forecasts, with errors fit for intermittent demand (MASE, RMSSE,
// periods in stock). firmware-notes/forecast.md gives the formulas, the
// defaults, their sources and the benchmark's figures.
//
// A series is refused, never repaired: an empty one, or one with a
// negative, NaN or infinite value, gets an error naming the period.
//
// The package is pure computation: it does no I/O, never logs, never
// reads the clock (a series' last period is whatever day the caller
// says), and knows no item, location, patient or case, only numbers.
package forecast
