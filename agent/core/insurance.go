package core

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/nhsa"
)

// Kinds of release tables (ReleaseTable.Kind), as the API's form fields
// and the commands' flags name them.
const (
	// TableWithdrawn is a withdrawn-codes table (停用表).
	TableWithdrawn = "withdrawn"
	// TableTranscode is an old→new table (转码表).
	TableTranscode = "transcode"
)

// ReleaseTable is one table of a release of the national consumable
// codes, as a file (see agent/nhsa, Releases).
type ReleaseTable struct {
	// Kind is TableWithdrawn or TableTranscode.
	Kind string
	// Name is the file's name, for messages.
	Name string
	// File is the table's content.
	File io.Reader
}

// FeeOptions say how a fee-detail file is reconciled.
type FeeOptions struct {
	// Tables are the code release tables: a line or a product whose code
	// a table withdrew or replaced is reported, and compared under the
	// code that replaces it. None: codes are compared as billed.
	Tables []ReleaseTable
}

// MaxBadFeeLines bounds the bad lines a BadFeesError lists; its Count
// counts every one.
const MaxBadFeeLines = 100

// ErrNoFees is returned for a fee-detail file that holds no fee line:
// there is nothing to reconcile, which is not "no findings".
var ErrNoFees = errors.New("no fee lines in the file")

// ErrReleaseTable is wrapped by the error for a code release table that
// does not read whole, with agent/nhsa's error naming its file, line and
// column.
var ErrReleaseTable = errors.New("bad release table")

// BadFeesError reports a fee-detail file refused whole for its bad
// lines, as a master data file is: nothing is reconciled until every
// line reads. It wraps insurance.ErrLine.
type BadFeesError struct {
	// File is the file's name.
	File string
	// Count is the number of bad lines.
	Count int
	// Lines are the first MaxBadFeeLines of them, in file order, each
	// naming its line (or JSON record) and every field at fault.
	Lines []*insurance.LineError
}

func (e *BadFeesError) Error() string {
	return fmt.Sprintf("%s: %d bad fee line(s), nothing reconciled; the first: %v", e.File, e.Count, e.Lines[0])
}

// Unwrap returns insurance.ErrLine.
func (e *BadFeesError) Unwrap() error { return insurance.ErrLine }

// ReadFees reads a whole fee-detail file of interface 2301 (see
// insurance.FeeReader), streamed, its times in China time. format is
// "json" or "csv"; "" takes it from name's extension. A file with a bad
// line is refused whole (*BadFeesError); one with no line is ErrNoFees;
// one that cannot be read as a whole is the reader's error (wrapping
// insurance.ErrFormat or ErrHeader).
func ReadFees(ctx context.Context, r io.Reader, name, format string) ([]insurance.FeeLine, error) {
	if format == "" {
		format = strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	}
	fr, err := insurance.NewFeeReader(r, name, format, insurance.FeeOptions{})
	if err != nil {
		return nil, err
	}
	var lines []insurance.FeeLine
	var bad *BadFeesError
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		l, err := fr.Next()
		var le *insurance.LineError
		switch {
		case err == nil:
			if bad == nil {
				lines = append(lines, l)
			}
		case errors.As(err, &le):
			if bad == nil {
				bad, lines = &BadFeesError{File: name}, nil
			}
			bad.Count++
			if len(bad.Lines) < MaxBadFeeLines {
				bad.Lines = append(bad.Lines, le)
			}
		case err == io.EOF && bad != nil:
			return nil, bad
		case err == io.EOF && len(lines) == 0:
			return nil, fmt.Errorf("%s: %w", name, ErrNoFees)
		case err == io.EOF:
			return lines, nil
		default:
			return nil, err
		}
	}
}

// ReadReleases reads code release tables and returns the code mapper of
// the codes they withdraw and replace; nil when there are none. A table
// that does not read whole is an error wrapping ErrReleaseTable and
// agent/nhsa's error, which names its file, line and column.
func ReadReleases(tables []ReleaseTable) (insurance.CodeMapper, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	rs := new(nhsa.Releases)
	for _, t := range tables {
		var err error
		switch t.Kind {
		case TableWithdrawn:
			_, err = rs.ReadWithdrawn(t.File, t.Name, nhsa.Options{})
		case TableTranscode:
			_, err = rs.ReadTranscode(t.File, t.Name, nhsa.Options{})
		default:
			err = fmt.Errorf("%q is not a kind of release table (%s or %s)", t.Kind, TableWithdrawn, TableTranscode)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s table %s: %w", ErrReleaseTable, t.Kind, t.Name, err)
		}
	}
	return func(code string) (string, bool) {
		c, err := nhsa.ParseCode(code)
		if err != nil {
			return code, false // not a consumable code: no table names it
		}
		now, withdrawn, _ := rs.Map(c)
		return string(now), withdrawn
	}, nil
}

// ReadFeeFiles reads what a fee-detail reconciliation reads before the
// movements: the release tables of opt (ReadReleases), then the
// fee-detail file (ReadFees).
func ReadFeeFiles(ctx context.Context, fees io.Reader, name, format string, opt FeeOptions) ([]insurance.FeeLine, insurance.CodeMapper, error) {
	mapCode, err := ReadReleases(opt.Tables)
	if err != nil {
		return nil, nil, err
	}
	lines, err := ReadFees(ctx, fees, name, format)
	if err != nil {
		return nil, nil, err
	}
	return lines, mapCode, nil
}

