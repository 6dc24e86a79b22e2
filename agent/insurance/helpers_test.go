package insurance

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// Codes of the synthetic catalogue.
const (
	stentCode   = "C02030112000000013050000021" // 27 characters
	balloonCode = "C02030213100000013060000033"
	staplerCode = "C1002031510000008200" // 20 characters
	stentGTIN   = "06951234000011"
	balloonGTIN = "06951234000028"
	staplerGTIN = "06951234000035"
	gauzeGTIN   = "06951234000042" // no national code
	strayGTIN   = "06951234000059" // not in the catalogue
)

// products is the synthetic catalogue, by GTIN.
var products = map[string]Product{
	stentGTIN: {Key: stentGTIN, Name: "冠状动脉药物洗脱支架", HospitalCode: "HC-1001", NationalCode: stentCode,
		Manufacturer: "示例医疗器械有限公司", Registration: "国械注准20233130001", Supplier: "示例医药供应链有限公司",
		SupplierLicence: "粤食药监械经营许20190001", UnitPrice: 75000, PurchasePrice: 72000, PriceCap: 80000},
	balloonGTIN: {Key: balloonGTIN, Name: "球囊扩张导管", HospitalCode: "HC-1002", NationalCode: balloonCode,
		Manufacturer: "示例医疗器械有限公司", Registration: "国械注准20223030002", Supplier: "示例医药供应链有限公司",
		UnitPrice: 120000},
	staplerGTIN: {Key: staplerGTIN, Name: "一次性使用管型吻合器", HospitalCode: "HC-1003", NationalCode: staplerCode,
		Manufacturer: "示例外科器械有限公司", Registration: "国械注准20212020003", Supplier: "示例医药供应链有限公司",
		UnitPrice: 258000, PriceCap: 250000},
	gauzeGTIN: {Key: gauzeGTIN, Name: "医用纱布块", HospitalCode: "HC-2001", UnitPrice: 150},
}

// catalogue is a Catalogue over products: an item key "(01)GTIN…".
type catalogue map[string]Product

func (c catalogue) Product(item string) (Product, bool) {
	if len(item) < 18 || !strings.HasPrefix(item, "(01)") {
		return Product{}, false
	}
	p, ok := c[item[4:18]]
	return p, ok
}

var cat = catalogue(products)

var (
	gwSeq = map[string]uint64{}
	t0    = time.Date(2026, 3, 12, 9, 0, 0, 0, ChinaTime)
)

// mv returns a movement of kind k of the item gtin/serial (lot, expiry,
// production as given), scanned as a GS1 DataMatrix, at minute min of
// the synthetic day, numbered in order on gateway "gw-or-1".
func mv(k agent.Kind, gtin, serial, lot string, min int) agent.Movement {
	gwSeq["gw-or-1"]++
	data := "01" + gtin + "17280930" + "11250901" + "10" + lot + "\x1d" + "21" + serial
	return agent.Movement{
		Gateway: "gw-or-1", Seq: gwSeq["gw-or-1"], Time: t0.Add(time.Duration(min) * time.Minute), Kind: k,
		Item: "(01)" + gtin + "(21)" + serial, GTIN: gtin, Serial: serial, Lot: lot, Expiry: "2028-09-30",
		Production: "2025-09-01", Location: "OR-3", Station: "or3-scanner", Symbology: "]d2",
		Raw: []byte("]d2" + data), Actor: "B0042", Decision: agent.DecisionAccepted,
	}
}

// use returns a use of the item in case c.
func use(gtin, serial, lot, c string, min int) agent.Movement {
	m := mv(agent.KindUse, gtin, serial, lot, min)
	m.Case, m.Patient = c, "PAT-0001"
	return m
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kinds lists the findings as "kind line item code" strings, to compare.
func kinds(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s %s %s %s", f.Kind, f.Line, f.Item, f.Code)
	}
	return out
}
