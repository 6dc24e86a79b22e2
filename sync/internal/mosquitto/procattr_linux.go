package mosquitto

import "syscall"

// sysProcAttr makes the kernel kill the broker when the test process dies
// without running its cleanups (a test timeout, an interrupted run).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
