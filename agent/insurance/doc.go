// Package insurance reads and writes the files of China's national
// medical-insurance platform (NHSA, 国家医保信息平台) that concern
// consumables, and reconciles them with the movements udi-edge records.
//
// It reads the inpatient fee detail of interface 2301 (费用明细, JSON or
// CSV, with the per-line results the platform returns), checks refunds
// against their originals, and finds what an insurance auditor looks for
// between the billed lines and the scanned uses of a case: a consumable
// billed but never scanned, scanned but never billed, billed in another
// quantity or under another code, a withdrawn code, a price above its cap,
// and a settlement whose count of consumable trace codes (mcs_trac_cnt)
// differs from the uses. It builds the records of the purchase–stock–sale
// interfaces (进销存: 3501 stock-take, 3502 stock change, 3503 purchase,
// 3504 purchase return, 3505 sale, 3506 sale return) from movements, each
// with the trace codes of its items, and the trace codes of a settlement.
// firmware-notes/insurance.md gives the field lists and their sources.
//
// It is pure logic over the project's types: it never opens a file or a
// connection, never calls the platform, stores nothing and never logs.
// Money is never held in a float. Patient identifiers (psn_no, and the
// visit id mdtrt_id) are never quoted in an error or a finding.
package insurance
