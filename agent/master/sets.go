package master

import (
	"io"
	"strings"
)

// Catalogue columns.
const (
	catGTIN = iota
	catHIBC
	catName
	catModel
	catManufacturer
	catRegistration
	catInsurance
	catCharge
	catPrice
	catHighValue
	catImported
	catTracking
	catGeneric
	catPackageOf
	catPackageQty
	catUseUnit
	catUseUnits
	catLabel
	catRFID
	catSingleUse
	catSterile
	catStorage
	catWithdrawn
	catImplant
	catIntervention
	catRestriction
	catProcurement
	catPriceCap
	catAgreedVolume
	catOutsideDRG
	catSupplier
	catConsigned
	catLeadDays
)

var catalogueSchema = &schema{
	what: "catalogue",
	cols: []column{
		catGTIN:         {name: "gtin", aliases: []string{"di", "udi_di", "产品标识", "最小销售单元产品标识"}},
		catHIBC:         {name: "hibc"},
		catName:         {name: "name", aliases: []string{"名称", "产品名称", "耗材名称"}, required: true},
		catModel:        {name: "model", aliases: []string{"spec", "规格型号", "型号规格", "规格"}},
		catManufacturer: {name: "manufacturer", aliases: []string{"生产企业", "生产厂家"}},
		catRegistration: {name: "registration", aliases: []string{"注册证号", "注册证编号"}},
		catInsurance:    {name: "insurance_code", aliases: []string{"医保编码", "医保耗材编码", "医保耗材代码"}},
		catCharge:       {name: "charge_code", aliases: []string{"收费编码", "收费代码"}},
		catPrice:        {name: "unit_price", aliases: []string{"price", "单价"}, required: true},
		catHighValue:    {name: "high_value", aliases: []string{"高值", "高值耗材"}},
		catImported:     {name: "imported", aliases: []string{"进口"}},
		catTracking:     {name: "tracking", aliases: []string{"追溯方式"}},
		catGeneric:      {name: "generic_name", aliases: []string{"通用名称", "通用名", "产品通用名称"}},
		catPackageOf:    {name: "package_of", aliases: []string{"包装内含产品标识", "内含产品标识", "包装内含小一级包装产品标识"}},
		catPackageQty:   {name: "package_quantity", aliases: []string{"包装内含数量", "内含数量", "包装内含小一级产品标识数量"}},
		catUseUnit:      {name: "use_unit", aliases: []string{"使用单元产品标识"}},
		catUseUnits:     {name: "use_units", aliases: []string{"使用单元数量", "最小销售单元中使用单元的数量"}},
		catLabel:        {name: "label", aliases: []string{"生产标识", "标签生产标识"}, list: true},
		catRFID:         {name: "rfid", aliases: []string{"RFID", "射频标签"}},
		catSingleUse:    {name: "single_use", aliases: []string{"一次性使用", "是否一次性使用"}},
		catSterile:      {name: "sterile", aliases: []string{"无菌", "无菌包装"}},
		catStorage:      {name: "storage", aliases: []string{"储存条件", "储运条件"}},
		catWithdrawn:    {name: "withdrawn", aliases: []string{"退市日期"}},
		catImplant:      {name: "implant", aliases: []string{"植入", "植入类"}},
		catIntervention: {name: "intervention", aliases: []string{"介入", "介入类"}},
		catRestriction:  {name: "restriction", aliases: []string{"限用范围", "医保限用范围"}},
		catProcurement:  {name: "procurement", aliases: []string{"集采", "集采中选"}},
		catPriceCap:     {name: "price_cap", aliases: []string{"限价", "支付标准", "最高限价"}},
		catAgreedVolume: {name: "agreed_volume", aliases: []string{"约定采购量"}},
		catOutsideDRG:   {name: "outside_drg", aliases: []string{"除外支付"}},
		catSupplier:     {name: "supplier", aliases: []string{"供应商", "配送企业"}},
		catConsigned:    {name: "consigned", aliases: []string{"寄售", "是否寄售"}},
		catLeadDays:     {name: "lead_days", aliases: []string{"供货周期", "供货天数"}},
	},
	anyOf: []int{catGTIN, catHIBC},
}

