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
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
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

// rowsOf runs query and returns all rows, failing the test on error.
func rowsOf(t *testing.T, w *Warehouse, query string) [][]any {
	t.Helper()
	res, err := w.Query(context.Background(), query, 0)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows
}

func assertRows(t *testing.T, w *Warehouse, query string, want [][]any) {
	t.Helper()
	got := rowsOf(t, w, query)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s\ngot:  %#v\nwant: %#v", query, got, want)
	}
}

func assertKind(t *testing.T, w *Warehouse, rel warehouse.Relation, want warehouse.Kind) {
	t.Helper()
	got, err := w.Lookup(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Lookup(%s) = %q, want %q", w.RelationSQL(rel), got, want)
	}
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
		assertRows(t, w, "SELECT x FROM t", [][]any{{int32(1)}})
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

func TestViewAndTableRoundTrip(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	if err := w.EnsureSchema(ctx, "analytics"); err != nil {
		t.Fatal(err)
	}
	// Cached and idempotent.
	if err := w.EnsureSchema(ctx, "Analytics"); err != nil {
		t.Fatal(err)
	}

	v := warehouse.Relation{Schema: "analytics", Name: "v"}
	assertKind(t, w, v, warehouse.KindNone)
	if err := w.CreateView(ctx, v, "SELECT 1 AS a, 'x' AS b;"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, v, warehouse.KindView)
	assertRows(t, w, "SELECT a, b FROM analytics.v", [][]any{{int32(1), "x"}})
	// Replacing a view keeps it a view with the new definition; a trailing
	// line comment must not swallow anything.
	if err := w.CreateView(ctx, v, "SELECT 2 AS a -- comment"); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT * FROM analytics.v", [][]any{{int32(2)}})

	tbl := warehouse.Relation{Schema: "analytics", Name: "Orders"}
	n, err := w.CreateTable(ctx, tbl, "SELECT range AS id FROM range(5)")
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("rows = %d, want 5", n)
	}
	assertKind(t, w, tbl, warehouse.KindTable)
	// DuckDB resolves names case-insensitively; Lookup follows it.
	assertKind(t, w, warehouse.Relation{Schema: "ANALYTICS", Name: "orders"}, warehouse.KindTable)
	assertRows(t, w, `SELECT count(*), sum(id)::BIGINT FROM analytics."Orders"`, [][]any{{int64(5), int64(10)}})

	n, err = w.CreateTable(ctx, tbl, "SELECT 7 AS id")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	assertRows(t, w, `SELECT id FROM analytics."Orders"`, [][]any{{int32(7)}})

	// Relations in the default schema.
	if _, err := w.CreateTable(ctx, warehouse.Relation{Name: "plain"}, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, warehouse.Relation{Name: "plain"}, warehouse.KindTable)
	assertKind(t, w, warehouse.Relation{Schema: "main", Name: "plain"}, warehouse.KindTable)
	assertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "plain"}, warehouse.KindNone)
}

func TestReplaceViewWithTableAndBack(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "thing"}

	if err := w.CreateView(ctx, rel, "SELECT 'view' AS src"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, rel, "SELECT 'table' AS src"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, rel, warehouse.KindTable)
	assertRows(t, w, "SELECT src FROM thing", [][]any{{"table"}})

	if err := w.CreateView(ctx, rel, "SELECT 'view again' AS src"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, rel, warehouse.KindView)
	assertRows(t, w, "SELECT src FROM thing", [][]any{{"view again"}})
}

