// Package presence turns the flood of raw UHF RFID tag reads that smart
// cabinets, door portals and reading stations produce into the few events
// the ledger cares about: an item was placed in a cabinet, removed from it,
// went in or out through a door, or was seen at a station.
//
// The caller maps each reader and antenna to a zone and gives every zone a
// role (see Role):
//
//   - a cabinet zone (RoleCabinet) reads its shelves in inventory rounds.
//     A tag read in ConfirmRounds counted rounds becomes present (Placed);
//     a present tag missed in MissRounds consecutive counted rounds is gone
//     (Removed). While the door is open, and for RescanRounds complete
//     rounds after it closes, rounds do not count. The first BaselineRounds
//     counted rounds after start-up establish the inventory: their Placed
//     events carry Baseline, meaning the item may have been there before
//     the agent started. Restore seeds a zone with the inventory the
//     ledger last knew, so that a restart reports only the differences.
//   - a portal (two zones with RolePortal, an outer and an inner one)
//     reports a pass: PortalIn when a tag is first seen outside and then
//     inside, PortalOut for the reverse, Seen when within PortalWindow it
//     was seen on one side only.
//   - a station zone (RoleEncoder, RoleORTable) reports Seen once per
//     sighting: reads no further apart than DedupWindow are one sighting.
//
// Every read is folded into a sighting of its tag in its zone (first and
// last time, number of reads, strongest RSSI and the reader and antenna of
// that read); events carry the sighting. State is kept per tag and zone
// only while the tag is present, pending or within its windows, so memory
// is bounded by the number of tags in the field, not by the number ever
// seen.
//
// Time comes only from the caller: the times of reads and the at and now
// arguments of EndRound, DoorOpened, DoorClosed and Tick. The package
// never reads the wall clock, so everything it does can be replayed.
//
// The package must never do I/O, log, sleep or start goroutines, and it
// never drops a tag silently: every read returns an error (unknown zone,
// empty tag), or is of a tag already present in its cabinet, or ends up in
// an event for its tag and zone (Placed, PortalIn, PortalOut or Seen) once
// its rounds or windows complete. Tags
// that the ledger does not know are reported like any other; deciding
// what an unknown tag means is the caller's business.
//
// A Tracker is not safe for concurrent use: one goroutine owns it, the one
// that receives reads, and calls Tick between reads so that windows
// expire when no reads arrive.
package presence