// ParseCatalogue reads a catalogue file, format opt.Format, "csv" or
// "json" (see firmware-notes/master-data.md for the columns), in the
// encoding opt.Encoding names or the one detected. It returns the
// entries and a Report: the encoding and, with opt.Partial, one RowError
// per problem of the bad rows, which are left out. It returns no entries
// and an error for a file that cannot be read as a whole: a read error,
// an unknown format (ErrFormat), a file too large (ErrTooLarge) or in an
// encoding it cannot read (ErrEncoding), a CSV header that lacks a
// required column or names an unknown one (ErrHeader), a file that is not
// a JSON array (ErrFormat); a file with a bad row and without
// opt.Partial, or with no good row (*BadRowsError, ErrBadRows); a file
// with no rows without opt.AllowEmpty (ErrEmpty).
func ParseCatalogue(r io.Reader, opt ImportOptions) ([]CatalogueEntry, Report, error) {
	s, rep, err := parseSet("catalogue", r, opt)
	return s.cat.entries(), rep, err
}

func buildCatalogue(r *row) (CatalogueEntry, bool) {
	e := CatalogueEntry{
		GTIN:          r.get(catGTIN),
		HIBC:          r.get(catHIBC),
		Name:          r.get(catName),
		Model:         r.get(catModel),
		Manufacturer:  r.get(catManufacturer),
		Registration:  r.get(catRegistration),
		InsuranceCode: r.get(catInsurance),
		ChargeCode:    r.get(catCharge),
	}
	e.UnitPrice = parseAmountCol(r.get(catPrice), false, r.report, "unit_price")
	e.HighValue = parseBool(r.get(catHighValue), r.report, "high_value")
	e.Imported = parseBool(r.get(catImported), r.report, "imported")
	def := TrackLot
	if e.HighValue {
		def = TrackSerial
	}
	e.Label = parseLabel(r.get(catLabel), r.report, "label")
	if e.Label&LabelSerial != 0 {
		def = TrackSerial
	}
	e.Tracking = parseTracking(r.get(catTracking), def, r.report, "tracking")
	e.GenericName, e.PackageOf, e.UseUnit = r.get(catGeneric), r.get(catPackageOf), r.get(catUseUnit)
	e.PackageQuantity = parseUnits(r.get(catPackageQty), r.report, "package_quantity")
	e.UseUnits = parseUnits(r.get(catUseUnits), r.report, "use_units")
	e.RFID = parseBool(r.get(catRFID), r.report, "rfid")
	e.SingleUse = parseBool(r.get(catSingleUse), r.report, "single_use")
	e.Sterile = parseBool(r.get(catSterile), r.report, "sterile")
	e.Storage, e.Restriction, e.Supplier = r.get(catStorage), r.get(catRestriction), r.get(catSupplier)
	e.Withdrawn = parseDay(r.get(catWithdrawn), r.report, "withdrawn")
	e.Implant = parseBool(r.get(catImplant), r.report, "implant")
	e.Intervention = parseBool(r.get(catIntervention), r.report, "intervention")
	e.Procurement = parseBool(r.get(catProcurement), r.report, "procurement")
	if v := r.get(catPriceCap); v != "" {
		e.PriceCap = parseAmountCol(v, false, r.report, "price_cap")
	}
	e.AgreedVolume = parseUnits(r.get(catAgreedVolume), r.report, "agreed_volume")
	e.OutsideDRG = parseBool(r.get(catOutsideDRG), r.report, "outside_drg")
	e.Consigned = parseBool(r.get(catConsigned), r.report, "consigned")
	e.LeadDays = parseUnits(r.get(catLeadDays), r.report, "lead_days")
	e.normalize(r.report)
	return e, true
}

