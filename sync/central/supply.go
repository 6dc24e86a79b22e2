package central

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// The centre's side of zero-inventory replenishment: what each supplier
// is owed for (the uses of its consigned items, ConsumptionRecord) and
// asked for (the gateways' replenishment requests, RequestRecord), read
// from the stored movements through the store's own index.
//
// The index: the service indexes (SupplyKeys, through IndexKeys) each
// consigned or loan use, and each cancellation of a use, under a key of
// the UTC hour of its time; each replenishment request under another key
// of its hour; each receipt under a key of its gateway, product and UTC
// month. Reading a window of days is one Trace per hour of it (and of
// the hour after, for cancellations); reading whether a request is still
// open is one Trace per month since it, per gateway and product. Nothing
// scans the store. Movements stored before this index existed are not in
// it.

// SupplySchema is the version of the JSON form of ConsumptionRecord and
// RequestRecord (sync/PROTOCOL.md, "Supplier topics"): a field added
// keeps it, a field changed or removed raises it.
const SupplySchema = 1

// Types of supply records (the "type" field).
const (
	TypeConsumption = "consumption"
	TypeRequest     = "request"
)

// Unassigned is what exports and queries call the supplier "" of a
// request for a product whose supplier is unknown.
const Unassigned = "unassigned"

// MaxSupplyWindow bounds the window of one supply query: one Trace per
// hour of it.
const MaxSupplyWindow = 400 * 24 * time.Hour

// DefaultSupplyLimit and MaxSupplyLimit bound a page of supply records.
const (
	DefaultSupplyLimit = 1000
	MaxSupplyLimit     = 10000
)

// Keys of the supply index (SupplyKeys). No item or tag key starts with
// "~".
const (
	supplyUseKey     = "~supply/use/"     // + UTC hour 2006010215
	supplyRequestKey = "~supply/request/" // + UTC hour
	supplyReceiptKey = "~supply/receipt/" // + gateway / product / UTC month 200601
	hourLayout       = "2006010215"
	monthLayout      = "200601"
)

// SupplyMovement is what every supply record says of the movement it
// is read from.
type SupplyMovement struct {
	// Version is SupplySchema; Type is TypeConsumption or TypeRequest.
	Version int    `json:"version"`
	Type    string `json:"type"`
	// Supplier is the supplier as the movement's consigned flag names
	// it, else the catalogue's, else "" (a request listed under
	// Unassigned).
	Supplier string `json:"supplier"`
	// Site, Gateway, Ledger (the ledger's created time), Branch and Seq
	// name the movement: together they are the record's identity.
	Site    string `json:"site"`
	Gateway string `json:"gateway"`
	Ledger  int64  `json:"ledger"`
	Branch  int    `json:"branch"`
	Seq     uint64 `json:"seq"`
	// Time is the movement's, as the gateway recorded it.
	Time time.Time `json:"time"`
}

// supplyMovement returns the SupplyMovement of x.
func supplyMovement(x Traced, typ, supplier string) SupplyMovement {
	return SupplyMovement{Version: SupplySchema, Type: typ, Supplier: supplier, Site: x.Site, Gateway: x.Movement.Gateway,
		Ledger: x.Created, Branch: x.Branch, Seq: x.Movement.Seq, Time: x.Movement.Time}
}

// ConsumptionRecord is one use of a supplier's item: a consigned item
// (agent.Consignor) or an item of a loan set (agent.FlagLoan) used on a
// case. It is what the supplier invoices and refills from. It never holds
// the patient.
type ConsumptionRecord struct {
	SupplyMovement
	// Product is the product key (lifecycle.Product), Name the
	// catalogue's name of it ("" when the catalogue lacks it).
	Product string `json:"product"`
	Name    string `json:"name,omitempty"`
	// Item, Lot, Serial and Expiry identify the item.
	Item   string `json:"item"`
	Lot    string `json:"lot,omitempty"`
	Serial string `json:"serial,omitempty"`
	Expiry string `json:"expiry,omitempty"`
	// Case is the surgical case it was used on; Location where.
	Case     string `json:"case,omitempty"`
	Location string `json:"location"`
	// Loan marks an item of a loan set, used without receipt.
	Loan bool `json:"loan"`
	// Price is the catalogue's unit price of the product in yuan, two
	// decimals ("1234.50"): the invoice line. "" when unknown.
	Price string `json:"price,omitempty"`
	// Cancelled marks a record published again because the use was
	// cancelled at its station (the supplier's topic only: queries and
	// exports leave cancelled uses out).
	Cancelled bool `json:"cancelled,omitempty"`
}

