package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFuzzCampaign runs `udi-lab fuzz` over a module of two real fuzz
// targets, one sound and one that crashes on inputs longer than its
// seed: --list names both; the campaign runs each, reports the sound
// one's executions, the crash with the failing input's file (which go
// test wrote), and exits 1.
func TestFuzzCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test -fuzz")
	}
	dir := t.TempDir()
	goMod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^(module|go) .*$`).FindAllString(string(goMod), 2)
	files := map[string]string{
		"go.mod": strings.Join(mod, "\n") + "\n",
		"p/p_test.go": `package p

import "testing"

func FuzzSound(f *testing.F) {
	f.Add([]byte("abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 0 {
			t.Fatal("negative")
		}
	})
}
`,
		"q/q_test.go": `package q

import "testing"

func FuzzBoom(f *testing.F) {
	f.Add([]byte("abcd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4 {
			panic("boom")
		}
	})
}
`,
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"fuzz", "--list", "--source", dir}, &out, &errs); code != 0 {
		t.Fatalf("--list: exit %d: %s", code, errs.String())
	}
	if got := out.String(); got != "p\tFuzzSound\nq\tFuzzBoom\n" {
		t.Fatalf("--list:\n%s", got)
	}
	out.Reset()
	code := Main(context.Background(), []string{"fuzz", "--time", "3s", "--workers", "1", "--source", dir}, &out, &errs)
	if code != 1 {
		t.Fatalf("exit %d after a crash:\n%s\n%s", code, out.String(), errs.String())
	}
	var sound, boom string
	for _, line := range strings.Split(out.String(), "\n") {
		switch f := strings.Fields(line); {
		case len(f) > 1 && f[1] == "FuzzSound":
			sound = line
		case len(f) > 1 && f[1] == "FuzzBoom":
			boom = line
		}
	}
	if f := strings.Fields(sound); len(f) < 6 || f[2] == "0" || f[5] != "ok" {
		t.Fatalf("sound target: %q", sound)
	}
	m := regexp.MustCompile(`CRASH (q/testdata/fuzz/FuzzBoom/\w+): .*boom`).FindStringSubmatch(boom)
	if m == nil {
		t.Fatalf("crashing target: %q", boom)
	}
	b, err := os.ReadFile(filepath.Join(dir, m[1]))
	if err != nil || !bytes.HasPrefix(b, []byte("go test fuzz v1")) {
		t.Fatalf("failing input %s: %q, %v", m[1], b, err)
	}
	if !strings.Contains(errs.String(), m[1]) || !strings.Contains(out.String(), "2 targets:") {
		t.Fatalf("summary:\n%s\n%s", out.String(), errs.String())
	}
}

// TestParseFuzzOutput reads go test -fuzz's progress, failure and
// failing input lines.
func TestParseFuzzOutput(t *testing.T) {
	out := "fuzz: elapsed: 0s, gathering baseline coverage: 0/3 completed\n" +
		"fuzz: elapsed: 3s, execs: 1200 (400/sec), new interesting: 2 (total: 5)\n" +
		"fuzz: elapsed: 4s, execs: 1500 (300/sec), new interesting: 3 (total: 6)\n" +
		"--- FAIL: FuzzX (4.01s)\n    --- FAIL: FuzzX (0.00s)\n        x_test.go:9: bad input\n\n" +
		"    Failing input written to testdata/fuzz/FuzzX/0123abcd\n    To re-run:\n"
	r := parseFuzzOutput(strings.NewReader(out))
	if r.Execs != 1500 || r.New != 3 || r.Elapsed.Seconds() != 4 || !r.Failed || r.Input != "testdata/fuzz/FuzzX/0123abcd" || r.Message != "x_test.go:9: bad input" {
		t.Fatalf("%+v", r)
	}
}
