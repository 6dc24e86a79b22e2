package udid

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// collect reads path with r and returns the devices and problems.
func collect(t *testing.T, r *Reader, path string) ([]Device, []error, Stats, error) {
	t.Helper()
	var devs []Device
	var probs []error
	if r.Problem == nil {
		r.Problem = func(err error) error { probs = append(probs, err); return nil }
	}
	st, err := r.Open(path, func(d Device) error { devs = append(devs, d); return nil })
	return devs, probs, st, err
}

// write writes data to a file in a temporary directory.
func write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// TestReadXMLRealShaped reads records built from the documented fields
// (CHINA.md §3 and the field lists cited in firmware-notes/udid.md).
func TestReadXMLRealShaped(t *testing.T) {
	devs, probs, st, err := collect(t, &Reader{}, "testdata/devices.xml")
	if err != nil || len(probs) > 0 {
		t.Fatalf("err %v, problems %v", err, probs)
	}
	want := []Device{{
		RecordKey: "0694222170507120260215", DI: "06942221705071", Coding: CodingGS1, CodingName: "GS1",
		UseUnitDI: "06975737431158", UseUnits: 10, Carriers: CarrierLinear | Carrier2D,
		GenericName: "一次性使用采样器", TradeName: "康宁", Model: "KPCJ12", Registrant: "潮州市康宁医疗器械有限公司",
		Registrations: []string{"粤潮械备20140023", "国械注准20193030166"}, InsuranceCode: "C09100100000000211790000049",
		Category: CategoryConsumable, SingleUse: Yes, Sterile: Yes, LabelLot: Yes, LabelSerial: No, LabelProduction: Yes, LabelExpiry: Yes,
		Published: day(2020, 3, 18), Status: "正常", Version: 3, VersionTime: day(2026, 2, 15), VersionStatus: "更新",
		Packing: []Packing{{DI: "16942221705078", ContainsDI: "06942221705071", Quantity: 10, Level: "盒"},
			{DI: "26942221705075", ContainsDI: "16942221705078", Quantity: 20, Level: "箱"}},
		Storage: []Storage{{Condition: "温度", Min: "2", Max: "8", Unit: "℃"}, {Condition: "湿度", Min: "10.5", Max: "80", Unit: "%RH"}},
	}, {
		RecordKey: "MA-KEY-2", DI: "MA.156.M0.100032.00002484", Coding: CodingMA, CodingName: "MA码（IDcode）",
		Carriers: Carrier2D | CarrierRFID, GenericName: "髋关节假体 <股骨柄>", Model: "Φ12×130mm",
		Registrant: "Zimmer GmbH", Registrations: []string{"国械注进20163462364"}, Category: CategoryEquipment,
		SingleUse: No, Sterile: Yes, LabelLot: Yes, LabelSerial: Yes, LabelProduction: No, LabelExpiry: Yes,
		Withdrawn: day(2025, 6, 30), Version: 1, VersionTime: time.Date(2024, 11, 5, 8, 30, 0, 0, time.FixedZone("", 8*3600)),
		VersionStatus: "新增",
		Packing:       []Packing{{DI: "MA.156.M0.100032.10002483", ContainsDI: "MA.156.M0.100032.00002484", Quantity: 5, Level: "1"}},
	}, {
		DI: "06975737431158", GenericName: "医用外科口罩 & 帽", Model: "17.5cm×9.5cm", Published: day(2019, 9, 12),
	}}
	if len(devs) != len(want) {
		t.Fatalf("%d devices, want %d", len(devs), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(devs[i], want[i]) {
			t.Errorf("device %d:\n got %+v\nwant %+v", i+1, devs[i], want[i])
		}
	}
	if !devs[1].VersionTime.Equal(time.Date(2024, 11, 5, 0, 30, 0, 0, time.UTC)) {
		t.Errorf("zone offset not applied: %v", devs[1].VersionTime)
	}
	if st.Records != 3 || st.Documents != 1 || st.Repairs.Total() != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestDirtRepaired reads a part with each kind of dirt the real files
// carry and checks the values and the counts.
func TestDirtRepaired(t *testing.T) {
	xml := "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><udid><devices><device>" +
		"<zxxsdycpbs>06942221705071</zxxsdycpbs>" +
		"<cpmctymc>一次性使用\x0B采样器\x01</cpmctymc>" + // controls: removed
		"<spmc>强生 & 强生</spmc>" + // bare '&'
		"<ggxh>A&#1;B&#x1F;C&#65;</ggxh>" + // references to illegal characters removed, &#65; kept
		"<ylqxzcrbarmc>某某&nbsp;公司</ylqxzcrbarmc>" + // an HTML entity: its '&' is bare
		"<cpms>直径<5mm, 长度< 10 \xff\xfe</cpms>" + // '<' in text, bytes not UTF-8
		"<tscchcztj>\uFFFE</tscchcztj>" +
		"</device></devices></udid>"
	devs, probs, st, err := collect(t, &Reader{}, write(t, "dirty.xml", []byte(xml)))
	if err != nil || len(probs) > 0 || len(devs) != 1 {
		t.Fatalf("err %v, problems %v, %d devices", err, probs, len(devs))
	}
	d := devs[0]
	if d.GenericName != "一次性使用采样器" || d.TradeName != "强生 & 强生" || d.Model != "ABCA" || d.Registrant != "某某&nbsp;公司" {
		t.Errorf("values %q %q %q %q", d.GenericName, d.TradeName, d.Model, d.Registrant)
	}
	want := Repairs{Controls: 3, CharRefs: 2, Ampersands: 2, LessThans: 2, InvalidUTF8: 2}
	if st.Repairs != want {
		t.Errorf("repairs %+v, want %+v", st.Repairs, want)
	}
}

// TestGeneratorRoundTrip reads what Generator writes, as XML, ZIP and
// JSON, and finds every device it meant, in order, with the repairs it
// put in.
func TestGeneratorRoundTrip(t *testing.T) {
	const n = 1500
	g := Generator{Seed: 42, DirtEvery: 10}
	check := func(t *testing.T, path string, wantRep Repairs) {
		t.Helper()
		devs, probs, st, err := collect(t, &Reader{}, path)
		if err != nil || len(probs) > 0 {
			t.Fatalf("err %v, problems %v", err, probs)
		}
		if len(devs) != n {
			t.Fatalf("%d devices, want %d", len(devs), n)
		}
		for i, d := range devs {
			if w := g.Device(i); !reflect.DeepEqual(d, w) {
				t.Fatalf("device %d:\n got %+v\nwant %+v", i, d, w)
			}
		}
		if st.Repairs != wantRep {
			t.Errorf("repairs %+v, want %+v", st.Repairs, wantRep)
		}
	}
	t.Run("xml", func(t *testing.T) {
		var b bytes.Buffer
		rep, err := g.XML(&b, n)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total() != n/10 {
			t.Fatalf("generator reports %d repairs, want %d", rep.Total(), n/10)
		}
		check(t, write(t, "part.bin", b.Bytes()), rep)
	})
	t.Run("zip", func(t *testing.T) {
		var b bytes.Buffer
		rep, err := g.Zip(&b, n, 12)
		if err != nil {
			t.Fatal(err)
		}
		check(t, write(t, "UDID_FULL_RELEASE.zip", b.Bytes()), rep)
	})
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := g.JSON(&b, n, 100); err != nil {
			t.Fatal(err)
		}
		check(t, write(t, "pages.json", b.Bytes()), Repairs{})
	})
}

