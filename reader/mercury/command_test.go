package mercury

import (
	"bytes"
	"testing"
)

// TestBuildersReproduceHostVectors: every host frame of the vectors is
// produced byte for byte by a builder, and the table names them all.
func TestBuildersReproduceHostVectors(t *testing.T) {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	builders := map[string][]byte{
		"T1":  CmdVersion(),
		"T3":  CmdSetRegion(RegionNA2),
		"T4":  CmdSetReadPower(2700),
		"T4b": CmdSetReadPower(2000),
		"T6":  CmdStartContinuous(ContinuousConfig{}),
		"T9":  CmdStopContinuous(),
		"T10": CmdReadTagMultiple(SearchConfiguredList|SearchLargeTagPopulation, 500),
		"T12": must(CmdWriteTagID(1000, []byte{0x59, 0x6F, 0x59, 0x6F})),
		"T14": must(CmdWriteTagData(1000, BankUser, 0, []byte{0x00, 0xEE})),
	}
	seen := 0
	for _, v := range loadVectors(t) {
		if v.Direction != "host" {
			continue
		}
		seen++
		got, ok := builders[v.ID]
		if !ok {
			t.Errorf("%s (%s): no builder", v.ID, v.What)
			continue
		}
		if !bytes.Equal(got, v.Bytes) {
			t.Errorf("%s (%s):\n got % X\nwant % X", v.ID, v.What, got, v.Bytes)
		}
	}
	if seen != len(builders) {
		t.Errorf("%d host vectors, %d builders checked", seen, len(builders))
	}
}

// TestBuildersWithoutVectors checks the builders no capture covers
// against their layout in the Mercury API and SparkFun's library.
func TestBuildersWithoutVectors(t *testing.T) {
	frame := func(op Opcode, data ...byte) []byte { return EncodeRequest(op, data) }
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"set antenna 1/1", CmdSetAntenna(1, 1), frame(OpSetAntennaPort, 0x01, 0x01)},
		{"set protocol Gen2", CmdSetProtocol(ProtocolGen2), frame(OpSetTagProtocol, 0x00, 0x05)},
		{"get read power", CmdGetReadPower(), frame(OpGetReadTxPower, 0x00)},
		{"get temperature", CmdGetTemperature(), frame(OpGetTemperature)},
		{"boot firmware", CmdBootFirmware(), frame(OpBootFirmware)},
		{"negative power", CmdSetReadPower(-1000), frame(OpSetReadTxPower, 0xFC, 0x18)},
		// paulvha's extension of SparkFun's startReading: statistics
		// streaming adds search flag 0x0100 and the statistics flags.
		{"continuous with temperature", CmdStartContinuous(ContinuousConfig{Stats: StatsTemperature}),
			frame(OpMultiProtocolTagOp, 0x00, 0x00, 0x01, 0x22, 0x00, 0x00, 0x05, 0x09,
				0x22, 0x10, 0x01, 0x1B, 0x03, 0xE8, 0x01, 0xFF, 0x01, 0x00)},
		{"continuous, all metadata, 250 ms", CmdStartContinuous(ContinuousConfig{Metadata: MetaAllUHF, Cycle: 250}),
			frame(OpMultiProtocolTagOp, 0x00, 0x00, 0x01, 0x22, 0x00, 0x00, 0x05, 0x07,
				0x22, 0x10, 0x00, 0x1B, 0x00, 0xFA, 0x0F, 0xFF)},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s:\n got % X\nwant % X", c.name, c.got, c.want)
		}
	}
}

func TestBuilderArguments(t *testing.T) {
	for _, epc := range [][]byte{nil, {1}, make([]byte, MaxEPCLen+2)} {
		if _, err := CmdWriteTagID(100, epc); err == nil {
			t.Errorf("CmdWriteTagID accepted %d bytes", len(epc))
		}
	}
	if _, err := CmdWriteTagID(100, make([]byte, MaxEPCLen)); err != nil {
		t.Errorf("CmdWriteTagID(62 bytes): %v", err)
	}
	for _, data := range [][]byte{nil, {1, 2, 3}, make([]byte, 248)} {
		if _, err := CmdWriteTagData(100, BankUser, 0, data); err == nil {
			t.Errorf("CmdWriteTagData accepted %d bytes", len(data))
		}
	}
}
