//go:build !linux

package nationaldb

// dropMapped does nothing where the system's map is not known to give
// pages back in the same way (mapped_linux.go).
func (db *DB) dropMapped(int64) {}
