package forecast

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The synthetic demand of BenchmarkForecast and TestChosenBeatsNaive:
// daily uses of products at locations, drawn from a fixed seed, scored
// over the last synthHoldout days.
const (
	synthSeed    = 1
	synthSeries  = 500
	synthDays    = 365
	synthHoldout = 90
	goalRatio    = 1.1 // mean MASE of the naive forecast over the chosen method's
)

// synthSet draws n series of days days from seed. Two in ten are smooth
// (Poisson, mean 2–12 a day); one in ten erratic (a demand on a day with
// probability 0.8–1, size 1 + geometric of mean 1–7); the rest
// intermittent, half with regular sizes (1 + Poisson of mean 0–3), half
// with lumpy ones (1 + geometric of mean 1–7), a demand on a day with
// probability 0.05–0.4. One series in three changes its rate (Poisson
// mean or probability) once, on a day between 60 and 330, by a factor
// between 0.3 and 2.5: a surgeon comes or goes, a product replaces
// another.
func synthSet(seed uint64, n, days int) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([][]float64, n)
	for i := range out {
		y := make([]float64, days)
		var rate float64 // Poisson mean (smooth) or probability of demand
		var size func() float64
		switch u := r.Float64(); {
		case u < 0.2:
			rate = 2 + 10*r.Float64()
		case u < 0.3:
			rate = 0.8 + 0.2*r.Float64()
			extra := 1 + 6*r.Float64()
			size = func() float64 { return 1 + geometric(r, extra) }
		case u < 0.65:
			rate = 0.05 + 0.35*r.Float64()
			lambda := 3 * r.Float64()
			size = func() float64 { return 1 + poisson(r, lambda) }
		default:
			rate = 0.05 + 0.35*r.Float64()
			extra := 1 + 6*r.Float64()
			size = func() float64 { return 1 + geometric(r, extra) }
		}
		shift, factor := days, 1.0
		if r.IntN(3) == 0 {
			shift, factor = 60+r.IntN(271), 0.3+2.2*r.Float64()
		}
		for d := range y {
			k := rate
			if d >= shift {
				k *= factor
			}
			switch {
			case size == nil:
				y[d] = poisson(r, k)
			case r.Float64() < k:
				y[d] = size()
			}
		}
		out[i] = y
	}
	return out
}

// poisson draws a Poisson variate of mean lambda (Knuth's product of
// uniforms; lambda here stays below 30).
func poisson(r *rand.Rand, lambda float64) float64 {
	limit, k, prod := math.Exp(-lambda), 0.0, r.Float64()
	for prod > limit {
		k++
		prod *= r.Float64()
	}
	return k
}

// geometric draws the number of failures before a success, of mean m.
func geometric(r *rand.Rand, m float64) float64 {
	return math.Floor(math.Log(1-r.Float64()) / math.Log1p(-1/(1+m)))
}

// On the benchmark's synthetic set the method chosen by pattern beats the
// naive forecast by the goal, overall and in every pattern.
func TestChosenBeatsNaive(t *testing.T) {
	tallies := scoreSet(t, synthSet(synthSeed, synthSeries, synthDays), synthHoldout, benchmarks)
	all := tallies["all"]
	if all[0].n < synthSeries*99/100 {
		t.Fatalf("only %d of %d series scored", all[0].n, synthSeries)
	}
	if ratio := all[1].MASE() / all[0].MASE(); ratio < goalRatio {
		t.Errorf("mean MASE naive/chosen = %.3f, want ≥ %.2f\n%s", ratio, goalRatio, table(tallies, benchmarks))
	}
	for group, ts := range tallies {
		if ts[0].MASE() >= ts[1].MASE() || ts[0].RMSSE() >= ts[1].RMSSE() {
			t.Errorf("%s: chosen MASE %.3f RMSSE %.3f, naive %.3f %.3f", group, ts[0].MASE(), ts[0].RMSSE(), ts[1].MASE(), ts[1].RMSSE())
		}
	}
}

// Forecasters compared on the synthetic set: the chosen method first,
// then the two plain benchmarks, then each method on every series.
var (
	chosen     = Method{}
	benchmarks = []Method{chosen, {Name: Naive}, {Name: Mean}}
	everyOne   = append(slices.Clone(benchmarks), Method{Name: MovingAverage}, Method{Name: SES},
		Method{Name: Croston}, Method{Name: SBA}, Method{Name: TSB})
)

// tally sums scores of one forecaster over a group of series.
type tally struct {
	n                 int
	mase, rmsse, spis float64
}

func (t *tally) add(s Score) {
	t.n++
	t.mase += s.MASE
	t.rmsse += s.RMSSE
	t.spis += math.Abs(s.SPIS)
}

func (t tally) MASE() float64  { return t.mase / float64(t.n) }
func (t tally) RMSSE() float64 { return t.rmsse / float64(t.n) }
func (t tally) SPIS() float64  { return t.spis / float64(t.n) }

// scoreSet evaluates each forecaster on each series over the hold-out and
// returns the tallies by the pattern of the training part ("all" for
// every series), each in the order of methods. Series whose training part
// is constant (no scale) are skipped.
func scoreSet(tb testing.TB, set [][]float64, holdout int, methods []Method) map[string][]tally {
	out := map[string][]tally{}
	for _, y := range set {
		for i, m := range methods {
			s, err := Evaluate(y, holdout, Options{Method: m})
			if errors.Is(err, ErrNoScale) {
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			for _, group := range []string{"all", s.Pattern.Kind.String()} {
				if out[group] == nil {
					out[group] = make([]tally, len(methods))
				}
				out[group][i].add(s)
			}
		}
	}
	return out
}

// table formats tallies as the note's table: one line a pattern and
// forecaster, mean MASE, RMSSE and |sPIS|.
func table(t map[string][]tally, methods []Method) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %-24s %4s %7s %7s %8s\n", "pattern", "forecaster", "n", "MASE", "RMSSE", "|sPIS|")
	for _, group := range []string{"all", "smooth", "erratic", "intermittent", "lumpy", "unclassified"} {
		for i, m := range methods {
			if i >= len(t[group]) || t[group][i].n == 0 {
				continue
			}
			x := t[group][i]
			fmt.Fprintf(&b, "%-13s %-24v %4d %7.3f %7.3f %8.1f\n", group, m, x.n, x.MASE(), x.RMSSE(), x.SPIS())
		}
	}
	return b.String()
}
