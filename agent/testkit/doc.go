// Package testkit holds what the project's tests share: a pseudo-terminal
// that stands in for a serial device (New), a polling wait (CheckFor,
// Eventually) and a log buffer safe for a driver's goroutines (LogBuffer).
//
// It is for tests only and must never be imported by production code: a
// test of cmd/udi-edge checks that the shipped binary does not link it.
package testkit
