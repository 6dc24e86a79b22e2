package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/record"
)

// JSONVersion is the "v" of every JSON payload of protocol version 1.
const JSONVersion = 1

// object is a JSON payload being decoded field by field: decoding through
// a map of raw values lets a decoder tell a missing field from a zero one,
// match names exactly and refuse unknown ones.
type object struct {
	payload string
	m       map[string]json.RawMessage
	err     error
}

// parseObject parses p as one JSON object with "v" equal to JSONVersion.
func parseObject(payload string, p []byte) (*object, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return nil, fieldErr(ErrMalformed, payload, "payload", "not a JSON object: %v", err)
	}
	if m == nil {
		return nil, fieldErr(ErrMalformed, payload, "payload", "not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fieldErr(ErrMalformed, payload, "payload", "data after the object")
	}
	raw, ok := m["v"]
	if !ok || string(raw) == "null" {
		return nil, fieldErr(ErrMalformed, payload, "v", "missing")
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fieldErr(ErrMalformed, payload, "v", "not an integer")
	}
	if v != JSONVersion {
		return nil, fieldErr(ErrVersion, payload, "v", "version %d, want %d", v, JSONVersion)
	}
	delete(m, "v")
	return &object{payload: payload, m: m}, nil
}

// field decodes the field name into dst. A missing or null field is an
// error when required, and leaves dst alone otherwise.
func (o *object) field(name string, required bool, dst any) {
	if o.err != nil {
		return
	}
	raw, ok := o.m[name]
	delete(o.m, name)
	if !ok || string(raw) == "null" {
		if required {
			o.err = fieldErr(ErrMalformed, o.payload, name, "missing")
		}
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.err = fieldErr(ErrMalformed, o.payload, name, "wrong type or out of range")
	}
}

// done returns the first error, or an error naming an unknown field.
func (o *object) done() error {
	if o.err != nil {
		return o.err
	}
	if len(o.m) > 0 {
		keys := make([]string, 0, len(o.m))
		for k := range o.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		name := cut(keys[0], 64)
		if name == "" || strconv.Quote(name) != `"`+name+`"` {
			name = strconv.Quote(name) // an empty or unprintable key, seen
		}
		return fieldErr(ErrMalformed, o.payload, name, "unknown field")
	}
	return nil
}

// checkV returns an error when v is not JSONVersion, for encoders.
func checkV(payload string, v int) error {
	if v != JSONVersion {
		return fieldErr(ErrVersion, payload, "v", "version %d, want %d", v, JSONVersion)
	}
	return nil
}

// validHex returns nil when s is n bytes written as 2n lowercase hex
// digits.
func validHex(payload, field, s string, n int) error {
	if len(s) != 2*n {
		return fieldErr(ErrMalformed, payload, field, "%d characters, want %d lowercase hex digits", len(s), 2*n)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fieldErr(ErrMalformed, payload, field, "not lowercase hex")
		}
	}
	return nil
}

// HashHex returns h as the lowercase hex an ack carries.
func HashHex(h [record.HashSize]byte) string { return hex.EncodeToString(h[:]) }

// ParseHash returns the hash s spells in lowercase hex. It returns a
// *FieldError wrapping ErrMalformed for anything else.
func ParseHash(s string) ([record.HashSize]byte, error) {
	var h [record.HashSize]byte
	if err := validHex("hash", "hash", s, record.HashSize); err != nil {
		return h, err
	}
	_, err := hex.Decode(h[:], []byte(s))
	return h, err
}

func marshal(payload string, v any) ([]byte, error) {
	p, err := json.Marshal(v)
	if err != nil {
		return nil, fieldErr(ErrMalformed, payload, "payload", "%v", err)
	}
	return p, nil
}
