package master

import (
	"encoding/binary"
	"io"
	"slices"
	"strconv"
	"time"
)

// Schedule is one surgical case on the operating schedule: which case, for
// which patient, in which room, from when to when. A use scanned in that
// room during that time, at a station with no case open, is linked to it.
//
// Case and Patient identify a person; they must never be logged.
type Schedule struct {
	// Case is the case id, as the case barcode and the settlement lines
	// carry it.
	Case string
	// Patient is the patient's identifier; "" when the schedule does not
	// give it.
	Patient string
	// Room is the location where the case takes place, as stations are
	// configured with it ("OR-3").
	Room string
	// Start and End bound the case as scheduled.
	Start, End time.Time
	// Procedure describes the operation; free text, may be "".
	Procedure string
	// Group is the case's DRG or DIP group (病组, 病种分值) and Standard
	// its payment standard (支付标准), when known: a case's cost is shown
	// against it. "" and 0 when not.
	Group    string
	Standard Amount
	// Surgeon is the operating surgeon (主刀医生), as the implant record
	// names them; "" if not given.
	Surgeon string
	// Record is the patient's medical record number (病案号); it
	// identifies a person and is never logged. "" if not given.
	Record string
}

// ScheduleSlack is how far before its start and after its end a scheduled
// case still claims a use in its room: cases start late and overrun.
const ScheduleSlack = 30 * time.Minute

// maxCaseLength bounds a scheduled case.
const maxCaseLength = 24 * time.Hour

// Schedule columns.
const (
	schCase = iota
	schPatient
	schRoom
	schStart
	schEnd
	schProcedure
	schGroup
	schStandard
	schSurgeon
	schRecord
)

var scheduleSchema = &schema{
	what: "schedules",
	cols: []column{
		schCase:      {name: "case", aliases: []string{"case_id", "手术号", "病例号"}, required: true, private: true},
		schPatient:   {name: "patient", aliases: []string{"患者id", "病人id", "患者"}, private: true},
		schRoom:      {name: "room", aliases: []string{"location", "or", "手术间"}, required: true},
		schStart:     {name: "start", aliases: []string{"开始时间"}, required: true},
		schEnd:       {name: "end", aliases: []string{"结束时间"}, required: true},
		schProcedure: {name: "procedure", aliases: []string{"手术名称"}},
		schGroup:     {name: "group", aliases: []string{"drg", "dip", "病组", "drg分组", "dip病种"}},
		schStandard:  {name: "payment_standard", aliases: []string{"支付标准"}},
		schSurgeon:   {name: "surgeon", aliases: []string{"主刀医生", "术者"}},
		schRecord:    {name: "record_no", aliases: []string{"病案号", "住院号"}, private: true},
	},
}

// ParseSchedules reads a case schedule file; options, results and
// errors as for ParseCatalogue. Times are RFC 3339
// ("2026-11-25T08:00:00+08:00") or "2026-11-25 08:00" in the gateway's
// local time zone. Errors about the case and patient columns never quote
// the value.
func ParseSchedules(r io.Reader, opt ImportOptions) ([]Schedule, Report, error) {
	s, rep, err := parseSet("schedules", r, opt)
	return s.schedules, rep, err
}

func buildSchedule(r *row) (Schedule, bool) {
	s := Schedule{
		Case:      r.get(schCase),
		Patient:   r.get(schPatient),
		Room:      r.get(schRoom),
		Procedure: r.get(schProcedure),
		Group:     r.get(schGroup),
		Surgeon:   r.get(schSurgeon),
		Record:    r.get(schRecord),
	}
	if v := r.get(schStandard); v != "" {
		s.Standard = parseAmountCol(v, false, r.report, "payment_standard")
	}
	var okStart, okEnd bool
	s.Start, okStart = parseTime(r.get(schStart), r.report, "start")
	s.End, okEnd = parseTime(r.get(schEnd), r.report, "end")
	s.check(r.report, okStart && okEnd)
	return s, true
}

