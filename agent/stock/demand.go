package stock

import (
	"time"
)

// DemandDays is how many days of use history the stock keeps per
// location and product: enough for a year's forecast basis.
const DemandDays = 366

// series is the daily count of uses of a product at a location: counts[i]
// is the uses on day first+i (days since 1970-01-01 in the movements'
// own zone), the last DemandDays days kept.
type series struct {
	first  int32
	counts []uint16
}

// dayOf returns the day number of t in its own zone.
func dayOf(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// demanded counts a use (n units, n < 0 for a cancelled one) of product at
// loc on the day of t.
func (s *Stock) demanded(loc uint32, product string, t time.Time, n int) {
	if t.IsZero() {
		return
	}
	key := reqKey{loc, product}
	sr := s.demand[key]
	day := dayOf(t)
	if sr == nil {
		if n <= 0 {
			return
		}
		sr = &series{first: day}
		s.demand[reqKey{loc, s.names.intern(product)}] = sr
	}
	if day < sr.first {
		if sr.first-day >= DemandDays {
			return // older than what is kept (a clock gone back, a late movement)
		}
		grow := int(sr.first - day)
		sr.counts = append(make([]uint16, grow, grow+len(sr.counts)), sr.counts...)
		sr.first = day
	}
	i := int(day - sr.first)
	for i >= len(sr.counts) {
		sr.counts = append(sr.counts, 0)
	}
	v := int(sr.counts[i]) + n
	sr.counts[i] = uint16(min(max(v, 0), 0xffff))
	if over := len(sr.counts) - DemandDays; over > 0 {
		sr.counts = append(sr.counts[:0], sr.counts[over:]...)
		sr.first += int32(over)
	}
}

// Demand returns the daily uses of product at location over the days
// days ending with the day of today (in its zone), oldest first, days
// without a use as 0; nil when no use of it was ever folded there.
func (s *Stock) Demand(location, product string, today time.Time, days int) []float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return nil
	}
	sr := s.demand[reqKey{loc, product}]
	if sr == nil || days <= 0 {
		return nil
	}
	end := dayOf(today)
	start := end - int32(days) + 1
	if start < sr.first {
		start = sr.first // no history before the first use: the series starts there
	}
	if start > end {
		return nil
	}
	out := make([]float64, end-start+1)
	for i := range out {
		j := int(start-sr.first) + i
		if j >= 0 && j < len(sr.counts) {
			out[i] = float64(sr.counts[j])
		}
	}
	return out
}

// Demanded returns the locations and products with uses folded, location
// then product.
func (s *Stock) Demanded() [][2]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][2]string, 0, len(s.demand))
	for k := range s.demand {
		out = append(out, [2]string{s.names.name(k.loc), k.product})
	}
	sortPairs(out)
	return out
}
