// Package udid reads the exports of China's NMPA UDI database (UDID,
// 医疗器械唯一标识数据库): the bulk download (a ZIP, possibly holding
// nested ZIPs, of XML parts named …PART<n>…) and the pages of the
// data-sharing API saved as JSON files. It turns each record into a
// Device holding the fields the catalogue needs: the DI of the minimum
// sales unit, the use-unit DI, the coding system, the names, the
// registrant and registration numbers, the insurance code, the flags
// (single use, sterile, which production identifiers the label carries),
// the withdrawal date, the status and version, and the packaging levels
// and storage conditions.
//
// Every reader streams: memory stays bounded whatever the size of the
// file (the full download has millions of records). A Reader calls a
// function once per record, in file order; ZIP parts are read in the
// numeric order of their PART numbers.
//
// Real exports are dirty: XML-illegal control characters and bare '&'
// appear in the text. Repair, an io.Reader filter, fixes these on the fly
// and counts each kind of repair (Repairs); nothing else is changed.
//
// Bad records are never dropped silently: each is reported as a
// *RecordError naming the file, the ZIP entry, the record number and the
// field, and carrying what could be read of the record, to the Reader's
// Problem function, which decides whether reading goes on. A part that
// cannot be read on (a syntax error the repairs do not cover) is reported
// as a *FileError the same way.
//
// The package only parses. It must never store, log, or reach the
// network; it keeps no state between calls. Its files hold product data,
// never patient data.
package udid
