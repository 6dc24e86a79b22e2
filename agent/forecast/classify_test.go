package forecast

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestClassify(t *testing.T) {
	// 25 demands in 33 periods: ADI 33/25 = 1.32, exactly the cut-off.
	boundary := make([]float64, 33)
	for i := range 25 {
		boundary[i] = 2
	}
	for _, c := range []struct {
		name    string
		series  []float64
		demands int
		adi     float64
		cv2     float64
		kind    Kind
	}{
		// sizes {2, 4}: mean 3, sample variance 2, CV² 2/9.
		{"intermittent", []float64{0, 2, 0, 0, 4, 0}, 2, 3, 2.0 / 9, Intermittent},
		// sizes {1, 5}: mean 3, sample variance 8, CV² 8/9.
		{"lumpy", []float64{0, 1, 0, 0, 5, 0}, 2, 3, 8.0 / 9, Lumpy},
		// sizes {1, 5, 1, 5}: mean 3, sample variance 16/3, CV² 16/27.
		{"erratic", []float64{1, 5, 1, 5}, 4, 1, 16.0 / 27, Erratic},
		// sizes {2, 4, 2, 4}: mean 3, sample variance 4/3, CV² 4/27.
		{"smooth", []float64{2, 4, 2, 4}, 4, 1, 4.0 / 27, Smooth},
		{"constant", []float64{3, 3, 3}, 3, 1, 0, Smooth},
		{"cut-off ADI counts as low", boundary, 25, 1.32, 0, Smooth},
		{"one demand", []float64{0, 0, 3, 0}, 1, 4, 0, Unclassified},
		{"no demand", []float64{0, 0, 0}, 0, 0, 0, Unclassified},
		{"fractional sizes", []float64{0.5, 0, 1.5, 0}, 2, 2, 0.5, Lumpy},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Classify(c.series)
			if err != nil {
				t.Fatal(err)
			}
			if p.Periods != len(c.series) || p.Demands != c.demands || !near(p.ADI, c.adi) || !near(p.CV2, c.cv2) || p.Kind != c.kind {
				t.Errorf("Classify(%v) = %+v, want %d demands, ADI %g, CV² %g, %v", c.series, p, c.demands, c.adi, c.cv2, c.kind)
			}
		})
	}
}

func TestKindNames(t *testing.T) {
	var got []string
	for k := Unclassified; k <= Lumpy+1; k++ {
		b, _ := k.MarshalText()
		got = append(got, string(b))
	}
	want := []string{"unclassified", "smooth", "erratic", "intermittent", "lumpy", "kind(5)"}
	if !slices.Equal(got, want) {
		t.Errorf("kind names %q, want %q", got, want)
	}
}

// Every entry point that takes a series refuses the same bad input with
// the same error, naming the period.
func TestBadSeriesRejected(t *testing.T) {
	entries := map[string]func([]float64) error{
		"Classify": func(s []float64) error { _, err := Classify(s); return err },
		"Choose":   func(s []float64) error { _, err := Choose(s); return err },
		"Forecast": func(s []float64) error { _, err := Forecast(s, Options{}); return err },
		"Fit":      func(s []float64) error { _, err := Method{Name: TSB}.Fit(s); return err },
		"Evaluate": func(s []float64) error {
			_, err := Evaluate(append([]float64{1, 2, 3}, s...), 1, Options{})
			return err
		},
	}
	for name, fn := range entries {
		if name != "Evaluate" {
			if err := fn(nil); !errors.Is(err, ErrEmpty) {
				t.Errorf("%s(empty) = %v, want ErrEmpty", name, err)
			}
		}
		for _, bad := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
			err := fn([]float64{0, 2, bad, 1})
			var ve *ValueError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidValue) {
				t.Errorf("%s with %v = %v, want a *ValueError", name, bad, err)
				continue
			}
			want := 2
			if name == "Evaluate" {
				want = 5
			}
			if ve.Index != want || !(ve.Value == bad || math.IsNaN(bad) && math.IsNaN(ve.Value)) {
				t.Errorf("%s with %v: error names period %d value %v, want period %d", name, bad, ve.Index, ve.Value, want)
			}
		}
	}
}
