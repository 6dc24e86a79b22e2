package udid

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// FuzzReadZip reads any bytes as a ZIP of the bulk download, seeded with
// ZIPs of XML parts (in and out of order, one missing), of JSON pages, a
// ZIP inside a ZIP and a ZIP cut short: as FuzzReadXML checks, every
// problem is typed, names the file and wraps a sentinel, every device
// passed on has its DI, and the stats count what was passed on.
func FuzzReadZip(f *testing.F) {
	g := Generator{Seed: 5, DirtEvery: 3}
	// One or two devices a document: each new input is minimised, and
	// small seeds keep that short.
	p1 := part(f, g, 0, 1)
	p2 := part(f, g, 1, 3)
	var js bytes.Buffer
	if err := g.JSON(&js, 2, 1); err != nil {
		f.Fatal(err)
	}
	whole := zipOf(f, zipEntry{name: "UDID_FULL_DOWNLOAD_PART2_Of_2.xml", data: p2}, zipEntry{name: "UDID_FULL_DOWNLOAD_PART1_Of_2.xml", data: p1, stored: true})
	for _, in := range [][]byte{
		whole,
		whole[:len(whole)/2],
		zipOf(f, zipEntry{name: "UDID_FULL_DOWNLOAD_PART1_Of_2.xml", data: p1}),
		zipOf(f, zipEntry{name: "pages.json", data: js.Bytes()}, zipEntry{name: "readme.txt", data: []byte("not a device file")}),
		zipOf(f, zipEntry{name: "UDID_FULL_RELEASE_20260801.zip", data: whole, stored: true}),
		zipOf(f, zipEntry{name: "a.zip", data: zipOf(f, zipEntry{name: "b.zip", data: whole})}),
	} {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Go has no time limit on one input: a ZIP that never ends
		// panics, and the fuzzer keeps it.
		defer time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("ZIP of %d bytes: no answer in 10s", len(in))) }).Stop()
		checkRead(t, in, func(r *Reader, src io.Reader, fn func(Device) error) (Stats, error) {
			b, err := io.ReadAll(src)
			if err != nil {
				return Stats{}, err
			}
			return r.ReadZip(bytes.NewReader(b), int64(len(b)), "fuzz", fn)
		})
	})
}
