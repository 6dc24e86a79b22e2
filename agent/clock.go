package agent

import (
	"strconv"
	"strings"
	"time"
)

// FlagClockBackPrefix starts the flag of a movement whose time is earlier
// than a time the gateway's ledger already holds: the gateway's clock was
// set back (by hand, by a time server correcting a clock that ran ahead,
// or a clock without a battery starting from an old time).
// "clock-back:SECONDS" (ClockBackFlag) says how far behind, in whole
// seconds, the movement's time is. The movement is recorded like any
// other, in sequence order, with the time the clock gave: the sequence
// number, not the time, is the order of a gateway's movements, and the
// flag tells an auditor which times not to read as an order. It is
// written in the movement's flags, so every ledger, the sync and the
// centre's stores carry it unchanged, and the hash chain covers it.
const FlagClockBackPrefix = "clock-back:"

// ClockBackFlag returns the flag of a movement whose time is behind the
// latest time already recorded by d; d is written in whole seconds, at
// least one.
func ClockBackFlag(d time.Duration) string {
	return FlagClockBackPrefix + strconv.FormatInt(max(int64(d/time.Second), 1), 10) + "s"
}

// ClockBack reports how far m's time is behind the latest time its
// ledger held when m was recorded, as m's flags say; ok is false when m
// is not flagged (its clock had not gone back).
func ClockBack(m Movement) (d time.Duration, ok bool) {
	for _, f := range m.Flags {
		if d, ok := readClockBack(f); ok {
			return d, true
		}
	}
	return 0, false
}

// IsClockBackFlag reports whether f is a clock-back flag (ClockBackFlag).
func IsClockBackFlag(f string) bool {
	_, ok := readClockBack(f)
	return ok
}

func readClockBack(f string) (time.Duration, bool) {
	s, ok := strings.CutPrefix(f, FlagClockBackPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "s")
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n <= 0 || n > int64(1<<63-1)/int64(time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}
