package insurance

import (
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
)

// FeeLine is one line of an inpatient fee detail (interface 2301,
// 住院费用明细上传, node feedetail): one charge of a visit, or the refund
// of one, with what the platform returned for it when the file carries
// it. Field comments give the platform's field name.
//
// Person and Visit identify a patient: they are never logged.
type FeeLine struct {
	// SN is the line's serial number, unique within its visit
	// (feedetl_sn).
	SN string
	// InitSN is, on a refund, the SN of the line it refunds
	// (init_feedetl_sn); "" on a charge.
	InitSN string
	// Visit is the platform's visit id (mdtrt_id).
	Visit string
	// Person is the insured person's number (psn_no).
	Person string
	// MedType is the medical category (med_type); "" if not given.
	MedType string
	// Order is the doctor's order number (drord_no); "" if not given.
	Order string
	// Time is when the charge arose (fee_ocur_time), read in the
	// reader's location.
	Time time.Time
	// Code is the national catalogue code billed (med_list_codg): for a
	// consumable the NHSA consumable code, "C" and 19 or 26 digits.
	Code string
	// HospitalCode is the hospital's own catalogue code
	// (medins_list_codg).
	HospitalCode string
	// Amount is the line's total (det_item_fee_sumamt), in fen; negative
	// on a refund.
	Amount master.Amount
	// Qty is the quantity (cnt); negative on a refund.
	Qty Qty
	// Price is the unit price (pric).
	Price Price
	// Dept, DeptName, Doctor and DoctorName are the billing department and
	// doctor (bilg_dept_codg, bilg_dept_name, bilg_dr_codg, bilg_dr_name).
	Dept, DeptName, Doctor, DoctorName string
	// Result is what the platform returned for the line, when the file
	// carries any of its fields; nil otherwise.
	Result *FeeResult
	// File, Line and Record say where the line was read (see LineError).
	File         string
	Line, Record int
}

// Refund reports whether l is a refund: a negative quantity.
func (l *FeeLine) Refund() bool { return l.Qty < 0 }

// FeeResult is what the platform returns for one fee line of 2301 (node
// result), as a hospital system stores it beside the line.
type FeeResult struct {
	// PriceCap is the price cap (pric_uplmt_amt); zero means none.
	PriceCap Price
	// SelfPayRatio is the patient's share (selfpay_prop).
	SelfPayRatio Ratio
	// OwnPay is the amount paid wholly by the patient
	// (fulamt_ownpay_amt), in fen.
	OwnPay master.Amount
	// OverCap is the amount above the price cap (overlmt_amt), in fen.
	OverCap master.Amount
	// PreSelfPay is the amount the patient pays first (preselfpay_amt).
	PreSelfPay master.Amount
	// InScope is the amount within the policy's scope (inscp_scp_amt).
	InScope master.Amount
	// ChargeLevel (chrgitm_lv) and ChargeType (med_chrgitm_type) are the
	// platform's codes for the item's charge level and category.
	ChargeLevel, ChargeType string
}
