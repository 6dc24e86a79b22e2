//go:build unix

package bolt

import "syscall"

// settle flushes the system's dirty pages (and with them the discards of
// files removed by an earlier run) so that they do not land in the
// measurement that follows.
func settle() { syscall.Sync() }
