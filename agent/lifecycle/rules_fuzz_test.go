package lifecycle

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// FuzzParseRules reads any check=severity pairs, as the one-line text
// (ParseRulesText) and as a configuration's map of one entry
// (ParseRules): an error is a *RuleError naming the key, wrapping why
// (unknown check, bad severity, syntax, a check twice); rules that read
// write (String) as text that reads to the same rules.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{
		"", DefaultRules().String(), "expired=off, no-case = block", "no-case=block,no-case=warn",
		"expiring-soon=WARN ,", "no-cse=warn", "expired", "expired=loud", "=block", " , ,expired= record",
		"fefo=pending,imported=off,never-received=block", "expired=block\x00",
	} {
		f.Add(s, "no-case", "block")
	}
	f.Add("", "", "")
	f.Add("", " expired ", " Block ")
	f.Fuzz(func(t *testing.T, text, key, value string) {
		checkRuleError := func(err error) {
			var re *RuleError
			if !errors.As(err, &re) || re.Err == nil || !strings.Contains(err.Error(), "rule ") {
				t.Fatalf("%q: error %v names no rule", text, err)
			}
			for _, why := range []error{ErrUnknownCheck, ErrSeverity, ErrSyntax, ErrDuplicate} {
				if errors.Is(err, why) {
					return
				}
			}
			t.Fatalf("%q: error %v says no known reason", text, err)
		}
		r, err := ParseRulesText(text)
		if err != nil {
			checkRuleError(err)
		} else {
			back, err := ParseRulesText(r.String())
			if err != nil || !maps.Equal(back, r) {
				t.Fatalf("%q read as %q, read again %v, %v", text, r.String(), back, err)
			}
		}
		m, err := ParseRules(map[string]string{key: value})
		if err != nil {
			checkRuleError(err)
			return
		}
		if got := m.Severity(CheckCode(strings.TrimSpace(key))); got.String() != strings.ToLower(strings.TrimSpace(value)) {
			t.Fatalf("%q=%q read as %v", key, value, got)
		}
	})
}
