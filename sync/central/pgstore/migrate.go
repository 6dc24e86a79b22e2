package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema's migrations: migrations/NNNN_name.sql, applied in order of
// NNNN from 1 up, each in its own transaction together with its row in
// schema_version and its step in Go, if it has one (migrationSteps). A
// migration, once released, is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var embedded embed.FS

// migrationFiles holds the migrations under migrations/; tests replace it.
var migrationFiles fs.FS = embedded

// migration is one schema change.
type migration struct {
	version int
	name    string
	sql     string
	// step, when not nil, runs after sql in the same transaction: what
	// SQL alone cannot do, such as reading the movements' records.
	step func(ctx context.Context, tx pgx.Tx) error
}

// migrationID names a migration by its file's number and name.
type migrationID struct {
	version int
	name    string
}

// migrationSteps are the steps in Go of the migrations that have one.
var migrationSteps = map[migrationID]func(ctx context.Context, tx pgx.Tx) error{
	{3, "received_products"}: fillReceived, // the index of what the movements held received
}

// migrations returns the embedded migrations in order; it panics on a
// file that breaks the naming rules, which a test catches.
func migrations() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || v != len(out)+1 {
			panic(fmt.Sprintf("pgstore: migration file %s: want %04d_name.sql", e.Name(), len(out)+1))
		}
		sql, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: name, sql: string(sql), step: migrationSteps[migrationID{v, name}]})
	}
	return out
}

// SchemaVersion is the version of the schema this package reads and
// writes: the number of its last migration.
const SchemaVersion = 3

// migrateLock is the key of the transaction-level advisory lock that
// serialises migrations, so that instances starting together on a new
// database migrate it once.
const migrateLock = 0x7564692d63656e74 // "udi-cent"

// schemaTable creates the table of applied migrations.
const schemaTable = `CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    name    text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
)`

// migrate brings the schema of c's database to SchemaVersion, one
// migration per transaction. It returns an error wrapping ErrSchema for a
// schema newer than SchemaVersion.
func migrate(ctx context.Context, c *pgx.Conn) error {
	ms := migrations()
	for _, m := range ms {
		done, err := applyOne(ctx, c, m, len(ms))
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	return nil
}

// applyOne applies m if the schema is at m.version-1, in one transaction
// holding migrateLock. done is true when the schema is current.
func applyOne(ctx context.Context, c *pgx.Conn, m migration, latest int) (done bool, err error) {
	tx, err := c.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLock)); err != nil {
		return false, fmt.Errorf("pgstore: migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, schemaTable); err != nil {
		return false, fmt.Errorf("pgstore: create schema_version: %w", err)
	}
	v, err := currentVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	switch {
	case v > latest:
		return false, newerErr(v, latest)
	case v == latest:
		return true, tx.Commit(ctx)
	case v >= m.version:
		return false, tx.Commit(ctx)
	}
	if _, err := tx.Exec(ctx, m.sql); err != nil {
		return false, fmt.Errorf("pgstore: migration %d (%s): %w", m.version, m.name, err)
	}
	if m.step != nil {
		if err := m.step(ctx, tx); err != nil {
			return false, fmt.Errorf("pgstore: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
		return false, fmt.Errorf("pgstore: migration %d (%s): %w", m.version, m.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("pgstore: migration %d (%s): commit: %w", m.version, m.name, err)
	}
	return m.version == latest, nil
}

// currentVersion reads the schema's version: 0 when no migration was
// applied.
func currentVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("pgstore: read schema_version: %w", err)
	}
	return v, nil
}

// checkSchema returns nil when the schema of c's database is the one
// this package knows, and an error wrapping ErrSchema saying what to do
// otherwise; it changes nothing.
func checkSchema(ctx context.Context, c *pgx.Conn) error {
	var exists bool
	if err := c.QueryRow(ctx, "SELECT to_regclass('schema_version') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	v := 0
	if exists {
		var err error
		if v, err = currentVersion(ctx, c); err != nil {
			return err
		}
	}
	latest := len(migrations())
	switch {
	case v > latest:
		return newerErr(v, latest)
	case v == 0:
		return fmt.Errorf("%w: the database holds no udi-central store (no schema_version); udi-central run creates it", ErrSchema)
	case v < latest:
		return fmt.Errorf("%w: schema version %d, this udi-central reads %d; udi-central run migrates it", ErrSchema, v, latest)
	}
	return nil
}

func newerErr(v, latest int) error {
	return fmt.Errorf("%w: schema version %d is newer than this udi-central knows (%d): a newer udi-central migrated the database; run that version", ErrSchema, v, latest)
}

// querier is what a pgx.Conn, pgx.Tx and pgxpool.Pool have in common.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
