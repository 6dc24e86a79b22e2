package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// udevPair is one KEY{attr} OP "value" of a udev rule.
type udevPair struct {
	Key, Attr, Op, Value string
}

// udevRule is one rule of a rules file: its first line and its pairs.
type udevRule struct {
	Line  int
	Pairs []udevPair
}

// udevKey says how a udev key may be written (udev(7)): the operators it
// takes, and whether it takes an {attribute} (and which, when udev
// restricts them).
type udevKey struct {
	ops   string // space-separated operators
	attr  int    // attrNone, attrOptional, attrRequired
	attrs []string
}

const (
	attrNone = iota
	attrOptional
	attrRequired
)

const (
	opsMatch  = "== !="
	opsAssign = "= += -= :="
)

// udevKeys are the keys of udev(7) and their operators.
var udevKeys = map[string]udevKey{
	"ACTION": {ops: opsMatch}, "DEVPATH": {ops: opsMatch}, "KERNEL": {ops: opsMatch}, "KERNELS": {ops: opsMatch},
	"SUBSYSTEM": {ops: opsMatch}, "SUBSYSTEMS": {ops: opsMatch}, "DRIVER": {ops: opsMatch}, "DRIVERS": {ops: opsMatch},
	"TAGS": {ops: opsMatch}, "RESULT": {ops: opsMatch}, "PROGRAM": {ops: opsMatch},
	"ATTRS":   {ops: opsMatch, attr: attrRequired},
	"CONST":   {ops: opsMatch, attr: attrRequired, attrs: []string{"arch", "virt"}},
	"TEST":    {ops: opsMatch, attr: attrOptional},
	"ATTR":    {ops: "== != =", attr: attrRequired},
	"SYSCTL":  {ops: "== != =", attr: attrRequired},
	"ENV":     {ops: "== != = += :=", attr: attrRequired},
	"TAG":     {ops: "== != = += -= :="},
	"NAME":    {ops: "== != = :="},
	"SYMLINK": {ops: "== != = += -= :="},
	"OWNER":   {ops: "= :="}, "GROUP": {ops: "= :="}, "MODE": {ops: "= :="},
	"SECLABEL": {ops: "= += :=", attr: attrRequired},
	"RUN":      {ops: "= += :=", attr: attrOptional, attrs: []string{"program", "builtin"}},
	"IMPORT":   {ops: "= == !=", attr: attrRequired, attrs: []string{"program", "builtin", "file", "db", "cmdline", "parent"}},
	"OPTIONS":  {ops: "= += :="},
	"LABEL":    {ops: "="}, "GOTO": {ops: "="},
}

// udevPairRE matches one pair at the start of the rest of a rule: the
// key, its {attribute}, the operator and the quoted value (e"..." takes
// backslash escapes).
var udevPairRE = regexp.MustCompile(`^([A-Z]+)(?:\{([^{}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*(e?)"((?:[^"\\]|\\.)*)"`)

