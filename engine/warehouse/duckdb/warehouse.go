// Package duckdb implements warehouse.Warehouse on an embedded DuckDB
// database (github.com/duckdb/duckdb-go).
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Warehouse is a DuckDB database opened by Open. It is safe for concurrent
// use: every operation takes its own connection from the pool.
type Warehouse struct {
	Dialect

	db *sql.DB

	// schemaMu serializes CREATE SCHEMA: two transactions creating the same
	// schema at once make DuckDB abort one of them with a write-write
	// conflict, even with IF NOT EXISTS.
	schemaMu sync.Mutex
	// schemas caches the schemas known to exist, keyed by lower-cased name
	// because DuckDB resolves identifiers case-insensitively.
	schemas map[string]bool
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// Open opens the DuckDB database at path, creating the file if needed (its
// folder must exist: see CheckPath). An empty path or ":memory:" opens a
// private in-memory database. path is handed to duckdb-go as its DSN, so
// DuckDB settings may follow a "?" (e.g. "x.duckdb?memory_limit=2GB").
// threads is the number of workers that will use the warehouse
// concurrently; the connection pool keeps that many connections warm.
func Open(ctx context.Context, path string, threads int) (*Warehouse, error) {
	dsn := path
	if path == "" || path == ":memory:" {
		dsn = ""
	} else if err := CheckPath(path); err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	// NewConnector + sql.OpenDB (rather than sql.Open) keeps every pooled
	// connection on the same database instance, which matters for
	// in-memory databases, and hands out *duckdb.Conn values that the
	// appender can use through (*sql.Conn).Raw.
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	// Each operation holds one connection at a time, so the pool never
	// grows much past threads; it is left uncapped so that callers outside
	// the scheduler (tests, hooks) never queue behind the workers. Keeping
	// threads idle connections avoids reconnecting between nodes.
	db.SetMaxIdleConns(max(threads, 1) + 1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	return &Warehouse{db: db, schemas: make(map[string]bool)}, nil
}

// CheckPath reports whether a database file can be opened or created at
// path (a DSN: settings after "?" are ignored). Its folder must exist:
// creating one silently would turn a mistyped path into a new, empty
// warehouse somewhere unexpected.
func CheckPath(path string) error {
	file, _, _ := strings.Cut(path, "?")
	if file == "" || file == ":memory:" {
		return nil
	}
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return fmt.Errorf("is a folder, not a database file: name a file in it, e.g. %s", filepath.Join(file, "quarry.duckdb"))
	}
	dir := filepath.Dir(file)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("the folder %s does not exist: create it, or fix the path", dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is not a folder: fix the path", dir)
	}
	return nil
}

// AttachReadOnly attaches another database file read-only, under DuckDB's
// default name for it (the file's name without its extension: prod for
// prod.duckdb), so that SQL can read its relations as prod.schema.name.
// Attaching the same file again is a no-op. Reading production's file this
// way lets a CI run defer to it without any chance of writing to it.
func (w *Warehouse) AttachReadOnly(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("attach %s: %w", path, err)
	}
	if _, err := w.db.ExecContext(ctx, "ATTACH IF NOT EXISTS '"+strings.ReplaceAll(path, "'", "''")+"' (READ_ONLY)"); err != nil {
		return fmt.Errorf("attach %s read-only: %w", path, err)
	}
	return nil
}

// DatabaseName is the name DuckDB gives a database file, attached or
// opened: its file name without the extension ("memory" in memory).
func DatabaseName(path string) string {
	file, _, _ := strings.Cut(path, "?")
	if file == "" || file == ":memory:" {
		return "memory"
	}
	base := filepath.Base(file)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Close closes the database; for a file database this also checkpoints the
// WAL into the file.
func (w *Warehouse) Close() error {
	if err := w.db.Close(); err != nil {
		return fmt.Errorf("close duckdb: %w", err)
	}
	return nil
}

// EnsureSchema implements warehouse.Warehouse. Creation is serialized and
// cached, so concurrent nodes in one schema create it exactly once.
func (w *Warehouse) EnsureSchema(ctx context.Context, schema string) error {
	if schema == "" {
		return nil
	}
	key := strings.ToLower(schema)
	w.schemaMu.Lock()
	defer w.schemaMu.Unlock()
	if w.schemas[key] {
		return nil
	}
	err := retryConflicts(ctx, func() error {
		_, err := w.db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+w.QuoteIdent(schema))
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema %s: %w", w.QuoteIdent(schema), err)
	}
	w.schemas[key] = true
	return nil
}

// Lookup implements warehouse.Warehouse.
func (w *Warehouse) Lookup(ctx context.Context, rel warehouse.Relation) (warehouse.Kind, error) {
	kind, err := w.lookup(ctx, w.db, rel)
	if err != nil {
		return warehouse.KindNone, fmt.Errorf("lookup %s: %w", w.RelationSQL(rel), err)
	}
	return kind, nil
}

// queryer is what lookup needs; both *sql.DB and *sql.Tx provide it, so a
// transaction sees its own uncommitted catalog changes.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (w *Warehouse) lookup(ctx context.Context, q queryer, rel warehouse.Relation) (warehouse.Kind, error) {
	// Names are compared case-insensitively because that is how DuckDB
	// resolves them, quoted or not: "Orders" and orders are one relation.
	// Restricting to current_database() skips the temp and system catalogs
	// and any attached databases.
	const query = `SELECT table_type FROM information_schema.tables
WHERE table_catalog = current_database()
  AND lower(table_schema) = lower(coalesce(nullif(?, ''), current_schema()))
  AND lower(table_name) = lower(?)`
	var typ string
	err := q.QueryRowContext(ctx, query, rel.Schema, rel.Name).Scan(&typ)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return warehouse.KindNone, nil
	case err != nil:
		return warehouse.KindNone, err
	case typ == "VIEW":
		return warehouse.KindView, nil
	default:
		return warehouse.KindTable, nil
	}
}

