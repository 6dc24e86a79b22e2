package edge

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// StockConfig configures the warehouse's side of the gateway: expiry
// alerts, replenishment and the forecasts that size reorder points.
type StockConfig struct {
	// ExpiryHorizons are the days before expiry at which stock on hand
	// is alerted (default 90, 60, 30).
	ExpiryHorizons []int `json:"expiry_horizons"`
	// LeadDays is the default replenishment lead time in days, where the
	// catalogue gives none (default 3); ReviewDays the review period
	// (default 7); ServiceLevel the chance of not running out that the
	// safety stock is sized for (default 0.95); HistoryDays the days of
	// uses a forecast reads (default 180).
	LeadDays     int     `json:"lead_days"`
	ReviewDays   int     `json:"review_days"`
	ServiceLevel float64 `json:"service_level"`
	HistoryDays  int     `json:"history_days"`
	// Sweep is how often every par level and expiry horizon is looked at
	// again (default 1h).
	Sweep Duration `json:"sweep"`
	// ParLevels are par levels for the locations and products the master
	// data's par levels do not name; a min of 0 takes the reorder point
	// the forecast gives.
	ParLevels []ParConfig `json:"par_levels"`
}

// ParConfig is a par level in the configuration file.
type ParConfig struct {
	Location string `json:"location"`
	GTIN     string `json:"gtin"`
	HIBC     string `json:"hibc"`
	Min      int    `json:"min"`
	Max      int    `json:"max"`
}

func (c StockConfig) validate() error {
	if len(c.ExpiryHorizons) > 8 {
		return cfgErr("stock.expiry_horizons", "%d horizons: at most 8", len(c.ExpiryHorizons))
	}
	for i, h := range c.ExpiryHorizons {
		if h < 1 || h > 3650 {
			return cfgErr(fmt.Sprintf("stock.expiry_horizons[%d]", i), "%d: want days from 1 to 3650", h)
		}
		if slices.Index(c.ExpiryHorizons, h) != i {
			return cfgErr(fmt.Sprintf("stock.expiry_horizons[%d]", i), "%d is given twice", h)
		}
	}
	for name, v := range map[string]int{"stock.lead_days": c.LeadDays, "stock.review_days": c.ReviewDays, "stock.history_days": c.HistoryDays} {
		if v < 0 || v > 3650 {
			return cfgErr(name, "%d: want days from 0 (the default) to 3650", v)
		}
	}
	if c.ServiceLevel != 0 && !(c.ServiceLevel >= 0.5 && c.ServiceLevel < 1) || math.IsNaN(c.ServiceLevel) {
		return cfgErr("stock.service_level", "%g: want a probability from 0.5 to below 1, such as 0.95", c.ServiceLevel)
	}
	if c.Sweep != 0 && time.Duration(c.Sweep) < time.Second {
		return cfgErr("stock.sweep", "%s: want 1s or more", time.Duration(c.Sweep))
	}
	_, err := c.pars()
	return err
}

// csvLine is a line number in a reason of master.ParseParLevels.
var csvLine = regexp.MustCompile(`line [0-9]+`)

// pars returns the configured par levels, checked as the master data's
// par levels are (master.ParseParLevels).
func (c StockConfig) pars() ([]master.ParLevel, error) {
	if len(c.ParLevels) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("location,gtin,hibc,min,max\n")
	for _, p := range c.ParLevels {
		for i, f := range []string{p.Location, p.GTIN, p.HIBC} {
			if strings.ContainsAny(f, ",\"\r\n") {
				return nil, cfgErr("stock.par_levels", "%q: a %s may not hold a comma, a quote or a line break", f, [...]string{"location", "gtin", "hibc"}[i])
			}
		}
		fmt.Fprintf(&b, "%s,%s,%s,%d,%d\n", p.Location, p.GTIN, p.HIBC, p.Min, p.Max)
	}
	ps, _, err := master.ParseParLevels(strings.NewReader(b.String()), master.ImportOptions{Format: master.FormatCSV})
	if bad := (*master.BadRowsError)(nil); errors.As(err, &bad) && len(bad.Rows) > 0 {
		// Each problem at its entry and key: the rows are the entries in
		// order, after the header line.
		at := func(r master.RowError) string {
			w := fmt.Sprintf("stock.par_levels[%d]", r.Line-2)
			if r.Column != "" {
				w += "." + r.Column
			}
			return w
		}
		// A reason naming another row ("line 2 gives it too") names
		// its entry.
		reason := func(r master.RowError) string {
			return csvLine.ReplaceAllStringFunc(r.Reason, func(l string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(l, "line "))
				return fmt.Sprintf("stock.par_levels[%d]", n-2)
			})
		}
		msg := reason(bad.Rows[0])
		for _, r := range bad.Rows[1:] {
			msg += "; " + at(r) + ": " + reason(r)
		}
		return nil, cfgErr(at(bad.Rows[0]), "%s", msg)
	}
	if err != nil {
		return nil, cfgErr("stock.par_levels", "%v", err)
	}
	return ps, nil
}

// Supply returns the core's supply configuration (the same for a
// running agent and the commands over its stopped file).
func (c StockConfig) Supply() core.SupplyConfig {
	ps, _ := c.pars() // validated
	return core.SupplyConfig{ExpiryHorizons: c.ExpiryHorizons, LeadDays: c.LeadDays, ReviewDays: c.ReviewDays,
		ServiceLevel: c.ServiceLevel, HistoryDays: c.HistoryDays, Sweep: time.Duration(c.Sweep), Pars: ps}
}
