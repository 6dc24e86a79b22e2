package udid

import (
	"errors"
	"strings"
	"testing"
)

// A page as the data-sharing API answers: the rows name their device by
// deviceRecordKey. Device K1 has two packing rows and a storage row, K2
// none, one packing row names no device of the page.
const page = `{"returnCode":1,"returnMsg":"成功","totalPageCount":"1","totalRecordCount":"2","currentPageNumber":"1",
 "dataSet":{
  "deviceInfo":[
   {"deviceRecordKey":"K1","zxxsdycpbs":"06942221705071","cpbsbmtxmc":"GS1","bszt":"1,2","cpmctymc":"一次性使用采样器",
    "zczbhhzbapzbh":"粤潮械备20140023,国械注准20193030166","cplb":"0","sfbjwycxsy":"1","sfwwjbz":"0","scbssfbhph":1,
    "scbssfbhxlh":true,"versionNumber":2,"versionTime":"2026-02-15 10:00:00","versionStatus":"更新","bssjzt":"正常",
    "tsrq":null,"contactList":[{"qylxryx":"a@example.com"}]},
   {"deviceRecordKey":"K2","zxxsdycpbs":"06975737431158","cplb":"1"}
  ],
  "packingInfo":[
   {"deviceRecordKey":"K1","bzcpbs":"16942221705078","bznhxyjbzcpbs":"06942221705071","bznhxyjcpbssl":"10","cpbzjb":"盒"},
   {"deviceRecordKey":"K9","bzcpbs":"16942221705078","bznhxyjcpbssl":"1"},
   {"deviceRecordKey":"K1","bzcpbs":"26942221705075","bznhxyjbzcpbs":"16942221705078","bznhxyjcpbssl":20,"cpbzjb":"箱"}
  ],
  "storageInfo":[{"deviceRecordKey":"K1","cchcztj":"温度","zdz":-20,"zgz":"8","jldw":"℃"}],
  "clinicalInfo":[]
 }}`

func TestJSONJoined(t *testing.T) {
	devs, probs, _, err := collect(t, &Reader{}, write(t, "page.json", []byte(page)))
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 {
		t.Fatalf("%d devices", len(devs))
	}
	d := devs[0]
	if len(d.Packing) != 2 || d.Packing[0].Quantity != 10 || d.Packing[1].DI != "26942221705075" || d.Packing[1].Quantity != 20 ||
		len(d.Storage) != 1 || d.Storage[0].Min != "-20" || d.Storage[0].Unit != "℃" {
		t.Errorf("rows not joined: %+v %+v", d.Packing, d.Storage)
	}
	if d.Category != CategoryConsumable || d.SingleUse != Yes || d.Sterile != No || d.LabelLot != Yes || d.LabelSerial != Yes ||
		d.Version != 2 || d.VersionStatus != "更新" || d.Status != "正常" || len(d.Registrations) != 2 || d.Carriers != CarrierLinear|Carrier2D {
		t.Errorf("fields: %+v", d)
	}
	if len(devs[1].Packing) != 0 || devs[1].Category != CategoryEquipment {
		t.Errorf("K2: %+v", devs[1])
	}
	if len(probs) != 1 || !errors.Is(probs[0], ErrOrphan) || !strings.Contains(probs[0].Error(), `packingInfo[2].deviceRecordKey "K9"`) {
		t.Errorf("problems %v", probs)
	}
}

// TestJSONRowsFirst checks a page whose rows come before its devices:
// devices are then passed on as they are read, joined all the same.
func TestJSONRowsFirst(t *testing.T) {
	doc := `{"dataSet":{"packingInfo":[{"deviceRecordKey":"K1","bzcpbs":"16942221705078","bznhxyjcpbssl":"10"}],"storageInfo":[],
	 "deviceInfo":[{"deviceRecordKey":"K1","zxxsdycpbs":"06942221705071"}]}}`
	devs, probs, _, err := collect(t, &Reader{MaxPending: 1}, write(t, "p.json", []byte(doc+"\n"+doc)))
	if err != nil || len(probs) != 0 || len(devs) != 2 || len(devs[1].Packing) != 1 || devs[1].Packing[0].Quantity != 10 {
		t.Fatalf("err %v problems %v devices %+v", err, probs, devs)
	}
}

func TestJSONProblems(t *testing.T) {
	cases := []struct {
		name, doc, has string
		want           error
	}{
		{"no key", `{"dataSet":{"deviceInfo":[{"zxxsdycpbs":"06942221705071"}]}}`, "record 1 06942221705071: field deviceRecordKey", ErrMissing},
		{"bad flag", `[{"dataSet":{"deviceInfo":[{"deviceRecordKey":"K","zxxsdycpbs":"06942221705071"}]}},
		  {"dataSet":{"deviceInfo":[{"deviceRecordKey":"K2","zxxsdycpbs":"06942221705071","sfwwjbz":"2"}]}}]`, "record 2 06942221705071: field sfwwjbz", ErrValue},
		{"row quantity", `{"dataSet":{"deviceInfo":[{"deviceRecordKey":"K","zxxsdycpbs":"06942221705071"}],
		  "packingInfo":[{"deviceRecordKey":"K","bznhxyjcpbssl":"many"}]}}`, "field packing[1].bznhxyjcpbssl", ErrValue},
		{"return code", `{"returnCode":0,"returnMsg":"token invalid"}`, "returnCode 0: token invalid", ErrFormat},
		{"no data", `{"returnCode":1}`, "page 1 has no dataSet", ErrFormat},
		{"too many", `{"dataSet":{"deviceInfo":[{"deviceRecordKey":"A","zxxsdycpbs":"06942221705071"},{"deviceRecordKey":"B","zxxsdycpbs":"06942221705071"}]}}`,
			"more than 1 devices", ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := write(t, "p.json", []byte(c.doc))
			_, probs, _, err := collect(t, &Reader{MaxPending: 1}, path)
			if err != nil || len(probs) != 1 || !errors.Is(probs[0], c.want) ||
				!strings.Contains(probs[0].Error(), path) || !strings.Contains(probs[0].Error(), c.has) {
				t.Fatalf("err %v, problems %v", err, probs)
			}
		})
	}
}