// parseUdevRules reads a udev rules file (name for errors) and checks
// every line as udev reads it: continuation lines joined, each pair a
// known key with an operator it takes, a quoted value, pairs separated by
// commas; every rule does something (not only matches); every GOTO has
// its LABEL after it. The first fault is a *UdevError naming the line.
func parseUdevRules(name string, r io.Reader) ([]udevRule, error) {
	var rules []udevRule
	sc := bufio.NewScanner(r)
	n, start := 0, 0
	pending := ""
	for sc.Scan() {
		n++
		line := sc.Text()
		if pending == "" {
			start = n
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue
			}
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		line, pending = pending+line, ""
		rule, err := parseUdevRule(line)
		if err != nil {
			return nil, &UdevError{File: name, Line: start, Err: err}
		}
		rule.Line = start
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if pending != "" {
		return nil, &UdevError{File: name, Line: start, Err: fmt.Errorf("the file ends in a continued line")}
	}
	return rules, checkGotos(name, rules)
}

// parseUdevRule parses the pairs of one joined rule line.
func parseUdevRule(line string) (udevRule, error) {
	var rule udevRule
	rest := strings.TrimSpace(line)
	acts := false
	for rest != "" {
		m := udevPairRE.FindStringSubmatch(rest)
		if m == nil {
			return rule, fmt.Errorf("%.40q: want KEY==\"value\", KEY{attribute}=\"value\" and so on", rest)
		}
		p := udevPair{Key: m[1], Attr: m[2], Op: m[3], Value: m[5]}
		k, ok := udevKeys[p.Key]
		switch {
		case !ok:
			return rule, fmt.Errorf("unknown key %s", p.Key)
		case !slices.Contains(strings.Fields(k.ops), p.Op):
			return rule, fmt.Errorf("%s takes %s, not %s", p.Key, strings.ReplaceAll(k.ops, " ", ", "), p.Op)
		case strings.HasPrefix(m[0], p.Key+"{}"):
			return rule, fmt.Errorf("%s{}: an empty {attribute}", p.Key)
		case k.attr == attrNone && p.Attr != "":
			return rule, fmt.Errorf("%s takes no {attribute}", p.Key)
		case k.attr == attrRequired && p.Attr == "":
			return rule, fmt.Errorf("%s needs an {attribute}", p.Key)
		case p.Attr != "" && k.attrs != nil && !slices.Contains(k.attrs, p.Attr):
			return rule, fmt.Errorf("%s{%s}: want one of %s", p.Key, p.Attr, strings.Join(k.attrs, ", "))
		case p.Key == "LABEL" || p.Key == "GOTO":
			if p.Value == "" {
				return rule, fmt.Errorf("%s with no name", p.Key)
			}
		}
		if p.Op != "==" && p.Op != "!=" || p.Key == "IMPORT" {
			acts = true
		}
		rule.Pairs = append(rule.Pairs, p)
		rest = strings.TrimSpace(rest[len(m[0]):])
		if rest == "" {
			break
		}
		after, ok := strings.CutPrefix(rest, ",")
		if !ok {
			return rule, fmt.Errorf("%.40q: want a comma between pairs", rest)
		}
		if rest = strings.TrimSpace(after); rest == "" {
			return rule, fmt.Errorf("a comma ends the rule")
		}
	}
	if !acts {
		return rule, fmt.Errorf("the rule only matches: it assigns nothing")
	}
	return rule, nil
}

// checkGotos reports a GOTO whose LABEL does not follow it (udev only
// jumps forward) and a LABEL given twice.
func checkGotos(name string, rules []udevRule) error {
	labels := map[string]int{}
	for i, r := range rules {
		for _, p := range r.Pairs {
			if p.Key != "LABEL" {
				continue
			}
			if _, dup := labels[p.Value]; dup {
				return &UdevError{File: name, Line: r.Line, Err: fmt.Errorf("LABEL %q is given twice", p.Value)}
			}
			labels[p.Value] = i
		}
	}
	for i, r := range rules {
		for _, p := range r.Pairs {
			if at, ok := labels[p.Value]; p.Key == "GOTO" && (!ok || at <= i) {
				return &UdevError{File: name, Line: r.Line, Err: fmt.Errorf("GOTO %q has no LABEL after it", p.Value)}
			}
		}
	}
	return nil
}

// udevNames returns the names the rules give under /dev/udi: each
// SYMLINK+="udi/NAME" with no substitution in NAME, with the line of its
// rule; a name given by two rules is an error.
func udevNames(name string, rules []udevRule) (map[string]int, error) {
	names := map[string]int{}
	for _, r := range rules {
		for _, p := range r.Pairs {
			n, ok := strings.CutPrefix(p.Value, "udi/")
			if p.Key != "SYMLINK" || !ok || strings.ContainsAny(n, "$%/") {
				continue
			}
			if at, dup := names[n]; dup {
				return nil, &UdevError{File: name, Line: r.Line, Err: fmt.Errorf("/dev/udi/%s is already the name of line %d's device", n, at)}
			}
			names[n] = r.Line
		}
	}
	return names, nil
}