// zipOf builds a ZIP of the entries, each stored or deflated.
func zipOf(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, e := range entries {
		m := zip.Deflate
		if e.stored {
			m = zip.Store
		}
		f, err := z.CreateHeader(&zip.FileHeader{Name: e.name, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(e.data)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type zipEntry struct {
	name   string
	data   []byte
	stored bool
}

// part returns an XML part of devices from to to-1 of g.
func part(t testing.TB, g Generator, from, to int) []byte {
	var b bytes.Buffer
	if _, err := g.xmlPart(&b, from, to); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestZipNested reads nested ZIPs stored, small and compressed, and
// large and compressed (through a temporary file), parts in PART order.
func TestZipNested(t *testing.T) {
	g := Generator{Seed: 3}
	parts := func(names ...string) []zipEntry {
		var es []zipEntry
		for _, nm := range names {
			var k, of int
			k, of = partOf(nm)
			_ = of
			es = append(es, zipEntry{name: nm, data: part(t, g, (k-1)*10, k*10)})
		}
		return es
	}
	// Text order: PART1, PART10, PART11, PART2 …: the reader must sort.
	names := []string{"x/UDID_FULL_DOWNLOAD_PART1_Of_11.xml", "x/UDID_FULL_DOWNLOAD_PART10_Of_11.xml", "x/UDID_FULL_DOWNLOAD_PART11_Of_11.xml"}
	for k := 2; k <= 9; k++ {
		names = append(names, "x/UDID_FULL_DOWNLOAD_PART"+string(rune('0'+k))+"_Of_11.xml")
	}
	inner := zipOf(t, parts(names...)...)
	for _, c := range []struct {
		name   string
		stored bool
		max    int64
	}{{"stored", true, 0}, {"memory", false, 0}, {"tempfile", false, -1}} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			outer := zipOf(t, zipEntry{name: "readme.txt", data: []byte("not a device file")},
				zipEntry{name: "UDID_FULL_RELEASE_20260801.zip", data: inner, stored: c.stored})
			r := &Reader{TempDir: tmp, MaxInMemory: c.max}
			devs, probs, st, err := collect(t, r, write(t, "download.zip", outer))
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) != 110 {
				t.Fatalf("%d devices, want 110", len(devs))
			}
			for i, d := range devs {
				if d.DI != g.Device(i).DI {
					t.Fatalf("device %d is %s, want %s: parts out of order", i, d.DI, g.Device(i).DI)
				}
			}
			// The README is reported, not read and not silently dropped.
			if len(probs) != 1 || !errors.Is(probs[0], ErrUnsupported) || !strings.Contains(probs[0].Error(), "download.zip!readme.txt") {
				t.Errorf("problems %v", probs)
			}
			if st.Documents != 11 {
				t.Errorf("%d documents, want 11", st.Documents)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	t.Run("missing part", func(t *testing.T) {
		z := zipOf(t, parts("UDID_FULL_DOWNLOAD_PART1_Of_3.xml", "UDID_FULL_DOWNLOAD_PART3_Of_3.xml")...)
		_, probs, _, err := collect(t, &Reader{}, write(t, "d.zip", z))
		if err != nil || len(probs) != 1 || !errors.Is(probs[0], ErrPart) || !strings.Contains(probs[0].Error(), "missing 2") {
			t.Fatalf("err %v, problems %v", err, probs)
		}
	})
	t.Run("too deep", func(t *testing.T) {
		z := zipOf(t, zipEntry{name: "p.xml", data: part(t, g, 0, 1)})
		for range MaxZipDepth {
			z = zipOf(t, zipEntry{name: "n.zip", data: z})
		}
		_, probs, _, err := collect(t, &Reader{}, write(t, "d.zip", z))
		if err != nil || len(probs) != 1 || !errors.Is(probs[0], ErrTooLarge) {
			t.Fatalf("err %v, problems %v", err, probs)
		}
	})
}