// RequestRecord is one replenishment request of a gateway (agent.Request).
type RequestRecord struct {
	SupplyMovement
	// Location and Product are what is asked for, where; Name the
	// catalogue's name of the product.
	Location string `json:"location"`
	Product  string `json:"product"`
	Name     string `json:"name,omitempty"`
	// Quantity, Urgency, OnHand, ReorderPoint and Max are the request's
	// (agent.Request).
	Quantity     int    `json:"quantity"`
	Urgency      string `json:"urgency"`
	OnHand       int    `json:"on_hand"`
	ReorderPoint int    `json:"reorder_point"`
	Max          int    `json:"max"`
	// Received is how many units the gateway has received since, at the
	// location (RequestReceived); Open says Received < Quantity.
	Received int  `json:"received"`
	Open     bool `json:"open"`
}

// SupplyKeys returns the keys of the supply index m is stored under, none
// for most movements: a use of a supplier's item (consigned or of a loan
// set) and a cancellation of a use, under the UTC hour of their time; a
// replenishment request under its UTC hour; a receipt not blocked under
// its gateway, product and UTC month.
func SupplyKeys(m *agent.Movement) []string {
	switch {
	case m.Kind == agent.KindUse && m.Decision != agent.DecisionBlocked && supplied(*m):
		return []string{supplyUseKey + m.Time.UTC().Format(hourLayout)}
	case m.Kind == agent.KindAdjust:
		if k, _, ok := agent.Cancelled(*m); ok && k == agent.KindUse {
			return []string{supplyUseKey + m.Time.UTC().Format(hourLayout)}
		}
	case m.Kind == agent.KindContext:
		if _, ok := agent.ReadRequest(*m); ok {
			return []string{supplyRequestKey + m.Time.UTC().Format(hourLayout)}
		}
	case m.Kind == agent.KindReceive && m.Decision != agent.DecisionBlocked:
		return []string{receiptKey(m.Gateway, lifecycle.Product(*m), m.Time)}
	}
	return nil
}

// supplied reports whether a use is a supplier's consumption: of a
// consigned item or of a loan set.
func supplied(m agent.Movement) bool {
	_, ok := agent.Consignor(m)
	return ok || slices.Contains(m.Flags, agent.FlagLoan)
}

func receiptKey(gateway, product string, t time.Time) string {
	return supplyReceiptKey + gateway + "/" + product + "/" + t.UTC().Format(monthLayout)
}

// SupplyQuery selects supply records: of one supplier ("" every one,
// Unassigned those without), whose time is in [Since, Until), a page of
// them (Offset, Limit) in order of time.
type SupplyQuery struct {
	Supplier     string
	Since, Until time.Time
	Offset       int
	Limit        int
}

// check returns q with its defaults, or an error wrapping ErrInvalid.
func (q SupplyQuery) check() (SupplyQuery, error) {
	switch {
	case q.Since.IsZero() || q.Until.IsZero():
		return q, fmt.Errorf("%w: a supply query needs since and until", ErrInvalid)
	case !q.Until.After(q.Since):
		return q, fmt.Errorf("%w: until %s is not after since %s", ErrInvalid, q.Until.Format(time.RFC3339), q.Since.Format(time.RFC3339))
	case q.Until.Sub(q.Since) > MaxSupplyWindow:
		return q, fmt.Errorf("%w: a window of %d days: at most %d", ErrInvalid, int(q.Until.Sub(q.Since)/(24*time.Hour)), int(MaxSupplyWindow/(24*time.Hour)))
	case q.Offset < 0:
		return q, fmt.Errorf("%w: offset %d is negative", ErrInvalid, q.Offset)
	case q.Limit < 0 || q.Limit > MaxSupplyLimit:
		return q, fmt.Errorf("%w: limit %d: want 1 to %d", ErrInvalid, q.Limit, MaxSupplyLimit)
	}
	if q.Limit == 0 {
		q.Limit = DefaultSupplyLimit
	}
	return q, nil
}

// wants reports whether supplier is one q selects.
func (q SupplyQuery) wants(supplier string) bool {
	switch q.Supplier {
	case "":
		return true
	case Unassigned:
		return supplier == ""
	}
	return supplier == q.Supplier
}

// movementID names a movement of a ledger across its branches.
type movementID struct {
	gateway string
	created int64
	seq     uint64
}