// parseTime reads a schedule time; ok is false when it reported a
// problem.
func parseTime(v string, report reporter, col string) (t time.Time, ok bool) {
	if v == "" {
		report(col, "missing")
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, true
		}
	}
	report(col, quote(v)+" is not a time (write 2026-11-25 08:00 or 2026-11-25T08:00:00+08:00)")
	return time.Time{}, false
}

func (s *Schedule) normalize(report reporter) { s.check(report, true) }

// fileKey is the schedule's case, not quoted (it identifies a patient's
// operation): one file schedules a case once.
func (s *Schedule) fileKey() (string, string, string) { return s.Case, "this case", "case" }

// check checks s; times tells whether to check its times (false when the
// parser has reported them already).
func (s *Schedule) check(report reporter, times bool) {
	checkText(s.Case, maxText, true, report, "case")
	checkText(s.Patient, maxText, false, report, "patient")
	s.Room = oneLine(s.Room)
	checkText(s.Room, maxText, true, report, "room")
	s.Procedure = oneLine(s.Procedure)
	checkText(s.Procedure, maxText, false, report, "procedure")
	s.Group, s.Surgeon = oneLine(s.Group), oneLine(s.Surgeon)
	checkText(s.Group, maxCode, false, report, "group")
	checkText(s.Surgeon, maxText, false, report, "surgeon")
	checkText(s.Record, maxCode, false, report, "record_no")
	if s.Standard < 0 {
		report("payment_standard", "is negative")
	}
	switch {
	case !times:
	case s.Start.IsZero() || s.End.IsZero():
		if s.Start.IsZero() {
			report("start", "missing")
		}
		if s.End.IsZero() {
			report("end", "missing")
		}
	case !s.End.After(s.Start):
		report("end", "not after the start")
	case s.End.Sub(s.Start) > maxCaseLength:
		report("end", "more than 24 hours after the start")
	}
}

// ScheduledCase returns the case scheduled in room at t: the one case
// whose scheduled time holds t, or, when none does, the one case within
// ScheduleSlack of t. When two cases have an equal claim the schedule
// cannot tell which the use belongs to, and ScheduledCase returns false:
// a wrong link is worse than none.
func (d *Data) ScheduledCase(room string, t time.Time) (Schedule, bool) {
	if d == nil {
		return Schedule{}, false
	}
	var within, near []int32
	for _, i := range d.byRoom[room] {
		s := &d.schedules[i]
		switch {
		case !t.Before(s.Start) && !t.After(s.End):
			within = append(within, i)
		case !t.Before(s.Start.Add(-ScheduleSlack)) && !t.After(s.End.Add(ScheduleSlack)):
			near = append(near, i)
		}
	}
	switch {
	case len(within) == 1:
		return d.schedules[within[0]], true
	case len(within) == 0 && len(near) == 1:
		return d.schedules[near[0]], true
	}
	return Schedule{}, false
}

// Schedules returns a copy of the case schedule.
func (d *Data) Schedules() []Schedule {
	if d == nil {
		return nil
	}
	return slices.Clone(d.schedules)
}

// ParLevel is how many units of a product a location should hold: below
// Min it is replenished up to Max (replenish-on-use stock).
type ParLevel struct {
	// Location is the stock location (a cabinet, a ward store).
	Location string
	// GTIN or HIBC names the product, as in CatalogueEntry; one is set.
	GTIN string
	HIBC string
	// Min and Max are the reorder point and the level to fill up to.
	Min, Max int
}

// Product returns the product key of p (see CatalogueEntry.Product).
func (p *ParLevel) Product() string { return productOf(p.GTIN, p.HIBC) }

// fileKey is the par level's location and product: one file gives
// one level of a product at a location.
func (p *ParLevel) fileKey() (string, string, string) {
	k := "a par level of " + p.Product() + " at " + quote(p.Location)
	return k, k, "location"
}