func TestCreateTableFailureKeepsPrevious(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "t"}
	if _, err := w.CreateTable(ctx, rel, "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, s)"); err != nil {
		t.Fatal(err)
	}
	// Fails at execution time, after the statement started writing.
	bad := "SELECT CASE WHEN range = 5000 THEN error('boom at row') ELSE range END AS id FROM range(10000)"
	_, err := w.CreateTable(ctx, rel, bad)
	if err == nil || !strings.Contains(err.Error(), "boom at row") {
		t.Fatalf("err = %v, want DuckDB's message", err)
	}
	if !strings.HasPrefix(err.Error(), "create table main.t: ") {
		t.Errorf("err = %v, want context prefix", err)
	}
	assertRows(t, w, "SELECT id, s FROM t ORDER BY id", [][]any{{int32(1), "a"}, {int32(2), "b"}})

	// A binder error, and a previous view.
	view := warehouse.Relation{Schema: "main", Name: "v"}
	if err := w.CreateView(ctx, view, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, view, "SELECT nope FROM t"); err == nil {
		t.Fatal("want error")
	}
	assertKind(t, w, view, warehouse.KindView)
	assertRows(t, w, "SELECT x FROM v", [][]any{{int32(1)}})
}

func TestIncremental(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "inc"}

	_, err := w.Incremental(ctx, rel, "SELECT 1 AS id", nil)
	if !errors.Is(err, warehouse.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}

	if _, err := w.CreateTable(ctx, rel, "SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20)) v(id, s, n)"); err != nil {
		t.Fatal(err)
	}

	// Append, with columns in a different order (BY NAME).
	n, err := w.Incremental(ctx, rel, "SELECT 30 AS n, 'c' AS s, 3 AS id", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	assertRows(t, w, "SELECT id, s, n FROM inc ORDER BY id", [][]any{
		{int32(1), "a", int32(10)}, {int32(2), "b", int32(20)}, {int32(3), "c", int32(30)},
	})

	// Upsert: id 2 replaced, id 4 new.
	n, err = w.Incremental(ctx, rel, "SELECT * FROM (VALUES (2, 'B', 21), (4, 'd', 40)) v(id, s, n)", []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, "SELECT id, s, n FROM inc ORDER BY id", [][]any{
		{int32(1), "a", int32(10)}, {int32(2), "B", int32(21)}, {int32(3), "c", int32(30)}, {int32(4), "d", int32(40)},
	})

	// Composite key: only the (1, 'a') row matches.
	n, err = w.Incremental(ctx, rel, "SELECT * FROM (VALUES (1, 'a', 11), (3, 'x', 31)) v(id, s, n)", []string{"id", "s"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, "SELECT id, s, n FROM inc ORDER BY id, s", [][]any{
		{int32(1), "a", int32(11)}, {int32(2), "B", int32(21)}, {int32(3), "c", int32(30)},
		{int32(3), "x", int32(31)}, {int32(4), "d", int32(40)},
	})

	// A failure after the delete rolls back the delete too.
	before := rowsOf(t, w, "SELECT id, s, n FROM inc ORDER BY id, s")
	_, err = w.Incremental(ctx, rel, "SELECT 1 AS id, 'a' AS s, 'not a number' AS n", []string{"id"})
	if err == nil || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("err = %v", err)
	}
	assertRows(t, w, "SELECT id, s, n FROM inc ORDER BY id, s", before)
	// No temp tables left behind on any connection we can see.
	assertRows(t, w, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '__quarry%'", [][]any{{int64(0)}})
}

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
	if rows := rowsOf(t, w, "SELECT i FROM t"); len(rows) != 10 {
		t.Errorf("limit 0 returned %d rows", len(rows))
	}
	res, err = w.Query(ctx, "SELECT 1 WHERE false", 0)
	if err != nil || res.Rows == nil || len(res.Rows) != 0 {
		t.Errorf("empty result = %#v, %v", res, err)
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

func TestContextCancellation(t *testing.T) {
	w := openMem(t)
	const long = "SELECT count(*) FROM range(10000000000)"
	run := map[string]func(ctx context.Context) error{
		"query": func(ctx context.Context) error { _, err := w.Query(ctx, long, 0); return err },
		"exec":  func(ctx context.Context) error { return w.Exec(ctx, "CREATE TABLE big AS "+long) },
		"table": func(ctx context.Context) error {
			_, err := w.CreateTable(ctx, warehouse.Relation{Name: "big2"}, long)
			return err
		},
	}
	for name, fn := range run {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			err := fn(ctx)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("want error after cancel")
			}
			if elapsed > 5*time.Second {
				t.Errorf("took %v after cancel", elapsed)
			}
			// Either database/sql reports the context or DuckDB its interrupt.
			if !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "INTERRUPT") {
				t.Errorf("err = %v", err)
			}
		})
	}
	// The warehouse is still usable afterwards.
	assertRows(t, w, "SELECT 1", [][]any{{int32(1)}})
	assertKind(t, w, warehouse.Relation{Name: "big2"}, warehouse.KindNone)
}

