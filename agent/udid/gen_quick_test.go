package udid

import (
	"bytes"
	"reflect"
	"testing"
)

func TestQuickRoundTrip(t *testing.T) {
	g := Generator{Seed: 7}
	var buf bytes.Buffer
	want, err := g.XML(&buf, 2000)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	st, err := (&Reader{}).ReadXML(&buf, "gen.xml", func(d Device) error {
		if w := g.Device(i); !reflect.DeepEqual(d, w) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, d, w)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Repairs != want || i != 2000 {
		t.Fatalf("repairs %+v want %+v, %d records", st.Repairs, want, i)
	}
	t.Logf("%+v", st)
}
