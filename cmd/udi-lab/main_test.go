package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runMain runs Main in process and returns its exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDemo(t *testing.T) {
	code, out, errOut := runMain(t, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"-> accepted: receive (01)09520123456788(21)00042 at warehouse, seq 1",
		"-> rejected and recorded as seq 3",
		"-> patient identified: case open, seq 4",
		"-> accepted: use (01)09520123456788(21)00042 at OR-3, seq 6",
		"item (01)09520123456788(21)00042: 2 movement(s)",
		"desk-1  receives 12 RFID-tagged implants",
		"cab-1   reads its shelves: 12 known implants present in cabinet-1",
		"-> issue from cabinet-1",
		"-> accepted: use (01)06901234200027(21)100105 at OR-3",
		"$ udi-edge trace 'urn:epc:id:sgtin:6901234.020002.100105'",
		"item (01)06901234200027(21)100105: 4 movement(s)",
		"EPC 3000",
		"-> accepted: use (01)06901234100037(21)K0001",
		"-> blocked: use (01)06901234200010(21)S0005",
		"expired 2026-10-31",
		"-> warned (pending): use (01)06901234200027(21)100777",
		"necessity justification R03 for use",
		"-> case closed",
		"insurance-code-mismatch",
		"billed-never-scanned",
		"used-not-billed",
		"not reachable yet",
		"sync    the 6 movements recorded offline reach the centre",
		"moves its sync cursor to 6", "signature (the key the gateway is enrolled with)",
		"--- the network goes down",
		"sync    the gateway reconnects and sends movements 33 to 40, recorded while offline; acknowledged up to 40",
		"-> accepted: use MA.156.M0.100350.01004YA10017.S2611A0042 at OR-3",
		"billed as C0301020010000399999, the catalogue says C03010200100003000010000025",
		"item MA.156.M0.100350.01004YA10017.S2611A0042: 1 movement(s)",
		"JS20261125005  K20261125-02",
		"materials inside the case payment: 8730.00 yuan",
		"paid outside DRG/DIP: 28600.00 yuan",
		"group IC29, payment standard 52000.00 yuan: materials are 16.8% of it",
		"$ udi-central trace '(01)09520123456788(21)00042'",
		"the centre's trace matches the gateway's: 2 movements, same sequence numbers and hashes",
		"consigned:南方医药",
		"1 expiring within 60 days",
		"first expired, first out: a unit expiring",
		"(lot ST2611) is on hand at warehouse",
		"refill   0        南方医药",
		"for 南方医药, movement 48",
		"the request is met",
		"MISSING     (01)06901234200010(21)W007",
		"written off as lost",
		"intact: ",
		"NOT INTACT: movement 35 changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
