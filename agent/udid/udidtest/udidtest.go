// Package udidtest holds what the benchmarks of the NMPA UDI database's
// imports share, on the gateway (agent/core) and on the centre
// (sync/central/nationaldb): their goals and their reference.
package udidtest

import (
	"testing"

	"github.com/udi-edge/udi-edge/agent/udid"
)

// Goals of an import of the database: records a second, and the peak
// resident memory of the importing process.
const (
	GoalRecords = 20_000
	GoalRSSMiB  = 150
)

// TokenScan is the reference an import is measured beside: encoding/xml's
// tokens of the file at path, nothing kept (read through the repair, as
// the download's dirt stops encoding/xml), in records a second.
func TokenScan(path string) func(b *testing.B) {
	return func(b *testing.B) {
		var recs int64
		for b.Loop() {
			devices, err := udid.TokenScanFile(path)
			if err != nil {
				b.Fatal(err)
			}
			recs += devices
		}
		b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
	}
}
