package mercury

import (
	"encoding/binary"
	"fmt"
)

// Kind says what a response means to a driver.
type Kind uint8

// Kinds of Event.
const (
	// KindResponse is a plain command response with status OK.
	KindResponse Kind = iota
	// KindTag is a streamed tag read: Event.Tag is filled.
	KindTag
	// KindKeepAlive ends a search cycle during continuous reading: a
	// READ_TAG_ID_MULTIPLE response with status 0x0400 (no tags found) or
	// with no data. It arrives about once per cycle whether or not tags
	// were read, so its absence means the module or the line is gone. Tag
	// timestamps restart after it.
	KindKeepAlive
	// KindStats is a statistics record during continuous reading:
	// Event.Stats is filled.
	KindStats
	// KindStarted acknowledges the start of continuous reading.
	KindStarted
	// KindStopped acknowledges the end of continuous reading; no more
	// tag records follow.
	KindStopped
	// KindSearchEnd is a stream record that ends a search (response type
	// 0x00) without a tag.
	KindSearchEnd
	// KindStatus is a response with a status other than OK that is not a
	// keep-alive, for example 0x0504 (temperature too high) or 0x0505
	// (high return loss) in the middle of continuous reading. Event.Err
	// returns it as an *Error.
	KindStatus
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindResponse:
		return "response"
	case KindTag:
		return "tag"
	case KindKeepAlive:
		return "keep-alive"
	case KindStats:
		return "stats"
	case KindStarted:
		return "started"
	case KindStopped:
		return "stopped"
	case KindSearchEnd:
		return "search-end"
	case KindStatus:
		return "status"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// StatsFlags select the statistics a module reports (Mercury API
// TMR_Reader_StatsFlag).
type StatsFlags uint32

// Statistics flags.
const (
	// StatsTemperature is the module temperature in °C.
	StatsTemperature StatsFlags = 1 << 8
)

// ReaderStats are the statistics of a KindStats record.
type ReaderStats struct {
	// Valid are the statistics the record carries.
	Valid StatsFlags
	// Temperature is the module temperature in °C (StatsTemperature).
	Temperature int
}

// Event is the meaning of one response frame. Tag's slices alias the frame.
type Event struct {
	// Kind says which of the fields below are meaningful.
	Kind Kind
	// Opcode and Status are the frame's.
	Opcode Opcode
	Status Status
	// Tag is the read of a KindTag event.
	Tag TagRead
	// Stats are the statistics of a KindStats event.
	Stats ReaderStats
}

// Err returns an *Error for a KindStatus event, else nil.
func (e *Event) Err() error {
	if e.Kind != KindStatus {
		return nil
	}
	return &Error{Opcode: e.Opcode, Status: e.Status}
}

// Response types of a streamed READ_TAG_ID_MULTIPLE record (the byte after
// the flags, Mercury API TMR_SR_hasMoreTags).
const (
	streamEnd   = 0x00
	streamTag   = 0x01
	streamStats = 0x02
)

// optionMetadata is the option bit saying that a metadata flags word
// follows the search flags.
const optionMetadata = 0x10

// ParseEvent interprets a response frame received while continuous reading
// runs and fills *ev. A streamed READ_TAG_ID_MULTIPLE record is laid out
//
//	option(1) search flags(2) [metadata flags(2) if option&0x10] type(1) ...
//
// and type 0x01 is a tag record (KindTag), 0x02 statistics (KindStats),
// 0x00 the end of a search (KindSearchEnd). A MULTI_PROTOCOL_TAG_OP answer
// starts with the option of the request: 0x01 is KindStarted, 0x02
// KindStopped. Other opcodes are KindResponse.
//
// The error is ErrMalformed (wrapped) for a record that is not laid out as
// its option and flags say, or what ParseTagRecord returns; with a
// *TagCRCError ev is a filled KindTag event whose Tag.CRCValid is false.
// A module error is not an error here but KindStatus.
func ParseEvent(f Frame, ev *Event) error {
	ev.Kind, ev.Opcode, ev.Status = KindResponse, f.Opcode, f.Status
	ev.Stats = ReaderStats{}
	if f.Opcode != OpReadTagIDMultiple || f.Status != StatusOK || len(f.Data) == 0 {
		ev.Tag = TagRead{}
	}
	switch f.Opcode {
	case OpReadTagIDMultiple:
		switch {
		case f.Status == StatusNoTagsFound:
			ev.Kind = KindKeepAlive
			return nil
		case f.Status != StatusOK:
			ev.Kind = KindStatus
			return nil
		case len(f.Data) == 0:
			ev.Kind = KindKeepAlive
			return nil
		}
		return parseStreamed(f.Data, ev)
	case OpMultiProtocolTagOp:
		switch {
		case f.Status != StatusOK:
			ev.Kind = KindStatus
		case len(f.Data) > 0 && f.Data[0] == 0x01:
			ev.Kind = KindStarted
		case len(f.Data) > 0 && f.Data[0] == 0x02:
			ev.Kind = KindStopped
		}
		return nil
	}
	if f.Status != StatusOK {
		ev.Kind = KindStatus
	}
	return nil
}

func parseStreamed(data []byte, ev *Event) error {
	r := reader{b: data}
	option := r.u8()
	r.u16() // search flags
	var flags MetadataFlags
	if option&optionMetadata != 0 {
		flags = MetadataFlags(r.u16())
	}
	typ := r.u8()
	if r.short {
		return fmt.Errorf("%w: streamed record of %d bytes", ErrMalformed, len(data))
	}
	rest := data[r.off:]
	if typ != streamTag {
		ev.Tag = TagRead{}
	}
	switch typ {
	case streamTag:
		ev.Kind = KindTag
		_, err := ParseTagRecord(flags, rest, &ev.Tag)
		return err
	case streamStats:
		ev.Kind = KindStats
		return parseStats(rest, &ev.Stats)
	case streamEnd:
		ev.Kind = KindSearchEnd
		return nil
	}
	return fmt.Errorf("%w: streamed record of unknown type 0x%02X", ErrMalformed, typ)
}

// parseStats reads a statistics record: the flags present (an EBV), then
// for each statistic its flag (EBV), its length and its value.
func parseStats(b []byte, s *ReaderStats) error {
	r := reader{b: b}
	s.Valid = StatsFlags(r.ebv())
	for !r.short && r.off < len(b) {
		typ := StatsFlags(r.ebv())
		v := r.bytes(int(r.u8()))
		if r.short {
			break
		}
		if typ == StatsTemperature && len(v) == 1 {
			s.Temperature = int(int8(v[0]))
		}
	}
	if r.short {
		return fmt.Errorf("%w: statistics record of %d bytes", ErrMalformed, len(b))
	}
	return nil
}

// ParseReadCount returns the number of tags a synchronous
// READ_TAG_ID_MULTIPLE found. The count is one byte, or four with
// SearchLargeTagPopulation; a select option byte may precede it (Mercury
// API TMR_SR_cmdReadTagMultiple, by the response length).
func ParseReadCount(f Frame) (int, error) {
	if err := f.Err(); err != nil {
		return 0, err
	}
	if f.Opcode != OpReadTagIDMultiple {
		return 0, fmt.Errorf("%w: %v is not a READ_TAG_ID_MULTIPLE response", ErrMalformed, f.Opcode)
	}
	d := f.Data
	switch len(d) {
	case 4:
		return int(d[3]), nil
	case 5:
		return int(d[4]), nil
	case 7:
		return int(binary.BigEndian.Uint32(d[3:])), nil
	case 8:
		return int(binary.BigEndian.Uint32(d[4:])), nil
	}
	return 0, fmt.Errorf("%w: READ_TAG_ID_MULTIPLE response of %d data bytes", ErrMalformed, len(d))
}
