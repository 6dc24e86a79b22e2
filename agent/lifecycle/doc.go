// Package lifecycle follows each individually coded item through its life
// (received, commissioned, stocked, issued, then used on a patient,
// returned, wasted, quarantined or disposed) and decides, at the point of
// use, whether a scan is accepted, accepted with a warning, blocked, or
// pending a justification.
//
// Apply folds one movement into the state of its item and names, as flags,
// whatever the lifecycle did not expect: an item used that was never
// received, the same unique code used twice, an item returned after its
// use, moved while quarantined, used after it was disposed of. The state
// of an item after a sequence of movements is the fold of Apply over them,
// so it can always be rebuilt from the ledger.
//
// A Checker makes the point-of-use decision from data kept on the gateway:
// the catalogue, the recalls, the lots' status and the items' states.
// Which checks block, warn, hold the use pending or are only recorded is
// configuration (Rules). A Decider is the agent's Checker over its master
// data and its ledger, with the policies for a gateway with no catalogue
// and for an item history that cannot be read.
//
// The rules that the running agent and the auditor's commands share live
// here, once: which movement cancels which (CancelsLast), which uses stand
// and which wait for a justification (History, PendingUse), and when an
// item taken from a cabinet is accounted for (LinksRemoval,
// RemovalLinked).
//
// The package must never refuse or rewrite a movement: Apply applies every
// movement it is given, however unexpected, and only adds flags; a
// Checker's decision is advice that the caller records with the movement.
// The package does no I/O, never logs, never reads the wall clock (time
// comes from the movements and from Checker.Now), and never puts a
// patient identifier in a state, a flag or a reason.
package lifecycle
