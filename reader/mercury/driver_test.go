package mercury

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// EPCs of the captured tag records T7, T7c and T7e.
const (
	epcT7  = "E2001026760E017915907125"
	epcT7c = "000000000000000000001545"
	epcT7e = "3074257BF7194E4000001A85"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}}.WithDefaults()
	if !c.ProbeBaud || c.Serial.Baud != 115200 || c.Region != "PRC" || c.ReadPowerCdBm != 2000 ||
		len(c.Antennas) != 1 || c.Antennas[0] != 1 || c.Metadata != MetaDefault || c.Cycle != time.Second {
		t.Errorf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if !bytes.Equal(c.startCommand(), CmdStartContinuous(ContinuousConfig{})) {
		t.Errorf("default start command % X, want the captured one", c.startCommand())
	}
	c = Config{ID: "a", Serial: serialport.Settings{Device: "/dev/x", Baud: 9600}, Metadata: MetaRSSI}.WithDefaults()
	if c.ProbeBaud || c.Metadata != RequiredMetadata {
		t.Errorf("ProbeBaud %v, metadata 0x%04X", c.ProbeBaud, uint16(c.Metadata))
	}
}

func TestConfigValidateNamesFields(t *testing.T) {
	base := func() Config { return Config{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}} }
	for _, tt := range []struct {
		edit  func(c *Config)
		field string
	}{
		{func(c *Config) { c.ID = "" }, `id ""`},
		{func(c *Config) { c.Region = "Mars" }, `region "Mars"`},
		{func(c *Config) { c.ReadPowerCdBm = 4000 }, `read_power_cdbm 4000`},
		{func(c *Config) { c.Antennas = []int{1, 1} }, `antennas [1 1]`},
		{func(c *Config) { c.Antennas = []int{17} }, `antennas [17]`},
		{func(c *Config) { c.Metadata = MetaTagType }, `metadata "0x205F"`},
		{func(c *Config) { c.Cycle = time.Millisecond }, `cycle 1ms`},
		{func(c *Config) { c.KeepAliveTimeout = 500 * time.Millisecond }, `keep_alive_timeout 500ms`},
		{func(c *Config) { c.WriteTimeout = time.Hour }, `write_timeout 1h0m0s`},
		{func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, `max_backoff 1ms`},
		{func(c *Config) { c.Serial.Parity = "x" }, `serial: parity "x"`},
	} {
		c := base()
		tt.edit(&c)
		err := c.WithDefaults().Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
			t.Errorf("%s: Validate() = %v", tt.field, err)
		}
		if !strings.HasPrefix(tt.field, "serial") && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v does not match ErrInvalidConfig", tt.field, err)
		}
	}
}

func TestRegionNames(t *testing.T) {
	for r, name := range regionNames {
		got, err := ParseRegion(strings.ToLower(name))
		if err != nil || got != r || r.String() != name {
			t.Errorf("%s: ParseRegion = %v, %v; String %q", name, got, err, r.String())
		}
	}
	if _, err := ParseRegion("Mars"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ParseRegion(Mars): %v", err)
	}
}

func TestBufferCommands(t *testing.T) {
	if got := CmdClearTagBuffer(); !bytes.Equal(got, mustHex(t, "FF002A1D25")) {
		t.Errorf("CmdClearTagBuffer % X", got)
	}
	got, err := CmdSetAntennaList([]uint8{1, 2})
	if err != nil || !bytes.Equal(got[:7], []byte{0xFF, 0x05, 0x91, 0x02, 1, 1, 2}) || got[7] != 2 {
		t.Errorf("CmdSetAntennaList % X, %v", got, err)
	}
	for _, bad := range [][]uint8{nil, {0}, {17}, make([]uint8, 17)} {
		if _, err := CmdSetAntennaList(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("CmdSetAntennaList(%v): %v", bad, err)
		}
	}
	if got := CmdGetTagBuffer(MetaReadCount | MetaRSSI | MetaAntenna); !bytes.Equal(got[:6], []byte{0xFF, 0x03, 0x29, 0x00, 0x07, 0x00}) {
		t.Errorf("CmdGetTagBuffer % X", got)
	}

	// A buffer of two reads, the second with a broken tag CRC.
	epc1, epc2 := mustHex(t, epcT7), mustHex(t, epcT7e)
	rec2 := bufferRecord(verifyMetadata, epc2)
	rec2[len(rec2)-1] ^= 1
	data := append([]byte{0x00, 0x07, 0x00, 0x02}, bufferRecord(verifyMetadata, epc1)...)
	frame := response(OpGetTagIDBuffer, StatusOK, append(data, rec2...))
	var f Frame
	NewDecoder().Feed(frame, func(fr Frame) { f = fr })
	var reads []TagRead
	if err := ParseTagBuffer(f, func(tr TagRead) { reads = append(reads, tr.Clone()) }); err != nil {
		t.Fatal(err)
	}
	if len(reads) != 2 || !bytes.Equal(reads[0].EPC, epc1) || !reads[0].CRCValid || reads[0].RSSI != -50 ||
		!bytes.Equal(reads[1].EPC, epc2) || reads[1].CRCValid {
		t.Fatalf("reads %+v", reads)
	}
	NewDecoder().Feed(response(OpGetTagIDBuffer, StatusOK, data[:len(data)-3]), func(fr Frame) { f = fr })
	if err := ParseTagBuffer(f, func(TagRead) {}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short buffer: %v", err)
	}
}

// response builds a module response frame.
func response(op Opcode, st Status, data []byte) []byte {
	b := []byte{SOF, byte(len(data)), byte(op), byte(st >> 8), byte(st)}
	b = append(b, data...)
	return binary.BigEndian.AppendUint16(b, CRC(b[1:]))
}

// bufferRecord is a GET_TAG_ID_BUFFER record with read count, RSSI and
// antenna (the driver's verifyMetadata): count 1, −50 dBm, port 1.
func bufferRecord(meta MetadataFlags, epc []byte) []byte {
	if meta != MetaReadCount|MetaRSSI|MetaAntenna {
		panic(fmt.Sprintf("fake: metadata 0x%04X", uint16(meta)))
	}
	tag := binary.BigEndian.AppendUint16(nil, uint16(len(epc)/2)<<11)
	tag = append(tag, epc...)
	tag = binary.BigEndian.AppendUint16(tag, Gen2CRC(tag))
	rec := []byte{1, byte(0xCE), 0x11}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(tag)*8))
	return append(rec, tag...)
}
