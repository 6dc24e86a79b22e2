// Package master holds the master data that the point-of-use checks need
// while the gateway is offline: the catalogue of consumables (name,
// manufacturer, national insurance consumable code, hospital charge code,
// unit price, high-value and imported flags, how items are tracked), the
// recalls, the status of lots, and the insurance settlement lines of the
// cases being worked on.
//
// It reads these sets from CSV or JSON files (Data.Import, ParseCatalogue,
// ParseRecalls, ...), the one reader the gateway's import, the master data
// the central service sends and the centre's publication (PrepareSet) all
// use, so that they apply the same rules: a file with any bad row is
// refused whole, every bad row named with its line (CSV) or array index
// (JSON), column and problem, unless a partial import is asked for; a file
// with no rows is refused unless asked for, so that an empty export never
// clears a set by accident. Files in GBK or GB18030 and in UTF-16 with a
// byte order mark, as Chinese hospital systems and Excel write them, are
// converted to UTF-8; anything else that is not UTF-8 is refused.
//
// Build builds an immutable, indexed Data from the parsed sets; a Store
// holds the current Data and replaces it as a whole, so readers see either
// the old set or the new one and a bad import never half-applies. Lookups
// take well under a microsecond and do not allocate. Data encodes each set
// on its own (MarshalSets) so that a ledger keeps one value per set, each
// under its own checksum, and reloads them at start-up without the network
// (LoadSets): a damaged value costs its set only, which is left empty and
// reported (Data.Damaged) until it is imported again.
//
// Money is always an Amount: an integer count of minor units (fen), never
// a float.
//
// The package must never do I/O beyond the readers it is given, never log
// (it has no logger), and never put a patient identifier into an error
// message: settlement rows carry patients, so errors about the patient
// and case columns do not quote the value.
package master
