package bench

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/presence"
	"github.com/udi-edge/udi-edge/reader/mercury"
)

// benchRecordT7e is a captured Mercury streamed tag record (vectors T7e:
// an SGTIN-96 tag on antenna 1): the template of the bench's records.
const benchRecordT7e = "FF2822000010001B01FF0101C4110DF7320000006400000500000F008030003074257BF7194E4000001A85AAF9DD30"

// rfidStream builds n Mercury tag records of tags distinct tags: the
// captured record with its EPC replaced by SGTIN-96s and both CRCs
// recomputed.
func rfidStream(n, tags int) ([]byte, int, error) {
	tmpl, err := hex.DecodeString(benchRecordT7e)
	if err != nil {
		return nil, 0, err
	}
	const epcEnd = 2 + 2 // frame CRC, tag CRC after the EPC
	pcAt := len(tmpl) - epcEnd - 12 - 2
	frames := make([][]byte, tags)
	for i := range tags {
		e, err := epc.EncodeSGTIN96("06901234100013", fmt.Sprint(100000+i), 1, 7)
		if err != nil {
			return nil, 0, err
		}
		f := append([]byte(nil), tmpl...)
		copy(f[pcAt+2:], e)
		crc := epc.TagCRC(f[pcAt : pcAt+14])
		f[pcAt+14], f[pcAt+15] = byte(crc>>8), byte(crc)
		fc := mercury.CRC(f[1 : len(f)-2])
		f[len(f)-2], f[len(f)-1] = byte(fc>>8), byte(fc)
		frames[i] = f
	}
	var stream []byte
	for i := range n {
		stream = append(stream, frames[i%tags]...)
	}
	return stream, len(tmpl), nil
}

// benchRFIDReads measures the RFID read pipeline on one goroutine: Mercury
// frames from bytes → CRC-checked frames → parsed tag records with their
// Gen2 CRC verified → item keys → deduplicated into a 500-tag cabinet's
// presence. It returns reads per second and the reads per second one
// 115200-baud port can carry at this record size.
func benchRFIDReads(n int) (readsPerSec, lineCeiling float64, err error) {
	const tags = 500
	stream, frameLen, err := rfidStream(10*tags, tags)
	if err != nil {
		return 0, 0, err
	}
	tr, err := presence.New(presence.Config{Zones: map[string]presence.ZoneConfig{
		"cab": {Role: presence.RoleCabinet, RoundLength: time.Second}}}, func(presence.Event) {})
	if err != nil {
		return 0, 0, err
	}
	dec := mercury.NewDecoder()
	var ev mercury.Event
	reads, bad := 0, 0
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := map[string]string{} // EPC bytes → item key, as the agent caches
	emit := func(f mercury.Frame) {
		if err := mercury.ParseEvent(f, &ev); err != nil || ev.Kind != mercury.KindTag || !ev.Tag.CRCValid {
			bad++
			return
		}
		key, ok := keys[string(ev.Tag.EPC)]
		if !ok {
			key = epc.KeyWithPC(ev.Tag.PC, ev.Tag.EPC)
			keys[string(ev.Tag.EPC)] = key
		}
		reads++
		_ = tr.Observe(presence.Read{Tag: key, Reader: "bench", Antenna: ev.Tag.Antenna, Zone: "cab", RSSI: ev.Tag.RSSI,
			Time: t0.Add(time.Duration(reads) * time.Millisecond)})
	}
	dec.Feed(stream, emit) // warm up: the tags become known
	reads = 0
	start := time.Now()
	rounds := max(1, n/(10*tags))
	for range rounds {
		for b := stream; len(b) > 0; {
			k := min(4096, len(b))
			dec.Feed(b[:k], emit)
			b = b[k:]
		}
	}
	el := time.Since(start)
	if bad > 0 || reads != rounds*10*tags {
		return 0, 0, fmt.Errorf("rfid bench: %d reads, %d bad, want %d", reads, bad, rounds*10*tags)
	}
	return float64(reads) / el.Seconds(), 115200.0 / 10 / float64(frameLen), nil
}
