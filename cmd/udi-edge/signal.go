package main

import (
	"os"
	"os/signal"
	"syscall"
)

// signalNotify relays the signals that stop the agent.
func signalNotify(ch chan<- os.Signal) { signal.Notify(ch, os.Interrupt, syscall.SIGTERM) }
