package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreNameHidesThePassword(t *testing.T) {
	for spec, want := range map[string]string{
		"/var/lib/udi-central/central.db":                                  "/var/lib/udi-central/central.db",
		"postgres://centre:s3cret@db.example:5432/udi?sslmode=verify-full": "postgres://centre:xxxxx@db.example:5432/udi?sslmode=verify-full",
		"postgresql://centre@db/udi?password=s3cret&sslmode=require":       "postgresql://centre@db/udi?password=xxxxx&sslmode=require",
		"postgres://centre@db/udi":                                         "postgres://centre@db/udi",
	} {
		if got := storeName(spec); got != want {
			t.Errorf("storeName(%q) = %q, want %q", spec, got, want)
		}
	}
	if got := storeName("postgres://centre:s3cret@db:port/udi"); strings.Contains(got, "s3cret") {
		t.Errorf("a URL that does not parse shows its password: %q", got)
	}
}

// TestRunSharedRefusesAFile: instances with a bbolt file each would split
// every gateway's stream between them; --shared with a file is refused,
// saying why, unless forced.
func TestRunSharedRefusesAFile(t *testing.T) {
	store := filepath.Join(t.TempDir(), "central.db")
	var out, errs bytes.Buffer
	code := Main(context.Background(), []string{"run", "--site", "st-marys", "--shared", "--store", store, "--http", "",
		"--broker", "tcp://" + closedPort(t)}, &out, &errs)
	if code != ExitUsage || !strings.Contains(errs.String(), "PostgreSQL") || !strings.Contains(errs.String(), "--force-shared") {
		t.Fatalf("run --shared with a file: exit %d, want %d naming PostgreSQL and --force-shared:\n%s", code, ExitUsage, errs.String())
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatalf("the refused run created its store: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--site", "st-marys", "--shared", "--force-shared", "--store", store, "--http", "127.0.0.1:0",
			"--broker", "tcp://" + closedPort(t)}, &out, &stderr)
	}()
	waitFor(t, "the forced run to start", func() bool { return strings.Contains(stderr.String(), "http listening") })
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("forced run: exit %d\n%s", code, stderr.String())
	}
}
