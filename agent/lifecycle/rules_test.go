package lifecycle

import (
	"errors"
	"testing"
)

func TestParseRules(t *testing.T) {
	r, err := ParseRules(map[string]string{"no-case": " Block ", "expiring-soon": "off"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Severity(CheckNoCase) != SeverityBlock || r.Severity(CheckExpiringSoon) != SeverityOff || r.Severity(CheckExpired) != SeverityBlock {
		t.Errorf("rules %v", r)
	}
	for _, tt := range []struct {
		in   map[string]string
		key  string
		want error
	}{
		{map[string]string{"no-cse": "warn"}, "no-cse", ErrUnknownCheck},
		{map[string]string{"expired": "maybe"}, "expired", ErrSeverity},
		{map[string]string{"zz": "warn", "expired": "nope"}, "expired", ErrSeverity},
	} {
		_, err := ParseRules(tt.in)
		var re *RuleError
		if !errors.Is(err, tt.want) || !errors.As(err, &re) || re.Key != tt.key {
			t.Errorf("%v: %v", tt.in, err)
		}
	}
}

func TestParseRulesText(t *testing.T) {
	r, err := ParseRulesText(" expired=warn , imported-unjustified=block,")
	if err != nil || r.Severity(CheckExpired) != SeverityWarn || r.Severity(CheckImported) != SeverityBlock {
		t.Fatalf("%v %v", r, err)
	}
	back, err := ParseRulesText(r.String())
	if err != nil || back.String() != r.String() {
		t.Errorf("round trip: %v %v", back, err)
	}
	if d, err := ParseRulesText(""); err != nil || d.String() != DefaultRules().String() {
		t.Errorf("empty: %v %v", d, err)
	}
	for text, want := range map[string]error{
		"expired":                  ErrSyntax,
		"expired=warn,expired=off": ErrDuplicate,
		"expird=warn":              ErrUnknownCheck,
		"no-case=loud":             ErrSeverity,
	} {
		_, err := ParseRulesText(text)
		if !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", text, err, want)
		}
	}
	_, err = ParseRulesText("no-cse=warn")
	if err == nil || err.Error() != `lifecycle: rule "no-cse"="warn": no such check` {
		t.Errorf("message: %v", err)
	}
}

func TestRulesValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Error(err)
	}
	var re *RuleError
	if err := (Rules{"bogus": SeverityWarn}).Validate(); !errors.As(err, &re) || re.Key != "bogus" || !errors.Is(err, ErrUnknownCheck) {
		t.Errorf("%v", err)
	}
	if err := (Rules{CheckExpired: 9}).Validate(); !errors.Is(err, ErrSeverity) {
		t.Errorf("%v", err)
	}
	// Every check has a default.
	for _, c := range Checks {
		if _, ok := DefaultRules()[c]; !ok {
			t.Errorf("%s has no default", c)
		}
	}
	var nilRules Rules
	if nilRules.Severity(CheckExpired) != SeverityBlock {
		t.Error("nil rules are not the defaults")
	}
}

func TestSeverity(t *testing.T) {
	for s := SeverityOff; s <= SeverityBlock; s++ {
		got, err := ParseSeverity(s.String())
		if err != nil || got != s {
			t.Errorf("%v: %v %v", s, got, err)
		}
	}
	if Severity(7).String() != "Severity(7)" {
		t.Error(Severity(7).String())
	}
}
