// Package master holds the master data that the point-of-use checks need
// while the gateway is offline: the catalogue of consumables (name,
// manufacturer, national insurance consumable code, hospital charge code,
// unit price, high-value and imported flags, how items are tracked), the
// recalls, the status of lots, and the insurance settlement lines of the
// cases being worked on.
//
// It reads these sets from CSV or JSON files (ParseCatalogue, ParseRecalls,
// ParseLotStatuses, ParseSettlements); later the central service sends the
// same sets. A parser keeps the good rows and reports each bad one with its
// line (CSV) or array index (JSON), the column and the problem, so one typo
// does not lose a file and no bad row is used silently.
//
// NewData builds an immutable, indexed Data from the parsed sets; a Store
// holds the current Data and replaces it as a whole, so readers see either
// the old set or the new one and a bad import never half-applies. Lookups
// take well under a microsecond and do not allocate. Data encodes itself
// (MarshalBinary) so the ledger can keep it as one value and reload it at
// start-up without the network.
//
// Money is always an Amount: an integer count of minor units (fen), never
// a float.
//
// The package must never do I/O beyond the readers it is given, never log
// (it has no logger), and never put a patient identifier into an error
// message: settlement rows carry patients, so errors about the patient
// and case columns do not quote the value.
package master
