package mercury

import (
	"encoding/hex"
	"fmt"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// benchRecords are three captured streamed tag records (mercury-frames.json
// T7, T7c and T7e), 47 bytes each.
var benchRecords = []string{
	"FF2822000010001B01FF0101C9110E08300000001300000500000F00803000E2001026760E01791590712519855797",
	"FF2822000010001B01FF0101C4110E16400000012700000500000F00803000000000000000000000001545E94A561D",
	"FF2822000010001B01FF0101C4110DF7320000006400000500000F008030003074257BF7194E4000001A85AAF9DD30",
}

// benchPipeline is the driver's parse path without a line: a session
// whose decoder is fed a stream of tag records in reads of readSize
// bytes, emitting each read as Run does.
type benchPipeline struct {
	s        *session
	stream   []byte
	frameLen int
	reads    int
}

// newBenchPipeline returns a pipeline over records tag records.
func newBenchPipeline(records int) (*benchPipeline, error) {
	var frames [][]byte
	for _, h := range benchRecords {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, err
		}
		frames = append(frames, b)
	}
	p := &benchPipeline{frameLen: len(frames[0])}
	for i := range records {
		p.stream = append(p.stream, frames[i%len(frames)]...)
	}
	r := New(Config{ID: "bench", Serial: serialport.Settings{Device: "bench"}}, nil)
	p.s = newSession(r, func(ev TagEvent) {
		if len(ev.Tag.EPC) != 0 {
			p.reads++
		}
	})
	return p, nil
}

// run feeds the whole stream through the pipeline once.
func (p *benchPipeline) run() {
	s := p.s
	for b := p.stream; len(b) > 0; {
		n := min(readSize, len(b))
		s.in.Arrival = s.now()
		s.dec.Feed(b[:n], s.handle)
		s.noteNoise()
		b = b[n:]
	}
}

// lineCeiling returns the most of these records one 115200-baud line
// (8N1: ten bits a byte) can carry per second.
func (p *benchPipeline) lineCeiling() float64 { return 115200.0 / 10 / float64(p.frameLen) }

// BenchReads measures the driver's read path on one core: n captured tag
// records (rounded up to a thousand) go from bytes through frame
// decoding, both CRC checks, record parsing and the copy into the emitted
// TagEvent, as Run handles them, without a serial line. It returns the
// reads per second achieved and, for comparison, the most reads per
// second one 115200-baud line carries at this record size (47 bytes:
// about 245).
func BenchReads(n int) (readsPerSec, lineRateCeiling float64, err error) {
	const batch = 1000
	if n <= 0 {
		return 0, 0, fmt.Errorf("%w: %d reads", ErrInvalidArgument, n)
	}
	p, err := newBenchPipeline(batch)
	if err != nil {
		return 0, 0, err
	}
	p.run() // warm up
	p.reads = 0
	start := time.Now()
	for done := 0; done < n; done += batch {
		p.run()
	}
	elapsed := time.Since(start)
	if want := (n + batch - 1) / batch * batch; p.reads != want {
		return 0, 0, fmt.Errorf("mercury: bench emitted %d reads, want %d", p.reads, want)
	}
	return float64(p.reads) / elapsed.Seconds(), p.lineCeiling(), nil
}
