package udid

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// JSON pages of the data-sharing API (D001):
//
//	{"returnCode":1, "returnMsg":"…", "totalPageCount":"50", …,
//	 "dataSet":{"deviceInfo":[{…}], "packingInfo":[{"deviceRecordKey":…, …}],
//	            "storageInfo":[…], "clinicalInfo":[…]}}
//
// Packing and storage rows are not inside the device objects: each row
// names its device by deviceRecordKey (MoniGas/HisTraceBack
// LinqModel/GetAllUDIInfo.cs; see firmware-notes/udid.md).
const (
	jDataSet   = "dataSet"
	jDevices   = "deviceInfo"
	jPacking   = "packingInfo"
	jStorage   = "storageInfo"
	jCode      = "returnCode"
	jMessage   = "returnMsg"
	jPackList  = "packingList"   // rows inside a device object, as in the XML
	jPackList2 = "devicePackage" // the same in older API versions
	jStoreList = "storageList"
	jStoreLst2 = "deviceStorage"
)

// jsonDoc is one JSON file being read.
type jsonDoc struct {
	doc
	d    *json.Decoder
	page int
}

// jsonRow is a packing or storage row, its fields as found.
type jsonRow struct {
	index int // 1-based, in its array
	key   string
	kv    [][2]string
}

// jsonPage holds a page's devices and rows until they can be joined.
type jsonPage struct {
	held     []heldDevice
	packing  map[string][]*jsonRow
	storage  map[string][]*jsonRow
	used     map[*jsonRow]bool
	rowsDone int // packingInfo and storageInfo arrays read
	code     string
	msg      string
}

type heldDevice struct {
	rec *record
	n   int64
}

func (r *Reader) readJSON(src io.Reader, file, entry string, fn func(Device) error, st *Stats) error {
	j := &jsonDoc{doc: doc{r: r, file: file, entry: entry, fn: fn, st: st}, d: json.NewDecoder(src)}
	j.d.UseNumber()
	st.Documents++
	return j.end(j.document(), j.fileError)
}

func (j *jsonDoc) fileError(err error) *FileError {
	reason := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		reason = "document ends early"
	}
	return &FileError{File: j.file, Entry: j.entry, Records: j.n,
		Reason: fmt.Sprintf("at byte %d: %s", j.d.InputOffset(), reason), Err: ErrSyntax}
}

func (j *jsonDoc) fail(reason string, err error) *FileError {
	return &FileError{File: j.file, Entry: j.entry, Records: j.n, Reason: reason, Err: err}
}

// document reads every top-level value: a page, or an array of pages.
func (j *jsonDoc) document() error {
	any := false
	for {
		t, err := j.d.Token()
		if err == io.EOF {
			if !any {
				return j.fail("no JSON value", ErrFormat)
			}
			return nil
		}
		if err != nil {
			return err
		}
		any = true
		switch t {
		case json.Delim('{'):
			if err := j.pageObject(); err != nil {
				return err
			}
		case json.Delim('['):
			if err := j.objects(j.pageObject); err != nil {
				return err
			}
		default:
			return j.fail("the document is not a page object", ErrFormat)
		}
	}
}

