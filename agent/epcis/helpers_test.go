package epcis_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/udi-edge/udi-edge/agent"
)

// vectors is the directory of the EPCIS vectors (GS1's EPCIS 2.0 JSON
// schema and a reference document).
var vectors = filepath.Join("..", "..", "testdata", "vectors", "epcis")

const schemaFile = "EPCIS-JSON-Schema.json"

// negPrefix is a pattern of the form ^(?!X): it matches the strings that do
// not start with X. Go's regexp has no lookahead, and the EPCIS schema uses
// it only in this form (vocab-other-uri, vocab-nonGS1WebVoc-uri).
type negPrefix struct {
	re  *regexp.Regexp
	src string
}

func (n negPrefix) MatchString(s string) bool { return !n.re.MatchString(s) }
func (n negPrefix) String() string            { return n.src }

func regexpEngine(s string) (jsonschema.Regexp, error) {
	if strings.HasPrefix(s, "^(?!") && strings.HasSuffix(s, ")") {
		re, err := regexp.Compile("^(?:" + s[len("^(?!"):len(s)-1] + ")")
		if err != nil {
			return nil, err
		}
		return negPrefix{re, s}, nil
	}
	return regexp.Compile(s)
}

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// epcisSchema compiles the EPCIS 2.0 JSON schema once, with format
// assertions on (uri, date-time), as strict as the schema allows.
func epcisSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	schemaOnce.Do(func() {
		f, err := os.Open(filepath.Join(vectors, schemaFile))
		if err != nil {
			schemaErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		c.UseRegexpEngine(regexpEngine)
		if schemaErr = c.AddResource(schemaFile, doc); schemaErr != nil {
			return
		}
		schema, schemaErr = c.Compile(schemaFile)
	})
	if schemaErr != nil {
		t.Fatalf("compile EPCIS schema: %v", schemaErr)
	}
	return schema
}

// validate validates a JSON document against the EPCIS schema.
func validate(t testing.TB, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return epcisSchema(t).Validate(v)
}

// doc is the decoded shape of a document, for golden checks.
type doc struct {
	Context      []any  `json:"@context"`
	Type         string `json:"type"`
	CreationDate string `json:"creationDate"`
	Body         struct {
		Events []map[string]any `json:"eventList"`
	} `json:"epcisBody"`
}

func decode(t testing.TB, data []byte) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	return d
}

// str returns the string at a path of keys and indexes in an event.
func str(v any, path ...any) string {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return ""
			}
			v = a[k]
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// kindContext is the kind of a scan that only set a station's context.
const kindContext = agent.Kind("context")

func b64url(p []byte) string { return base64.URLEncoding.EncodeToString(p) }

func hexOf(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }
