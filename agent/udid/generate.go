package udid

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent/code"
)

// DefaultDirtEvery is how often Generator puts dirt in a record: one
// record in DefaultDirtEvery.
const DefaultDirtEvery = 50

// Generator writes synthetic UDID exports shaped like the real ones:
// every field of the download (some fifty), GS1 DIs with real check
// digits and MA DIs with real check characters, packaging levels and
// storage conditions, and, in one record of DirtEvery, the dirt real
// files carry (control characters, bare '&', references to illegal
// characters, a '<' in text, a byte that is not UTF-8). The same Seed
// gives the same files. Device(i) is the device a reader must return for
// record i.
type Generator struct {
	// Seed chooses the data.
	Seed int64
	// DirtEvery puts dirt in one record in DirtEvery (0 means
	// DefaultDirtEvery, a negative value none).
	DirtEvery int
}

// Generate writes a UDID XML download part of n devices to w, with dirt
// at the default rate.
func Generate(w io.Writer, n int, seed int64) error {
	_, err := Generator{Seed: seed}.XML(w, n)
	return err
}

// Device returns device i (0-based) as a reader returns it, dirt
// repaired.
func (g Generator) Device(i int) Device {
	return g.record(i).d
}

// XML writes an XML download part of devices 0 to n-1 and returns the
// repairs a reader will make in it.
func (g Generator) XML(w io.Writer, n int) (Repairs, error) {
	return g.xmlPart(w, 0, n)
}

// xmlPart writes devices from to to-1 as one XML part.
func (g Generator) xmlPart(w io.Writer, from, to int) (Repairs, error) {
	var rep Repairs
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<udid version=\"1.0\">\n<header><numberRkeyecordXML>%d</numberRkeyecordXML></header>\n<devices>\n", to-from)
	for i := from; i < to; i++ {
		gr := g.record(i)
		gr.writeXML(bw)
		rep.add(gr.dirt)
	}
	bw.WriteString("</devices>\n</udid>\n")
	return rep, bw.Flush()
}

// Zip writes a ZIP shaped like the bulk download: it holds a nested,
// compressed ZIP whose entries are the n devices split into
// parts named UDID_FULL_DOWNLOAD_PART<k>_Of_<parts>_2026-08-01.xml,
// stored out of numeric order (PART10 before PART2) so that a reader
// must sort them. It returns the repairs a reader will make.
func (g Generator) Zip(w io.Writer, n, parts int) (Repairs, error) {
	var rep Repairs
	if parts < 1 {
		parts = 1
	}
	var inner bytes.Buffer
	iz := zip.NewWriter(&inner)
	order := make([]int, parts)
	for k := range order {
		order[k] = k + 1
	}
	// Names sorted as text put PART10 before PART2.
	slicesSortByName(order, parts)
	for _, k := range order {
		from, to := (k-1)*n/parts, k*n/parts
		f, err := iz.Create(fmt.Sprintf("UDID_FULL_DOWNLOAD_PART%d_Of_%d_2026-08-01.xml", k, parts))
		if err != nil {
			return rep, err
		}
		r, err := g.xmlPart(f, from, to)
		if err != nil {
			return rep, err
		}
		rep.add(r)
	}
	if err := iz.Close(); err != nil {
		return rep, err
	}
	oz := zip.NewWriter(w)
	f, err := oz.CreateHeader(&zip.FileHeader{Name: "UDID_FULL_RELEASE_20260801.zip", Method: zip.Deflate})
	if err != nil {
		return rep, err
	}
	if _, err := f.Write(inner.Bytes()); err != nil {
		return rep, err
	}
	return rep, oz.Close()
}