// Par level columns.
const (
	parLocation = iota
	parGTIN
	parHIBC
	parMin
	parMax
)

var parSchema = &schema{
	what: "par levels",
	cols: []column{
		parLocation: {name: "location", aliases: []string{"库位", "科室"}, required: true},
		parGTIN:     {name: "gtin", aliases: []string{"di", "udi_di", "产品标识"}},
		parHIBC:     {name: "hibc"},
		parMin:      {name: "min", aliases: []string{"下限"}, required: true},
		parMax:      {name: "max", aliases: []string{"上限"}, required: true},
	},
	anyOf: []int{parGTIN, parHIBC},
}

// ParseParLevels reads a par level file; options, results and errors as
// for ParseCatalogue.
func ParseParLevels(r io.Reader, opt ImportOptions) ([]ParLevel, Report, error) {
	s, rep, err := parseSet("par", r, opt)
	return s.pars, rep, err
}

func buildParLevel(r *row) (ParLevel, bool) {
	p := ParLevel{Location: r.get(parLocation), GTIN: r.get(parGTIN), HIBC: r.get(parHIBC)}
	p.Min = parseCount(r.get(parMin), r.report, "min")
	p.Max = parseCount(r.get(parMax), r.report, "max")
	p.normalize(r.report)
	return p, true
}

// parseCount reads a stock count: a whole number from 0 to 100000.
func parseCount(v string, report reporter, col string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100000 {
		report(col, quote(v)+" is not a count (a whole number from 0 to 100000)")
		return -1
	}
	return n
}

func (p *ParLevel) normalize(report reporter) {
	p.Location = oneLine(p.Location)
	checkText(p.Location, maxText, true, report, "location")
	checkProduct(&p.GTIN, &p.HIBC, false, report)
	if p.Max >= 0 && p.Min > p.Max { // -1: not a count, said so
		report("max", "below min")
	}
}

// Par returns the par level of a product (its product key, as Lookup
// takes it) at a location.
func (d *Data) Par(location, product string) (ParLevel, bool) {
	if d == nil {
		return ParLevel{}, false
	}
	i, ok := d.par[pair{product, location}]
	if !ok {
		return ParLevel{}, false
	}
	return d.pars[i], true
}

// ParLocations returns the locations with a par level of product (its
// product key), in the par levels' order.
func (d *Data) ParLocations(product string) []string {
	if d == nil {
		return nil
	}
	ix := d.parsOf[product]
	out := make([]string, len(ix))
	for i, j := range ix {
		out[i] = d.pars[j].Location
	}
	return out
}

// ParLevels returns a copy of the par levels.
func (d *Data) ParLevels() []ParLevel {
	if d == nil {
		return nil
	}
	return slices.Clone(d.pars)
}

// putSchedulesMore appends the fields added to schedules after their
// first stored form, when any schedule has one: a count (the number of
// schedules), then per schedule its group, payment standard, surgeon and
// medical record number. A stored set without them ends after the
// schedules and reads with them empty.
func putSchedulesMore(b []byte, ss []Schedule) []byte {
	if !slices.ContainsFunc(ss, func(s Schedule) bool {
		return s.Group != "" || s.Standard != 0 || s.Surgeon != "" || s.Record != ""
	}) {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for i := range ss {
		s := &ss[i]
		b = putString(b, s.Group)
		b = binary.AppendVarint(b, int64(s.Standard))
		b = putString(b, s.Surgeon)
		b = putString(b, s.Record)
	}
	return b
}

// getSchedulesMore reads what putSchedulesMore wrote into ss.
func getSchedulesMore(r *decoder, ss []Schedule) {
	if n := r.uvarint(); n != uint64(len(ss)) {
		r.bad = true
		return
	}
	for i := range ss {
		s := &ss[i]
		s.Group = r.str()
		s.Standard = Amount(r.varint())
		s.Surgeon, s.Record = r.str(), r.str()
	}
}
