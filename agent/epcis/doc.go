// Package epcis exports ledger movements as a GS1 EPCIS 2.0 document in
// JSON-LD, so that a hospital's movements of individually coded consumables
// can be shared with any EPCIS 2.0 repository or trading partner.
//
// Each movement that moves an item becomes one ObjectEvent: when (eventTime
// and eventTimeZoneOffset from the movement's zone), what (the item's GS1
// Digital Link URI, or a quantityList for an item known only by product or
// lot), where (readPoint and bizLocation from the movement's location) and
// why (action, bizStep and disposition from the CBV 2.0, chosen per
// movement kind by [MappingOf]). What EPCIS has no field for (flags, the
// point-of-use decision, station, antenna, the code as read) goes into
// extension properties under the prefix "udi", which the document's
// @context declares as [Namespace].
//
// eventTime is always the time the gateway recorded, even where its clock
// had been set back: a movement flagged clock-back (agent.ClockBackFlag)
// carries udi:clockBack, how far its time is behind a time the gateway
// had already recorded, as an xsd:duration ("PT3600S"). A gateway's
// events are in the order of udi:seq; their times then are not.
//
// Reads that were rejected and scans that only set a station's context (a
// wristband, a badge, a command) name no item and are never exported: they
// stay in the ledger. Nor is a movement the point-of-use checks blocked
// (Decision "blocked": an expired or recalled implant refused at the
// table): it is the record of an attempt, no item moved, and CBV has no
// business step for a use that did not happen; exporting it as
// dispensing/dispensed would tell a trading partner the item was used.
//
// Patient identifiers are personal data and never leave through this package
// unless the caller sets [Options.IncludePatient]. Without it, no event
// carries a movement's Patient or Case, in any form. With it, the case and
// patient are written with the GS1 keys made for them, GSRN (AI 8018) for
// the patient and SRIN (AI 8019) for the service relation, under custom
// types: a business transaction https://id.gs1.org/8018/{GSRN}/8019/{SRIN}
// and a destination naming the patient. The staff badge (Actor) is likewise
// left out unless [Options.IncludeActor] is set.
//
// The document is written incrementally: an [Encoder] writes the header,
// then each event as it is given, then the closing brackets, holding only
// one event in memory. [Write] does this for a slice.
package epcis
