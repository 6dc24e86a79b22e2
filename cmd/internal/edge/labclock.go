package edge

import (
	"log/slog"
	"time"
)

// LabClockOffset names the environment variable that sets a running
// agent's clock back, for a laboratory's clock campaign (udi-lab campaign
// clock) on a machine whose own clock it may not move: a Go duration, from
// -48h to 0 ("-1h"). The agent reads it once, at start; the core and the
// scanners' drivers then take their time from the wall clock shifted by
// it (the RFID drivers and the cabinets keep the wall clock). It is not a
// configuration key, so that no configuration file can carry it to a
// ward, and it can only set the clock back, which the ledger flags
// (agent.ClockBackFlag) as soon as a time is behind one already
// recorded; the agent warns at every start that it is set.
const LabClockOffset = "UDI_EDGE_LAB_CLOCK_OFFSET"

// maxLabClockBack is how far LabClockOffset may set the clock back.
const maxLabClockBack = 48 * time.Hour

// labClock returns the agent's clock as LabClockOffset in getenv sets it:
// nil (the wall clock) when it is unset, or an error naming the variable
// and what is wrong with its value.
func labClock(getenv func(string) string, log *slog.Logger) (func() time.Time, error) {
	v := getenv(LabClockOffset)
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return nil, cfgErr(LabClockOffset, "%q is not a duration such as -1h", v)
	case d > 0:
		return nil, cfgErr(LabClockOffset, "%s: the lab clock can only be set back (a negative duration)", v)
	case d < -maxLabClockBack:
		return nil, cfgErr(LabClockOffset, "%s: at most %s back", v, maxLabClockBack)
	case d == 0:
		return nil, nil
	}
	log.Warn("lab clock: this agent's clock is set back for a laboratory; never set "+LabClockOffset+" on a gateway in use",
		"offset", d.String())
	return func() time.Time { return time.Now().Add(d) }, nil
}
