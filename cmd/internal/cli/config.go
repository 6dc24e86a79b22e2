package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ConfigError is a configuration problem, naming the key or flag at fault.
type ConfigError struct {
	Where string // "scanners[0].baud", "--gateway"
	Err   error
}

func (e *ConfigError) Error() string { return e.Where + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigErrorf returns a *ConfigError for where.
func ConfigErrorf(where string, format string, args ...any) error {
	return &ConfigError{Where: where, Err: fmt.Errorf(format, args...)}
}

// ParseJSONConfig parses b, the configuration file name, as one JSON object
// and checks its keys against t, the configuration's struct type: a syntax
// error is reported with its line and column, data after the object and
// a key t does not have (listing the keys it has) as errors naming where.
// The caller then unmarshals b into its configuration (TypeError names
// the key of a value of the wrong type).
func ParseJSONConfig(name string, b []byte, t reflect.Type) error {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return &ConfigError{Where: name, Err: jsonSyntax(b, err)}
	}
	if dec.More() {
		return ConfigErrorf(name, "unexpected data after the configuration object")
	}
	return checkKeys(raw, t, "")
}

// TypeError returns err, from json.Unmarshal of a configuration, as a
// *ConfigError naming the key of a value of the wrong type.
func TypeError(name string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &ConfigError{Where: te.Field, Err: fmt.Errorf("want %s, got %s", te.Type, te.Value)}
	}
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return &ConfigError{Where: name, Err: err}
}

// jsonSyntax adds a line and column to a JSON syntax error.
func jsonSyntax(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
		col := se.Offset - int64(bytes.LastIndexByte(b[:se.Offset], '\n'))
		return fmt.Errorf("line %d column %d: %v", line, col, err)
	}
	return err
}

// unmarshaler is the type of the values that read themselves (durations,
// sizes, hex bytes).
var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// checkKeys walks a decoded JSON value against the struct type t and
// reports the first key that t does not have, as a dotted path, and the
// first value of a type that reads itself (json.Unmarshaler) that it
// refuses, at its path: json.Unmarshal would name the file only.
func checkKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		b, err := json.Marshal(v)
		if v == nil || err != nil {
			return nil // null leaves a pointer unset; else json.Unmarshal will say
		}
		err = reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b)
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			err = &ConfigError{Where: orTop(path), Err: err}
		}
		return err
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil
			}
			return ConfigErrorf(orTop(path), "want an object")
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			p := join(path, keyName(k))
			if !ok {
				return ConfigErrorf(p, "unknown key (known keys: %s)", knownKeys(fields))
			}
			if walked(ft) {
				if err := checkKeys(obj[k], ft, p); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			if v == nil {
				return nil
			}
			return ConfigErrorf(orTop(path), "want a list")
		}
		for i, e := range arr {
			if err := checkKeys(e, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

// walked reports whether checkKeys has anything to check in a value of
// type t: a struct's keys, a value that reads itself, or a list or map
// of either.
func walked(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case reflect.PointerTo(t).Implements(unmarshaler), t.Kind() == reflect.Struct:
		return true
	case t.Kind() == reflect.Slice:
		return walked(t.Elem())
	}
	return false
}

func knownKeys(m map[string]reflect.Type) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// keyName is k as it is written in a key path: quoted when it is empty or
// holds what would misread as the path's own syntax or not be seen.
func keyName(k string) string {
	if k == "" || strings.ContainsAny(k, ".[]\" \t\r\n") || strconv.Quote(k) != `"`+k+`"` {
		return strconv.Quote(k)
	}
	return k
}

func orTop(p string) string {
	if p == "" {
		return "configuration"
	}
	return p
}
