package forecast

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these; test
// for them with errors.Is.
var (
	// ErrEmpty is returned for a series with no period at all: there is
	// nothing to forecast from (a product with no history needs a par
	// level set by hand, not a forecast of zero).
	ErrEmpty = errors.New("forecast: empty series")

	// ErrInvalidValue is wrapped by a *ValueError: a period's demand is
	// negative, NaN or infinite. Demand is a count of uses; a series that
	// nets returns against uses must be fixed by its maker, so nothing is
	// clamped.
	ErrInvalidValue = errors.New("forecast: invalid demand value")

	// ErrInvalidOption is wrapped by an *OptionError: a method, smoothing
	// constant, window, hold-out, lead time or service level out of range.
	ErrInvalidOption = errors.New("forecast: invalid option")

	// ErrNoScale is returned by Evaluate when the training part of the
	// series never changes from one period to the next, so that the naive
	// one-step error that scales MASE and RMSSE is zero.
	ErrNoScale = errors.New("forecast: no in-sample variation to scale errors by")

	// ErrNoErrors is returned by the reorder point helpers when the
	// forecast rests on no one-step-ahead error (a series of one period),
	// so that no safety stock can be sized.
	ErrNoErrors = errors.New("forecast: no one-step-ahead errors to size a safety stock")
)

// ValueError reports the first period of a series whose demand is not a
// finite non-negative number. It wraps ErrInvalidValue.
type ValueError struct {
	// Index is the period's position in the series, from 0.
	Index int
	// Value is what the series holds there.
	Value float64
}

// Error implements error.
func (e *ValueError) Error() string {
	return fmt.Sprintf("forecast: demand of period %d is %v: want a finite number ≥ 0", e.Index, e.Value)
}

// Unwrap returns ErrInvalidValue.
func (e *ValueError) Unwrap() error { return ErrInvalidValue }

// OptionError reports an option or argument out of range: its name, the
// value given and what is accepted. It wraps ErrInvalidOption.
type OptionError struct {
	// Name names the option ("alpha", "window", "serviceLevel"...).
	Name string
	// Value is the value given, as text.
	Value string
	// Want says what is accepted.
	Want string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("forecast: %s is %s: want %s", e.Name, e.Value, e.Want)
}

// Unwrap returns ErrInvalidOption.
func (e *OptionError) Unwrap() error { return ErrInvalidOption }

func optionErr(name string, v any, want string) error {
	return &OptionError{Name: name, Value: fmt.Sprint(v), Want: want}
}
