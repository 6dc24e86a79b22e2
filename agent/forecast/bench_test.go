package forecast

import (
	"testing"
)

// BenchmarkForecast scores the method chosen by pattern against the naive
// (last value) and plain-mean forecasts on the synthetic set: rolling
// one-step forecasts over the last synthHoldout of synthDays days of
// synthSeries series, mean MASE and RMSSE over the series. The goal is a
// naive/chosen MASE ratio of at least goalRatio. The timed loop forecasts
// every series in full (classify, choose, fit, basis).
//
//	go test -run '^$' -bench BenchmarkForecast -benchtime 20x ./agent/forecast/
func BenchmarkForecast(b *testing.B) {
	set := synthSet(synthSeed, synthSeries, synthDays)
	t := scoreSet(b, set, synthHoldout, everyOne)
	all := t["all"]
	b.Logf("goal: mean MASE of the naive forecast ≥ %.2f × the chosen method's\n%s", goalRatio, table(t, everyOne))

	var sink float64
	for b.Loop() {
		for _, y := range set {
			r, err := Forecast(y, Options{})
			if err != nil {
				b.Fatal(err)
			}
			sink += r.PerDay
		}
	}
	_ = sink
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(set)), "ns/series")
	b.ReportMetric(all[0].MASE(), "mase_chosen")
	b.ReportMetric(all[1].MASE(), "mase_naive")
	b.ReportMetric(all[2].MASE(), "mase_mean")
	b.ReportMetric(all[1].MASE()/all[0].MASE(), "ratio_naive/chosen")
	b.ReportMetric(goalRatio, "goal_ratio")
	b.ReportMetric(all[0].RMSSE(), "rmsse_chosen")
	b.ReportMetric(all[1].RMSSE(), "rmsse_naive")
	b.ReportMetric(all[2].RMSSE(), "rmsse_mean")
}
