package udid

import (
	"strings"
	"time"
)

// Device is one UDID record: one product identified by the DI of its
// minimum sales unit, as the NMPA publishes it. Fields hold the values
// as found, trimmed of surrounding white space; a field absent from the
// record is left at its zero value. The XML element or JSON key each
// field comes from is named in brackets.
type Device struct {
	// RecordKey is the database's key of this record version
	// [deviceRecordKey]; a JSON page joins its packing and storage rows
	// to devices by it.
	RecordKey string

	// DI is the device identifier of the minimum sales unit
	// [zxxsdycpbs] (最小销售单元产品标识): a GTIN for GS1, the DI with its
	// check character for MA. Always set.
	DI string
	// Coding is the coding system of the DIs [cpbsbmtxmc], CodingName the
	// name as found ("GS1", "MA码（IDcode）", ...).
	Coding     CodingSystem
	CodingName string
	// UseUnitDI is the DI of the use unit [sydycpbs] and UseUnits the
	// number of use units in a sales unit [zxxsdyzsydydsl], 0 if not
	// given.
	UseUnitDI string
	UseUnits  int
	// Carriers are the data carriers the label uses [bszt].
	Carriers Carriers

	// GenericName is the product or generic name [cpmctymc], TradeName
	// the trade name [spmc], Model the specification or model [ggxh].
	GenericName string
	TradeName   string
	Model       string
	// Registrant is the registrant or filer [ylqxzcrbarmc]
	// (注册人/备案人).
	Registrant string
	// Registrations are the registration certificate or filing numbers
	// [zczbhhzbapzbh], in the order given (the field may list several,
	// separated by commas or semicolons).
	Registrations []string
	// InsuranceCode is the medical-insurance consumable code [ybbm], as
	// found.
	InsuranceCode string
	// Category says whether the product is a consumable or equipment
	// [cplb].
	Category Category

	// SingleUse is whether the product is marked single use
	// [sfbjwycxsy]; Sterile whether it is supplied in sterile packaging
	// [sfwwjbz] (是否为无菌包装).
	SingleUse Flag
	Sterile   Flag
	// LabelLot, LabelSerial, LabelProduction and LabelExpiry say whether
	// the production identifier on the label carries a lot [scbssfbhph],
	// a serial [scbssfbhxlh], a production date [scbssfbhscrq] and an
	// expiry date [scbssfbhsxrq].
	LabelLot        Flag
	LabelSerial     Flag
	LabelProduction Flag
	LabelExpiry     Flag

	// Published is the date the DI was published [cpbsfbrq]; Withdrawn
	// the date the product was withdrawn from the market [tsrq]. Zero
	// when not given. A date without a time is midnight UTC; a time is
	// kept as given, in UTC unless the value names a zone.
	Published time.Time
	Withdrawn time.Time
	// Status is the identifier's data status [bssjzt], as found.
	Status string
	// Version is the public version number [versionNumber], 0 if not
	// given; VersionTime its date [versionTime]; VersionStatus its state
	// [versionStauts in the XML download, versionStatus in the API]:
	// "新增" (added), "更新" (updated), ...
	Version       int
	VersionTime   time.Time
	VersionStatus string

	// Packing lists the packaging levels above the sales unit
	// [packingList/packing, packingInfo].
	Packing []Packing
	// Storage lists the storage or handling conditions
	// [storageList/storage, storageInfo].
	Storage []Storage
}

// Packing is one packaging level of a device.
type Packing struct {
	// DI is the package's DI [bzcpbs].
	DI string
	// ContainsDI is the DI of the next lower level the package contains
	// [bznhxyjbzcpbs], and Quantity how many of them [bznhxyjcpbssl], 0
	// if not given.
	ContainsDI string
	Quantity   int
	// Level is the packaging level as found [cpbzjb]: a name such as
	// "箱" or "盒", or a number.
	Level string
}

// Storage is one storage or handling condition of a device.
type Storage struct {
	// Condition is the kind of condition [cchcztj]: "温度", "湿度", ...
	Condition string
	// Min and Max are the lower and upper bounds as found [zdz, zgz],
	// Unit their unit [jldw]. They are text: a bound may be a decimal
	// number, and is never passed through a float here.
	Min, Max string
	Unit     string
}

// CodingSystem is the UDI coding system a device's DIs follow.
type CodingSystem uint8

// Coding systems. CodingUnknown means the record does not say;
// CodingOther that it names a system this package does not know
// (Device.CodingName holds the name).
const (
	CodingUnknown CodingSystem = iota
	CodingGS1
	CodingMA
	CodingAHM
	CodingHIBC
	CodingOther
)

