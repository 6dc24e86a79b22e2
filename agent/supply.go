package agent

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The vocabulary of the warehouse's movements: who owns an item
// (consignment), a supplier's loan set, and a replenishment request. They
// are written in a movement's Flags and Reason, as cancellations and case
// links are, so that every ledger, the sync and the centre's stores carry
// them unchanged; the functions here are the one definition of each form.

// FlagConsignedPrefix starts the flag naming the supplier who owns an
// item on consignment: "consigned:SUPPLIER" (ConsignedFlag). A receipt
// of a consigned item carries it (ownership stays with the supplier
// while the item is on hand), and so does its use: ownership passes to
// the hospital at use, and the use is the consumption record the
// supplier invoices and refills from (what, lot, serial, case, time).
const FlagConsignedPrefix = "consigned:"

// ConsignedFlag returns the flag naming supplier as an item's owner.
func ConsignedFlag(supplier string) string { return FlagConsignedPrefix + supplier }

// Consignor returns the supplier who owned m's item on consignment, as
// m's flags name it; ok is false for a hospital-owned item.
func Consignor(m Movement) (supplier string, ok bool) {
	for _, f := range m.Flags {
		if s, ok := strings.CutPrefix(f, FlagConsignedPrefix); ok && s != "" {
			return s, true
		}
	}
	return "", false
}

// FlagLoanSet marks a context movement declaring an item part of a
// supplier's loan set brought for one operation ("bill only"): its Item
// is the item (or lot, or product) key, its Case the operation's case,
// its flags name the supplier (ConsignedFlag). FlagLoan marks the use of
// an item from a declared loan set, never received at this site: the use
// stands for its receipt too (the supplier's delivery after the
// operation), so it is no "never received" anomaly, and it is a
// consumption of the supplier's.
const (
	FlagLoanSet = "loan-set"
	FlagLoan    = "loan"
)

// FlagReplenish marks a context movement that is a replenishment request
// (see Request): the gateway asks for stock of one product at one
// location. Its Item is the product key, its Location the location, its
// Reason the request (RequestReason), its flags the supplier when the
// product is consigned (ConsignedFlag).
const FlagReplenish = "replenish"

// Urgencies of a replenishment request.
const (
	// UrgencyRoutine: on hand fell below the reorder point, some is left.
	UrgencyRoutine = "routine"
	// UrgencyUrgent: nothing of the product is left on hand.
	UrgencyUrgent = "urgent"
	// UrgencyRefill: a consigned item was used; the supplier refills it.
	UrgencyRefill = "refill"
)

// Request is a replenishment request as a movement records it.
type Request struct {
	// Quantity is how many units are asked for: enough to reach Max.
	Quantity int `json:"quantity"`
	// Urgency is UrgencyRoutine, UrgencyUrgent or UrgencyRefill.
	Urgency string `json:"urgency"`
	// OnHand, ReorderPoint and Max are what the gateway knew when it
	// asked: on hand at the location, the point it fell below, the level
	// to fill up to.
	OnHand       int `json:"on_hand"`
	ReorderPoint int `json:"reorder_point"`
	Max          int `json:"max"`
}

// RequestReason is the Reason of a replenishment request movement:
// "replenish QUANTITY urgency URGENCY on-hand N reorder-point R max M".
// ReadRequest reads it back.
func RequestReason(r Request) string {
	return fmt.Sprintf("replenish %d urgency %s on-hand %d reorder-point %d max %d", r.Quantity, r.Urgency, r.OnHand, r.ReorderPoint, r.Max)
}

// ReadRequest reports whether m is a replenishment request (a context
// movement flagged FlagReplenish) and returns it.
func ReadRequest(m Movement) (Request, bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagReplenish) {
		return Request{}, false
	}
	f := strings.Fields(m.Reason)
	if len(f) < 10 || f[0] != "replenish" || f[2] != "urgency" || f[4] != "on-hand" || f[6] != "reorder-point" || f[8] != "max" {
		return Request{}, false
	}
	var r Request
	var err error
	n := func(s string) int {
		v, e := strconv.Atoi(s)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	r.Quantity, r.Urgency, r.OnHand, r.ReorderPoint, r.Max = n(f[1]), f[3], n(f[5]), n(f[7]), n(f[9])
	if err != nil || r.Quantity <= 0 {
		return Request{}, false
	}
	return r, true
}

// FlagMet marks a context movement that closes a replenishment request:
// met, enough of its product arrived at its location (MetReason; the
// gateway's stock decides, agent/stock), or withdrawn, the par level
// that raised it no longer calling for it (WithdrawnReason: removed, or
// corrected so that on hand is no longer below its reorder point). Its
// Item and Location are the request's. A request is open from its
// movement until the movement that closes it: the centre and a
// supplier's system read that (ReadMet), never a rule of their own.
const FlagMet = "replenished"

// MetReason is the Reason of the movement meeting request seq, arrived
// units having come: "meets replenishment request SEQ: ARRIVED arrived".
// ReadMet reads it back.
func MetReason(seq uint64, arrived int) string {
	return fmt.Sprintf("%s %d: %d arrived", metPrefix, seq, arrived)
}

// WithdrawnReason is the Reason of the movement withdrawing request seq,
// arrived units having come, for the reason why (one line): "withdraws
// replenishment request SEQ: ARRIVED arrived: WHY". ReadMet reads it as
// it reads a meeting; ReadWithdrawn gives why.
func WithdrawnReason(seq uint64, arrived int, why string) string {
	why = strings.Join(strings.Fields(why), " ")
	if why == "" {
		why = "withdrawn"
	}
	return fmt.Sprintf("%s %d: %d arrived: %s", withdrawnPrefix, seq, arrived, why)
}

const (
	metPrefix       = "meets replenishment request"
	withdrawnPrefix = "withdraws replenishment request"
)

// ReadMet reports whether m closes a replenishment request (a context
// movement flagged FlagMet), met or withdrawn, which one, and how many
// units arrived for it.
func ReadMet(m Movement) (seq uint64, arrived int, ok bool) {
	seq, arrived, _, ok = readClosed(m)
	return seq, arrived, ok
}

// ReadWithdrawn reports whether m withdraws a replenishment request
// (WithdrawnReason) rather than meets it, and why.
func ReadWithdrawn(m Movement) (why string, ok bool) {
	_, _, why, ok = readClosed(m)
	return why, ok && why != ""
}

// readClosed reads a movement closing a request: why is "" for a
// meeting.
func readClosed(m Movement) (seq uint64, arrived int, why string, ok bool) {
	if m.Kind != KindContext || !slices.Contains(m.Flags, FlagMet) {
		return 0, 0, "", false
	}
	rest, met := strings.CutPrefix(m.Reason, metPrefix+" ")
	if !met {
		if rest, ok = strings.CutPrefix(m.Reason, withdrawnPrefix+" "); !ok {
			return 0, 0, "", false
		}
	}
	n, a, ok := strings.Cut(rest, ": ")
	if met {
		a, ok = strings.CutSuffix(a, " arrived")
	} else if a, why, ok = strings.Cut(a, " arrived: "); why == "" {
		ok = false
	}
	s, err := strconv.ParseUint(n, 10, 64)
	c, err2 := strconv.Atoi(a)
	if !ok || err != nil || err2 != nil || s == 0 {
		return 0, 0, "", false
	}
	return s, c, why, true
}
