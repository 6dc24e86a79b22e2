package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
)

// storeHelp is the help of every --store flag.
const storeHelp = "store: a bbolt file (created with mode 0600), or a PostgreSQL database URL " +
	"postgres://user@host:5432/db?sslmode=verify-full (password from PGPASSFILE, ~/.pgpass or PGPASSWORD; never in logs)"

// isDatabaseURL reports whether --store names a PostgreSQL database
// rather than a bbolt file.
func isDatabaseURL(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// storeName is --store as logs and errors show it: a URL without its
// password, whether in the user part or in the query.
func storeName(spec string) string {
	if !isDatabaseURL(spec) {
		return spec
	}
	u, err := url.Parse(spec)
	if err != nil {
		return "postgres://(a URL that does not parse)"
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// openStore opens --store for the service, creating (or migrating) it.
func openStore(ctx context.Context, spec string) (central.Store, error) {
	if isDatabaseURL(spec) {
		st, err := pgstore.Open(ctx, spec)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := boltstore.Open(spec)
	if errors.Is(err, boltstore.ErrLocked) {
		return nil, fmt.Errorf("%w: a running service holds it; go through it with --http-url", err)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// openStoreReadOnly opens --store for reading, waiting at most timeout
// for a bbolt file's lock or a database's connection.
func openStoreReadOnly(ctx context.Context, spec string, timeout time.Duration) (central.Store, error) {
	if isDatabaseURL(spec) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		st, err := pgstore.OpenReadOnly(ctx, spec)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	st, err := boltstore.OpenReadOnly(spec, min(timeout, 2*time.Second))
	if errors.Is(err, boltstore.ErrLocked) {
		return nil, fmt.Errorf("%w: a running service holds it; ask it with --http-url", err)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}