// pageObject reads one page, its '{' already read.
func (j *jsonDoc) pageObject() error {
	j.page++
	p := &jsonPage{packing: map[string][]*jsonRow{}, storage: map[string][]*jsonRow{}, used: map[*jsonRow]bool{}}
	sawData := false
	for j.d.More() {
		key, err := j.key()
		if err != nil {
			return err
		}
		switch key {
		case jDataSet:
			t, err := j.d.Token()
			if err != nil {
				return err
			}
			if t == nil {
				continue
			}
			if t != json.Delim('{') {
				return j.fail("dataSet is not an object", ErrFormat)
			}
			sawData = true
			for j.d.More() {
				k, err := j.key()
				if err != nil {
					return err
				}
				if err := j.dataSetMember(p, k); err != nil {
					return err
				}
			}
			if _, err := j.d.Token(); err != nil {
				return err
			}
		case jDevices, jPacking, jStorage:
			// A saved dataSet without its envelope.
			sawData = true
			if err := j.dataSetMember(p, key); err != nil {
				return err
			}
		case jCode, jMessage:
			v, _, err := j.scalar()
			if err != nil {
				return err
			}
			if key == jCode {
				p.code = v
			} else {
				p.msg = v
			}
		default:
			if err := j.skipValue(); err != nil {
				return err
			}
		}
	}
	if _, err := j.d.Token(); err != nil { // '}'
		return err
	}
	if err := j.flush(p); err != nil {
		return err
	}
	if p.code != "" && p.code != "1" {
		return j.report(j.fail(fmt.Sprintf("page %d: the API answered returnCode %s: %s", j.page, p.code, clip(p.msg)), ErrFormat))
	}
	if !sawData {
		return j.report(j.fail(fmt.Sprintf("page %d has no dataSet", j.page), ErrFormat))
	}
	return nil
}

// dataSetMember reads one member of a dataSet.
func (j *jsonDoc) dataSetMember(p *jsonPage, key string) error {
	switch key {
	case jDevices:
		return j.array(func() error { return j.deviceObject(p) })
	case jPacking, jStorage:
		rows := p.packing
		if key == jStorage {
			rows = p.storage
		}
		err := j.rows(func(row *jsonRow) {
			rows[row.key] = append(rows[row.key], row)
		})
		if err != nil {
			return err
		}
		p.rowsDone++
		return nil
	}
	return j.skipValue()
}

// array reads an array (or null), calling each for every element after
// reading its '{'.
func (j *jsonDoc) array(each func() error) error {
	t, err := j.d.Token()
	if err != nil || t == nil {
		return err
	}
	if t != json.Delim('[') {
		return j.fail("expected an array", ErrFormat)
	}
	return j.objects(each)
}

// objects reads the elements of an array just opened, each an object:
// each is called after its '{' is read.
func (j *jsonDoc) objects(each func() error) error {
	for j.d.More() {
		t, err := j.d.Token()
		if err != nil {
			return err
		}
		if t != json.Delim('{') {
			return j.fail("expected an object in the array", ErrFormat)
		}
		if err := each(); err != nil {
			return err
		}
	}
	_, err := j.d.Token()
	return err
}

// deviceObject reads one element of deviceInfo, its '{' read.
func (j *jsonDoc) deviceObject(p *jsonPage) error {
	j.n++
	rec := &record{}
	for j.d.More() {
		key, err := j.key()
		if err != nil {
			return err
		}
		switch key {
		case jPackList, jPackList2, jStoreList, jStoreLst2:
			storage := key == jStoreList || key == jStoreLst2
			err := j.rows(func(row *jsonRow) {
				if storage {
					j.attachStorage(rec, row)
				} else {
					j.attachPacking(rec, row)
				}
			})
			if err != nil {
				return err
			}
			continue
		}
		v, ok, err := j.scalar()
		if err != nil {
			return err
		}
		if !ok {
			continue // a nested value this package does not keep
		}
		rec.set(key, v)
	}
	if _, err := j.d.Token(); err != nil {
		return err
	}
	if rec.d.RecordKey == "" {
		rec.fail(fRecordKey, "", "a device of an API page has no deviceRecordKey, so its packing and storage rows cannot be found", ErrMissing)
	}
	if p.rowsDone == 2 {
		return j.deliver(p, rec, j.n)
	}
	max := j.r.MaxPending
	if max == 0 {
		max = DefaultMaxPending
	}
	if len(p.held) >= max {
		return j.fail(fmt.Sprintf("page %d: more than %d devices before its packing and storage rows", j.page, max), ErrTooLarge)
	}
	p.held = append(p.held, heldDevice{rec, j.n})
	return nil
}

// rows reads an array of packing or storage rows, numbering them from 1.
func (j *jsonDoc) rows(each func(*jsonRow)) error {
	i := 0
	return j.array(func() error {
		i++
		row, err := j.rowObject(i)
		if err == nil {
			each(row)
		}
		return err
	})
}

