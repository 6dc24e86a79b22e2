package pgstore

import (
	"context"
	"io/fs"
)

// SetMigrations makes fsys (holding migrations/NNNN_name.sql) the
// migrations Open applies, for a test of the mechanism. It returns a
// function that restores the embedded ones.
func SetMigrations(fsys fs.FS) (restore func()) {
	saved := migrationFiles
	migrationFiles = fsys
	return func() { migrationFiles = saved }
}

// EmbeddedMigrations returns the embedded migration files.
func EmbeddedMigrations() fs.FS { return embedded }

// Setting returns a setting as the store's sessions have it.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// SetCopyFrom makes Append use COPY from n movements on (1: always, a
// large n: never). It returns a function that restores the default.
func SetCopyFrom(n int) (restore func()) {
	saved := copyFrom
	copyFrom = n
	return func() { copyFrom = saved }
}

// TraceQuery is the query of Trace, for a test of its plan.
const TraceQuery = traceQuery
