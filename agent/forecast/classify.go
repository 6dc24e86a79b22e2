package forecast

import (
	"math"
	"strconv"
)

// Cut-offs of the Syntetos–Boylan–Croston categorisation (Syntetos, Boylan
// and Croston 2005): a series whose average inter-demand interval exceeds
// CutoffADI is intermittent in timing, one whose squared coefficient of
// variation of non-zero sizes exceeds CutoffCV2 is erratic in size.
const (
	CutoffADI = 1.32
	CutoffCV2 = 0.49
)

// MinDemands is the fewest non-zero periods a series needs to be
// classified and forecast by a method of its pattern; with fewer, the
// size variation is unknown and Choose falls back to the plain mean.
const MinDemands = 2

// Kind is a demand pattern of the Syntetos–Boylan–Croston categorisation.
type Kind int

// The demand patterns. Unclassified is a series with fewer than MinDemands
// non-zero periods.
const (
	Unclassified Kind = iota
	Smooth            // ADI ≤ 1.32, CV² ≤ 0.49: regular timing, regular sizes
	Erratic           // ADI ≤ 1.32, CV² > 0.49: regular timing, irregular sizes
	Intermittent      // ADI > 1.32, CV² ≤ 0.49: sporadic timing, regular sizes
	Lumpy             // ADI > 1.32, CV² > 0.49: sporadic timing, irregular sizes
)

var kindNames = [...]string{"unclassified", "smooth", "erratic", "intermittent", "lumpy"}

// String returns the pattern's lowercase name.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// MarshalText encodes the kind as its name, for JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Pattern describes a demand series by the Syntetos–Boylan–Croston
// categorisation.
type Pattern struct {
	// Periods is the length of the series.
	Periods int
	// Demands is the number of periods with non-zero demand.
	Demands int
	// ADI is the average inter-demand interval: periods per non-zero
	// demand (Periods / Demands); 0 when there is no demand.
	ADI float64
	// CV2 is the squared coefficient of variation of the non-zero demand
	// sizes (sample variance over squared mean); 0 with fewer than two
	// demands.
	CV2 float64
	// Kind is the pattern the cut-offs give, Unclassified with fewer than
	// MinDemands demands.
	Kind Kind
}

// Classify returns the demand pattern of series, one value per period
// (a day's count of uses). It returns ErrEmpty for an empty series and a
// *ValueError for a negative, NaN or infinite value.
func Classify(series []float64) (Pattern, error) {
	if err := check(series); err != nil {
		return Pattern{}, err
	}
	return classify(series), nil
}

// classify is Classify of a checked series.
func classify(series []float64) Pattern {
	p := Pattern{Periods: len(series)}
	var sum float64
	for _, y := range series {
		if y > 0 {
			p.Demands++
			sum += y
		}
	}
	if p.Demands == 0 {
		return p
	}
	p.ADI = float64(p.Periods) / float64(p.Demands)
	if p.Demands < 2 {
		return p
	}
	mean := sum / float64(p.Demands)
	var ss float64
	for _, y := range series {
		if y > 0 {
			ss += (y - mean) * (y - mean)
		}
	}
	p.CV2 = ss / float64(p.Demands-1) / (mean * mean)
	if p.Demands < MinDemands {
		return p
	}
	switch sporadic, irregular := p.ADI > CutoffADI, p.CV2 > CutoffCV2; {
	case sporadic && irregular:
		p.Kind = Lumpy
	case sporadic:
		p.Kind = Intermittent
	case irregular:
		p.Kind = Erratic
	default:
		p.Kind = Smooth
	}
	return p
}

// check returns ErrEmpty for an empty series and a *ValueError for its
// first value that is not a finite number ≥ 0.
func check(series []float64) error {
	if len(series) == 0 {
		return ErrEmpty
	}
	for i, y := range series {
		if !(y >= 0) || math.IsInf(y, 1) {
			return &ValueError{Index: i, Value: y}
		}
	}
	return nil
}
