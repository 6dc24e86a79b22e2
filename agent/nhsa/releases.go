package nhsa

import (
	"io"
	"slices"
	"strconv"
	"strings"
)

// Transcode is one row of an old→new table (转码表) of a code release.
type Transcode struct {
	// Old is the code replaced (原27位码); New the code that replaces it
	// (27位码).
	Old, New Code
	// Status is the old code's status as the table gives it (原码状态;
	// 停用 in the releases seen), "" when it gives none.
	Status string
	// Type is the kind of replacement as the table gives it (类型; 变更, a
	// change, or 映射, a mapping, in the releases seen), "" when it gives
	// none.
	Type string
	// Row is where the row was read.
	Row Place
}

// Withdrawal is one row of a withdrawn-codes table (停用表) of a code
// release.
type Withdrawal struct {
	// Code is the code withdrawn (27位码).
	Code Code
	// Status is its status as the table gives it (原码状态): 停用, or ""
	// when the table gives none.
	Status string
	// Row is where the row was read.
	Row Place
}

// Releases holds the withdrawn-codes tables and the old→new tables of one
// or more code releases, and maps a code to the code that stands for it
// now. The zero value is empty and ready. Tables are read with
// ReadWithdrawn and ReadTranscode; each read either adds a whole table or,
// on error, leaves the Releases as it was. Reads must not run
// concurrently with anything else; Map, Next, Withdrawal and Len may run
// concurrently with each other.
type Releases struct {
	next map[Code]Transcode
	gone map[Code]Withdrawal
}

// withdrawnStatus is the status a withdrawn-codes table gives its codes.
const withdrawnStatus = "停用"

// The columns of the withdrawn-codes table.
const (
	wdCode = iota
	wdStatus
)

var withdrawnSchema = newSchema("withdrawn-codes table (停用表)", nil,
	column{key: "code", required: true, aliases: []string{"27位码", "停用码", "停用代码", "医保耗材代码", "医保医用耗材代码", "耗材代码", "代码", "code", "yb_code_27", "yb_code"}},
	column{key: "status", aliases: []string{"原码状态", "状态", "status", "original_code_status", "ymzt"}},
).refusing("old→new table (转码表)", "原27位码", "原码", "旧码", "old_code", "original_yb_code_27").
	refusing("1306 catalogue", "医疗目录编码", "med_list_codg", "耗材名称", "mcs_name").
	refusing("code release workbook", "单件产品名称", "goods_id", "20位码")

// The columns of the old→new table.
const (
	tcOld = iota
	tcNew
	tcStatus
	tcType
)

var transcodeSchema = newSchema("old→new table (转码表)", nil,
	column{key: "old_code", required: true, aliases: []string{"原27位码", "原码", "旧码", "原代码", "旧27位码", "原耗材代码", "old_code", "original_yb_code_27", "from"}},
	column{key: "new_code", required: true, aliases: []string{"27位码", "新27位码", "新码", "新代码", "new_code", "yb_code_27", "to"}},
	column{key: "status", aliases: []string{"原码状态", "status", "original_code_status", "ymzt"}},
	column{key: "type", aliases: []string{"类型", "转码类型", "变更类型", "type", "change_type", "lx"}},
).refusing("1306 catalogue", "医疗目录编码", "med_list_codg", "耗材名称", "mcs_name").
	refusing("code release workbook", "单件产品名称", "goods_id", "20位码")

// ReadWithdrawn reads a withdrawn-codes table (停用表) and adds its codes;
// name is the file's name, for messages. The file is a CSV or
// tab-separated file read as ReadCatalogue reads (encodings, quoting,
// opt), with a header naming the code column (27位码, or one of the other
// names firmware-notes/nhsa.md lists) and, optionally, the status column
// (原码状态), whose value must be 停用 when given. A code listed twice is
// kept once. On error nothing is added.
func (rs *Releases) ReadWithdrawn(r io.Reader, name string, opt Options) (Summary, error) {
	rows, sum, err := readAll(r, name, withdrawnSchema, opt, func(r *row) Withdrawal {
		w := Withdrawal{Code: r.code(wdCode, true), Status: r.get(wdStatus), Row: Place{File: name, Line: r.line}}
		if w.Status != "" && w.Status != withdrawnStatus {
			r.fail(wdStatus, strconv.Quote(w.Status)+" is not the status of a withdrawn code (want "+withdrawnStatus+", or nothing)", nil)
		}
		return w
	})
	if err != nil {
		return sum, err
	}
	if rs.gone == nil {
		rs.gone = make(map[Code]Withdrawal, len(rows))
	}
	for _, w := range rows {
		if _, ok := rs.gone[w.Code]; !ok {
			rs.gone[w.Code] = w
		}
	}
	return sum, nil
}