// ReconcileFees reconciles a fee-detail file of interface 2301 with the
// ledger's uses: each visit's lines (mdtrt_id) with the uses that stand
// in the case of that id (audit.Auditor.ReconcileFees), over the
// catalogue held. The files are read first (ReadFeeFiles: a bad line
// refuses the file whole), then the ledger.
func (g *Gateway) ReconcileFees(ctx context.Context, fees io.Reader, name, format string, opt FeeOptions) ([]insurance.Finding, error) {
	lines, mapCode, err := ReadFeeFiles(ctx, fees, name, format, opt)
	if err != nil {
		return nil, err
	}
	a, err := g.auditor(ctx, 0)
	if err != nil {
		return nil, err
	}
	return a.ReconcileFees(lines, mapCode), nil
}

// InsuranceOptions choose what ExportInsurance writes.
type InsuranceOptions struct {
	// From and To bound the movements exported: From ≤ time < To; a zero
	// bound is open (ParseTimeBound reads them as the commands take them).
	From, To time.Time
	// Case, when set, asks for the trace codes of that case's settlement
	// instead (insurance.SettlementTraces over its standing uses); From
	// and To do not apply.
	Case string
	// DropGS writes trace codes without their GS separators
	// (insurance.TraceOptions).
	DropGS bool
}

// InsuranceCounts counts what ExportInsurance wrote.
type InsuranceCounts struct {
	// Records is the number of records (3501–3506), or of trace codes
	// for a case.
	Records int
	// Skipped is the number of movements (or uses) no record carries, each
	// listed with its reason in the document.
	Skipped int
	// Problems is the number of required fields left empty or values too
	// long in the records, each listed in the document.
	Problems int
}

// CaseTraces is the document ExportInsurance writes for one case: the
// trace codes its settlement uploads.
type CaseTraces struct {
	Case string `json:"case"`
	insurance.Traces
}

// ExportInsurance writes, as one JSON document, the records of the
// insurance platform's purchase–stock–sale interfaces (3501–3506,
// insurance.Build and WriteJSON) of the movements opt's time range
// holds, or with opt.Case the trace codes of that case's settlement.
//
// The ledger is read whole, by the auditor's rules: a use counts in the
// case a later case link gave it, a use blocked is no sale, and a
// movement of the range cancelled after it is given with its
// cancellation, which undoes it; a cancellation in the range of a
// movement before it is listed among the skipped (its record was
// exported before: undo it at the platform).
func (g *Gateway) ExportInsurance(ctx context.Context, w io.Writer, opt InsuranceOptions) (InsuranceCounts, error) {
	var ms []agent.Movement
	inRange := map[uint64]bool{}
	collect := func(m agent.Movement) {
		switch {
		case opt.Case != "":
		case !m.Time.Before(opt.From) && (opt.To.IsZero() || m.Time.Before(opt.To)):
			ms = append(ms, m)
			inRange[m.Seq] = true
		case !opt.To.IsZero() && !m.Time.Before(opt.To):
			if _, seq, ok := agent.Cancelled(m); ok && inRange[seq] {
				ms = append(ms, m)
			}
		}
	}
	a, err := g.auditor(ctx, 0, collect)
	if err != nil {
		return InsuranceCounts{}, err
	}
	uses := a.StandingUses()
	trace := insurance.TraceOptions{DropGS: opt.DropGS}
	bw := bufio.NewWriterSize(w, 64<<10)
	var n InsuranceCounts
	if opt.Case != "" {
		var own []agent.Movement
		for _, u := range uses {
			if u.Case == opt.Case {
				own = append(own, u)
			}
		}
		t := insurance.SettlementTraces(own, a.Catalogue(), trace)
		if t.Codes == nil {
			t.Codes = []string{}
		}
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(CaseTraces{Case: opt.Case, Traces: t}); err != nil {
			return n, err
		}
		n = InsuranceCounts{Records: len(t.Codes), Skipped: len(t.Skipped)}
		return n, bw.Flush()
	}
	// A sale is in the case the use stands in now.
	type id struct {
		gateway string
		seq     uint64
	}
	linked := make(map[id]string, len(uses))
	for _, u := range uses {
		linked[id{u.Gateway, u.Seq}] = u.Case
	}
	for i := range ms {
		if c, ok := linked[id{ms[i].Gateway, ms[i].Seq}]; ok {
			ms[i].Case = c
		}
	}
	e := insurance.Build(ms, a.Catalogue(), insurance.Options{Trace: trace})
	if err := insurance.WriteJSON(bw, e); err != nil {
		return n, err
	}
	n = InsuranceCounts{
		Records: len(e.StockTakes) + len(e.StockChanges) + len(e.Purchases) + len(e.PurchaseReturns) +
			len(e.Sales) + len(e.SaleReturns),
		Skipped:  len(e.Skipped),
		Problems: len(e.Problems),
	}
	return n, bw.Flush()
}

// ParseTimeBound reads a bound of ExportInsurance's range as the commands
// and the API take it: an RFC 3339 time, or a day (2026-03-12) in China
// time, the platform's zone: the day's start as a lower bound, the next
// day's start as an upper one (end), so that a day given as both bounds
// is that whole day. "" is an open bound (the zero time).
func ParseTimeBound(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, insurance.ChinaTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (2026-03-12) nor an RFC 3339 time (2026-03-12T08:00:00+08:00)", s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}