// CreateView implements warehouse.Warehouse.
func (w *Warehouse) CreateView(ctx context.Context, rel warehouse.Relation, selectSQL string) error {
	name := w.RelationSQL(rel)
	body, err := oneStatement(selectSQL)
	if err != nil {
		return fmt.Errorf("create view %s: %w", name, err)
	}
	create := "CREATE OR REPLACE VIEW " + name + " AS\n" + body + "\n"
	// Fast path: no catalog lookup; only a table in the way needs the
	// transaction that drops it.
	err = retryConflicts(ctx, func() error { _, err := w.db.ExecContext(ctx, create); return err })
	if err != nil && strings.Contains(err.Error(), "trying to replace with type View") {
		err = w.inTx(ctx, w.db, func(tx *sql.Tx) error {
			kind, err := w.lookup(ctx, tx, rel)
			if err != nil {
				return err
			}
			if kind == warehouse.KindTable {
				if _, err := tx.ExecContext(ctx, "DROP TABLE "+name); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, create)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("create view %s: %w", name, err)
	}
	return nil
}

// CreateTable implements warehouse.Warehouse. CREATE OR REPLACE is atomic
// on its own: a failing select leaves the previous table untouched. Only a
// view in the way needs the transaction that drops it first; looking the
// name up in the catalog for every table costs time in proportion to the
// catalog (information_schema is scanned whole), so it is done only then.
func (w *Warehouse) CreateTable(ctx context.Context, rel warehouse.Relation, selectSQL string) (int64, error) {
	name := w.RelationSQL(rel)
	body, err := oneStatement(selectSQL)
	if err != nil {
		return 0, fmt.Errorf("create table %s: %w", name, err)
	}
	create := "CREATE OR REPLACE TABLE " + name + " AS\n" + body + "\n"
	err = retryConflicts(ctx, func() error { _, err := w.db.ExecContext(ctx, create); return err })
	if err != nil && strings.Contains(err.Error(), "trying to replace with type Table") {
		err = w.inTx(ctx, w.db, func(tx *sql.Tx) error {
			kind, err := w.lookup(ctx, tx, rel)
			if err != nil {
				return err
			}
			if kind == warehouse.KindView {
				if _, err := tx.ExecContext(ctx, "DROP VIEW "+name); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, create)
			return err
		})
	}
	if err != nil {
		return 0, fmt.Errorf("create table %s: %w", name, err)
	}
	// DuckDB reports no affected rows for CREATE TABLE AS, so count.
	var rows int64
	if err := w.db.QueryRowContext(ctx, "SELECT count(*) FROM "+name).Scan(&rows); err != nil {
		return 0, fmt.Errorf("create table %s: count its rows: %w", name, err)
	}
	return rows, nil
}

// Incremental implements warehouse.Warehouse. The new rows are materialized
// once into a connection-local temp table so the select runs exactly once
// for both the delete and the insert.
func (w *Warehouse) Incremental(ctx context.Context, rel warehouse.Relation, selectSQL string, uniqueKey []string) (int64, error) {
	name := w.RelationSQL(rel)
	body, err := oneStatement(selectSQL)
	if err != nil {
		return 0, fmt.Errorf("incremental %s: %w", name, err)
	}
	var rows int64
	err = w.inTx(ctx, w.db, func(tx *sql.Tx) error {
		kind, err := w.lookup(ctx, tx, rel)
		if err != nil {
			return err
		}
		switch kind {
		case warehouse.KindNone:
			return warehouse.ErrNotFound
		case warehouse.KindView:
			return fmt.Errorf("%s is a view, not a table", name)
		}
		tmp := w.QuoteIdent(tempName("incr"))
		if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE "+tmp+" AS\n"+body+"\n"); err != nil {
			return err
		}
		if len(uniqueKey) > 0 {
			keys := make([]string, len(uniqueKey))
			for i, k := range uniqueKey {
				keys[i] = w.QuoteIdent(k)
			}
			list := strings.Join(keys, ", ")
			del := fmt.Sprintf("DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s)", name, list, list, tmp)
			if _, err := tx.ExecContext(ctx, del); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO "+name+" BY NAME SELECT * FROM "+tmp)
		if err != nil {
			return err
		}
		if rows, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DROP TABLE "+tmp)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("incremental %s: %w", name, err)
	}
	return rows, nil
}

// Exec implements warehouse.Warehouse. sql may hold several statements,
// including its own BEGIN and COMMIT.
func (w *Warehouse) Exec(ctx context.Context, sql string) error {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, sql)
	// The connection goes back to the pool, so it must not carry a
	// transaction that sql opened and did not finish: DuckDB keeps it open
	// after a failed statement, or when sql simply lacks a COMMIT, and the
	// next operation on this connection would silently run inside it.
	leftOpen := rollbackOpenTx(ctx, conn)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if leftOpen {
		return errors.New("exec: statements left a transaction open; it was rolled back")
	}
	return nil
}

// rollbackOpenTx rolls back a transaction left open on conn and reports
// whether there was one.
func rollbackOpenTx(ctx context.Context, conn *sql.Conn) bool {
	_, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	if err == nil {
		return true
	}
	if !strings.Contains(err.Error(), "no transaction is active") {
		// State unknown: drop the connection rather than reuse it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return false
}

// Query implements warehouse.Warehouse. Values are returned as the driver
// produces them (int32, int64, float64, string, bool, time.Time, []byte for
// BLOB, duckdb.Decimal, ...); database/sql copies []byte so they stay valid.
func (w *Warehouse) Query(ctx context.Context, sql string, limit int) (*warehouse.Result, error) {
	sql, err := oneStatement(sql)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	rows, err := w.db.QueryContext(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	res := &warehouse.Result{Columns: cols, Rows: [][]any{}}
	for (limit <= 0 || len(res.Rows) < limit) && rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// oneStatement returns the caller's sql ready to be embedded in a larger
// statement, without its terminating semicolon, or an error when it holds
// other than exactly one statement: DuckDB runs every statement of a text
// it is given, so a second one would run outside the transaction and the
// checks around the first. Callers append a newline after it, so a
// trailing line comment cannot swallow what follows.
func oneStatement(sql string) (string, error) {
	return Dialect{}.Syntax().Single(sql)
}

// txBeginner is satisfied by *sql.DB and *sql.Conn.
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// inTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise. A transaction aborted by a DuckDB conflict is retried from
// the start (see retryConflicts), so fn must do all its work inside tx.
func (w *Warehouse) inTx(ctx context.Context, b txBeginner, fn func(tx *sql.Tx) error) error {
	return retryConflicts(ctx, func() error {
		tx, err := b.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			// The rollback error is secondary: after a failed statement
			// DuckDB has already aborted the transaction.
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// conflictRetries bounds how often retryConflicts re-runs an operation.
const conflictRetries = 10

// retryConflicts runs fn again when it fails with a DuckDB transaction
// conflict. DuckDB uses optimistic concurrency control for its catalog too:
// when two transactions create or replace the same catalog entry (the same
// schema, or the same relation from two runs sharing a database) one of them
// fails with "TransactionContext Error: Catalog write-write conflict" instead
// of waiting. Such a failure means the transaction changed nothing, so
// re-running it from the start is safe. Transactions on different relations,
// even in one schema, do not conflict, so the scheduler's workers normally
// never get here. The backoff is jittered so that contending writers do not
// collide again in lockstep.
func retryConflicts(ctx context.Context, fn func() error) error {
	backoff := 2 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt >= conflictRetries || !isConflict(err) {
			return err
		}
		sleep := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(sleep):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

// isConflict reports whether err is a DuckDB transaction conflict.
func isConflict(err error) bool {
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return false
	}
	return de.Type == duckdb.ErrorTypeTransaction && strings.Contains(strings.ToLower(de.Msg), "conflict")
}

// ExecTx implements warehouse.Warehouse: the statements run in one DuckDB
// transaction, whose commit is one write-ahead-log record, so a process
// killed before it leaves the database as it was.
func (w *Warehouse) ExecTx(ctx context.Context, stmts []string, step func(i int) error) ([]int64, error) {
	var counts []int64
	err := w.inTx(ctx, w.db, func(tx *sql.Tx) error {
		var err error
		counts, err = warehouse.ExecEach(ctx, tx, stmts, step)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exec in a transaction: %w", err)
	}
	return counts, nil
}