// rowObject reads a packing or storage row, its '{' read.
func (j *jsonDoc) rowObject(index int) (*jsonRow, error) {
	row := &jsonRow{index: index}
	for j.d.More() {
		key, err := j.key()
		if err != nil {
			return nil, err
		}
		v, ok, err := j.scalar()
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if key == fRecordKey {
			row.key = strings.TrimSpace(v)
			continue
		}
		row.kv = append(row.kv, [2]string{key, v})
	}
	_, err := j.d.Token()
	return row, err
}

func (j *jsonDoc) attachPacking(rec *record, row *jsonRow) {
	i := len(rec.d.Packing)
	rec.d.Packing = append(rec.d.Packing, Packing{})
	for _, kv := range row.kv {
		rec.setPacking(&rec.d.Packing[i], kv[0], listField("packing", i, kv[0]), kv[1])
	}
}

func (j *jsonDoc) attachStorage(rec *record, row *jsonRow) {
	i := len(rec.d.Storage)
	rec.d.Storage = append(rec.d.Storage, Storage{})
	for _, kv := range row.kv {
		rec.setStorage(&rec.d.Storage[i], kv[0], kv[1])
	}
}

// flush joins the held devices of a page to their rows, passes them on,
// and reports the rows left without a device.
func (j *jsonDoc) flush(p *jsonPage) error {
	for _, h := range p.held {
		if err := j.deliver(p, h.rec, h.n); err != nil {
			return err
		}
	}
	p.held = nil
	var orphans []string
	for _, set := range []struct {
		name string
		rows map[string][]*jsonRow
	}{{jPacking, p.packing}, {jStorage, p.storage}} {
		for _, rows := range set.rows {
			for _, row := range rows {
				if !p.used[row] {
					orphans = append(orphans, fmt.Sprintf("%s[%d].deviceRecordKey %q", set.name, row.index, clip(row.key)))
				}
			}
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	slices.Sort(orphans)
	more := ""
	if len(orphans) > 5 {
		more = fmt.Sprintf(" and %d more", len(orphans)-5)
		orphans = orphans[:5]
	}
	return j.report(j.fail(fmt.Sprintf("page %d: %s%s match no device of the page", j.page, strings.Join(orphans, ", "), more), ErrOrphan))
}

// deliver attaches a device's rows and passes it on, or reports it.
func (j *jsonDoc) deliver(p *jsonPage, rec *record, n int64) error {
	if key := rec.d.RecordKey; key != "" {
		for _, row := range p.packing[key] {
			j.attachPacking(rec, row)
			p.used[row] = true
		}
		for _, row := range p.storage[key] {
			j.attachStorage(rec, row)
			p.used[row] = true
		}
	}
	return j.pass(rec, n, 0)
}

// key reads an object key.
func (j *jsonDoc) key() (string, error) {
	t, err := j.d.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", j.fail("expected an object key", ErrSyntax)
	}
	return k, nil
}

// scalar reads a value: a string, number or boolean as text, null as "".
// An array or object is skipped with ok false.
func (j *jsonDoc) scalar() (v string, ok bool, err error) {
	t, err := j.d.Token()
	if err != nil {
		return "", false, err
	}
	switch x := t.(type) {
	case string:
		return x, true, nil
	case json.Number:
		return x.String(), true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	case nil:
		return "", true, nil
	case json.Delim:
		return "", false, j.skipRest()
	}
	return "", false, nil
}

// skipValue skips the next value.
func (j *jsonDoc) skipValue() error {
	t, err := j.d.Token()
	if err != nil {
		return err
	}
	if _, ok := t.(json.Delim); ok {
		return j.skipRest()
	}
	return nil
}

// skipRest skips to the end of the array or object just opened.
func (j *jsonDoc) skipRest() error {
	for depth := 1; depth > 0; {
		t, err := j.d.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}
