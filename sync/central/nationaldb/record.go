package nationaldb

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// recordFormat is the first byte of every record of the devices and
// nhsa buckets.
const recordFormat = 1

// deviceRecord is a value of the devices bucket: the device as read and
// the index entries written for it, so that a newer version removes
// exactly those it no longer has.
type deviceRecord struct {
	keys  []string // product keys written to the keys bucket
	codes []string // national codes written to the codes bucket
	d     udid.Device
}

// encoder appends uvarints and length-prefixed strings.
type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strs(ss []string) {
	e.uint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// time writes 0 for the zero time, else 1, the Unix seconds (zig-zag)
// and the nanoseconds. The zone is not kept: times come back in UTC.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.uint(0)
		return
	}
	e.uint(1)
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

// decoder reads what encoder wrote; the first fault sticks in err. With
// skip set, it checks strings and lists but does not keep them (str
// returns "", strs nil).
type decoder struct {
	b    []byte
	err  error
	skip bool
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
}

func (d *decoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.uint()
	if v > 1<<31 {
		d.fail("number out of range")
		return 0
	}
	return int(v)
}

func (d *decoder) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.fail("string beyond the record")
		return ""
	}
	if d.skip {
		d.b = d.b[n:]
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// count reads a list's length, bounded by the bytes left (each element
// takes at least one).
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("list longer than the record")
		return 0
	}
	return int(n)
}

// bytes reads a string as a slice of the record (no copy).
func (d *decoder) bytes() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("string beyond the record")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

// bytesList reads a list of strings as strs does, appending its elements
// to dst as slices of the record.
func (d *decoder) bytesList(dst [][]byte) [][]byte {
	n := d.count()
	for range n {
		dst = append(dst, d.bytes())
	}
	return dst
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 || d.skip {
		for range n {
			d.str()
		}
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) time() time.Time {
	switch d.uint() {
	case 0:
		return time.Time{}
	case 1:
		if d.err != nil {
			return time.Time{}
		}
		s, n := binary.Varint(d.b)
		if n <= 0 {
			d.fail("bad time")
			return time.Time{}
		}
		d.b = d.b[n:]
		ns := d.uint()
		if ns >= 1e9 {
			d.fail("bad time")
			return time.Time{}
		}
		return time.Unix(s, int64(ns)).UTC()
	}
	d.fail("bad time")
	return time.Time{}
}

// end checks that the record was read to its end.
func (d *decoder) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the record", len(d.b)))
	}
	return d.err
}

// start checks the format byte.
func (d *decoder) start() {
	if len(d.b) == 0 || d.b[0] != recordFormat {
		d.fail("unknown record format")
		return
	}
	d.b = d.b[1:]
}

// encodeDevice returns the value of r in the devices bucket.
func encodeDevice(r *deviceRecord) []byte { return appendDevice(make([]byte, 0, 512), r) }

// appendDevice appends the value of r in the devices bucket to b.
func appendDevice(b []byte, r *deviceRecord) []byte {
	e := encoder{b: b}
	e.b = append(e.b, recordFormat)
	e.strs(r.keys)
	e.strs(r.codes)
	d := &r.d
	e.str(d.RecordKey)
	e.str(d.DI)
	e.uint(uint64(d.Coding))
	e.str(d.CodingName)
	e.str(d.UseUnitDI)
	e.uint(uint64(d.UseUnits))
	e.uint(uint64(d.Carriers))
	e.str(d.GenericName)
	e.str(d.TradeName)
	e.str(d.Model)
	e.str(d.Registrant)
	e.strs(d.Registrations)
	e.str(d.InsuranceCode)
	e.uint(uint64(d.Category))
	for _, f := range [...]udid.Flag{d.SingleUse, d.Sterile, d.LabelLot, d.LabelSerial, d.LabelProduction, d.LabelExpiry} {
		e.uint(uint64(f))
	}
	e.time(d.Published)
	e.time(d.Withdrawn)
	e.str(d.Status)
	e.uint(uint64(d.Version))
	e.time(d.VersionTime)
	e.str(d.VersionStatus)
	e.uint(uint64(len(d.Packing)))
	for _, p := range d.Packing {
		e.str(p.DI)
		e.str(p.ContainsDI)
		e.uint(uint64(p.Quantity))
		e.str(p.Level)
	}
	e.uint(uint64(len(d.Storage)))
	for _, s := range d.Storage {
		e.str(s.Condition)
		e.str(s.Min)
		e.str(s.Max)
		e.str(s.Unit)
	}
	return e.b
}

// deviceLists appends to keys and codes the product keys and the national
// codes of the device record v (the head of it only), as slices of v.
func deviceLists(v []byte, keys, codes [][]byte) ([][]byte, [][]byte, error) {
	dec := decoder{b: v}
	dec.start()
	keys = dec.bytesList(keys)
	codes = dec.bytesList(codes)
	return keys, codes, dec.err
}

