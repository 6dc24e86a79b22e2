package central

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
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
	supplyMetKey     = "~supply/met/"     // + gateway / request's sequence number
	hourLayout       = "2006010215"
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
	// Open says the gateway has not recorded the request met or
	// withdrawn (the movement agent.ReadMet reads, written when its stock
	// saw enough arrive, or when the par level that raised it no longer
	// calls for it: the gateway's rule, not one of the centre's);
	// Received is how many units had arrived then, 0 while open;
	// Withdrawn, for a request withdrawn rather than met, says why.
	Received  int    `json:"received"`
	Open      bool   `json:"open"`
	Withdrawn string `json:"withdrawn,omitempty"`
}

// SupplyKeys returns the keys of the supply index m is stored under, none
// for most movements: a use of a supplier's item (consigned or of a loan
// set) and a cancellation of a use, under the UTC hour of their time; a
// replenishment request under its UTC hour; the movement saying a request
// was met under its gateway and the request's sequence number.
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
		if seq, _, ok := agent.ReadMet(*m); ok {
			return []string{metKey(m.Gateway, seq)}
		}
	}
	return nil
}

// supplied reports whether a use is a supplier's consumption: of a
// consigned item or of a loan set.
func supplied(m agent.Movement) bool {
	_, ok := agent.Consignor(m)
	return ok || slices.Contains(m.Flags, agent.FlagLoan)
}

func metKey(gateway string, seq uint64) string {
	return supplyMetKey + gateway + "/" + strconv.FormatUint(seq, 10)
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

// pager takes the records of one page of a query: those after its
// Offset, at most its Limit; more says a record was left past the page.
type pager struct {
	skip, limit int
	more        bool
}

func (q SupplyQuery) page() *pager { return &pager{skip: q.Offset, limit: q.Limit} }

// add appends r to out unless it is before the page; false once the page
// is full (r is then left out, and more set).
func add[T any](p *pager, out []T, r T) ([]T, bool) {
	switch {
	case p.skip > 0:
		p.skip--
	case len(out) == p.limit:
		p.more = true
		return out, false
	default:
		out = append(out, r)
	}
	return out, true
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
	pg := q.page()
	out := []ConsumptionRecord{}
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
			if out, ok = add(pg, out, r); !ok {
				return out, true, nil
			}
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
// open unless its gateway recorded it met (agent.ReadMet; one index
// lookup a request); data's catalogue (nil: none) gives the suppliers of
// requests whose flags name none and the products' names.
func Requests(ctx context.Context, t Tracer, data *master.Data, q SupplyQuery) ([]RequestRecord, bool, error) {
	q, err := q.check()
	if err != nil {
		return nil, false, err
	}
	pg := q.page()
	var out []RequestRecord
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
			if out, ok = add(pg, out, r); !ok {
				break hours
			}
		}
	}
	if out == nil {
		out = []RequestRecord{}
	}
	if err := fillMet(ctx, t, out); err != nil {
		return nil, false, err
	}
	return out, pg.more, nil
}

// fillMet sets Open and Received of every request of rs from the
// movement of its gateway's ledger saying it was met, if the centre
// holds one.
func fillMet(ctx context.Context, t Tracer, rs []RequestRecord) error {
	for i := range rs {
		r := &rs[i]
		ts, err := t.Trace(ctx, metKey(r.Gateway, r.Seq))
		if err != nil {
			return err
		}
		for _, x := range ts {
			if x.Created != r.Ledger || x.Movement.Gateway != r.Gateway {
				continue // another ledger of the gateway numbers its own
			}
			if seq, arrived, ok := agent.ReadMet(x.Movement); ok && seq == r.Seq {
				r.Open, r.Received = false, arrived
				r.Withdrawn, _ = agent.ReadWithdrawn(x.Movement)
			}
		}
	}
	return nil
}
