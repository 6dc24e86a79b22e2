package insurance

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// checkRead checks what ReadFees made of a file, whatever the file: good
// lines keep the rules, refunds never take more than their originals,
// every bad line is located, and a file-level error is one of two.
func checkRead(t *testing.T, data []byte, format string) {
	lines, bad, err := ReadFees(bytes.NewReader(data), "fuzz", format, FeeOptions{})
	if err != nil && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrHeader) {
		t.Fatalf("file error %v wraps neither ErrFormat nor ErrHeader", err)
	}
	left := map[string]Qty{}
	for _, l := range lines {
		switch {
		case l.SN == "" || l.Visit == "" || l.Code == "" || l.HospitalCode == "" || l.Person == "" || l.Time.IsZero():
			t.Fatalf("a good line without a required field: %+v", l)
		case utf8.RuneCountInString(l.SN) > 30 || utf8.RuneCountInString(l.Code) > 50:
			t.Fatalf("a good line with a field too long: %+v", l)
		case l.Qty == 0 || l.Price < 0:
			t.Fatalf("a good line with a zero quantity or a negative price: %+v", l)
		case l.Refund() && (l.InitSN == "" || l.Amount > 0):
			t.Fatalf("a good refund without its original, or with a positive amount: %+v", l)
		case !l.Refund() && (l.InitSN != "" || l.Amount < 0):
			t.Fatalf("a good charge naming an original, or with a negative amount: %+v", l)
		}
		if l.Refund() {
			k := l.Visit + "\x00" + l.InitSN
			left[k] += l.Qty
			if left[k] < 0 {
				t.Fatalf("refunds of %q take more than the line billed", l.InitSN)
			}
		} else {
			left[l.Visit+"\x00"+l.SN] = l.Qty
		}
	}
	for _, e := range bad {
		if !errors.Is(e, ErrLine) || e.File != "fuzz" || e.Record < 1 || len(e.Problems) == 0 || e.Error() == "" {
			t.Fatalf("a bad line's error is not located: %#v", e)
		}
	}
	again, bad2, err2 := ReadFees(bytes.NewReader(data), "fuzz", format, FeeOptions{})
	if len(again) != len(lines) || len(bad2) != len(bad) || (err == nil) != (err2 == nil) {
		t.Fatal("two reads of the same file differ")
	}
}

func FuzzReadFeeJSON(f *testing.F) {
	f.Add([]byte("[" + fee() + "]"))
	f.Add([]byte("[" + fee("feedetl_sn", "A", "cnt", "2", "det_item_fee_sumamt", "1500") + "," +
		fee("feedetl_sn", "R", "init_feedetl_sn", "A", "cnt", "-1", "det_item_fee_sumamt", "-750") + "]"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRead(t, data, FormatJSON) })
}

func FuzzReadFeeCSV(f *testing.F) {
	f.Add([]byte("feedetl_sn,init_feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n" +
		"A,,V1,P1,2026-03-12 08:00:00," + stentCode + ",HC-1001,1500,2,750\n" +
		"R,A,V1,P1,2026-03-12 09:00:00," + stentCode + ",HC-1001,-750,-1,750\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkRead(t, data, FormatCSV) })
}
