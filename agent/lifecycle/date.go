package lifecycle

import (
	"strconv"
	"time"
)

// expiry is a label's expiry: a calendar date with no zone, and an hour
// when the label gives one. A label's date is the last day (or hour) the
// item may be used.
type expiry struct {
	date civil
	hour int // 0-23, or -1 for a whole day
}

// civil is a calendar date.
type civil struct {
	y int
	m time.Month
	d int
}

// parseExpiry parses the ISO forms of agent.Movement.Expiry:
// "2026-11-24", or "2026-11-24T16" for a label that gives the hour.
func parseExpiry(s string) (expiry, bool) {
	if len(s) != 10 && len(s) != 13 {
		return expiry{}, false
	}
	if s[4] != '-' || s[7] != '-' {
		return expiry{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return expiry{}, false
	}
	e := expiry{date: civil{y, time.Month(m), d}, hour: -1}
	if len(s) == 13 {
		h, ok := digits(s[11:13])
		if s[10] != 'T' || !ok || h > 23 {
			return expiry{}, false
		}
		e.hour = h
	}
	return e, true
}

// DaysLeft reads expiry, an agent.Movement.Expiry ("2026-11-24", or
// "2026-11-24T16" for a label that gives the hour), at the instant now:
// the calendar days from now's date, in now's zone, to the expiry's date
// (0 on that day, 1 the day before, negative once past), and whether the
// item is expired (now is at or after the end of that day, or of that
// hour). A label's date has no zone: it is the hospital's date, taken in
// now's zone. ok is false when expiry is not such a date. It is the one
// rule of expiry for the point-of-use checks, the audit and the stock.
func DaysLeft(expiry string, now time.Time) (days int, expired, ok bool) {
	e, ok := parseExpiry(expiry)
	if !ok {
		return 0, false, false
	}
	return daysBetween(now, e.date), now.Compare(e.end(now.Location())) >= 0, true
}

// end returns the first instant, in loc, at which the item is expired:
// the start of the day after the date, or of the hour after the hour.
func (e expiry) end(loc *time.Location) time.Time {
	if e.hour < 0 {
		return time.Date(e.date.y, e.date.m, e.date.d+1, 0, 0, 0, 0, loc)
	}
	return time.Date(e.date.y, e.date.m, e.date.d, e.hour+1, 0, 0, 0, loc)
}

// daysBetween returns the number of calendar days from the date of now, in
// now's zone, to d: 0 for today, 1 for tomorrow, negative for the past.
func daysBetween(now time.Time, d civil) int {
	y, m, day := now.Date()
	a := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	b := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func digits(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