// normalize checks e and pads its GTIN, reporting every problem.
func (e *CatalogueEntry) normalize(report reporter) {
	checkProduct(&e.GTIN, &e.HIBC, true, report)
	e.Name, e.Model, e.Manufacturer = oneLine(e.Name), oneLine(e.Model), oneLine(e.Manufacturer)
	checkText(e.Name, maxText, true, report, "name")
	checkText(e.Model, maxText, false, report, "model")
	checkText(e.Manufacturer, maxText, false, report, "manufacturer")
	checkText(e.Registration, maxCode, false, report, "registration")
	e.InsuranceCode = checkInsurance(e.InsuranceCode, report, "insurance_code")
	checkText(e.ChargeCode, maxCode, false, report, "charge_code")
	if e.UnitPrice < 0 {
		report("unit_price", "is negative")
	}
	e.GenericName, e.Storage, e.Restriction, e.Supplier = oneLine(e.GenericName), oneLine(e.Storage), oneLine(e.Restriction), oneLine(e.Supplier)
	checkText(e.GenericName, maxText, false, report, "generic_name")
	checkText(e.Storage, maxText, false, report, "storage")
	checkText(e.Restriction, maxText, false, report, "restriction")
	checkText(e.Supplier, maxText, false, report, "supplier")
	if e.Consigned && e.Supplier == "" {
		report("supplier", "is empty, but the product is consigned: name the supplier who owns it")
	}
	e.PackageOf = checkDI(e.PackageOf, report, "package_of")
	e.UseUnit = checkDI(e.UseUnit, report, "use_unit")
	switch {
	case e.PackageOf != "" && e.PackageQuantity == 0:
		report("package_quantity", "missing: a package names how many units of package_of it holds")
	case e.PackageOf == "" && e.PackageQuantity != 0:
		report("package_of", "missing: package_quantity says how many units of the product it names")
	case e.PackageOf != "" && (e.PackageOf == e.GTIN || e.PackageOf == e.HIBC):
		report("package_of", "names the product itself")
	}
	if e.PriceCap < 0 {
		report("price_cap", "is negative")
	}
	if e.Tracking != TrackSerial && e.Tracking != TrackLot {
		report("tracking", quote(string(e.Tracking))+" is not a tracking mode (serial or lot)")
	}
}

// Recall columns.
const (
	recGTIN = iota
	recHIBC
	recLots
	recSerials
	recReason
	recDate
)

var recallSchema = &schema{
	what: "recalls",
	cols: []column{
		recGTIN:    {name: "gtin", aliases: []string{"di", "udi_di", "产品标识"}},
		recHIBC:    {name: "hibc"},
		recLots:    {name: "lots", aliases: []string{"lot", "批号"}, list: true},
		recSerials: {name: "serials", aliases: []string{"serial", "序列号"}, list: true},
		recReason:  {name: "reason", aliases: []string{"召回原因", "原因"}, required: true},
		recDate:    {name: "date", aliases: []string{"召回日期", "日期"}},
	},
	anyOf: []int{recGTIN, recHIBC},
}

// ParseRecalls reads a recalls file; options, results and errors as for
// ParseCatalogue. A row with neither lots nor serials recalls every item
// of its product.
func ParseRecalls(r io.Reader, opt ImportOptions) ([]Recall, Report, error) {
	s, rep, err := parseSet("recalls", r, opt)
	return s.recalls, rep, err
}

func buildRecall(r *row) (Recall, bool) {
	rc := Recall{
		GTIN:    r.get(recGTIN),
		HIBC:    r.get(recHIBC),
		Lots:    splitList(r.get(recLots)),
		Serials: splitList(r.get(recSerials)),
		Reason:  r.get(recReason),
		Date:    r.get(recDate),
	}
	rc.normalize(r.report)
	return rc, true
}

func (rc *Recall) normalize(report reporter) {
	checkProduct(&rc.GTIN, &rc.HIBC, false, report)
	for _, l := range rc.Lots {
		checkLot(l, true, report, "lots")
	}
	for _, s := range rc.Serials {
		checkLot(s, true, report, "serials")
	}
	rc.Reason = oneLine(rc.Reason)
	checkText(rc.Reason, maxText, true, report, "reason")
	rc.Date = normDate(rc.Date, report, "date")
}

// Lot status columns.
const (
	lotGTIN = iota
	lotHIBC
	lotLot
	lotStatus
)

var lotSchema = &schema{
	what: "lot statuses",
	cols: []column{
		lotGTIN:   {name: "gtin", aliases: []string{"di", "udi_di", "产品标识"}},
		lotHIBC:   {name: "hibc"},
		lotLot:    {name: "lot", aliases: []string{"批号"}, required: true},
		lotStatus: {name: "status", aliases: []string{"状态"}, required: true},
	},
	anyOf: []int{lotGTIN, lotHIBC},
}

// ParseLotStatuses reads a lot status file; options, results and errors
// as for ParseCatalogue.
func ParseLotStatuses(r io.Reader, opt ImportOptions) ([]LotStatus, Report, error) {
	s, rep, err := parseSet("lots", r, opt)
	return s.lots, rep, err
}

func buildLotStatus(r *row) (LotStatus, bool) {
	s := LotStatus{GTIN: r.get(lotGTIN), HIBC: r.get(lotHIBC), Lot: r.get(lotLot)}
	s.Status = parseStatus(r.get(lotStatus))
	s.normalize(r.report)
	return s, true
}

