// Package nhsa reads what China's National Healthcare Security
// Administration (NHSA, 国家医疗保障局) publishes about medical
// consumables: the national consumable code (医保医用耗材分类与代码, Code
// and ParseCode), the tables of each code release that withdraw codes
// (停用表) and map old codes to new ones (转码表) (Releases), the release
// workbook of single products with their UDI-DIs (ReadSpecs), and the
// consumables catalogue that insurance interface 1306 downloads
// (ReadCatalogue).
//
// It parses and validates, nothing more: it stores nothing, logs nothing,
// opens no file and no connection, and never guesses. A code that would
// need a guess to be read (a spreadsheet's rounded number, a code without
// its "C"), a file whose encoding is not clear, a header that lacks a
// column and a row that breaks a rule are refused with an error that
// names the file, the line, the column and what was expected. Files are
// read row by row in bounded memory, however large.
//
// The structure of the code, the tables, the 1306 columns read and the
// sources of each fact, with what is still uncertain, are in
// firmware-notes/nhsa.md.
package nhsa
