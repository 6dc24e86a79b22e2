// Package ident reads an item's code in any form a person may type or paste
// and says which item key (or product) it names. It is the one rule behind
// every command and API that takes a code from a person: udi-edge decode,
// trace and justify, udi-central trace and the centre's GET /v1/trace, so
// that every form one of them accepts, all of them accept.
//
// # Forms
//
// Parse reads, after trimming surrounding white space:
//
//   - a barcode as a scanner sends it, with or without AIM identifier, GS as
//     the byte or written \x1d, \u001d or <GS> (package code);
//   - the GS1 human-readable form (01)…(21)…, a GS1 Digital Link URI, a
//     bare GTIN-8, -12, -13 or -14 (package code);
//   - an HIBC supplier label: primary, secondary or concatenated, with its
//     check character, with or without an AIM identifier, or as the Code 39
//     caption *+…* printed under the bars;
//   - an MA (IDcode) code, as package code reads it: the dotted form
//     MA.156.M0.…, its XML form <UDI IAC="MA">…</UDI>, or a URL whose last
//     '=' is followed by the dotted form; and an Alibaba Health (AHM) code
//     MF…, kept as given;
//   - an item key exactly as the agent prints it (code.Code.Key, epc.Key):
//     (01)GTIN(21)SERIAL, (01)GTIN(10)LOT, (01)GTIN, the HIBC keys
//     +LICPCNUOM/SSERIAL, +LICPCNUOM/$LOT and +LICPCNUOM (no check
//     character), the MA keys DI.SSERIAL, DI.LLOT and DI (each itself an
//     MA code), the AHM key (the code as read), and raw tag keys
//     urn:epc:raw:BITS.xHEX and urn:epc:raw:BITS.xAFI.xHEX;
//   - an RFID tag's EPC in hex, with or without its Gen2 PC word in front,
//     optionally after 0x, with spaces, tabs, '-' or ':' anywhere between
//     digits: any whole number of 16-bit words from 32 to 496 bits, and an
//     SGTIN-198 written as 50 hex digits (198 bits padded to a byte, as
//     several EPC tools publish it), which is read as the 52-digit form;
//   - the EPC URIs urn:epc:id:sgtin:…, urn:epc:tag:sgtin-96:…,
//     urn:epc:tag:sgtin-198:… and urn:epc:raw:… (the "urn:epc:" part in
//     any case).
//
// Anything else is a plain code (a wristband, a badge, a command barcode):
// Parse returns it with KindPlain and no error, because decode shows it;
// Code.TraceKey refuses it.
//
// # Ambiguity
//
// Some texts read two ways. The rules, in order:
//
//  1. Text that starts with "urn:epc:", '(', '+', "*+", ']' or "http" has one
//     reading family only; hex is never tried. Neither is it for MA and AHM
//     text ("MA.", "<", "MF"), which no hex reads.
//  2. Hex text with a letter (A-F), a 0x prefix or separators is only ever
//     an EPC: no barcode form looks like it.
//  3. All-digit text is a GS1 code first. When it reads as one (a GTIN with
//     a right check digit, or a complete element string such as
//     010952012345678821…), that is the chosen reading and the EPC readings
//     of the same digits are further candidates. Eight or twelve digits
//     with a wrong check digit are an error, not an EPC: a mistyped GTIN is
//     far likelier than a 32- or 48-bit EPC that is all digits. Such an EPC
//     is read with its PC word separated by a space ("1000 12345678") or as
//     urn:epc:raw:32.x12345678. Other all-digit text that is no GS1 code is
//     an EPC when its length fits one, else a plain code.
//  4. EPC hex whose first word is a PC word announcing exactly the rest is
//     read with and without that PC word. A reading that decodes as an
//     SGTIN is then the only one (a bare EPC whose first word happens to
//     announce an SGTIN behind it is not met in practice); otherwise the reading
//     with the PC word is chosen, as epc.ParseHex chooses, and the bare
//     reading is a candidate.
//  5. An HIBC text whose last character is the check character of the rest
//     is a label. When the whole text is also an HIBC item key (one HIBC
//     key in 43 ends in the check character of the rest), that key is a
//     further candidate. An HIBC text whose check character is wrong is
//     read as an item key when it is one, and is an error otherwise. The
//     Code 39 caption *+…* and an AIM identifier mark a label: no key
//     reading.
//  6. A (01)… text is read as the human-readable form. Only when that fails
//     is it read as a GS1 item key, whose serial or lot may hold
//     characters the human-readable form cannot (a serial "AB(12)C").
//
// Candidates lists every reading, the chosen one first; Lookups gives the
// keys a trace looks up, one per candidate, so a trace finds the item
// whichever reading was meant and says which one it found.
//
// Item keys round-trip: Parse(k).Key() == k for every key the agent prints,
// except three that no person types and the rules above read otherwise —
// look these up as exact keys (udi-edge trace --key):
//
//   - a GS1 key whose serial or lot holds a bracketed number that reads as
//     an Application Identifier, such as (01)…(21)X(17)260101 (rule 6);
//   - an HIBC key whose lot begins with '$' or '+', which the key form
//     cannot tell from a dated lot or a serial;
//   - an HIBC key whose serial or lot ends in a space, lost to trimming.
//
// An HIBC key that happens to end in its own check character reads as a
// label first and has its key among the candidates (rule 5).
//
// # Products
//
// Code.TraceKey says whether a code names one item or a product: a GS1,
// HIBC or MA code with neither serial nor lot names its product, and the
// key returned is a prefix. A code with a lot but no serial names the
// lot's item key exactly, as the agent stores items labelled only with a
// lot. An AHM code names its key exactly. A key belongs to a product when
// InProduct says so: equal to the prefix, or continuing it with '(' (GS1),
// '/' (HIBC) or '.' (MA); KeyPrefixes gives the string prefixes to scan.
// A bare string prefix is not enough: HIBC product numbers vary in length,
// so the product +A99912345 would string-match the keys of +A999123456,
// another product.
//
// # What it must never do
//
// The package is pure: no I/O, no logging, no clock except through the
// code.Parser it is given, no global mutable state, no panic on any input.
// It keeps the presentation of a decoded code out (the commands print). A
// plain code may be a patient's wristband: no message of this package
// quotes the text (Error.Input holds it for the caller), and the messages
// of packages code and epc it passes on quote only item numbers, such as
// a mistyped GTIN's digits or an SGTIN URI, never a plain code nor an EPC
// URI of another scheme (a GSRN is a patient's number).
package ident
