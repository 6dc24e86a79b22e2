package udid

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var repairCases = []struct {
	in, out string
	rep     Repairs
}{
	{"<a>plain 中文 text</a>", "<a>plain 中文 text</a>", Repairs{}},
	{"\xEF\xBB\xBF<a/>", "<a/>", Repairs{}},
	{"<a>x\x00y\x08\x0B\x0C\x1Fz\tq\r\n</a>", "<a>xyz\tq\r\n</a>", Repairs{Controls: 5}},
	{"<a>\uFFFE\uFFFF\uFFFD</a>", "<a>\uFFFD</a>", Repairs{Controls: 2}},
	{"<a>A&B & C&</a>", "<a>A&amp;B &amp; C&amp;</a>", Repairs{Ampersands: 3}},
	{"<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x4e2d;</a>", "<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x4e2d;</a>", Repairs{}},
	{"<a>&nbsp;&copy;&#;&#x;&#12a;&#65</a>", "<a>&amp;nbsp;&amp;copy;&amp;#;&amp;#x;&amp;#12a;&amp;#65</a>", Repairs{Ampersands: 6}},
	{"<a>&#0;&#1;&#x1F;&#xFFFE;&#55296;&#1114112;&#9;</a>", "<a>&#9;</a>", Repairs{CharRefs: 6}},
	{"<a>&" + strings.Repeat("a", 40) + ";</a>", "<a>&amp;" + strings.Repeat("a", 40) + ";</a>", Repairs{Ampersands: 1}},
	{"<a>x<5 <= y< z<</a>", "<a>x&lt;5 &lt;= y&lt; z&lt;</a>", Repairs{LessThans: 4}},
	{"<a><b/><中>t</中><?pi?><!--c--></a>", "<a><b/><中>t</中><?pi?><!--c--></a>", Repairs{}},
	{"<a><![CDATA[a & b < c]]> & </a>", "<a><![CDATA[a & b < c]]> &amp; </a>", Repairs{Ampersands: 1}},
	{"<a><![CDATA[x\x01]]]></a>", "<a><![CDATA[x]]]></a>", Repairs{Controls: 1}},
	{"<a>\xff\xc3(\xe4\xb8</a>", "<a>\uFFFD\uFFFD(\uFFFD\uFFFD</a>", Repairs{InvalidUTF8: 4}},
	{"<a>x</a><", "<a>x</a>&lt;", Repairs{LessThans: 1}},
	{"<a>x&", "<a>x&amp;", Repairs{Ampersands: 1}},
}

// TestRepair checks each repair, with whole reads and with reads of one
// byte (every lookahead split across reads).
func TestRepair(t *testing.T) {
	for _, c := range repairCases {
		for _, one := range []bool{false, true} {
			var src io.Reader = strings.NewReader(c.in)
			if one {
				src = iotest.OneByteReader(src)
			}
			f := Repair(src)
			got, err := io.ReadAll(f)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.out || f.Repairs() != c.rep {
				t.Errorf("Repair(%q) one-byte %v = %q %+v, want %q %+v", c.in, one, got, f.Repairs(), c.out, c.rep)
			}
		}
	}
}

// TestRepairLarge checks a long input across buffer boundaries against
// the same input repaired in one piece.
func TestRepairLarge(t *testing.T) {
	var in bytes.Buffer
	for i := 0; in.Len() < 3*repairBuf; i++ {
		in.WriteString(repairCases[i%len(repairCases)].in)
	}
	whole, _ := io.ReadAll(Repair(bytes.NewReader(in.Bytes())))
	split, _ := io.ReadAll(Repair(iotest.HalfReader(bytes.NewReader(in.Bytes()))))
	if !bytes.Equal(whole, split) {
		t.Fatal("repair depends on how the input is read")
	}
}

func TestParseDate(t *testing.T) {
	utc := func(y int, m time.Month, d, hh, mm, ss, ns int) time.Time {
		return time.Date(y, m, d, hh, mm, ss, ns, time.UTC)
	}
	for _, c := range []struct {
		in   string
		want time.Time
		bad  string
	}{
		{"2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0), ""},
		{"2024/2/9", utc(2024, 2, 9, 0, 0, 0, 0), ""},
		{"2024.12.31", utc(2024, 12, 31, 0, 0, 0, 0), ""},
		{"20240131", utc(2024, 1, 31, 0, 0, 0, 0), ""},
		{"2019-09-12 00:00:00.0", utc(2019, 9, 12, 0, 0, 0, 0), ""},
		{"2019-09-12T13:45", utc(2019, 9, 12, 13, 45, 0, 0), ""},
		{"2019-09-12 13:45:10.25Z", utc(2019, 9, 12, 13, 45, 10, 250_000_000), ""},
		{"2023-02-29", time.Time{}, "day 29 does not exist"},
		{"2023-13-01", time.Time{}, "month 13"},
		{"2023-1-1x", time.Time{}, "not a date"},
		{"2023-01/01", time.Time{}, "not a date"},
		{"2023-01-01 25:00", time.Time{}, "time of day"},
		{"2023-01-01 10:00+25:00", time.Time{}, "not a date"},
		{"23-01-01", time.Time{}, "not a date"},
	} {
		got, bad := parseDate(c.in)
		if c.bad != "" {
			if !strings.Contains(bad, c.bad) {
				t.Errorf("parseDate(%q) reason %q, want %q", c.in, bad, c.bad)
			}
			continue
		}
		if bad != "" || !got.Equal(c.want) {
			t.Errorf("parseDate(%q) = %v %q, want %v", c.in, got, bad, c.want)
		}
	}
}
