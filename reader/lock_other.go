//go:build !unix

package reader

import "os"

// lockDevice takes no lock where flock(2) does not exist: Windows opens
// a serial port for one process at a time by itself.
func lockDevice(string) (*os.File, error) { return nil, nil }
