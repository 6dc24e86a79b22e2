// Package fees is what the reconcile commands of udi-edge and udi-central
// share for a fee-detail file of the insurance platform (interface 2301):
// its flags, its files opened, its findings and its bad lines printed.
// Every rule is agent/core's and agent/insurance's.
package fees

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

// Flags are the flags of a fee-detail reconciliation.
type Flags struct {
	File, Format         string
	Withdrawn, Transcode []string
}

// Register adds --fees, --format, --withdrawn and --transcode to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.File, "fees", "", "reconcile this fee-detail file of the insurance platform (interface 2301, JSON or CSV) with the uses")
	fs.StringVar(&f.Format, "format", "", "the fee-detail file's format, json or csv (default: from its extension)")
	fs.StringArrayVar(&f.Withdrawn, "withdrawn", nil, "a withdrawn-codes table (停用表) of a code release, CSV (repeatable)")
	fs.StringArrayVar(&f.Transcode, "transcode", nil, "an old→new table (转码表) of a code release, CSV (repeatable)")
}

// Used reports whether a fee-detail file was given; an error when a
// table or a format was given without one.
func (f *Flags) Used() (bool, error) {
	if f.File == "" && (f.Format != "" || len(f.Withdrawn)+len(f.Transcode) > 0) {
		return false, cli.Usagef("--format, --withdrawn and --transcode go with --fees")
	}
	return f.File != "", nil
}

// Files are the files of a fee-detail reconciliation, open.
type Files struct {
	// Fees is the fee-detail file; Name its base name and Format its
	// format.
	Fees         *os.File
	Name, Format string
	// Tables are the release tables, open.
	Tables []core.ReleaseTable
	open   []*os.File
}

// Open checks the format and opens the files of f: regular files only
// (a FIFO or a device would make the read wait for ever).
func (f *Flags) Open() (*Files, error) {
	format := f.Format
	if format == "" {
		format = strings.ToLower(strings.TrimPrefix(filepath.Ext(f.File), "."))
	}
	if format != insurance.FormatJSON && format != insurance.FormatCSV {
		return nil, cli.Usagef("--format: %q: want json or csv", format)
	}
	fs := &Files{Name: filepath.Base(f.File), Format: format}
	var err error
	if fs.Fees, err = fs.openFile(f.File); err != nil {
		fs.Close()
		return nil, err
	}
	for _, t := range []struct {
		kind  string
		files []string
	}{{core.TableWithdrawn, f.Withdrawn}, {core.TableTranscode, f.Transcode}} {
		for _, name := range t.files {
			h, err := fs.openFile(name)
			if err != nil {
				fs.Close()
				return nil, err
			}
			fs.Tables = append(fs.Tables, core.ReleaseTable{Kind: t.kind, Name: filepath.Base(name), File: h})
		}
	}
	return fs, nil
}

func (fs *Files) openFile(name string) (*os.File, error) {
	if st, err := os.Stat(name); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	h, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fs.open = append(fs.open, h)
	return h, nil
}

// Close closes the files.
func (fs *Files) Close() {
	for _, h := range fs.open {
		h.Close()
	}
}

// Refused prints to stderr every bad line (or table row) that err, the
// error of a reconciliation, names, and returns the error to end the
// command with: err, or a shorter one when the lines were printed.
func Refused(stderr io.Writer, err error) error {
	var lines []string
	var bad *core.BadFeesError
	var ae *api.Error
	switch {
	case errors.As(err, &bad):
		for _, l := range bad.Lines {
			lines = append(lines, l.Error())
		}
	case errors.As(err, &ae):
		lines = ae.RowErrors
	}
	if len(lines) == 0 {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(stderr, l)
	}
	if bad != nil && bad.Count > len(lines) {
		fmt.Fprintf(stderr, "and %d more bad line(s)\n", bad.Count-len(lines))
	}
	return fmt.Errorf("%w (the bad lines are listed above; nothing was reconciled)", err)
}

// Print prints a reconciliation's findings, as a table or one JSON
// object per finding; the error says how many there are.
func Print(w io.Writer, found []insurance.Finding, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, f := range found {
			_ = enc.Encode(f)
		}
	} else if len(found) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "FINDING\tCASE\tLINE\tITEM\tCODE\tDETAIL")
		for _, f := range found {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, show.Dash(f.Case), show.Dash(f.Line), show.Dash(f.Item), show.Dash(f.Code), f.Detail)
		}
		tw.Flush()
	}
	if len(found) > 0 {
		return errors.New(strconv.Itoa(len(found)) + " finding(s)")
	}
	if !asJSON {
		fmt.Fprintln(w, "no findings")
	}
	return nil
}
