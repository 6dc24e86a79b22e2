package nhsa

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// specHeader is the header of a release workbook's sheet.
var specHeader = []string{"GOODS_ID", "UDI", "原27位码", "原码状态", "27位码", "类型", "20位码", "一级分类", "二级分类", "三级分类",
	"医保通用名分类", "材质", "特征", "注册备案号", "单件产品名称", "耗材企业", "规格型号数", "规格", "型号", "医保通用名编号", "医保通用名"}

// specRow returns a good row for codeA, with the cells named in set
// replaced.
func specRow(set map[string]string) []string {
	def := map[string]string{
		"GOODS_ID": "G000001", "UDI": gtinA + "、" + gtinB, "原27位码": codeA, "原码状态": "保留", "27位码": codeA, "类型": "保留",
		"20位码": codeA[:20], "一级分类": "09-体外循环材料", "二级分类": "10-其他体外循环材料", "三级分类": "01-其他体外循环材料",
		"医保通用名分类": "000-管路类", "材质": "00-不区分", "特征": "000-常规", "注册备案号": "国械注准20203100001",
		"单件产品名称": "体外循环管路", "耗材企业": "某某医疗器械有限公司", "规格型号数": "3", "规格": "成人", "型号": "A-1",
	}
	return cells(specHeader, def, set)
}

func TestReadSpecs(t *testing.T) {
	text := quoted(t, ',', true, specHeader, specRow(nil), specRow(map[string]string{"原27位码": "", "原码状态": "", "类型": "新增", "UDI": "", "20位码": "", "三级分类": "其他"}))
	var got []Spec
	sum, err := ReadSpecs(strings.NewReader(text), "C09.csv", Options{}, func(s Spec) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{
		Line: 2, GoodsID: "G000001", UDIDI: []string{gtinA, gtinB}, OldCode: codeA, OldStatus: "保留", Code: codeA, Type: "保留",
		Levels: [3]string{"09-体外循环材料", "10-其他体外循环材料", "01-其他体外循环材料"}, GenericCategory: "000-管路类",
		Material: "00-不区分", Feature: "000-常规", Registration: "国械注准20203100001", ProductName: "体外循环管路",
		Manufacturer: "某某医疗器械有限公司", Spec: "成人", Model: "A-1",
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got[1].OldCode != "" || got[1].Type != "新增" || got[1].UDIDI != nil || got[1].Levels[2] != "其他" {
		t.Errorf("second row %+v", got[1])
	}
	if len(sum.Ignored) != 1 || sum.Ignored[0] != "规格型号数" || len(sum.Missing) != 0 {
		t.Errorf("summary %+v", sum)
	}
}

// The parts of the code must agree with the labels and the 20-character
// code the row gives.
func TestReadSpecsChecksLabels(t *testing.T) {
	rows := [][]string{specHeader,
		specRow(map[string]string{"二级分类": "11-其他"}),
		specRow(map[string]string{"医保通用名分类": "010-管路类", "特征": "001-常规"}),
		specRow(map[string]string{"20位码": codeB[:20]}),
		specRow(map[string]string{"27位码": codeA[:20]}),
		specRow(map[string]string{"原27位码": "C0910"}),
	}
	_, err := ReadSpecs(bytes.NewReader(gb18030(t, quoted(t, ',', true, rows...))), "C09.csv", Options{}, func(Spec) error { return nil })
	var be *BadRowsError
	if !errors.As(err, &be) {
		t.Fatalf("err %v", err)
	}
	want := []struct {
		line   int
		column string
		reason string
	}{
		{2, "二级分类", `"11-其他" is labelled 11, but the code has 10 there`},
		{3, "医保通用名分类", "labelled 010, but the code has 000"},
		{3, "特征", "labelled 001, but the code has 000"},
		{4, "20位码", "is not the first 20 characters of the 27-character code " + codeA},
		{5, "27位码", "has 20 characters; this column holds 27-character codes"},
		{6, "原27位码", "5 characters"},
	}
	if len(be.Errors) != len(want) {
		t.Fatalf("%d problems: %v", len(be.Errors), err)
	}
	for i, w := range want {
		e := be.Errors[i]
		if e.Line != w.line || e.Column != w.column || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("problem %d = %v; want line %d column %s: %s", i, &e, w.line, w.column, w.reason)
		}
	}
}
