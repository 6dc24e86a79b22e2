// Package logtest checks the log lines the drivers write in their tests:
// JSON lines, one record each, with no key twice in one object. Log
// pipelines that take JSON reject a record with a duplicate key, and
// log/slog writes one when a key is added twice (by a caller's With and
// again by a driver).
//
// It is for tests only.
package logtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// DuplicateKeys returns the keys that occur twice in one object of the
// JSON text line, each as its path from the top ("scanner", "err.op";
// an array adds nothing to the path),
// or an error when line is not one JSON value.
func DuplicateKeys(line []byte) ([]string, error) {
	type level struct {
		obj     bool
		wantKey bool
		keys    map[string]bool
		path    string // the prefix of the members' paths: "" or "a.b."
		lastKey string
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	var stack []*level
	var dups []string
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return dups, err
		}
		var top *level
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if top != nil && top.obj && top.wantKey {
			if tok == json.Delim('}') {
				stack = stack[:len(stack)-1]
				valueDone()
				continue
			}
			k, ok := tok.(string)
			if !ok {
				return dups, fmt.Errorf("object key %v is not a string", tok)
			}
			if top.keys[k] {
				dups = append(dups, top.path+k)
			}
			top.keys[k], top.wantKey, top.lastKey = true, false, k
			continue
		}
		prefix := "" // of the members of a container opened here
		if top != nil {
			prefix = top.path
			if top.obj {
				prefix += top.lastKey + "."
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{obj: true, wantKey: true, keys: map[string]bool{}, path: prefix})
		case json.Delim('['):
			stack = append(stack, &level{path: prefix})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
	if len(stack) != 0 {
		return dups, errors.New("unterminated JSON value")
	}
	return dups, nil
}

// CheckLines fails t for each line of out, the output of a
// slog.JSONHandler, that is not a JSON object or has a key twice.
func CheckLines(t testing.TB, out string) {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "{") {
			t.Errorf("log line %d is not a JSON object: %s", i+1, line)
			continue
		}
		dups, err := DuplicateKeys([]byte(line))
		if err != nil {
			t.Errorf("log line %d: %v: %s", i+1, err, line)
		}
		if len(dups) > 0 {
			t.Errorf("log line %d has keys %v twice: %s", i+1, dups, line)
		}
	}
}
