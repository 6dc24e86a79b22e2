// Package count compares what a cycle count found at a location with
// what the ledger places there, and says how to adjust the ledger.
//
// A count finds item keys at one location: the tags an RFID cabinet
// holds, or the codes scanned at a station during a count session (the
// session and its scans are movements; see agent.CountReason). Compare
// takes what the ledger has at the location (the items named by their
// serial on hand or held there, and the count of each lot or product
// scanned there) and what was found, each found key with the ledger's
// state of it when it was found, and returns the differences, in a fixed
// order: items missing (on hand here, not found: a possible loss), items
// found that the ledger has used, wasted or disposed of, or issued, or on
// hand elsewhere, keys never received nor commissioned (to commission),
// and lots whose count differs. StateAt, LotAt, Tagged and AdjustedBy
// read an item's movements (its trace) for Compare's input, with the
// lifecycle's and the stock's own rules; Plan turns the differences the
// staff confirm into the movements that adjust the ledger, each with a
// reason naming the session: nothing is ever edited.
//
// The package does no I/O, never logs and never reads the clock: the
// gateway's core (agent/core) reads the ledger and the stock, records the
// movements and raises the alerts.
package count
