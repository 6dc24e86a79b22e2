package insurance

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent"
)

// Place says whose a location is, for transfers.
type Place int

// Places.
const (
	// PlaceOwn is a location of the hospital itself: a transfer between
	// two changes nothing at the platform, which counts one stock per
	// institution.
	PlaceOwn Place = iota
	// PlaceOther is another institution's (a branch with its own code): a
	// transfer to it is 调拨出库, from it 调拨入库.
	PlaceOther
	// PlaceSupplier is a supplier's: a transfer to it is a purchase return
	// (3504).
	PlaceSupplier
)

// Visit is what the hospital's insurance system knows of a case's visit,
// for the sale records. Every field identifies a patient or is kept with
// one: none is ever logged.
type Visit struct {
	// VisitID is the platform's visit id (mdtrt_id), the sale's mdtrt_sn
	// when insured; "" for a self-paying patient, whose mdtrt_sn is the
	// case id.
	VisitID string
	// Person (psn_no) and PersonCertType (psn_cert_type).
	Person, PersonCertType string
	// Settlement is the settlement id (setl_id), required for an insured
	// patient.
	Settlement string
	// FeeSettleType is the insurance fee settlement type
	// (hi_feesetl_type).
	FeeSettleType string
	// Doctor is the prescribing doctor's name (prsc_dr_name), and
	// DoctorCertType and DoctorCertNo the doctor's certificate.
	Doctor, DoctorCertType, DoctorCertNo string
}

// Options say how records are built. The zero value builds records with
// the defaults each field's comment gives.
type Options struct {
	// Location is the zone of the records' dates and times; nil means
	// ChinaTime.
	Location *time.Location
	// BatchNo gives the batch id (fixmedins_bchno) of a product's lot;
	// nil means BatchNo.
	BatchNo func(product, lot string) string
	// Operator gives the name written as the operator (…_opter_name) of a
	// movement's actor (a badge); nil writes the badge.
	Operator func(actor string) string
	// Visit gives the visit of a case, for sales; nil, or false, writes
	// the case id as mdtrt_sn and no insurance ids.
	Visit func(caseID string) (Visit, bool)
	// Place says whose a location is; nil means every location is the
	// hospital's own.
	Place func(location string) Place
	// RxFlag is the prescription flag (rx_flag) written; "" means "0".
	RxFlag string
	// PharmacistName and PharmacistCert are written as the sale's
	// pharmacist (phar_name, phar_prac_cert_no), which the platform
	// requires even of consumables.
	PharmacistName, PharmacistCert string
	// Trace says how trace codes are written.
	Trace TraceOptions
}

func (o *Options) loc() *time.Location {
	if o.Location == nil {
		return ChinaTime
	}
	return o.Location
}

func (o *Options) batch(product, lot string) string {
	if o.BatchNo == nil {
		return BatchNo(product, lot)
	}
	return o.BatchNo(product, lot)
}

func (o *Options) operator(actor string) string {
	if o.Operator == nil {
		return actor
	}
	return o.Operator(actor)
}

func (o *Options) place(loc string) Place {
	if o.Place == nil || loc == "" {
		return PlaceOwn
	}
	return o.Place(loc)
}

func (o *Options) rxFlag() string {
	if o.RxFlag == "" {
		return "0"
	}
	return o.RxFlag
}

