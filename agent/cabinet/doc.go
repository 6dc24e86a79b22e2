// Package cabinet is the RFID side of a gateway's core: the tag reads of
// every reader feed one tracker of what each zone holds (agent/presence),
// whose events become movements (an item placed in a cabinet is stocked,
// one taken out is issued, a tag crossing a door is transferred); a
// restarted gateway restores each cabinet from the ledger; an item taken
// and not used, returned or put back in time raises the "removed but not
// linked" alert; and at encoding stations a scanned item is bound to the
// tag on the pad, its EPC written first where the station is set to.
//
// It speaks in the domain's types (agent.TagRead in, movements out) and
// never imports a reader driver, a store or a network adapter: readers
// hand it their reads, and an encoder's writer is a TagWriter.
package cabinet
