package core

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/udi-edge/udi-edge/agent/forecast"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// Defaults of SupplyConfig's forecast settings.
const (
	DefaultLeadDays     = 3
	DefaultReviewDays   = 7
	DefaultServiceLevel = 0.95
	DefaultHistoryDays  = 180
)

// ForecastLine is the demand forecast of a product at a location and the
// reorder point it gives.
type ForecastLine struct {
	Location string `json:"location"`
	Product  string `json:"product"`
	Name     string `json:"name,omitempty"`
	// Days is how many days of history the forecast read (from the first
	// use there, at most SupplyConfig.HistoryDays); Uses how many units
	// were used in them.
	Days int `json:"days"`
	Uses int `json:"uses"`
	// Pattern is the demand's pattern (smooth, erratic, intermittent,
	// lumpy), with its average inter-demand interval and squared
	// coefficient of variation; Method the forecast method it chose;
	// Basis says both in words.
	Pattern string  `json:"pattern"`
	ADI     float64 `json:"adi"`
	CV2     float64 `json:"cv2"`
	Method  string  `json:"method"`
	Basis   string  `json:"basis"`
	// PerDay is the forecast demand per day.
	PerDay float64 `json:"per_day"`
	// LeadDays and ServiceLevel are what the reorder point covers:
	// demand over the lead time and a safety stock for the service
	// level; OrderUpTo adds a review period.
	LeadDays     float64 `json:"lead_days"`
	ServiceLevel float64 `json:"service_level"`
	ReorderPoint int     `json:"reorder_point"`
	SafetyStock  float64 `json:"safety_stock"`
	OrderUpTo    int     `json:"order_up_to"`
	// OnHand is on hand there now.
	OnHand int `json:"on_hand"`
	// Error says why no forecast could be made, when none could.
	Error string `json:"error,omitempty"`
}

// ForecastQuery selects the forecasts: every location the gateway serves
// and product with uses or a par level, or those of one location (one
// the gateway serves: another is refused), one product.
type ForecastQuery struct {
	Location, Product string
}

// Forecast returns the demand forecasts q selects, from the daily uses
// the stock keeps (stock.Demand): per location and product, the method
// the series' pattern calls for (agent/forecast) and the reorder point
// over the lead time (the catalogue's, else SupplyConfig.LeadDays) at
// SupplyConfig.ServiceLevel.
func (g *Gateway) Forecast(ctx context.Context, q ForecastQuery) ([]ForecastLine, error) {
	st, err := g.stock.Stock(ctx)
	if err != nil {
		return nil, err
	}
	asked, err := ParseProduct(q.Product)
	if err != nil {
		return nil, err
	}
	if q.Location != "" {
		if err := g.unknownLocation(st, q.Location); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrStockQuery, err)
		}
	}
	d := g.master.Load()
	product := resolveProduct(d, asked)
	seen := map[stockKey]bool{}
	var keys []stockKey
	serves := g.serving(st)
	add := func(loc, p string) {
		k := stockKey{loc, p}
		if seen[k] || q.Location != "" && loc != q.Location || product != "" && p != product || !serves(loc) {
			return
		}
		seen[k] = true
		keys = append(keys, k)
	}
	for _, x := range st.Demanded() {
		add(x[0], x[1])
	}
	for _, p := range g.parLevels(d) {
		add(p.Location, p.Product())
	}
	sortKeys(keys)
	out := make([]ForecastLine, 0, len(keys))
	for _, k := range keys {
		out = append(out, g.forecastOf(st, d, k))
	}
	return out, nil
}

// forecastOf forecasts the demand of k.
func (g *Gateway) forecastOf(st *stock.Stock, d *master.Data, k stockKey) ForecastLine {
	c := g.cfg.Supply
	l := ForecastLine{Location: k.location, Product: k.product, LeadDays: float64(c.LeadDays), ServiceLevel: c.ServiceLevel,
		OnHand: st.Units(k.location, k.product, d)}
	if l.LeadDays <= 0 {
		l.LeadDays = DefaultLeadDays
	}
	if l.ServiceLevel == 0 {
		l.ServiceLevel = DefaultServiceLevel
	}
	if e, ok := d.Lookup(k.product); ok {
		l.Name = e.Name
		if e.LeadDays > 0 {
			l.LeadDays = float64(e.LeadDays)
		}
	}
	days := c.HistoryDays
	if days <= 0 {
		days = DefaultHistoryDays
	}
	series := st.Demand(k.location, k.product, g.cfg.Now(), days)
	l.Days = len(series)
	for _, v := range series {
		l.Uses += int(v)
	}
	if len(series) == 0 {
		l.Error = "no use recorded here: nothing to forecast from"
		return l
	}
	r, err := forecast.Forecast(series, forecast.Options{})
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Pattern, l.ADI, l.CV2 = r.Pattern.Kind.String(), finite(r.Pattern.ADI), finite(r.Pattern.CV2)
	l.Method, l.Basis, l.PerDay = r.Method.String(), r.Basis, r.PerDay
	review := float64(c.ReviewDays)
	if review <= 0 {
		review = DefaultReviewDays
	}
	rop, safety, err := r.ReorderPoint(l.LeadDays, l.ServiceLevel)
	switch {
	case errors.Is(err, forecast.ErrNoErrors):
		// One day of history: no error to size a safety stock from.
		l.ReorderPoint, l.OrderUpTo = int(math.Ceil(r.PerDay*l.LeadDays)), int(math.Ceil(r.PerDay*(l.LeadDays+review)))
		l.Basis += "; no safety stock: too little history to measure the forecast's error"
	case err != nil:
		l.Error = fmt.Sprintf("reorder point: %v", err)
	default:
		l.ReorderPoint, l.SafetyStock = int(math.Ceil(rop-1e-9)), safety
		if l.OrderUpTo, err = r.OrderUpTo(l.LeadDays, review, l.ServiceLevel); err != nil {
			l.Error = fmt.Sprintf("order-up-to level: %v", err)
		}
	}
	return l
}

// finite returns x, or 0 for an infinite or undefined measure (a series
// with no demand has no interval between demands).
func finite(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return 0
	}
	return x
}
