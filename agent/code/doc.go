// Package code reads the item codes that barcode scanners send: GS1
// element strings (GS1-128, GS1 DataMatrix, GS1 QR, DataBar, DotCode), GS1
// Digital Link URIs, bare GTINs (EAN-13, UPC-A, EAN-8), HIBC supplier
// labels and the codes of China's two other UDI issuing agencies, MA
// (IDcode) and Alibaba Health (AHM), and turns them into a Code with the
// item key (GTIN + serial, HIBC labeler + product + serial, MA DI +
// serial), lot, expiry and production date.
//
// Routing, in order:
//
//   - data starting with '+' is HIBC, whatever the symbology ("+/" is an
//     HIBC provider code and is returned as KindPlain);
//   - data starting with "MA.", three digits and '.' is an MA code, and
//     data starting with "<UDI" or "<?xml" whose root is <UDI IAC="MA"> its
//     XML form, whatever the symbology (other XML is plain);
//   - data starting with "MF", a DI of 1 to 13 letters or digits and a
//     field tag (BA, BN, SN, MD, BD, ED, PL) is an AHM code: kept as read,
//     never an error, always with the warning WarnAHMUnverified;
//   - a GS1 AIM identifier (]C1 ]d2 ]Q3 ]e0 ]J1 ...) means a GS1 element
//     string: the leading FNC1 is implied, each separator FNC1 arrives as
//     GS (0x1D);
//   - ]E0 (EAN-13, UPC-A) and ]E4 (EAN-8) carry a bare GTIN;
//   - data starting with http:// or https:// whose path holds a GS1
//     primary key is a Digital Link; one whose last '=' is followed by an
//     MA code is that MA code; any other URI is plain;
//   - without an AIM identifier, data that starts with GS, or starts with
//     (01)/(02) and a 14-digit GTIN or (00) and an 18-digit SSCC with a
//     valid check digit, is read as a GS1 element string when it contains
//     GS (then any fault is an error) or when it parses completely into
//     known AIs (otherwise it is plain, without error);
//   - anything else is KindPlain, without error: wristbands, badges and
//     command barcodes are matched later by configured patterns.
//
// Errors are reserved for codes that clearly try to be GS1, Digital Link,
// HIBC or MA and are wrong. An MA check character that does not match is
// a warning (WarnMACheck), never an error: codes come from ZIIOT's
// assignment service, which computes them, and a hospital must not be
// stopped by a supplier's label. Every error is an *Error naming the
// field, the byte offset and the reason, wrapping one of the sentinel
// errors. GS1 values are checked against the GS1 Barcode Syntax
// Dictionary, from which the AI table is generated (go generate); its
// pairing rules, which GS1 applies to all the barcodes of an item
// together, give Code.Warnings instead.
//
// The package is pure: it must never log, do I/O, keep state between calls
// or read the clock except through Parser.Now. It imports only the standard
// library. Values may identify patients (GSRN 8018, wristbands), so error
// messages never quote the value of a person-related AI.
package code
