package barcode

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkFramer measures frames cut per second from a stream of the wire
// examples, read in chunks of the given size. For scale it reports the most
// frames of that average length that one serial line at 115200 baud (8N1,
// ten bits a byte) can carry in a second: the framer must be far above it.
func BenchmarkFramer(b *testing.B) {
	exs := LoadWireExamples(b)
	for _, suffix := range []Suffix{SuffixCR, SuffixCRLF} {
		var stream []byte
		frames := 0
		for len(stream) < 64<<10 {
			for _, ex := range exs {
				stream = append(stream, ex.AIM+ex.Data...)
				stream = append(stream, suffix.Bytes()...)
				frames++
			}
		}
		ceiling := 115200.0 / 10 / (float64(len(stream)) / float64(frames))
		for _, chunk := range []int{1, 64, readSize} {
			b.Run(fmt.Sprintf("%s/read=%d", suffix, chunk), func(b *testing.B) {
				f := NewFramer(suffix, DefaultMaxLen)
				n := 0
				emit := func(Frame) { n++ }
				now := time.Now()
				b.SetBytes(int64(len(stream)))
				b.ReportAllocs()
				for b.Loop() {
					for p := stream; len(p) > 0; {
						k := min(chunk, len(p))
						f.Feed(p[:k], now, emit)
						p = p[k:]
					}
				}
				if n != frames*b.N {
					b.Fatalf("%d frames, want %d", n, frames*b.N)
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
				b.ReportMetric(ceiling, "line-ceiling-frames/s")
			})
		}
	}
}
