package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
)

func openMem(t *testing.T) *Warehouse {
	t.Helper()
	w, err := Open(context.Background(), "", 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w
}

func TestOpenMemoryVariants(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"", ":memory:"} {
		w, err := Open(ctx, path, 2)
		if err != nil {
			t.Fatalf("Open(%q): %v", path, err)
		}
		if err := w.Exec(ctx, "CREATE TABLE t AS SELECT 1 AS x"); err != nil {
			t.Fatal(err)
		}
		// Every pooled connection must see the same in-memory database.
		warehousetest.AssertRows(t, w, "SELECT x FROM t", [][]any{{int32(1)}})
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenError(t *testing.T) {
	dir := t.TempDir()
	// A directory is not a database file.
	_, err := Open(context.Background(), dir, 1)
	if err == nil || !strings.Contains(err.Error(), "open duckdb "+dir) {
		t.Fatalf("err = %v", err)
	}
}

// TestExecQueryAndErrors covers what the conformance suite leaves to the
// dialect: a multi-statement script through Exec, BLOBs read as bytes, and
// DuckDB's own error messages passed through.
func TestExecQueryAndErrors(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	if err := w.Exec(ctx, "CREATE TABLE t(i INTEGER, b BLOB); INSERT INTO t SELECT range, 'x'::BLOB FROM range(10)"); err != nil {
		t.Fatal(err)
	}
	res, err := w.Query(ctx, "SELECT i, b FROM t ORDER BY i", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Columns, []string{"i", "b"}) || len(res.Rows) != 3 {
		t.Fatalf("got %v %v", res.Columns, res.Rows)
	}
	if !reflect.DeepEqual(res.Rows[2], []any{int32(2), []byte("x")}) {
		t.Errorf("row = %#v", res.Rows[2])
	}
	if rows := warehousetest.Rows(t, w, "SELECT i FROM t"); len(rows) != 10 {
		t.Errorf("limit 0 returned %d rows", len(rows))
	}

	err = w.Exec(ctx, "SELECT * FROM missing_table")
	if err == nil || !strings.Contains(err.Error(), "Catalog Error: Table with name missing_table does not exist") {
		t.Errorf("err = %v", err)
	}
	_, err = w.Query(ctx, "SELEC 1", 0)
	if err == nil || !strings.Contains(err.Error(), "Parser Error") {
		t.Errorf("err = %v", err)
	}
}

func TestFileBackedReopen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "dir")
	path := filepath.Join(dir, "quarry.duckdb")
	// A missing folder is an error, not silently created.
	if w, err := Open(ctx, path, 2); err == nil || !strings.Contains(err.Error(), "does not exist: create it, or fix the path") {
		if w != nil {
			w.Close()
		}
		t.Fatalf("Open in a missing folder: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Open created %s (stat: %v)", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := Open(ctx, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.EnsureSchema(ctx, "staging"); err != nil {
		t.Fatal(err)
	}
	rel := warehouse.Relation{Schema: "staging", Name: "t"}
	if _, err := w.CreateTable(ctx, rel, "SELECT 'persisted' AS s"); err != nil {
		t.Fatal(err)
	}
	if err := w.CreateView(ctx, warehouse.Relation{Schema: "staging", Name: "v"}, "SELECT s || '!' AS s FROM staging.t"); err != nil {
		t.Fatal(err)
	}
	seed := warehouse.Relation{Schema: "staging", Name: "seed"}
	cols := []warehouse.Column{{Name: "k", Type: "varchar"}}
	if _, err := w.LoadRows(ctx, seed, cols, [][]any{{"old"}}, true); err != nil {
		t.Fatal(err)
	}
	// Replace goes through a staging table and a rename; it must persist.
	if _, err := w.LoadRows(ctx, seed, cols, [][]any{{"new"}}, true); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w, err = Open(ctx, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	warehousetest.AssertKind(t, w, rel, warehouse.KindTable)
	warehousetest.AssertRows(t, w, "SELECT s FROM staging.t", [][]any{{"persisted"}})
	warehousetest.AssertRows(t, w, "SELECT s FROM staging.v", [][]any{{"persisted!"}})
	warehousetest.AssertRows(t, w, "SELECT k FROM staging.seed", [][]any{{"new"}})
	assertNoScratchTables(t, w)
}

func TestConcurrentSameRelationRetriesConflicts(t *testing.T) {
	// The scheduler never builds one relation twice at once, but two quarry
	// runs on one database can. DuckDB then raises a write-write conflict,
	// which must be retried rather than surfaced.
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "contended"}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for range 3 {
				if _, err := w.CreateTable(ctx, rel, fmt.Sprintf("SELECT %d AS g FROM range(10000)", g)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	warehousetest.AssertRows(t, w, "SELECT count(*), count(DISTINCT g) FROM contended", [][]any{{int64(10000), int64(1)}})
}

func TestIsConflict(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	// Provoke a real conflict with two explicit transactions.
	c1, err := w.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	c2, err := w.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c1.ExecContext(ctx, "BEGIN; CREATE TABLE x(i INTEGER)"); err != nil {
		t.Fatal(err)
	}
	_, err = c2.ExecContext(ctx, "BEGIN; CREATE TABLE x(i INTEGER)")
	if !isConflict(err) {
		t.Fatalf("isConflict(%v) = false", err)
	}
	if isConflict(fmt.Errorf("wrapped: %w", errors.New("Catalog Error: conflict"))) {
		t.Error("plain errors are not conflicts")
	}
	if !isConflict(fmt.Errorf("create table: %w", err)) {
		t.Error("wrapped conflicts must still be recognized")
	}
	for _, c := range []*sql.Conn{c1, c2} {
		if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Error(err)
		}
	}
}

// assertNoScratchTables checks that no staging or temp table is left over.
// Temp tables are only visible on their own connection, so callers that
// care about them pin the pool to one connection.
func assertNoScratchTables(t *testing.T, w *Warehouse) {
	t.Helper()
	warehousetest.AssertRows(t, w, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_\\_quarry%' ESCAPE '\\'", [][]any{})
}

func TestExecLeavesNoOpenTransaction(t *testing.T) {
	w := openMem(t)
	// One connection: whatever Exec leaves behind, the next call sees.
	w.db.SetMaxOpenConns(1)
	ctx := context.Background()

	err := w.Exec(ctx, "BEGIN; CREATE TABLE half(i INTEGER); SELECT nope")
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v", err)
	}
	warehousetest.AssertKind(t, w, warehouse.Relation{Name: "half"}, warehouse.KindNone)

	err = w.Exec(ctx, "BEGIN; CREATE TABLE unfinished(i INTEGER)")
	if err == nil || !strings.Contains(err.Error(), "left a transaction open") {
		t.Fatalf("err = %v", err)
	}
	warehousetest.AssertKind(t, w, warehouse.Relation{Name: "unfinished"}, warehouse.KindNone)

	if err := w.Exec(ctx, "BEGIN; CREATE TABLE done(i INTEGER); COMMIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, warehouse.Relation{Name: "after"}, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	warehousetest.AssertKind(t, w, warehouse.Relation{Name: "done"}, warehouse.KindTable)
}