// byTime orders movements of several ledgers by time, then ledger and
// sequence number: the order of supply records.
func byTime(a, b Traced) int {
	return cmp.Or(a.Movement.Time.Compare(b.Movement.Time), strings.Compare(a.Movement.Gateway, b.Movement.Gateway),
		cmp.Compare(a.Created, b.Created), cmp.Compare(a.Branch, b.Branch), cmp.Compare(a.Movement.Seq, b.Movement.Seq))
}

// Consumption returns a page of the consumption records q selects,
// priced and named from data's catalogue (nil: none), and whether more
// follow. Uses cancelled at their station (a cancellation recorded up to
// an hour after the use) are left out.
func Consumption(ctx context.Context, t Tracer, data *master.Data, q SupplyQuery) ([]ConsumptionRecord, bool, error) {
	q, err := q.check()
	if err != nil {
		return nil, false, err
	}
	out := []ConsumptionRecord{}
	skip := q.Offset
	h := q.Since.UTC().Truncate(time.Hour)
	cur, err := t.Trace(ctx, supplyUseKey+h.Format(hourLayout))
	for ; err == nil && h.Before(q.Until); h = h.Add(time.Hour) {
		// The hour after, read ahead for the cancellations of this one's
		// last uses; it is the next hour's.
		var ahead []Traced
		if ahead, err = t.Trace(ctx, supplyUseKey+h.Add(time.Hour).Format(hourLayout)); err != nil {
			break
		}
		cancelled := map[movementID]bool{}
		for _, x := range slices.Concat(cur, ahead) {
			if k, seq, ok := agent.Cancelled(x.Movement); ok && k == agent.KindUse {
				cancelled[movementID{x.Movement.Gateway, x.Created, seq}] = true
			}
		}
		slices.SortFunc(cur, byTime)
		for _, x := range cur {
			m := x.Movement
			if m.Time.Before(q.Since) || !m.Time.Before(q.Until) || cancelled[movementID{m.Gateway, x.Created, m.Seq}] {
				continue
			}
			r, ok := NewConsumptionRecord(x, data)
			if !ok || !q.wants(r.Supplier) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == q.Limit {
				return out, true, nil
			}
			out = append(out, r)
		}
		cur = ahead
	}
	if err != nil {
		return nil, false, err
	}
	return out, false, nil
}

// NewConsumptionRecord returns the consumption record of x, a use of a
// supplier's item, with its supplier, name and price from data (nil:
// none); ok is false for any other movement.
func NewConsumptionRecord(x Traced, data *master.Data) (ConsumptionRecord, bool) {
	m := x.Movement
	if m.Kind != agent.KindUse || m.Decision == agent.DecisionBlocked || !supplied(m) {
		return ConsumptionRecord{}, false
	}
	product := lifecycle.Product(m)
	e, known := data.Lookup(product)
	supplier, ok := agent.Consignor(m)
	if !ok {
		supplier = e.Supplier
	}
	r := ConsumptionRecord{SupplyMovement: supplyMovement(x, TypeConsumption, supplier), Product: product, Name: e.Name, Item: m.Item, Lot: m.Lot, Serial: m.Serial, Expiry: m.Expiry,
		Case: m.Case, Location: m.Location, Loan: slices.Contains(m.Flags, agent.FlagLoan)}
	if known {
		r.Price = e.UnitPrice.String()
	}
	return r, true
}

// NewRequestRecord returns the request record of x, a replenishment
// request, with its supplier and name from data (nil: none), open with
// nothing received; ok is false for any other movement.
func NewRequestRecord(x Traced, data *master.Data) (RequestRecord, bool) {
	m := x.Movement
	req, ok := agent.ReadRequest(m)
	if !ok {
		return RequestRecord{}, false
	}
	e, _ := data.Lookup(m.Item)
	supplier, ok := agent.Consignor(m)
	if !ok {
		supplier = e.Supplier
	}
	return RequestRecord{SupplyMovement: supplyMovement(x, TypeRequest, supplier), Location: m.Location, Product: m.Item, Name: e.Name, Quantity: req.Quantity, Urgency: req.Urgency,
		OnHand: req.OnHand, ReorderPoint: req.ReorderPoint, Max: req.Max, Open: true}, true
}