func (s *LotStatus) normalize(report reporter) {
	checkProduct(&s.GTIN, &s.HIBC, false, report)
	checkLot(s.Lot, true, report, "lot")
	switch s.Status {
	case StatusApproved, StatusOnHold, StatusRecalled, StatusQuarantined, StatusExpired:
	case "":
		report("status", "missing")
	default:
		report("status", quote(string(s.Status))+" is not a lot status (approved, on-hold, recalled, quarantined or expired)")
	}
}

// Settlement columns.
const (
	setID = iota
	setPatient
	setCase
	setInsurance
	setItem
	setGTIN
	setLot
	setQuantity
	setAmount
)

var settlementSchema = &schema{
	what: "settlements",
	cols: []column{
		setID:        {name: "id", aliases: []string{"结算明细id", "结算单号"}, required: true},
		setPatient:   {name: "patient", aliases: []string{"患者id", "病人id", "患者"}, required: true, private: true},
		setCase:      {name: "case", aliases: []string{"case_id", "病例号", "住院号"}, required: true, private: true},
		setInsurance: {name: "insurance_code", aliases: []string{"医保编码", "医保耗材编码", "医保耗材代码"}},
		setItem:      {name: "item", aliases: []string{"item_key", "唯一码", "追溯码"}},
		setGTIN:      {name: "gtin", aliases: []string{"di", "udi_di", "产品标识"}},
		setLot:       {name: "lot", aliases: []string{"批号"}},
		setQuantity:  {name: "quantity", aliases: []string{"qty", "数量"}},
		setAmount:    {name: "amount", aliases: []string{"金额"}, required: true},
	},
	anyOf: []int{setItem, setGTIN},
}

// ParseSettlements reads a settlement file; options, results and errors
// as for ParseCatalogue. Errors about the patient and case columns never
// quote the value.
func ParseSettlements(r io.Reader, opt ImportOptions) ([]Settlement, Report, error) {
	s, rep, err := parseSet("settlements", r, opt)
	return s.settlements, rep, err
}

func buildSettlement(r *row) (Settlement, bool) {
	s := Settlement{
		ID:            r.get(setID),
		Patient:       r.get(setPatient),
		Case:          r.get(setCase),
		InsuranceCode: r.get(setInsurance),
		Item:          r.get(setItem),
		GTIN:          r.get(setGTIN),
		Lot:           r.get(setLot),
	}
	s.Quantity = parseQuantity(r.get(setQuantity), r.report, "quantity")
	s.Amount = parseAmountCol(r.get(setAmount), true, r.report, "amount")
	s.normalize(r.report)
	return s, true
}

// fileKey is the settlement line's id: one file gives each line once.
func (s *Settlement) fileKey() (string, string, string) {
	return s.ID, "settlement line " + quote(s.ID), "id"
}

func (s *Settlement) normalize(report reporter) {
	checkText(s.ID, maxCode, true, report, "id")
	checkPrivate(s.Patient, report, "patient")
	checkPrivate(s.Case, report, "case")
	s.InsuranceCode = checkInsurance(s.InsuranceCode, report, "insurance_code")
	if s.Item == "" && s.GTIN == "" {
		report("item", "missing: give an item code, or a gtin and lot")
	}
	key, gtin, lot := normItem(s.Item, report, "item")
	s.Item = key
	s.GTIN = normGTIN(s.GTIN, report, "gtin")
	checkLot(s.Lot, false, report, "lot")
	if s.Item != "" && gtin != "" {
		switch {
		case s.GTIN == "":
			s.GTIN = gtin
		case s.GTIN != gtin:
			report("gtin", quote(s.GTIN)+" is not the GTIN of the item, "+gtin)
		}
	}
	if s.Item != "" && lot != "" {
		switch {
		case s.Lot == "":
			s.Lot = lot
		case s.Lot != lot:
			report("lot", quote(s.Lot)+" is not the lot of the item, "+quote(lot))
		}
	}
	if s.Quantity == 0 {
		report("quantity", "is zero")
	}
}

// checkPrivate checks a value that may identify a person, without ever
// quoting it.
func checkPrivate(v string, report reporter, col string) {
	checkText(v, maxCode, true, func(col, reason string) {
		if strings.HasPrefix(reason, "\"") {
			reason = "holds a control character"
		}
		report(col, reason)
	}, col)
}