// Problem is a required field a record leaves empty, or a value longer
// than the platform takes: the record is built, and the platform would
// refuse it as it is.
type Problem struct {
	// Infno is the record's interface; Record its index in the export's
	// list of that interface, from 0; Batch its fixmedins_bchno.
	Infno  string `json:"infno"`
	Record int    `json:"record"`
	Batch  string `json:"fixmedins_bchno"`
	// Field is the platform's field name.
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Export is the records built from movements, by interface, with the
// movements left out and the problems of the records built.
type Export struct {
	// The records of 3501, 3502, 3503, 3504, 3505 and 3506, in the order
	// of their first movements.
	StockTakes      []StockTake
	StockChanges    []StockChange
	Purchases       []Purchase
	PurchaseReturns []PurchaseReturn
	Sales           []Sale
	SaleReturns     []SaleReturn
	// Skipped lists the movements no record carries and why: an item not
	// in the catalogue or without a national code, a return with no sale
	// before it, … Nothing is left out silently.
	Skipped []Skipped
	// Problems lists the records' required fields left empty and values
	// too long.
	Problems []Problem
}

// BatchNo is the default batch id (fixmedins_bchno, 定点医药机构批次流水号)
// of a product's lot: "B" and the first 28 characters of the base-32
// SHA-256 of product, a NUL and lot; 29 characters, within the
// platform's 30. Every gateway and every export computes the same id for
// the same batch without knowing its receipt, so a sale names the batch
// its purchase named.
func BatchNo(product, lot string) string {
	h := sha256.Sum256([]byte(product + "\x00" + lot))
	return "B" + b32.EncodeToString(h[:])[:28]
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// docNo is a record's document number: prefix and 16 base-32 characters
// of the hash of the first movement's gateway and sequence number.
func docNo(prefix string, m agent.Movement) string {
	h := sha256.Sum256([]byte(m.Gateway + "\x00" + strconv.FormatUint(m.Seq, 10)))
	return prefix + b32.EncodeToString(h[:10])
}

// item states, as the movements given show them.
const (
	stUnknown = iota
	stIn      // in the institution's stock
	stOut     // wasted, disposed of, transferred out
	stSold    // used on a patient
)

type itemState struct {
	st   int
	sale *group // the sale group of the item's use
}

// group is the movements one record carries.
type group struct {
	infno  string
	typ    string // inv_chg_type of a 3502
	p      Product
	lot    string
	caseID string
	doc    string // the record's document number
	ref    string // a return's sale document number
	ms     []agent.Movement
}

type groupKey struct {
	infno, typ, product, lot, caseID, day, ref string
}

// Build returns the records of movements ms (oldest first, cancelled
// ones left out or followed by their cancellation, which undoes them):
//
//	receive                     → 3503 purchase
//	use (not blocked)           → 3505 sale, in the use's case
//	return of an item sold      → 3506 sale return, in the sale's case
//	waste                       → 3502, 104 盘损
//	dispose                     → 3502, 105 销毁
//	transfer to PlaceOther      → 3502, 102 调拨出库
//	transfer from PlaceOther    → 3502, 101 调拨入库
//	transfer to PlaceSupplier   → 3504 purchase return
//	adjust of an item gone out  → 3502, 103 盘盈
//
// Other kinds (commission, stock, issue, quarantine, count, context,
// reject) change nothing at the platform. Movements of one interface,
// product, lot, day (and case, for sales) make one record whose count is
// their number and whose trace code list has one code per item. A
// movement that would make a record but cannot is in Skipped with the
// reason.
func Build(ms []agent.Movement, cat Catalogue, o Options) Export {
	var e Export
	all := ms
	ms = undoCancelled(ms, &e)
	loc := o.loc()
	groups := map[groupKey]*group{}
	var order []*group
	into := func(m agent.Movement, p Product, infno, typ, caseID, ref string) *group {
		k := groupKey{infno, typ, p.Key, m.Lot, caseID, m.Time.In(loc).Format(time.DateOnly), ref}
		g := groups[k]
		if g == nil {
			g = &group{infno: infno, typ: typ, p: p, lot: m.Lot, caseID: caseID, ref: ref, doc: docNo("S", m)}
			groups[k] = g
			order = append(order, g)
		}
		g.ms = append(g.ms, m)
		return g
	}
	state := map[string]*itemState{}
	for _, m := range ms {
		if !exported(m) {
			continue
		}
		p, why := coded(cat, m)
		if why != "" {
			e.Skipped = append(e.Skipped, skip(m, why))
			continue
		}
		s := state[m.Item]
		if s == nil {
			s = &itemState{}
			state[m.Item] = s
		}
		switch m.Kind {
		case agent.KindReceive:
			into(m, p, InfPurchase, "", "", "")
			s.st = stIn
		case agent.KindUse:
			s.st, s.sale = stSold, into(m, p, InfSale, "", m.Case, "")
		case agent.KindReturn:
			if s.st != stSold {
				e.Skipped = append(e.Skipped, skip(m, "a return with no use of the item before it among the movements given: not a sale return"))
				continue
			}
			into(m, p, InfSaleReturn, "", s.sale.caseID, s.sale.doc)
			s.st, s.sale = stIn, nil
		case agent.KindWaste:
			into(m, p, InfStockChange, ChangeStockLoss, "", "")
			s.st = stOut
		case agent.KindDispose:
			into(m, p, InfStockChange, ChangeDestroyed, "", "")
			s.st = stOut
		case agent.KindTransfer:
			from, to := o.place(m.From), o.place(m.Location)
			switch {
			case to == PlaceSupplier:
				into(m, p, InfPurchaseReturn, "", "", "")
				s.st = stOut
			case to == PlaceOther:
				into(m, p, InfStockChange, ChangeTransferOut, "", "")
				s.st = stOut
			case from == PlaceOther:
				into(m, p, InfStockChange, ChangeTransferIn, "", "")
				s.st = stIn
			case from == PlaceSupplier:
				e.Skipped = append(e.Skipped, skip(m, "a transfer from a supplier: a delivery is recorded as a receive"))
			default:
				e.Skipped = append(e.Skipped, skip(m, "a transfer between the hospital's own locations changes no stock at the platform"))
			}
		case agent.KindAdjust:
			switch s.st {
			case stOut:
				into(m, p, InfStockChange, ChangeStockGain, "", "")
				s.st = stIn
			case stIn:
				e.Skipped = append(e.Skipped, skip(m, "an adjustment of an item in stock changes no stock at the platform"))
			case stSold:
				e.Skipped = append(e.Skipped, skip(m, "an adjustment of an item sold: the sale stands until the use is cancelled or the item returned"))
			default:
				e.Skipped = append(e.Skipped, skip(m, "an adjustment of an item with no earlier movement among those given: whether the stock changed is unknown"))
			}
		}
	}
	for _, g := range order {
		e.add(g, &o)
	}
	inOrder(all, e.Skipped)
	return e
}

// inOrder sorts skipped in the order of their movements in ms.
func inOrder(ms []agent.Movement, skipped []Skipped) {
	type id struct {
		gateway string
		seq     uint64
	}
	at := make(map[id]int, len(ms))
	for i, m := range ms {
		at[id{m.Gateway, m.Seq}] = i
	}
	sort.SliceStable(skipped, func(i, j int) bool {
		return at[id{skipped[i].Gateway, skipped[i].Seq}] < at[id{skipped[j].Gateway, skipped[j].Seq}]
	})
}

// exported reports whether m is of a kind Build turns into records, and
// stands: a use the checks blocked is no use.
func exported(m agent.Movement) bool {
	switch m.Kind {
	case agent.KindReceive, agent.KindReturn, agent.KindWaste, agent.KindDispose, agent.KindTransfer:
		return true
	case agent.KindUse:
		return m.Decision != agent.DecisionBlocked
	case agent.KindAdjust:
		_, _, cancels := agent.Cancelled(m)
		return !cancels
	}
	return false
}

// undoCancelled returns ms without the movements a later cancellation
// (agent.Cancelled) of the same gateway and item undoes, nor the
// cancellations. A cancellation whose movement is not among ms, and would
// have made a record, is reported: what it undoes was uploaded earlier,
// and a deletion (3507) or a return must undo it.
func undoCancelled(ms []agent.Movement, e *Export) []agent.Movement {
	drop := map[int]bool{}
	for i, m := range ms {
		k, seq, ok := agent.Cancelled(m)
		if !ok {
			continue
		}
		drop[i] = true
		found := false
		for j := i - 1; j >= 0; j-- {
			c := ms[j]
			if c.Seq == seq && c.Kind == k && c.Gateway == m.Gateway && c.Item == m.Item && !drop[j] {
				drop[j], found = true, true
				break
			}
		}
		if !found && exported(agent.Movement{Kind: k}) {
			e.Skipped = append(e.Skipped, skip(m, fmt.Sprintf("cancels %s movement %d, which is not among the movements given: undo its earlier record (3507 or a return)", k, seq)))
		}
	}
	if len(drop) == 0 {
		return ms
	}
	out := make([]agent.Movement, 0, len(ms)-len(drop))
	for i, m := range ms {
		if !drop[i] {
			out = append(out, m)
		}
	}
	return out
}

// facts are what a group's movements say of their batch and record.
type facts struct {
	m0                 agent.Movement // the first movement
	time               string
	production, expiry string
	qty                Qty
	traces             []TraceInfo
	problems           []string
}

func (g *group) facts(o *Options) facts {
	f := facts{m0: g.ms[0], traces: []TraceInfo{}}
	first := g.ms[0].Time
	seen := map[string]bool{}
	for _, m := range g.ms {
		if m.Time.Before(first) {
			first = m.Time
		}
		if f.production == "" {
			f.production = m.Production
		}
		if f.expiry == "" {
			f.expiry = m.Expiry
		}
		f.qty += QtyOf(1)
		if seen[m.Item] {
			continue
		}
		seen[m.Item] = true
		c, err := TraceCode(m, o.Trace)
		if err != nil {
			f.problems = append(f.problems, err.Error())
			continue
		}
		f.traces = append(f.traces, TraceInfo{Code: c})
	}
	f.time = first.In(o.loc()).Format(time.DateTime)
	return f
}

// add builds the record of g.
func (e *Export) add(g *group, o *Options) {
	f := g.facts(o)
	p := g.p
	batch := o.batch(p.Key, g.lot)
	var price *Price
	if v, ok := PriceOf(p.UnitPrice); ok && p.UnitPrice > 0 {
		price = &v
	}
	var rec any
	var index int
	switch g.infno {
	case InfPurchase:
		r := Purchase{Code: p.NationalCode, HospitalCode: p.HospitalCode, Name: p.Name, Batch: batch,
			Supplier: p.Supplier, SupplierLicence: p.SupplierLicence, Lot: g.lot, Manufacturer: p.Manufacturer,
			Registration: p.Registration, Production: f.production, Expiry: f.expiry, Price: purchasePrice(p),
			Qty: f.qty, RxFlag: o.rxFlag(), Time: f.time, Operator: o.operator(f.m0.Actor), Gift: "0"}
		index, rec = len(e.Purchases), r
		e.Purchases = append(e.Purchases, r)
	case InfPurchaseReturn:
		r := PurchaseReturn{Code: p.NationalCode, HospitalCode: p.HospitalCode, Name: p.Name, Batch: batch,
			Supplier: p.Supplier, SupplierLicence: p.SupplierLicence, Production: f.production, Expiry: f.expiry,
			Price: purchasePrice(p), Qty: f.qty, RxFlag: o.rxFlag(), Time: f.time, Operator: o.operator(f.m0.Actor)}
		index, rec = len(e.PurchaseReturns), r
		e.PurchaseReturns = append(e.PurchaseReturns, r)
	case InfStockChange:
		var pr Price
		if price != nil {
			pr = *price
		}
		r := StockChange{Code: p.NationalCode, Type: g.typ, HospitalCode: p.HospitalCode, Name: p.Name, Batch: batch,
			Price: pr, Qty: f.qty, RxFlag: o.rxFlag(), Time: f.time, Operator: o.operator(f.m0.Actor), Split: "0", Traces: f.traces}
		index, rec = len(e.StockChanges), r
		e.StockChanges = append(e.StockChanges, r)
	case InfSale:
		v, insured := o.visit(g.caseID)
		r := Sale{Code: p.NationalCode, HospitalCode: p.HospitalCode, Name: p.Name, Batch: batch,
			DoctorCertType: v.DoctorCertType, DoctorCertNo: v.DoctorCertNo, Doctor: v.Doctor,
			Pharmacist: o.PharmacistName, PharmacistPrac: o.PharmacistCert, FeeSettleType: v.FeeSettleType,
			Settlement: v.Settlement, VisitNo: visitNo(v, g.caseID), Person: v.Person, PersonCertType: v.PersonCertType,
			Lot: g.lot, Production: f.production, Expiry: f.expiry, RxFlag: o.rxFlag(), Split: "0", Price: price,
			OutsideRx: "0", DocNo: g.doc, Qty: f.qty, Time: f.time, Operator: o.operator(f.m0.Actor),
			SettleKind: settleKind(insured), Traces: f.traces}
		index, rec = len(e.Sales), r
		e.Sales = append(e.Sales, r)
	case InfSaleReturn:
		v, _ := o.visit(g.caseID)
		r := SaleReturn{Code: p.NationalCode, HospitalCode: p.HospitalCode, Name: p.Name, Batch: batch,
			Settlement: v.Settlement, Person: v.Person, PersonCertType: v.PersonCertType, Lot: g.lot,
			Production: f.production, Expiry: f.expiry, RxFlag: o.rxFlag(), Split: "0", Price: price, Qty: f.qty,
			Time: f.time, Operator: o.operator(f.m0.Actor), SaleNo: g.ref, VisitNo: visitNo(v, g.caseID), Traces: f.traces}
		index, rec = len(e.SaleReturns), r
		e.SaleReturns = append(e.SaleReturns, r)
	}
	e.Problems = append(e.Problems, check(g.infno, index, batch, rec)...)
	for _, why := range f.problems {
		e.Problems = append(e.Problems, Problem{Infno: g.infno, Record: index, Batch: batch, Field: "drugtracinfo", Reason: why})
	}
}

func (o *Options) visit(caseID string) (Visit, bool) {
	if o.Visit == nil || caseID == "" {
		return Visit{}, false
	}
	v, ok := o.Visit(caseID)
	return v, ok && v.VisitID != ""
}

// visitNo is a sale's mdtrt_sn: the platform's visit id when insured,
// the hospital's own (the case) otherwise.
func visitNo(v Visit, caseID string) string {
	if v.VisitID != "" {
		return v.VisitID
	}
	return caseID
}

// settleKind is mdtrt_setl_type: "1" settled by insurance, "2" self-paid.
func settleKind(insured bool) string {
	if insured {
		return "1"
	}
	return "2"
}

func purchasePrice(p Product) *Price {
	if v, ok := PriceOf(p.PurchasePrice); ok && p.PurchasePrice > 0 {
		return &v
	}
	return nil
}

// check returns the problems of record rec: required text fields left
// empty, text longer than its field takes.
func check(infno string, index int, batch string, rec any) []Problem {
	var out []Problem
	v := reflect.ValueOf(rec)
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Type.Kind() != reflect.String {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		s := v.Field(i).String()
		if sf.Tag.Get("req") != "" && s == "" {
			out = append(out, Problem{Infno: infno, Record: index, Batch: batch, Field: name, Reason: "required, and not known"})
		}
		if max, err := strconv.Atoi(sf.Tag.Get("max")); err == nil && utf8.RuneCountInString(s) > max {
			out = append(out, Problem{Infno: infno, Record: index, Batch: batch, Field: name, Reason: fmt.Sprintf("%d characters long, the platform takes at most %d", utf8.RuneCountInString(s), max)})
		}
	}
	return out
}

// LotCount is a counted quantity of one batch, for a product not
// counted item by item.
type LotCount struct {
	Product            Product
	Lot                string
	Expiry, Production string
	Qty                Qty
}

// BuildStockTake returns the 3501 records of a stock-take on day: the
// items the count movements among counts saw (each item once), by
// product and lot, each record with the trace codes of its items, then
// the quantities lots gives. A batch both counted item by item and given
// a quantity gets the sum, and a Problem. Movements that are not counts
// are in Skipped.
func BuildStockTake(day time.Time, counts []agent.Movement, lots []LotCount, cat Catalogue, o Options) Export {
	var e Export
	date := day.In(o.loc()).Format(time.DateOnly)
	type key struct{ product, lot string }
	byBatch := map[key]int{}
	var groups []*group
	seen := map[string]bool{}
	for _, m := range counts {
		if m.Kind != agent.KindCount {
			e.Skipped = append(e.Skipped, skip(m, "not a count"))
			continue
		}
		if seen[m.Item] {
			continue
		}
		seen[m.Item] = true
		p, why := coded(cat, m)
		if why != "" {
			e.Skipped = append(e.Skipped, skip(m, why))
			continue
		}
		k := key{p.Key, m.Lot}
		i, ok := byBatch[k]
		if !ok {
			i = len(groups)
			byBatch[k] = i
			groups = append(groups, &group{infno: InfStockTake, p: p, lot: m.Lot})
		}
		groups[i].ms = append(groups[i].ms, m)
	}
	for _, g := range groups {
		f := g.facts(&o)
		batch := o.batch(g.p.Key, g.lot)
		e.StockTakes = append(e.StockTakes, StockTake{Code: g.p.NationalCode, HospitalCode: g.p.HospitalCode, Name: g.p.Name,
			RxFlag: o.rxFlag(), Date: date, Qty: f.qty, Lot: g.lot, Batch: batch, Production: f.production,
			Expiry: f.expiry, Traces: f.traces})
		for _, why := range f.problems {
			e.Problems = append(e.Problems, Problem{Infno: InfStockTake, Record: len(e.StockTakes) - 1, Batch: batch, Field: "drugtracinfo", Reason: why})
		}
	}
	for _, l := range lots {
		batch := o.batch(l.Product.Key, l.Lot)
		if i, ok := byBatch[key{l.Product.Key, l.Lot}]; ok {
			e.StockTakes[i].Qty += l.Qty
			e.Problems = append(e.Problems, Problem{Infno: InfStockTake, Record: i, Batch: batch, Field: "inv_cnt",
				Reason: "the batch was counted item by item and given a quantity too: the two are added"})
			continue
		}
		byBatch[key{l.Product.Key, l.Lot}] = len(e.StockTakes)
		e.StockTakes = append(e.StockTakes, StockTake{Code: l.Product.NationalCode, HospitalCode: l.Product.HospitalCode,
			Name: l.Product.Name, RxFlag: o.rxFlag(), Date: date, Qty: l.Qty, Lot: l.Lot, Batch: batch,
			Production: l.Production, Expiry: l.Expiry, Traces: []TraceInfo{}})
	}
	for i, r := range e.StockTakes {
		e.Problems = append(e.Problems, check(InfStockTake, i, r.Batch, r)...)
	}
	return e
}

// document is the JSON WriteJSON writes: for each interface, the input
// object of each call, then what was left out and the problems.
type document struct {
	StockTakes      []map[string]StockTake      `json:"3501"`
	StockChanges    []map[string]StockChange    `json:"3502"`
	Purchases       []map[string]Purchase       `json:"3503"`
	PurchaseReturns []map[string]PurchaseReturn `json:"3504"`
	Sales           []map[string]Sale           `json:"3505"`
	SaleReturns     []map[string]SaleReturn     `json:"3506"`
	Skipped         []Skipped                   `json:"skipped"`
	Problems        []Problem                   `json:"problems"`
}

func inputs[T any](node string, rs []T) []map[string]T {
	out := make([]map[string]T, len(rs))
	for i, r := range rs {
		out[i] = map[string]T{node: r}
	}
	return out
}

// WriteJSON writes e as one JSON document, indented: an object whose
// keys "3501" … "3506" each hold a list of the input objects of that
// interface's calls ({"invinfo": {…}}, {"purcinfo": {…}},
// {"selinfo": {…}}), ready for the message header (infno, msgid, …) an
// uploader adds, followed by "skipped" and "problems". Every key is
// written, an empty list when there is nothing.
func WriteJSON(w io.Writer, e Export) error {
	d := document{
		StockTakes:      inputs("invinfo", e.StockTakes),
		StockChanges:    inputs("invinfo", e.StockChanges),
		Purchases:       inputs("purcinfo", e.Purchases),
		PurchaseReturns: inputs("purcinfo", e.PurchaseReturns),
		Sales:           inputs("selinfo", e.Sales),
		SaleReturns:     inputs("selinfo", e.SaleReturns),
		Skipped:         e.Skipped,
		Problems:        e.Problems,
	}
	if d.Skipped == nil {
		d.Skipped = []Skipped{}
	}
	if d.Problems == nil {
		d.Problems = []Problem{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("insurance: writing the export: %w", err)
	}
	return nil
}
