package nhsa

import (
	"io"
	"strconv"
	"strings"
)

// Spec is one row of a code release workbook (the NHSA's "全量规格型号信息"
// sheets, one per first-level class, saved as CSV): one single product or
// specification-model with its 27-character code, the code it replaces
// and its UDI-DIs.
type Spec struct {
	// Line is the line of the file the row starts on.
	Line int
	// GoodsID is the release's identifier of the row (GOODS_ID).
	GoodsID string
	// UDIDI are the device identifiers the row gives (UDI), as
	// Item.UDIDI.
	UDIDI []string
	// OldCode is the code this one replaces (原27位码), "" when none.
	OldCode Code
	// OldStatus is the old code's status (原码状态; 保留, kept, in the
	// releases seen).
	OldStatus string
	// Code is the 27-character code (27位码).
	Code Code
	// Type is the kind of entry (类型; 保留 or 新增 in the releases seen).
	Type string
	// Levels are the three classification levels as labelled
	// (一级分类, 二级分类, 三级分类: "09-体外循环材料").
	Levels [3]string
	// GenericCategory is the generic name class as labelled (医保通用名分
	// 类: "010-管路类").
	GenericCategory string
	// Material is the material as labelled (材质: "00-不区分").
	Material string
	// Feature is the feature as labelled (特征: "000-常规").
	Feature string
	// Registration is the registration or filing number (注册备案号).
	Registration string
	// ProductName is the single product's name (单件产品名称).
	ProductName string
	// Manufacturer is the manufacturer (耗材企业).
	Manufacturer string
	// Spec is the specification (规格).
	Spec string
	// Model is the model (型号).
	Model string
	// GenericNameCode is the insurance generic name number (医保通用名编号).
	GenericNameCode string
	// GenericName is the insurance generic name (医保通用名).
	GenericName string
}

// The columns of the workbook, in the order of specSchema.
const (
	spGoodsID = iota
	spUDI
	spOldCode
	spOldStatus
	spCode
	spType
	spShort
	spLevel1
	spLevel2
	spLevel3
	spGeneric
	spMaterial
	spFeature
	spRegistration
	spProductName
	spManufacturer
	spSpec
	spModel
	spGenericCode
	spGenericName
)

var specSchema = newSchema("code release workbook", nil,
	column{key: "goods_id", aliases: []string{"GOODS_ID", "商品ID"}},
	column{key: "udi_di", aliases: []string{"UDI", "UDI-DI", "医疗器械唯一标识码", "产品标识"}},
	column{key: "old_code", aliases: []string{"原27位码", "原码"}},
	column{key: "old_status", aliases: []string{"原码状态"}},
	column{key: "code", required: true, aliases: []string{"27位码", "医保医用耗材代码", "医保耗材代码", "耗材代码"}},
	column{key: "type", aliases: []string{"类型"}},
	column{key: "short_code", aliases: []string{"20位码"}},
	column{key: "level_1", aliases: []string{"一级分类"}},
	column{key: "level_2", aliases: []string{"二级分类"}},
	column{key: "level_3", aliases: []string{"三级分类"}},
	column{key: "generic_category", aliases: []string{"医保通用名分类", "通用名分类"}},
	column{key: "material", aliases: []string{"材质"}},
	column{key: "feature", aliases: []string{"特征"}},
	column{key: "registration", aliases: []string{"注册备案号", "注册证号"}},
	column{key: "product_name", aliases: []string{"单件产品名称", "产品名称"}},
	column{key: "manufacturer", aliases: []string{"耗材企业", "生产企业", "生产企业名称", "企业名称"}},
	column{key: "spec", aliases: []string{"规格"}},
	column{key: "model", aliases: []string{"型号"}},
	column{key: "generic_name_code", aliases: []string{"医保通用名编号", "医保通用名代码"}},
	column{key: "generic_name", aliases: []string{"医保通用名"}},
)

// ReadSpecs reads a code release workbook saved as CSV (or tab-separated
// text) row by row and passes each good row to fn as a Spec; name is the
// file's name, for messages. It reads as ReadCatalogue reads (encodings,
// quoting, bounded memory, opt, and the file refused whole on a bad row
// unless opt.SkipBadRows), with a header naming at least the code column
// (27位码).
//
// Rows: 27位码 must be a 27-character code; 原27位码, when given, a code;
// 20位码, when given, the first 20 characters of 27位码. A label that
// starts with digits and "-" (一级分类 "09-体外循环材料", 医保通用名分类,
// 材质, 特征) must have the digits of its part of the code: level 1 the
// code's characters 2-3, level 2 4-5, level 3 6-7, the generic name class
// 8-10, material 11-12, feature 13-15. The UDI cell is read as
// ReadCatalogue reads it.
func ReadSpecs(r io.Reader, name string, opt Options, fn func(Spec) error) (Summary, error) {
	return readTable(r, name, specSchema, opt, buildSpec, fn)
}

// buildSpec builds the Spec of a row.
func buildSpec(r *row) Spec {
	s := Spec{
		Line:            r.line,
		GoodsID:         r.get(spGoodsID),
		UDIDI:           r.dis(spUDI),
		OldCode:         r.code(spOldCode, false),
		OldStatus:       r.get(spOldStatus),
		Code:            r.code(spCode, true),
		Type:            r.get(spType),
		Levels:          [3]string{r.get(spLevel1), r.get(spLevel2), r.get(spLevel3)},
		GenericCategory: r.get(spGeneric),
		Material:        r.get(spMaterial),
		Feature:         r.get(spFeature),
		Registration:    r.get(spRegistration),
		ProductName:     r.get(spProductName),
		Manufacturer:    r.get(spManufacturer),
		Spec:            r.get(spSpec),
		Model:           r.get(spModel),
		GenericNameCode: r.get(spGenericCode),
		GenericName:     r.get(spGenericName),
	}
	if s.Code == "" {
		return s
	}
	if s.Code.Len() != LongLen {
		r.fail(spCode, string(s.Code)+" has 20 characters; this column holds 27-character codes", nil)
		return s
	}
	if short := r.raw(spShort); short != "" {
		if c, err := ParseCode(short); err != nil || c != s.Code.Short() {
			r.fail(spShort, strconv.Quote(short)+" is not the first 20 characters of the 27-character code "+string(s.Code), err)
		}
	}
	levels := s.Code.Levels()
	for i, k := range [...]int{spLevel1, spLevel2, spLevel3} {
		r.label(k, s.Levels[i], levels[i])
	}
	r.label(spGeneric, s.GenericCategory, s.Code.GenericName())
	r.label(spMaterial, s.Material, s.Code.Material())
	r.label(spFeature, s.Feature, s.Code.Feature())
	return s
}

// label checks a label of column k ("09-体外循环材料") against the digits
// of its part of the code, want: a label that starts with digits and a
// dash must start with want. Other labels are not checked.
func (r *row) label(k int, label, want string) {
	v := narrow(label)
	i := strings.IndexByte(v, '-')
	if i <= 0 || !allDigits(v[:i]) {
		return
	}
	if v[:i] != want {
		r.fail(k, strconv.Quote(label)+" is labelled "+v[:i]+", but the code has "+want+" there", nil)
	}
}
