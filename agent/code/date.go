package code

import (
	"strconv"
	"time"
)

// Date is a calendar date read from a code. Codes carry no time zone: a
// Date is the label's local date. Hour is -1 unless the code gives one.
type Date struct {
	Year  int
	Month time.Month
	Day   int
	// Hour is 0-23, or -1 when the code gives no hour.
	Hour int
}

// IsZero reports whether d holds no date.
func (d Date) IsZero() bool { return d.Year == 0 && d.Month == 0 && d.Day == 0 }

// String returns the date as "2026-05-31", with an hour as "2020-02-02T16",
// or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	b := make([]byte, 0, 13)
	b = appendPad(b, d.Year, 4)
	b = append(b, '-')
	b = appendPad(b, int(d.Month), 2)
	b = append(b, '-')
	b = appendPad(b, d.Day, 2)
	if d.Hour >= 0 {
		b = append(b, 'T')
		b = appendPad(b, d.Hour, 2)
	}
	return string(b)
}

// Time returns the start of d (of its hour when it has one) in loc. The
// zero Date gives the zero time.Time.
func (d Date) Time(loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	h := max(d.Hour, 0)
	return time.Date(d.Year, d.Month, d.Day, h, 0, 0, 0, loc)
}

func appendPad(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// fullYear resolves a two-digit year by GS1 General Specifications 7.12:
// with cur the current year, a year 51 to 99 above cur's last two digits
// is in the previous century, one 50 to 99 below them in the next, any
// other in the current century. The window is thus cur-49 .. cur+50.
func fullYear(yy int, now time.Time) int {
	cur := now.Year()
	century := cur - cur%100
	switch diff := yy - cur%100; {
	case diff >= 51:
		return century - 100 + yy
	case diff <= -50:
		return century + 100 + yy
	}
	return century + yy
}

// dateErr describes a bad date: off is the offset inside the date text.
type dateErr struct {
	off    int
	reason string
}

// checkMonth returns an error for a month out of 1..12.
func checkMonth(m, off int) *dateErr {
	if m < 1 || m > 12 {
		return &dateErr{off, "month " + pad2(m) + " is not a month"}
	}
	return nil
}

func checkDay(y int, m time.Month, d, off int) *dateErr {
	if d < 1 || d > 31 {
		return &dateErr{off, "day " + pad2(d) + " is not a day of the month"}
	}
	if d > daysIn(y, m) {
		return &dateErr{off, "day " + pad2(d) + " does not exist in " + m.String() + " " + strconv.Itoa(y)}
	}
	return nil
}

func checkHour(h, off int) *dateErr {
	if h > 23 {
		return &dateErr{off, "hour " + pad2(h) + " is not an hour of the day"}
	}
	return nil
}

func pad2(n int) string {
	if n < 10 && n >= 0 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// yymmdd parses six digits YYMMDD. With dayZero, day 00 stands for the last
// day of the month (GS1 General Specifications 7.12).
func yymmdd(s string, dayZero bool, now time.Time) (Date, *dateErr) {
	y := fullYear(atoi(s[0:2]), now)
	m := atoi(s[2:4])
	d := atoi(s[4:6])
	if e := checkMonth(m, 2); e != nil {
		return Date{}, e
	}
	if d == 0 {
		if !dayZero {
			return Date{}, &dateErr{4, "day 00 is not allowed in this field"}
		}
		d = daysIn(y, time.Month(m))
	}
	if e := checkDay(y, time.Month(m), d, 4); e != nil {
		return Date{}, e
	}
	return Date{Year: y, Month: time.Month(m), Day: d, Hour: -1}, nil
}

// yyyymmdd parses eight digits YYYYMMDD.
func yyyymmdd(s string) (Date, *dateErr) {
	y := atoi(s[0:4])
	m := atoi(s[4:6])
	d := atoi(s[6:8])
	if e := checkMonth(m, 4); e != nil {
		return Date{}, e
	}
	if e := checkDay(y, time.Month(m), d, 6); e != nil {
		return Date{}, e
	}
	return Date{Year: y, Month: time.Month(m), Day: d, Hour: -1}, nil
}

// yyjjj parses five digits YYJJJ (year and day of the year, 001-366).
func yyjjj(s string, now time.Time) (Date, *dateErr) {
	y := fullYear(atoi(s[0:2]), now)
	j := atoi(s[2:5])
	days := 365
	if daysIn(y, time.February) == 29 {
		days = 366
	}
	if j < 1 || j > days {
		return Date{}, &dateErr{2, "day of year " + s[2:5] + " does not exist in " + strconv.Itoa(y)}
	}
	t := time.Date(y, time.January, j, 0, 0, 0, 0, time.UTC)
	return Date{Year: y, Month: t.Month(), Day: t.Day(), Hour: -1}, nil
}

// hhmm checks four digits HHMM.
func hhmm(s string) *dateErr {
	if e := checkHour(atoi(s[0:2]), 0); e != nil {
		return e
	}
	if atoi(s[2:4]) > 59 {
		return &dateErr{2, "minute " + s[2:4] + " is not a minute of the hour"}
	}
	return nil
}
