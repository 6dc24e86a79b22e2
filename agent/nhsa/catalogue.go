package nhsa

import (
	"io"
	"strconv"
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Flag is a yes/no column of a file, which may also be empty.
type Flag int8

// The values of a Flag.
const (
	// FlagUnset means the file says nothing: the cell is empty, or the
	// file has no such column (Summary.Missing says which).
	FlagUnset Flag = iota
	// FlagNo is written 0, 否 or N.
	FlagNo
	// FlagYes is written 1, 是 or Y.
	FlagYes
)

// Yes reports whether f is FlagYes.
func (f Flag) Yes() bool { return f == FlagYes }

// String returns "yes", "no" or "unset".
func (f Flag) String() string {
	switch f {
	case FlagYes:
		return "yes"
	case FlagNo:
		return "no"
	}
	return "unset"
}

// parseFlag reads a flag cell: 1/0, 是/否, Y/N (either case), or empty.
func parseFlag(v string) (Flag, bool) {
	switch v {
	case "":
		return FlagUnset, true
	case "1", "是", "Y", "y":
		return FlagYes, true
	case "0", "否", "N", "n":
		return FlagNo, true
	}
	return FlagUnset, false
}

// Item is one row of the NHSA consumables catalogue (interface 1306, 医用
// 耗材目录): one national code with what the catalogue says of it.
type Item struct {
	// Line is the line of the file the row starts on.
	Line int
	// Code is the national code (医疗目录编码, med_list_codg), 27
	// characters in current releases, 20 in old ones.
	Code Code
	// Name is the consumable's name (耗材名称).
	Name string
	// UDIDI are the device identifiers the row gives (医疗器械唯一标识码),
	// in the order given, without repeats; none when the cell is empty.
	UDIDI []string
	// GenericNameCode is the insurance generic name code (医保通用名代码,
	// also headed 通用名编号), as written.
	GenericNameCode string
	// GenericName is the insurance generic name (医保通用名).
	GenericName string
	// SpecModel is the specification and model (规格型号).
	SpecModel string
	// Restricted is the restricted-use flag (限制使用标志).
	Restricted Flag
	// RestrictionScope is the insurance restriction on use (医保限用范围).
	RestrictionScope string
	// HighValue is the high-value consumable flag (高值耗材标志).
	HighValue Flag
	// Implant is the implant material and human organ flag (植入材料和人
	// 体器官标志).
	Implant Flag
	// ImplantOrIntervention is the implant or interventional class flag
	// (植入或介入类标志).
	ImplantOrIntervention Flag
	// SingleUse is the single-use flag (一次性使用标志).
	SingleUse Flag
	// Registration is the registration or filing number (注册备案号).
	Registration string
	// Registrant is the registrant or filer (注册备案人名称).
	Registrant string
	// Manufacturer is the manufacturer (生产企业名称).
	Manufacturer string
	// Valid is the valid flag (有效标志): FlagNo for a row the NHSA has
	// withdrawn.
	Valid Flag
	// RecordID is the catalogue's unique record number (唯一记录号).
	RecordID string
	// Version is the catalogue version number (版本号).
	Version string
	// VersionName is the catalogue version's name (版本名称).
	VersionName string
}

// The columns of the catalogue, in the order of catalogueSchema.
const (
	catCode = iota
	catName
	catUDI
	catGenericCode
	catGenericName
	catSpecModel
	catRestricted
	catScope
	catHighValue
	catImplant
	catIntervention
	catSingleUse
	catRegistration
	catRegistrant
	catManufacturer
	catValid
	catRecordID
	catVersion
	catVersionName
)

// layout1306 names the 71 columns of interface 1306's download file, in
// order, as the interface names them. A file without a header row is read
// by these positions (see ReadCatalogue).
var layout1306 = [...]string{
	"医疗目录编码", "耗材名称", "医疗器械唯一标识码", "医保通用名代码", "医保通用名",
	"产品型号", "规格代码", "规格", "耗材分类", "规格型号",
	"材质代码", "耗材材质", "包装规格", "包装数量", "产品包装材质",
	"包装单位", "产品转换比", "最小使用单位", "生产地类别", "生产地类别名称",
	"产品标准", "产品有效期", "性能结构与组成", "适用范围", "产品使用方法",
	"产品图片编号", "产品质量标准", "说明书", "其他证明材料", "专机专用标志",
	"专机名称", "组套名称", "机套标志", "限制使用标志", "医保限用范围",
	"最小销售单位", "高值耗材标志", "医用材料分类代码", "植入材料和人体器官标志", "灭菌标志",
	"灭菌标志名称", "植入或介入类标志", "植入或介入类名称", "一次性使用标志", "一次性使用标志名称",
	"注册备案人名称", "开始日期", "结束日期", "医疗器械管理类别", "医疗器械管理类别名称",
	"注册备案号", "注册备案产品名称", "结构及组成", "其他内容", "批准日期",
	"注册备案人住所", "注册证有效期开始时间", "注册证有效期结束时间", "生产企业编号", "生产企业名称",
	"生产地址", "代理人企业", "代理人企业地址", "生产国或地区", "售后服务机构",
	"注册或备案证电子档案", "产品影像", "有效标志", "唯一记录号", "版本号",
	"版本名称",
}

// catalogueSchema is the catalogue's columns: Chinese names first, then
// the interface's English names (as integrations spell them) and the
// pinyin initials some exports use.
var catalogueSchema = newSchema("1306 catalogue", layout1306[:],
	column{key: "code", required: true, aliases: []string{"医疗目录编码", "医保目录编码", "医保耗材代码", "医保耗材编码", "医保医用耗材代码", "耗材代码", "med_list_codg", "ylmlbm"}},
	column{key: "name", required: true, aliases: []string{"耗材名称", "mcs_name", "hcmc"}},
	column{key: "udi_di", aliases: []string{"医疗器械唯一标识码", "UDI", "UDI-DI", "产品标识", "ylqxwybsm"}},
	column{key: "generic_name_code", aliases: []string{"医保通用名代码", "通用名编号", "医保通用名编号", "通用名代码", "hi_genname_code", "ybtymdm"}},
	column{key: "generic_name", aliases: []string{"医保通用名", "hi_genname", "ybtym"}},
	column{key: "spec_model", aliases: []string{"规格型号", "spec_mol", "ggxh"}},
	column{key: "restricted", aliases: []string{"限制使用标志", "lmt_used_flag", "xzsybz"}},
	column{key: "restriction_scope", aliases: []string{"医保限用范围", "限制使用范围", "hi_lmt_scp", "lmt_usescp", "ybxyfw"}},
	column{key: "high_value", aliases: []string{"高值耗材标志", "highval_mcs_flag", "hi_value_flag", "gzhcbz"}},
	column{key: "implant", aliases: []string{"植入材料和人体器官标志", "impt_matl_hmorgn_flag", "zrclhrtqgbz"}},
	column{key: "implant_or_intervention", aliases: []string{"植入或介入类标志", "impt_itvt_clss_flag", "zrhjrlbz"}},
	column{key: "single_use", aliases: []string{"一次性使用标志", "dspo_used_flag", "ycxsybz"}},
	column{key: "registration", aliases: []string{"注册备案号", "reg_fil_no", "zcbah"}},
	column{key: "registrant", aliases: []string{"注册备案人名称", "reger_name", "zcbarmc"}},
	column{key: "manufacturer", aliases: []string{"生产企业名称", "prodentp_name", "scqymc"}},
	column{key: "valid", aliases: []string{"有效标志", "vali_flag", "yxbz"}},
	column{key: "record_id", aliases: []string{"唯一记录号", "数据唯一记录号", "rid", "wyjlh"}},
	column{key: "version", aliases: []string{"版本号", "ver", "bbh"}},
	column{key: "version_name", aliases: []string{"版本名称", "ver_name", "bbmc"}},
)

// ReadCatalogue reads a file of the NHSA consumables catalogue (interface
// 1306) row by row and passes each good row to fn as an Item; name is the
// file's name, for messages. Memory stays bounded whatever the file's
// size: one row is held at a time (and none longer than MaxRecordBytes).
//
// The file is tab-separated (the interface's download) or
// comma-separated (a sheet saved as CSV), in UTF-8, GB18030 or UTF-16
// (see Options.Encoding), with CSV quoting (a quoted cell may hold tabs,
// commas, quotes and line breaks), CRLF or LF line ends. Its columns are
// found by name in the header row: Chinese, the interface's English field
// names or pinyin initials (firmware-notes/nhsa.md lists them); other
// columns are ignored (Summary.Ignored). A file whose first row names
// no column, has the 71 cells of the interface's layout and starts with a national
// code is read by those positions (Summary.Headerless): that is the
// interface's own download, which has no header.
//
// Rows: the national code is required and must parse (ParseCode); the
// name column is required in the header, and may be empty in a row. Flags
// are 1/0, 是/否 or Y/N, or empty (FlagUnset). A UDI-DI cell may list
// several identifiers separated by ";", "；", ",", "，", "、" or white
// space; an all-digit one must be a GTIN (8, 12, 13 or 14 digits) with its
// check digit right, a "(01)" before it is dropped. A cell that says
// "null" is empty.
//
// A bad row makes the file bad. Without opt.SkipBadRows the file is
// refused whole: fn gets the rows before the first bad one and none after
// it, and ReadCatalogue reads on only to list every problem in the
// *BadRowsError it returns. A caller must therefore stage what fn
// receives and keep it only when ReadCatalogue returns nil, as the
// master-data import does. The Summary says how the file was read, also
// on error. fn's error stops the reading and is returned wrapped.
func ReadCatalogue(r io.Reader, name string, opt Options, fn func(Item) error) (Summary, error) {
	return readTable(r, name, catalogueSchema, opt, buildItem, fn)
}

// buildItem builds the Item of a row.
func buildItem(r *row) Item {
	return Item{
		Line:                  r.line,
		Code:                  r.code(catCode, true),
		Name:                  r.get(catName),
		UDIDI:                 r.dis(catUDI),
		GenericNameCode:       r.get(catGenericCode),
		GenericName:           r.get(catGenericName),
		SpecModel:             r.get(catSpecModel),
		Restricted:            r.flag(catRestricted),
		RestrictionScope:      r.get(catScope),
		HighValue:             r.flag(catHighValue),
		Implant:               r.flag(catImplant),
		ImplantOrIntervention: r.flag(catIntervention),
		SingleUse:             r.flag(catSingleUse),
		Registration:          r.get(catRegistration),
		Registrant:            r.get(catRegistrant),
		Manufacturer:          r.get(catManufacturer),
		Valid:                 r.flag(catValid),
		RecordID:              r.get(catRecordID),
		Version:               r.get(catVersion),
		VersionName:           r.get(catVersionName),
	}
}

// noDI are cells that mean "no identifier".
var noDI = map[string]bool{"无": true, "/": true, "-": true, "—": true, "——": true}

// dis returns the UDI-DIs of column k (see ReadCatalogue), recording a
// problem for each that is wrong.
func (r *row) dis(k int) []string {
	v := r.raw(k)
	if v == "" || noDI[v] {
		return nil
	}
	var out []string
	for _, d := range strings.FieldsFunc(v, isDISeparator) {
		d = narrow(d)
		if reason := checkDI(&d); reason != "" {
			r.fail(k, strconv.Quote(d)+" "+reason, nil)
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == d
		}
		if !dup {
			out = append(out, strings.Clone(d))
		}
	}
	return out
}

// isDISeparator reports whether c separates identifiers in a UDI-DI cell.
func isDISeparator(c rune) bool {
	switch c {
	case ';', '；', ',', '，', '、', '|':
		return true
	}
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\u3000' || c == '\u00A0'
}

// checkDI checks one UDI-DI, dropping a "(01)" before a GTIN, and returns
// what is wrong with it, or "".
func checkDI(d *string) string {
	s := strings.TrimPrefix(*d, "(01)")
	if len(s) == 16 && strings.HasPrefix(s, "01") && allDigits(s) {
		s = s[2:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7E {
			return "is not a UDI-DI: it holds a character that is not printable ASCII"
		}
	}
	if !allDigits(s) {
		*d = s
		return "" // MA, HIBC or AHM: kept as given
	}
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "is not a UDI-DI: all digits, but " + strconv.Itoa(len(s)) + " of them, and a GTIN has 8, 12, 13 or 14"
	}
	want, err := code.CheckDigit(s[:len(s)-1])
	if err != nil || int(s[len(s)-1]-'0') != want {
		return "is not a GTIN: its check digit should be " + strconv.Itoa(want)
	}
	*d = s
	return ""
}
