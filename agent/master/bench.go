package master

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Goals the master data is measured against (see
// firmware-notes/master-data.md).
const (
	// GoalDecisionP99 is the most the 99th percentile of one point-of-use
	// lookup (catalogue, recall, lot status) may take with GoalCatalogue
	// products and GoalRecalledLots recalled lots.
	GoalDecisionP99 = 5 * time.Millisecond
	// GoalCatalogue is the catalogue size of the measurements.
	GoalCatalogue = 100_000
	// GoalRecalledLots is the number of recalled lots of the measurements.
	GoalRecalledLots = 10_000
	// GoalLoad is the most decoding a GoalCatalogue-entry set
	// (UnmarshalBinary, indexes included) may take.
	GoalLoad = time.Second
	// GoalApplyMemory is the most memory, above idle, that a gateway may
	// take to receive and apply a GoalCatalogue-row catalogue from the
	// central service, stored before it is used (the peak of the heap in
	// use and of the resident set).
	GoalApplyMemory = 50 << 20
)

// Synthetic is synthetic for benchmarks outside this package: a
// products-entry catalogue with recalledLots recalled lots, plus the
// given catalogue entries.
func Synthetic(products, recalledLots int, more ...CatalogueEntry) (*Data, error) {
	d, err := synthetic(products, recalledLots)
	if err != nil || len(more) == 0 {
		return d, err
	}
	s := d.Sets()
	s.Catalogue = append(s.Catalogue, more...)
	return Build(d.Version, s)
}

// synthetic builds a set of products catalogue entries under a
// fictitious GS1 China company prefix, with recalledLots recalled lots
// (five per recall), as many approved and on-hold lot statuses, and one
// settlement line per ten products.
func synthetic(products, recalledLots int) (*Data, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	cat := make([]CatalogueEntry, products)
	for i := range cat {
		cat[i] = CatalogueEntry{
			GTIN:          syntheticGTIN(i),
			Name:          "髋关节假体 股骨柄 " + strconv.Itoa(i),
			Model:         "型号 " + strconv.Itoa(i%40),
			Manufacturer:  "示例骨科器械有限公司",
			InsuranceCode: "C0301" + leftPad(strconv.Itoa(i), 15),
			ChargeCode:    "HC" + strconv.Itoa(i),
			UnitPrice:     Amount(1000 + rng.IntN(5_000_000)),
			HighValue:     i%3 == 0,
			Imported:      i%7 == 0,
			Tracking:      TrackLot,
		}
		if cat[i].HighValue {
			cat[i].Tracking = TrackSerial
		}
	}
	var recalls []Recall
	for n := 0; n < recalledLots; {
		r := Recall{GTIN: syntheticGTIN(rng.IntN(max(products, 1))), Reason: "包装密封不良", Date: "2026-03-14"}
		for j := 0; j < 5 && n < recalledLots; j++ {
			r.Lots = append(r.Lots, "R"+strconv.Itoa(n))
			n++
		}
		recalls = append(recalls, r)
	}
	lots := make([]LotStatus, recalledLots)
	for i := range lots {
		lots[i] = LotStatus{GTIN: syntheticGTIN(rng.IntN(max(products, 1))), Lot: "L" + strconv.Itoa(i), Status: StatusApproved}
		if i%10 == 0 {
			lots[i].Status = StatusOnHold
		}
	}
	settlements := make([]Settlement, products/10)
	for i := range settlements {
		g := syntheticGTIN(i)
		settlements[i] = Settlement{
			ID: "S" + strconv.Itoa(i), Patient: "P" + strconv.Itoa(i/3), Case: "K" + strconv.Itoa(i/3),
			Item: "(01)" + g + "(21)" + strconv.Itoa(100000+i), GTIN: g, Quantity: 1, Amount: cat[i].UnitPrice,
		}
	}
	return NewData("synthetic", cat, recalls, lots, settlements)
}

// syntheticGTIN returns the i-th GTIN under the fictitious prefix 690123
// (GS1 China's 690–699 range), valid check digit included.
func syntheticGTIN(i int) string {
	s := "0690123" + leftPad(strconv.Itoa(i), 6)
	c, _ := code.CheckDigit(s)
	return s + strconv.Itoa(c)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// query is one point-of-use lookup.
type query struct{ product, lot, serial string }

// queries returns n lookups over d's products: a third of them for
// recalled lots, a third for lots with a status, a third for lots the set
// does not know, and one in twenty for a product not in the catalogue.
func queries(d *Data, n int) []query {
	rng := rand.New(rand.NewPCG(3, 4))
	products := d.cat.len()
	q := make([]query, n)
	for i := range q {
		var x query
		switch i % 3 {
		case 0:
			r := d.recalls[rng.IntN(len(d.recalls))]
			x = query{r.GTIN, r.Lots[rng.IntN(len(r.Lots))], ""}
		case 1:
			s := d.lots[rng.IntN(len(d.lots))]
			x = query{s.GTIN, s.Lot, ""}
		default:
			x = query{syntheticGTIN(rng.IntN(products)), "X" + strconv.Itoa(i), ""}
		}
		if i%20 == 0 {
			x.product = syntheticGTIN(products + i)
		}
		x.serial = strconv.Itoa(200000 + i)
		q[i] = x
	}
	return q
}

// decide runs the lookups one point-of-use decision makes and returns a
// value that depends on them all.
func decide(d *Data, q query) int {
	v := 0
	if e, ok := d.Lookup(q.product); ok {
		v += int(e.UnitPrice & 1)
		if e.Imported {
			v++
		}
	}
	if _, ok := d.Recalled(q.product, q.lot, q.serial); ok {
		v += 2
	}
	if s, ok := d.LotStatus(q.product, q.lot); ok && !s.Status.Usable() {
		v += 4
	}
	return v
}

// BenchLookups builds a GoalCatalogue-entry catalogue with GoalRecalledLots
// recalled lots, times n point-of-use decisions (catalogue lookup, recall
// check, lot status) one by one, and returns the median and the 99th
// percentile of their durations, to compare with GoalDecisionP99.
func BenchLookups(n int) (p50, p99 time.Duration, err error) {
	d, err := synthetic(GoalCatalogue, GoalRecalledLots)
	if err != nil {
		return 0, 0, err
	}
	if n < 1 {
		n = 1
	}
	qs := queries(d, n)
	times := make([]time.Duration, n)
	sink := 0
	for i, q := range qs {
		t := time.Now()
		sink += decide(d, q)
		times[i] = time.Since(t)
	}
	if sink < 0 {
		return 0, 0, nil
	}
	slices.Sort(times)
	return percentile(times, 0.50), percentile(times, 0.99), nil
}

// percentile returns the p-th quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