// Requests returns a page of the replenishment requests q selects, each
// with what its gateway received since (RequestReceived), read up to now;
// data's catalogue (nil: none) gives the suppliers of requests whose
// flags name none, the products' names, and the packages received whole
// for a product.
func Requests(ctx context.Context, t Tracer, data *master.Data, q SupplyQuery, now time.Time) ([]RequestRecord, bool, error) {
	q, err := q.check()
	if err != nil {
		return nil, false, err
	}
	out := []RequestRecord{}
	skip, more := q.Offset, false
hours:
	for h := q.Since.UTC().Truncate(time.Hour); h.Before(q.Until); h = h.Add(time.Hour) {
		ts, err := t.Trace(ctx, supplyRequestKey+h.Format(hourLayout))
		if err != nil {
			return nil, false, err
		}
		slices.SortFunc(ts, byTime)
		for _, x := range ts {
			if x.Movement.Time.Before(q.Since) || !x.Movement.Time.Before(q.Until) {
				continue
			}
			r, ok := NewRequestRecord(x, data)
			if !ok || !q.wants(r.Supplier) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if len(out) == q.Limit {
				more = true
				break hours
			}
			out = append(out, r)
		}
	}
	if err := fillReceived(ctx, t, data, out, now); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// SupplyReceipt is a receipt as RequestReceived reads it: which movement
// of the gateway's ledgers it is, where, and how many units of the
// request's product it brought.
type SupplyReceipt struct {
	Ledger   int64
	Seq      uint64
	Location string
	Units    int
}

// RequestReceived is the rule of an open request, in one place: the
// units of its product received at its location by its gateway after it
// (a later ledger, or a later movement of its own), blocked receipts
// left out (receipts holds only those of its gateway and product). The
// request stays open while they add up to less than its Quantity.
func RequestReceived(r RequestRecord, receipts []SupplyReceipt) int {
	n := 0
	for _, x := range receipts {
		if x.Location == r.Location && (x.Ledger > r.Ledger || x.Ledger == r.Ledger && x.Seq > r.Seq) {
			n += x.Units
		}
	}
	return n
}

// fillReceived sets Received and Open of every request of rs: for each
// gateway and product, the receipts of the product and of its packages
// (data's catalogue) are read once, month by month from the month before
// the earliest request to now's.
func fillReceived(ctx context.Context, t Tracer, data *master.Data, rs []RequestRecord, now time.Time) error {
	type gp struct{ gateway, product string }
	since := map[gp]time.Time{}
	for _, r := range rs {
		k := gp{r.Gateway, r.Product}
		if s, ok := since[k]; !ok || r.Time.Before(s) {
			since[k] = r.Time
		}
	}
	if len(since) == 0 {
		return nil
	}
	packs := packagesOf(data)
	got := map[gp][]SupplyReceipt{}
	for k, from := range since {
		for _, product := range append([]string{k.product}, packs[k.product]...) {
			units := 1
			if _, q, ok := data.Resolve(product); ok {
				units = q
			}
			start := time.Date(from.UTC().Year(), from.UTC().Month()-1, 1, 0, 0, 0, 0, time.UTC)
			for m := start; !m.After(now.UTC()); m = m.AddDate(0, 1, 0) {
				ts, err := t.Trace(ctx, receiptKey(k.gateway, product, m))
				if err != nil {
					return err
				}
				for _, x := range ts {
					if x.Movement.Kind == agent.KindReceive && x.Movement.Decision != agent.DecisionBlocked && x.Movement.Gateway == k.gateway {
						got[k] = append(got[k], SupplyReceipt{Ledger: x.Created, Seq: x.Movement.Seq, Location: x.Movement.Location, Units: units})
					}
				}
			}
		}
	}
	for i := range rs {
		r := &rs[i]
		r.Received = RequestReceived(*r, got[gp{r.Gateway, r.Product}])
		r.Open = r.Received < r.Quantity
	}
	return nil
}

// packagesOf maps each product of data's catalogue to the packages that
// resolve to it (master.Data.Unit), at any depth.
func packagesOf(data *master.Data) map[string][]string {
	out := map[string][]string{}
	if data == nil {
		return out
	}
	for _, e := range data.Catalogue() {
		if e.PackageOf == "" {
			continue
		}
		if u, q := data.Unit(e); q > 0 && productKey(u) != productKey(e) {
			out[productKey(u)] = append(out[productKey(u)], productKey(e))
		}
	}
	return out
}

// productKey is the key a catalogue entry is looked up by.
func productKey(e master.CatalogueEntry) string { return cmp.Or(e.GTIN, e.HIBC) }
