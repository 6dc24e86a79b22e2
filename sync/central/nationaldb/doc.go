// Package nationaldb is the centre's index of China's national device
// sources, in one bbolt file: every device of the NMPA UDI database
// (agent/udid) and every row of the NHSA consumables catalogue
// (agent/nhsa), looked up by product key. The centre imports the national
// files once and publishes to each hospital the catalogue entries of what
// it stocks (Catalogue), so that no gateway ever holds the national
// database, about three million devices.
//
// Imports stream (ImportUDID, ImportNHSA): one record at a time from the
// file, so memory stays bounded whatever the file's size. NHSA rows are
// written in transactions of Options.Batch rows. A UDID import sorts the
// file's devices in runs on disk and applies them in the order of their
// keys: a first import, into an index without devices, writes each
// bucket in the order of its keys (bbolt appends them to full pages,
// where random inserts would copy a page a record); a re-import reads
// the index's buckets in the order of their keys, each page once, and
// writes runs of devices in transactions of their own (bbolt copies a
// page once where it would copy it for each device), letting go of the
// pages of the file it has read as it goes, so that the process does not
// come to hold the whole index in memory. A record replaces the record of the
// same key (a device by the DI of its sales unit, an NHSA row by its
// national code) unless the index holds a later version of the device;
// re-importing a file changes nothing. A bad record of a file of millions
// is counted and the first MaxProblems are named (file, record, field),
// and the import goes on: one bad record does not hold back the other
// millions, and the record it would have replaced stays as it was.
//
// The index keeps the devices and the NHSA rows as read, and builds the
// catalogue entries at lookup: national.Entries for the device the key
// belongs to (its sales unit, unit of use and packages), then
// national.ApplyNHSA with the rows that name the entry's DI and the rows
// of its national code. Joining at lookup rather than at import makes the
// result independent of the order the two files were imported in, and
// lets a newer NHSA row replace an older one cleanly (ApplyNHSA only ever
// sets flags, so applying rows to stored entries would keep a withdrawn
// row's flags).
//
// The file holds six buckets:
//
//	meta     "format" → 1; "devices", "keys", "nhsa" → count(8)
//	devices  device key → device record: the product keys and national
//	         codes it was indexed under, then the udid.Device
//	keys     product key → device key, for every DI that gives a
//	         catalogue entry (sales unit, unit of use, packages)
//	codes    national code 0x00 device key → "": the devices whose
//	         record carries the code (ybbm)
//	nhsa     national code → NHSA row record (nhsa.Item)
//	nhsadi   product key 0x00 national code → "": the rows naming a DI
//
// where a device key is national.Key of the sales unit's DI, a product key
// national.Key of any DI, and counts are big-endian. Records are a format
// byte then uvarint-length strings and uvarints (record.go).
//
// What the package must never do: hold a national file or the index in
// memory (only one batch of records, or one sorted run), log (it has no logger: Problems
// carry files, record numbers and DIs, which are product data), or set
// bbolt's NoSync. It holds product data only, never patient data.
package nationaldb
