package postgres

import "syscall"

// sysProcAttr makes the kernel kill the server when the test process dies
// without running its cleanups (a test timeout, an interrupted run); the
// server's own processes follow their postmaster.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