func TestConcurrentDDL(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	const perKind = 50
	type job struct {
		rel  warehouse.Relation
		view bool
	}
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for i := range perKind {
			// Spread over schemas that workers create concurrently, and
			// the default schema.
			schema := []string{"main", "s_a", "s_b", "S C"}[i%4]
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, true}
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, false}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*perKind)
	for range 8 {
		wg.Go(func() {
			for j := range jobs {
				if err := w.EnsureSchema(ctx, j.rel.Schema); err != nil {
					errs <- err
					continue
				}
				sel := fmt.Sprintf("SELECT %q AS name, range AS i FROM range(100)", j.rel.Name)
				sel = strings.ReplaceAll(sel, `"`, "'")
				if j.view {
					if err := w.CreateView(ctx, j.rel, sel); err != nil {
						errs <- err
					}
					continue
				}
				if _, err := w.CreateTable(ctx, j.rel, sel); err != nil {
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
	for i := range perKind {
		schema := []string{"main", "s_a", "s_b", "S C"}[i%4]
		assertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, warehouse.KindView)
		assertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, warehouse.KindTable)
	}
	assertRows(t, w, `SELECT table_type, count(*) FROM information_schema.tables
WHERE table_schema IN ('main', 's_a', 's_b', 'S C') GROUP BY ALL ORDER BY ALL`,
		[][]any{{"BASE TABLE", int64(perKind)}, {"VIEW", int64(perKind)}})
	assertRows(t, w, `SELECT count(*), sum(i)::BIGINT FROM "S C".t3`, [][]any{{int64(100), int64(4950)}})
}

func TestConcurrentReplaceSameSchema(t *testing.T) {
	// Many workers repeatedly replacing tables and views in one schema, the
	// pattern of a scheduler re-running a project.
	w := openMem(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Go(func() {
			for round := range 5 {
				rel := warehouse.Relation{Schema: "main", Name: fmt.Sprintf("r%d", g)}
				var err error
				if round%2 == 0 {
					_, err = w.CreateTable(ctx, rel, fmt.Sprintf("SELECT %d AS round", round))
				} else {
					err = w.CreateView(ctx, rel, fmt.Sprintf("SELECT %d AS round", round))
				}
				if err != nil {
					errs <- err
				}
				cols := []warehouse.Column{{Name: "x", Type: "bigint"}}
				if _, err := w.LoadRows(ctx, warehouse.Relation{Schema: "main", Name: fmt.Sprintf("l%d", g)}, cols, [][]any{{int64(round)}}, true); err != nil {
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
	for g := range 8 {
		assertRows(t, w, fmt.Sprintf("SELECT round FROM r%d", g), [][]any{{int32(4)}})
		assertRows(t, w, fmt.Sprintf("SELECT x FROM l%d", g), [][]any{{int64(4)}})
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
	assertKind(t, w, rel, warehouse.KindTable)
	assertRows(t, w, "SELECT s FROM staging.t", [][]any{{"persisted"}})
	assertRows(t, w, "SELECT s FROM staging.v", [][]any{{"persisted!"}})
	assertRows(t, w, "SELECT k FROM staging.seed", [][]any{{"new"}})
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
	assertRows(t, w, "SELECT count(*), count(DISTINCT g) FROM contended", [][]any{{int64(10000), int64(1)}})
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