// ReadTranscode reads an old→new table (转码表) and adds its rows; name is
// the file's name, for messages. The file is read as ReadWithdrawn reads,
// with a header naming the old code (原27位码) and the new code (27位码)
// columns and, optionally, the old code's status (原码状态) and the kind
// of replacement (类型), kept as given.
//
// The table is refused (and nothing added) when a row maps a code to
// itself (a bad row), when it gives an old code a new code other than
// the one this table or a table read before gives it (*ConflictError),
// or when its rows together with those read before lead from a code back
// to itself (*CycleError): Map must always end. A row given twice is kept
// once.
func (rs *Releases) ReadTranscode(r io.Reader, name string, opt Options) (Summary, error) {
	rows, sum, err := readAll(r, name, transcodeSchema, opt, func(r *row) Transcode {
		t := Transcode{Old: r.code(tcOld, true), New: r.code(tcNew, true), Status: r.get(tcStatus), Type: r.get(tcType), Row: Place{File: name, Line: r.line}}
		if t.Old != "" && t.Old == t.New {
			r.fail(tcNew, "the new code is the old code "+string(t.Old)+": a row must map a code to another", nil)
		}
		return t
	})
	if err != nil {
		return sum, err
	}
	added := make(map[Code]Transcode, len(rows))
	for _, t := range rows {
		prev, ok := rs.next[t.Old]
		if !ok {
			prev, ok = added[t.Old]
		}
		switch {
		case !ok:
			added[t.Old] = t
		case prev.New != t.New:
			return sum, &ConflictError{Old: t.Old, First: prev.New, Second: t.New, FirstRow: prev.Row, SecondRow: t.Row}
		}
	}
	if err := rs.checkCycles(rows, added); err != nil {
		return sum, err
	}
	if rs.next == nil {
		rs.next = make(map[Code]Transcode, len(added))
	}
	for k, t := range added {
		rs.next[k] = t
	}
	return sum, nil
}

// readAll reads a whole table into memory (the release tables are small:
// thousands of rows), as readTable reads it.
func readAll[T any](r io.Reader, name string, s *schema, opt Options, build func(*row) T) ([]T, Summary, error) {
	var rows []T
	sum, err := readTable(r, name, s, opt, build, func(v T) error {
		rows = append(rows, v)
		return nil
	})
	return rows, sum, err
}

// checkCycles returns a *CycleError when the rows read before together
// with added lead from a code back to itself. Only a path through an
// added row can be a new cycle, so the walks start from rows (in file
// order, so that the error is the same every time).
func (rs *Releases) checkCycles(rows []Transcode, added map[Code]Transcode) error {
	step := func(c Code) (Transcode, bool) {
		if t, ok := added[c]; ok {
			return t, true
		}
		t, ok := rs.next[c]
		return t, ok
	}
	const (
		onPath = 1
		done   = 2
	)
	state := make(map[Code]uint8, len(added))
	var path []Code
	for _, start := range rows {
		path = path[:0]
		c := start.Old
		for state[c] == 0 {
			t, ok := step(c)
			if !ok {
				break
			}
			state[c] = onPath
			path = append(path, c)
			c = t.New
		}
		if state[c] == onPath {
			i := 0
			for path[i] != c {
				i++
			}
			e := &CycleError{Codes: append([]Code(nil), path[i:]...)}
			for _, p := range e.Codes {
				t, _ := step(p)
				e.Rows = append(e.Rows, t.Row)
			}
			return e
		}
		for _, p := range path {
			state[p] = done
		}
	}
	return nil
}

// Map returns the code that stands now for c: c itself when no table
// replaces it, otherwise the end of the chain of replacements old→new→
// newer across every table read. withdrawn reports whether that code is
// in a withdrawn-codes table (with nothing to replace it); hops is the
// number of replacements followed (0: c is current or withdrawn as is).
func (rs *Releases) Map(c Code) (now Code, withdrawn bool, hops int) {
	now = c
	for hops <= len(rs.next) { // the tables have no cycle: a guard only
		t, ok := rs.next[now]
		if !ok {
			break
		}
		now = t.New
		hops++
	}
	_, withdrawn = rs.gone[now]
	return now, withdrawn, hops
}

// Next returns the row that replaces c, if a table has one.
func (rs *Releases) Next(c Code) (Transcode, bool) {
	t, ok := rs.next[c]
	return t, ok
}

// Withdrawal returns the withdrawn-codes row of c, if a table has one.
func (rs *Releases) Withdrawal(c Code) (Withdrawal, bool) {
	w, ok := rs.gone[c]
	return w, ok
}

// Len returns the number of old codes the old→new tables replace and the
// number of codes the withdrawn-codes tables list.
func (rs *Releases) Len() (transcodes, withdrawn int) { return len(rs.next), len(rs.gone) }

// Transcodes returns the old→new rows held, by old code.
func (r *Releases) Transcodes() []Transcode {
	out := make([]Transcode, 0, len(r.next))
	for _, t := range r.next {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Transcode) int { return strings.Compare(string(a.Old), string(b.Old)) })
	return out
}

// Withdrawals returns the withdrawn codes held, by code.
func (r *Releases) Withdrawals() []Withdrawal {
	out := make([]Withdrawal, 0, len(r.gone))
	for _, w := range r.gone {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Withdrawal) int { return strings.Compare(string(a.Code), string(b.Code)) })
	return out
}
