// Package stock keeps the gateway's stock on hand: how many units of each
// product, lot and expiry are at each location, folded from the ledger's
// movements.
//
// A Stock is a fold: Apply takes one movement, in ledger order, in
// constant time (a few map look-ups, no read of the ledger), and the
// stock after the ledger's movements is the fold of Apply over them, so
// it can always be rebuilt from the ledger (Keeper does, and then keeps
// it current as movements are written). Where an item is, and whether it
// is on hand, is the lifecycle's answer: each item key's state is
// lifecycle.Apply's, the one state machine the point-of-use checks and
// the audit read, kept compactly; its product is lifecycle.Product's and
// its expiry is read by lifecycle.DaysLeft.
//
// An item named by its serial (lifecycle.Unit) is one unit: on hand at
// its location while its status is received, commissioned, stocked or
// returned (an adjustment puts it there), quarantined (held, apart) while
// quarantined, and off hand once issued, used, wasted or disposed of; a
// cancellation (lifecycle.CancelsLast) restores where it was. A tag
// commissioned to an item counts as that item. A key that names a lot or
// a product (a lot-tracked scan) names no one item: each scan is one
// unit of it, counted per location (see Apply). A package's DI counts the
// units it packs (master.Data.Resolve), resolved when the stock is asked,
// so that the fold needs no catalogue and a catalogue imported later
// applies at once.
//
// The package does no I/O of its own (Keeper reads the ledger through the
// function it is given), never logs, never reads the wall clock (the day
// of an expiry window is the caller's), and holds no patient identifier,
// case or actor: only item keys, products, lots, expiries, locations and
// gateway ids.
package stock