// decodeDevice reads a value of the devices bucket.
func decodeDevice(v []byte) (deviceRecord, error) {
	var r deviceRecord
	dec := decoder{b: v}
	dec.start()
	r.keys = dec.strs()
	r.codes = dec.strs()
	readDevice(&dec, &r.d)
	return r, dec.end()
}

// deviceHead reads of the device record v what replacing it needs: its
// product keys and national codes, appended to keys and codes as slices
// of v, and its version. It checks the whole record as decodeDevice
// does, without keeping the rest.
func deviceHead(v []byte, keys, codes [][]byte) ([][]byte, [][]byte, version, error) {
	dec := decoder{b: v}
	dec.start()
	keys = dec.bytesList(keys)
	codes = dec.bytesList(codes)
	dec.skip = true
	var d udid.Device
	readDevice(&dec, &d)
	return keys, codes, versionOf(&d), dec.end()
}

// readDevice reads the device of a device record into d (its strings
// left empty by a decoder that skips them).
func readDevice(dec *decoder, d *udid.Device) {
	d.RecordKey = dec.str()
	d.DI = dec.str()
	d.Coding = udid.CodingSystem(dec.uint())
	d.CodingName = dec.str()
	d.UseUnitDI = dec.str()
	d.UseUnits = dec.int()
	d.Carriers = udid.Carriers(dec.uint())
	d.GenericName = dec.str()
	d.TradeName = dec.str()
	d.Model = dec.str()
	d.Registrant = dec.str()
	d.Registrations = dec.strs()
	d.InsuranceCode = dec.str()
	d.Category = udid.Category(dec.uint())
	for _, f := range [...]*udid.Flag{&d.SingleUse, &d.Sterile, &d.LabelLot, &d.LabelSerial, &d.LabelProduction, &d.LabelExpiry} {
		*f = udid.Flag(dec.uint())
	}
	d.Published = dec.time()
	d.Withdrawn = dec.time()
	d.Status = dec.str()
	d.Version = dec.int()
	d.VersionTime = dec.time()
	d.VersionStatus = dec.str()
	var p udid.Packing
	if n := dec.count(); n > 0 {
		if !dec.skip {
			d.Packing = make([]udid.Packing, n)
		}
		for i := range n {
			p.DI, p.ContainsDI, p.Quantity, p.Level = dec.str(), dec.str(), dec.int(), dec.str()
			if !dec.skip {
				d.Packing[i] = p
			}
		}
	}
	var s udid.Storage
	if n := dec.count(); n > 0 {
		if !dec.skip {
			d.Storage = make([]udid.Storage, n)
		}
		for i := range n {
			s.Condition, s.Min, s.Max, s.Unit = dec.str(), dec.str(), dec.str(), dec.str()
			if !dec.skip {
				d.Storage[i] = s
			}
		}
	}
}

// encodeRow returns the value of it in the nhsa bucket. Line is not
// kept: it is the place in one file.
func encodeRow(it *nhsa.Item) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	e.b = append(e.b, recordFormat)
	e.str(string(it.Code))
	e.str(it.Name)
	e.strs(it.UDIDI)
	e.str(it.GenericNameCode)
	e.str(it.GenericName)
	e.str(it.SpecModel)
	e.str(it.RestrictionScope)
	for _, f := range [...]nhsa.Flag{it.Restricted, it.HighValue, it.Implant, it.ImplantOrIntervention, it.SingleUse, it.Valid} {
		e.uint(uint64(f))
	}
	e.str(it.Registration)
	e.str(it.Registrant)
	e.str(it.Manufacturer)
	e.str(it.RecordID)
	e.str(it.Version)
	e.str(it.VersionName)
	return e.b
}

// decodeRow reads a value of the nhsa bucket.
func decodeRow(v []byte) (nhsa.Item, error) {
	var it nhsa.Item
	dec := decoder{b: v}
	dec.start()
	it.Code = nhsa.Code(dec.str())
	it.Name = dec.str()
	it.UDIDI = dec.strs()
	it.GenericNameCode = dec.str()
	it.GenericName = dec.str()
	it.SpecModel = dec.str()
	it.RestrictionScope = dec.str()
	for _, f := range [...]*nhsa.Flag{&it.Restricted, &it.HighValue, &it.Implant, &it.ImplantOrIntervention, &it.SingleUse, &it.Valid} {
		*f = nhsa.Flag(dec.uint())
	}
	it.Registration = dec.str()
	it.Registrant = dec.str()
	it.Manufacturer = dec.str()
	it.RecordID = dec.str()
	it.Version = dec.str()
	it.VersionName = dec.str()
	return it, dec.end()
}