// String returns the system's short name: "GS1", "MA", "AHM", "HIBC",
// "other" or "".
func (c CodingSystem) String() string {
	switch c {
	case CodingGS1:
		return "GS1"
	case CodingMA:
		return "MA"
	case CodingAHM:
		return "AHM"
	case CodingHIBC:
		return "HIBC"
	case CodingOther:
		return "other"
	}
	return ""
}

// parseCoding normalises a coding system name: "GS1", "MA码（IDcode）",
// "MA码", "IDcode", "AHM", "阿里健康码", "HIBC", in any case.
func parseCoding(s string) CodingSystem {
	if s == "" {
		return CodingUnknown
	}
	u := strings.ToUpper(s)
	switch {
	case strings.HasPrefix(u, "GS1"):
		return CodingGS1
	case strings.HasPrefix(u, "MA") || strings.Contains(u, "IDCODE"):
		return CodingMA
	case strings.HasPrefix(u, "AHM") || strings.Contains(u, "阿里"):
		return CodingAHM
	case strings.HasPrefix(u, "HIBC"):
		return CodingHIBC
	}
	return CodingOther
}

// Carriers is a set of data carriers (标识载体).
type Carriers uint8

// Data carriers, as bszt numbers them: 1 linear barcode, 2 2D code,
// 3 RFID, 4 other.
const (
	CarrierLinear Carriers = 1 << iota
	Carrier2D
	CarrierRFID
	CarrierOther
)

// Has reports whether s holds every carrier of c.
func (s Carriers) Has(c Carriers) bool { return s&c == c }

// String lists the carriers: "linear,2D,RFID,other" or "".
func (s Carriers) String() string {
	var parts []string
	for _, c := range []struct {
		c    Carriers
		name string
	}{{CarrierLinear, "linear"}, {Carrier2D, "2D"}, {CarrierRFID, "RFID"}, {CarrierOther, "other"}} {
		if s.Has(c.c) {
			parts = append(parts, c.name)
		}
	}
	return strings.Join(parts, ",")
}

// parseCarriers reads bszt: numbers or names separated by commas,
// semicolons, 、 or spaces. It returns the offending token on failure.
func parseCarriers(s string) (Carriers, string) {
	var set Carriers
	for _, tok := range splitList(s, true) {
		switch strings.ToUpper(tok) {
		case "1", "一维码", "一维条码", "条形码", "条码":
			set |= CarrierLinear
		case "2", "二维码", "二维条码":
			set |= Carrier2D
		case "3", "RFID", "射频识别", "射频标签", "RFID标签":
			set |= CarrierRFID
		case "4", "其他", "其它":
			set |= CarrierOther
		default:
			return 0, tok
		}
	}
	return set, ""
}

// Category says whether a product is a consumable or equipment (cplb).
type Category uint8

// Categories. CategoryUnknown means the record does not say.
const (
	CategoryUnknown Category = iota
	CategoryConsumable
	CategoryEquipment
)

// String returns "consumable", "equipment" or "".
func (c Category) String() string {
	switch c {
	case CategoryConsumable:
		return "consumable"
	case CategoryEquipment:
		return "equipment"
	}
	return ""
}

// parseCategory reads cplb: "耗材" or 0, "设备" or 1 (the API's numbers).
func parseCategory(s string) (Category, bool) {
	switch s {
	case "耗材", "0":
		return CategoryConsumable, true
	case "设备", "1":
		return CategoryEquipment, true
	}
	return CategoryUnknown, false
}

// Flag is a yes/no field that may be absent.
type Flag uint8

// Flag values. Unset means the record does not say.
const (
	Unset Flag = iota
	No
	Yes
)

// String returns "yes", "no" or "".
func (f Flag) String() string {
	switch f {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return ""
}

// parseFlag reads 是/否, 1/0 and true/false (any case).
func parseFlag(s string) (Flag, bool) {
	switch s {
	case "是", "1":
		return Yes, true
	case "否", "0":
		return No, true
	}
	switch strings.ToLower(s) {
	case "true":
		return Yes, true
	case "false":
		return No, true
	}
	return Unset, false
}

// splitList splits a list field at commas, semicolons and 、 (ASCII or
// full width) and line breaks, and at spaces too when spaces is set,
// dropping empty items.
func splitList(s string, spaces bool) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ',', '，', ';', '；', '、', '\n', '\r':
			return true
		case ' ', '\t', '\u3000':
			return spaces
		}
		return false
	})
	out := f[:0]
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
