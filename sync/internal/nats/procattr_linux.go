package nats

import "syscall"

// sysProcAttr makes the kernel kill a node when the test process dies
// without running its cleanups (a test timeout, an interrupted run).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
