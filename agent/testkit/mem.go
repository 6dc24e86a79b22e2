package testkit

import "github.com/udi-edge/udi-edge/agent/memwatch"

// HeapWatch samples the heap in use while it runs (memwatch.HeapWatch).
type HeapWatch = memwatch.HeapWatch

// WatchHeap starts sampling the heap (memwatch.Heap).
func WatchHeap() *HeapWatch { return memwatch.Heap() }

// ResetPeakRSS resets the process's peak resident set (memwatch.ResetPeakRSS).
func ResetPeakRSS() { memwatch.ResetPeakRSS() }

// PeakRSS returns the process's peak resident set in MiB (memwatch.PeakRSS).
func PeakRSS() float64 { return memwatch.PeakRSS() }