// slicesSortByName orders part numbers as their names sort as text.
func slicesSortByName(order []int, parts int) {
	name := func(k int) string { return fmt.Sprintf("PART%d_Of_%d", k, parts) }
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && name(order[j]) < name(order[j-1]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
}

// JSON writes devices 0 to n-1 as data-sharing API pages of perPage
// devices each, one page after the other, the packing and storage rows
// in their own arrays after deviceInfo, joined by deviceRecordKey.
func (g Generator) JSON(w io.Writer, n, perPage int) error {
	if perPage < 1 {
		perPage = n
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	pages := (n + perPage - 1) / perPage
	for p := 0; p < pages; p++ {
		from, to := p*perPage, min((p+1)*perPage, n)
		fmt.Fprintf(bw, `{"returnCode":1,"returnMsg":"success","totalPageCount":"%d","totalRecordCount":"%d","currentPageNumber":"%d","dataSet":{"deviceInfo":[`, pages, n, p+1)
		for i := from; i < to; i++ {
			if i > from {
				bw.WriteByte(',')
			}
			g.record(i).writeJSONDevice(bw)
		}
		bw.WriteString(`],"packingInfo":[`)
		first := true
		for i := from; i < to; i++ {
			d := g.Device(i)
			for _, pk := range d.Packing {
				if !first {
					bw.WriteByte(',')
				}
				first = false
				fmt.Fprintf(bw, `{"deviceRecordKey":%s,"bzcpbs":%s,"bznhxyjbzcpbs":%s,"bznhxyjcpbssl":"%d","cpbzjb":%s}`,
					jq(d.RecordKey), jq(pk.DI), jq(pk.ContainsDI), pk.Quantity, jq(pk.Level))
			}
		}
		bw.WriteString(`],"storageInfo":[`)
		first = true
		for i := from; i < to; i++ {
			d := g.Device(i)
			for _, s := range d.Storage {
				if !first {
					bw.WriteByte(',')
				}
				first = false
				fmt.Fprintf(bw, `{"deviceRecordKey":%s,"cchcztj":%s,"zdz":%s,"zgz":%s,"jldw":%s}`,
					jq(d.RecordKey), jq(s.Condition), jq(s.Min), jq(s.Max), jq(s.Unit))
			}
		}
		bw.WriteString("],\"clinicalInfo\":[]}}\n")
	}
	return bw.Flush()
}

// genRecord is one generated record: the device, the fields this
// package does not keep, and how it is written.
type genRecord struct {
	d        Device
	carriers string // bszt as written
	flags    [6]string
	cat      string
	version  string // versionTime as written
	extra    [][2]string
	// dirt: text written instead of the clean value of a field, and the
	// repairs it causes.
	dirtField, dirtText string
	dirt                Repairs
}

var (
	genNames = []string{"一次性使用无菌注射器", "医用外科口罩", "冠状动脉药物洗脱支架系统", "髋关节假体", "一次性使用输液器",
		"中心静脉导管包", "可吸收性外科缝线", "金属锁定接骨板", "后房型人工晶状体", "一次性使用静脉采血针", "PTCA球囊扩张导管",
		"一次性使用导尿管", "医用透明质酸钠凝胶", "膝关节假体", "一次性使用吻合器"}
	genTrade  = []string{"康宁", "安瑞", "Firebird", "微创", "乐普", "威高", "Excel", "Tivanium", "鼎科", ""}
	genMakers = []string{"山东威高集团医用高分子制品股份有限公司", "上海微创医疗器械（集团）有限公司", "乐普（北京）医疗器械股份有限公司",
		"苏州鼎科医疗技术股份有限公司", "江苏康宁医疗器械有限公司", "Zimmer GmbH", "美敦力（上海）管理有限公司"}
	genLevels  = []string{"盒", "箱", "中包", "托"}
	genMethods = []string{"环氧乙烷灭菌", "辐照灭菌", "湿热灭菌", ""}
	genDesc    = "本产品由导管、导丝、连接件和保护套组成，采用医用级高分子材料制成，经环氧乙烷灭菌，一次性使用。适用于临床输注药液及采集血液样本。"
)

// record builds record i.
func (g Generator) record(i int) *genRecord {
	rng := rand.New(rand.NewPCG(uint64(g.Seed), uint64(i)))
	gr := &genRecord{}
	d := &gr.d
	d.RecordKey = fmt.Sprintf("%016x%016x", rng.Uint64(), uint64(i))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	digits := func(n int) string {
		b := make([]byte, n)
		for k := range b {
			b[k] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	// DIs: GS1 (most), MA, AHM, as the UDID counts them.
	levels := rng.IntN(3)
	switch x := rng.IntN(100); {
	case x < 88:
		d.Coding, d.CodingName = CodingGS1, "GS1"
		base := "69" + digits(10) // GS1 China company prefix and item
		d.DI = gtin('0', base)
		if rng.IntN(3) == 0 {
			d.UseUnitDI = gtin('0', "69"+digits(10))
			d.UseUnits = 1 + rng.IntN(100)
		}
		for l := 0; l < levels; l++ {
			contains := d.DI
			if l > 0 {
				contains = d.Packing[l-1].DI
			}
			d.Packing = append(d.Packing, Packing{DI: gtin(byte('1'+l), base), ContainsDI: contains,
				Quantity: []int{10, 20, 50, 100}[rng.IntN(4)], Level: genLevels[l]})
		}
	case x < 99:
		d.Coding, d.CodingName = CodingMA, "MA码（IDcode）"
		reg, cat := digits(6), strings.ToUpper(strconv.FormatUint(rng.Uint64()%(36*36*36*36*36*36*36*36), 36))
		cat = strings.Repeat("0", 8-len(cat)) + cat
		d.DI = maDI(reg, '0', cat)
		for l := 0; l < levels; l++ {
			contains := d.DI
			if l > 0 {
				contains = d.Packing[l-1].DI
			}
			d.Packing = append(d.Packing, Packing{DI: maDI(reg, byte('1'+l), cat), ContainsDI: contains,
				Quantity: []int{10, 20, 50}[rng.IntN(3)], Level: genLevels[l]})
		}
	default:
		d.Coding, d.CodingName = CodingAHM, "AHM"
		d.DI = "MF" + digits(11)
	}
	carriers := []struct {
		text string
		set  Carriers
	}{{"1", CarrierLinear}, {"1,2", CarrierLinear | Carrier2D}, {"2", Carrier2D}, {"2,3", Carrier2D | CarrierRFID},
		{"一维码,二维码", CarrierLinear | Carrier2D}, {"1,2,3", CarrierLinear | Carrier2D | CarrierRFID}}
	c := carriers[rng.IntN(len(carriers))]
	gr.carriers, d.Carriers = c.text, c.set
	d.GenericName = pick(genNames)
	d.TradeName = pick(genTrade)
	d.Model = fmt.Sprintf("%s-%d×%dmm", strings.ToUpper(strconv.FormatUint(rng.Uint64()%46656, 36)), 1+rng.IntN(5), 8+rng.IntN(30))
	d.Registrant = pick(genMakers)
	d.Registrations = []string{fmt.Sprintf("国械注准%d3%s", 2015+rng.IntN(10), digits(6))}
	if rng.IntN(10) == 0 {
		d.Registrations = append(d.Registrations, fmt.Sprintf("苏械注准%d2%s", 2015+rng.IntN(10), digits(6)))
	}
	if rng.IntN(3) == 0 {
		d.InsuranceCode = "C" + digits(26)
	}
	gr.cat = "耗材"
	d.Category = CategoryConsumable
	if rng.IntN(5) == 0 {
		gr.cat, d.Category = "设备", CategoryEquipment
	}
	flags := []*Flag{&d.SingleUse, &d.Sterile, &d.LabelLot, &d.LabelSerial, &d.LabelProduction, &d.LabelExpiry}
	for k, f := range flags {
		if rng.IntN(2) == 0 {
			*f, gr.flags[k] = Yes, "是"
		} else {
			*f, gr.flags[k] = No, "否"
		}
	}
	day := func(from int) time.Time {
		return time.Date(from+rng.IntN(6), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	}
	d.Published = day(2019)
	if rng.IntN(20) == 0 {
		d.Withdrawn = day(2024)
	}
	d.Version = 1 + rng.IntN(5)
	d.VersionTime = day(2020)
	gr.version = d.VersionTime.Format("2006-01-02")
	if rng.IntN(4) == 0 {
		d.VersionTime = d.VersionTime.Add(time.Duration(rng.IntN(86400)) * time.Second)
		gr.version = d.VersionTime.Format("2006-01-02 15:04:05")
	}
	d.VersionStatus = []string{"新增", "更新"}[rng.IntN(2)]
	for s := rng.IntN(3); s > 0; s-- {
		if s == 2 {
			d.Storage = append(d.Storage, Storage{Condition: "湿度", Min: "10", Max: "80", Unit: "%RH"})
		} else {
			d.Storage = append(d.Storage, Storage{Condition: "温度", Min: strconv.Itoa(rng.IntN(10) - 20), Max: strconv.Itoa(25 + rng.IntN(15)), Unit: "℃"})
		}
	}
	desc := genDesc[:len(genDesc)/3*(1+rng.IntN(3))/3*3]
	gr.extra = [][2]string{
		{"sfyzcbayz", "是"}, {"zcbacpbs", ""}, {"sfybtzjbs", "否"}, {"btcpbsyzxxsdycpbssfyz", ""}, {"btcpbs", ""},
		{"sfwblztlcp", "否"}, {"cpms", desc}, {"cphhhbh", digits(8)}, {"yflbm", "6866"}, {"qxlb", "器械"},
		{"flbm", fmt.Sprintf("%02d-%02d-%02d", 1+rng.IntN(22), 1+rng.IntN(15), 1+rng.IntN(10))},
		{"tyshxydm", "91" + digits(16)}, {"ylqxzcrbarywmc", "Medical Devices Co., Ltd."},
		{"cgzmraqxgxx", "说明书或标签上面不包括MR安全信息"}, {"zdcfsycs", "0"}, {"syqsfxyjxmj", "否"},
		{"mjfs", pick(genMethods)}, {"qtxxdwzlj", ""}, {"tscchcztj", "避光，干燥处保存"}, {"tsccsm", ""},
		{"correctionNumber", ""}, {"correctionRemark", ""}, {"correctionTime", ""},
	}
	every := g.DirtEvery
	if every == 0 {
		every = DefaultDirtEvery
	}
	if every > 0 && i%every == every-1 {
		gr.addDirt(rng)
	}
	return gr
}

// addDirt puts one kind of dirt in the record.
func (gr *genRecord) addDirt(rng *rand.Rand) {
	d := &gr.d
	switch rng.IntN(6) {
	case 0: // a control character in the name: removed
		n := len(d.GenericName) / 2
		for n > 0 && !utf8.RuneStart(d.GenericName[n]) {
			n--
		}
		gr.dirtField, gr.dirtText = fGenericName, d.GenericName[:n]+"\x0B"+d.GenericName[n:]
		gr.dirt.Controls++
	case 1: // a bare '&' in the trade name: kept as text
		d.TradeName = strings.TrimSpace("A&B " + d.TradeName)
		gr.dirtField, gr.dirtText = fTradeName, d.TradeName
		gr.dirt.Ampersands++
	case 2: // a reference to an illegal character in the model: removed
		gr.dirtField, gr.dirtText = fModel, d.Model+"&#1;"
		gr.dirt.CharRefs++
	case 3: // '<' in the description
		gr.setExtra("cpms", "管径<5mm，"+gr.extraValue("cpms"))
		gr.dirt.LessThans++
	case 4: // a byte that is not UTF-8 in the description
		gr.setExtra("cpms", "规格\xff"+gr.extraValue("cpms"))
		gr.dirt.InvalidUTF8++
	case 5: // an HTML entity in the description: its '&' is bare
		gr.setExtra("cpms", "适用&nbsp;成人"+gr.extraValue("cpms"))
		gr.dirt.Ampersands++
	}
}

func (gr *genRecord) extraValue(k string) string {
	for _, kv := range gr.extra {
		if kv[0] == k {
			return kv[1]
		}
	}
	return ""
}

func (gr *genRecord) setExtra(k, v string) {
	for i := range gr.extra {
		if gr.extra[i][0] == k {
			gr.extra[i][1] = v
		}
	}
}

// writeXML writes the record as a <device> element, one field a line.
func (gr *genRecord) writeXML(w *bufio.Writer) {
	d := &gr.d
	w.WriteString("<device>\n")
	field := func(name, v string, raw bool) {
		w.WriteByte('<')
		w.WriteString(name)
		w.WriteByte('>')
		if name == gr.dirtField {
			w.WriteString(gr.dirtText)
		} else if raw {
			w.WriteString(v)
		} else {
			xmlEscape(w, v)
		}
		w.WriteString("</")
		w.WriteString(name)
		w.WriteString(">\n")
	}
	for _, kv := range gr.fields() {
		field(kv[0], kv[1], false)
	}
	for _, kv := range gr.extra {
		// Extras carry their dirt unescaped, as the real files do.
		field(kv[0], kv[1], true)
	}
	if len(d.Packing) > 0 {
		w.WriteString("<packingList>")
		for _, p := range d.Packing {
			fmt.Fprintf(w, "<packing><bzcpbs>%s</bzcpbs><cpbzjb>%s</cpbzjb><bznhxyjcpbssl>%d</bznhxyjcpbssl><bznhxyjbzcpbs>%s</bznhxyjbzcpbs></packing>",
				p.DI, p.Level, p.Quantity, p.ContainsDI)
		}
		w.WriteString("</packingList>\n")
	}
	if len(d.Storage) > 0 {
		w.WriteString("<storageList>")
		for _, s := range d.Storage {
			fmt.Fprintf(w, "<storage><cchcztj>%s</cchcztj><zdz>%s</zdz><zgz>%s</zgz><jldw>%s</jldw></storage>", s.Condition, s.Min, s.Max, s.Unit)
		}
		w.WriteString("</storageList>\n")
	}
	w.WriteString("<clinicalList/>\n<contactList><contact><qylxrcz></qylxrcz><qylxryx>service@example.com</qylxryx><qylxrdh>400-000-0000</qylxrdh></contact></contactList>\n")
	w.WriteString("</device>\n")
}

// fields lists the kept fields as written (XML spelling).
func (gr *genRecord) fields() [][2]string {
	d := &gr.d
	date := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2006-01-02")
	}
	uu := ""
	if d.UseUnits > 0 {
		uu = strconv.Itoa(d.UseUnits)
	}
	return [][2]string{
		{fDI, d.DI}, {fCoding, d.CodingName}, {fPublished, date(d.Published)}, {fUseUnits, uu},
		{fUseUnitDI, d.UseUnitDI}, {fCarriers, gr.carriers}, {fGenericName, d.GenericName},
		{fTradeName, d.TradeName}, {fModel, d.Model}, {fRegistrant, d.Registrant},
		{fRegistrations, strings.Join(d.Registrations, ",")}, {fInsurance, d.InsuranceCode},
		{fCategory, gr.cat}, {fSingleUse, gr.flags[0]}, {fSterile, gr.flags[1]}, {fWithdrawn, date(d.Withdrawn)},
		{fLabelLot, gr.flags[2]}, {fLabelSerial, gr.flags[3]}, {fLabelProd, gr.flags[4]}, {fLabelExpiry, gr.flags[5]},
		{fRecordKey, d.RecordKey}, {fVersion, strconv.Itoa(d.Version)}, {fVersionTime, gr.version},
		{fVersionStauts, d.VersionStatus},
	}
}

// writeJSONDevice writes the record as an API deviceInfo object: flags
// and category as the API's numbers, no dirt (JSON escapes it).
func (gr *genRecord) writeJSONDevice(w *bufio.Writer) {
	w.WriteByte('{')
	for k, kv := range gr.fields() {
		name, v := kv[0], kv[1]
		switch name {
		case fVersionStauts:
			name = fVersionStatus
		case fCategory:
			v = map[string]string{"耗材": "0", "设备": "1"}[v]
		case fSingleUse, fSterile, fLabelLot, fLabelSerial, fLabelProd, fLabelExpiry:
			v = map[string]string{"是": "1", "否": "0"}[v]
		}
		if k > 0 {
			w.WriteByte(',')
		}
		if name == fVersion {
			fmt.Fprintf(w, "%s:%s", jq(name), v) // a JSON number
			continue
		}
		w.WriteString(jq(name))
		w.WriteByte(':')
		w.WriteString(jq(v))
	}
	for _, kv := range gr.extra {
		w.WriteByte(',')
		w.WriteString(jq(kv[0]))
		w.WriteByte(':')
		w.WriteString(jq(strings.ToValidUTF8(kv[1], "\uFFFD")))
	}
	w.WriteString(`,"contactList":[{"qylxryx":"service@example.com","qylxrdh":"400-000-0000","qylxrcz":null}]}`)
}

// jq quotes s as a JSON string.
func jq(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// xmlEscape writes s with &, < and > escaped.
func xmlEscape(w *bufio.Writer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		default:
			continue
		}
		w.WriteString(s[last:i])
		w.WriteString(esc)
		last = i + 1
	}
	w.WriteString(s[last:])
}

// gtin returns the GTIN-14 of an indicator digit and 12 more digits,
// with its GS1 check digit.
func gtin(indicator byte, base string) string {
	s := string(indicator) + base
	ck, _ := code.CheckDigit(s)
	return s + strconv.Itoa(ck)
}

// maDI returns the MA DI of a registrant, packaging level and category,
// with its check character.
func maDI(registrant string, level byte, category string) string {
	s := "MA.156.M0." + registrant + "." + string(level) + category
	ck, _ := code.MACheck(s)
	return s + string(ck)
}
