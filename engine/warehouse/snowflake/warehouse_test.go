package snowflake

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

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

// assertNoScratch checks that no staging or scratch relation is left over
// in schema.
func assertNoScratch(t *testing.T, w *Warehouse, schema string) {
	t.Helper()
	res, err := w.Query(context.Background(), "SHOW TERSE OBJECTS IN SCHEMA "+w.QuoteIdent(schema), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		for _, v := range r {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "__QUARRY_") {
				t.Errorf("scratch relation left behind in %s: %s", schema, s)
			}
		}
	}
}

func fmtValue(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func TestViewAndTableRoundTrip(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	if err := w.EnsureSchema(ctx, "analytics"); err != nil {
		t.Fatal(err)
	}
	// Cached and idempotent.
	if err := w.EnsureSchema(ctx, "analytics"); err != nil {
		t.Fatal(err)
	}
	if err := w.EnsureSchema(ctx, "ANALYTICS"); err != nil {
		t.Fatal(err)
	}

	v := warehouse.Relation{Schema: "analytics", Name: "v"}
	assertKind(t, w, v, warehouse.KindNone)
	if err := w.CreateView(ctx, v, "SELECT 1 AS a, 'x' AS b;"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, v, warehouse.KindView)
	assertRows(t, w, "SELECT a, b FROM analytics.v", [][]any{{int64(1), "x"}})
	// Replacing a view keeps it a view with the new definition; a trailing
	// line comment must not swallow anything.
	if err := w.CreateView(ctx, v, "SELECT 2 AS a -- comment"); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT * FROM analytics.v", [][]any{{int64(2)}})

	tbl := warehouse.Relation{Schema: "analytics", Name: "Orders"}
	n, err := w.CreateTable(ctx, tbl, "SELECT seq4() AS id FROM TABLE(GENERATOR(ROWCOUNT => 5))")
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("rows = %d, want 5", n)
	}
	assertKind(t, w, tbl, warehouse.KindTable)
	assertRows(t, w, `SELECT count(*), sum(id)::integer FROM analytics."Orders"`, [][]any{{int64(5), int64(10)}})

	n, err = w.CreateTable(ctx, tbl, "SELECT 7 AS id")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	assertRows(t, w, `SELECT id FROM analytics."Orders"`, [][]any{{int64(7)}})
	assertNoScratch(t, w, "analytics")
}

func TestReplaceViewWithTableAndBack(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "thing"}

	if err := w.CreateView(ctx, rel, "SELECT 'view' AS src"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, rel, "SELECT 'table' AS src"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, rel, warehouse.KindTable)
	assertRows(t, w, "SELECT src FROM tests.thing", [][]any{{"table"}})

	if err := w.CreateView(ctx, rel, "SELECT 'view again' AS src"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, rel, warehouse.KindView)
	assertRows(t, w, "SELECT src FROM tests.thing", [][]any{{"view again"}})
	assertNoScratch(t, w, "tests")
}

func TestCreateTableFailureKeepsPrevious(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "t"}
	if _, err := w.CreateTable(ctx, rel, "SELECT column1 AS id, column2 AS s FROM (VALUES (1, 'a'), (2, 'b'))"); err != nil {
		t.Fatal(err)
	}
	// Fails at execution time, after the statement started writing.
	bad := "SELECT to_number(CASE WHEN seq4() = 5000 THEN 'boom at row' ELSE '1' END) AS id FROM TABLE(GENERATOR(ROWCOUNT => 10000))"
	_, err := w.CreateTable(ctx, rel, bad)
	if err == nil || !strings.Contains(err.Error(), "boom at row") {
		t.Fatalf("err = %v, want Snowflake's message", err)
	}
	if !strings.HasPrefix(err.Error(), "create table tests.t: 100") {
		t.Errorf("err = %v, want the context and Snowflake's error code", err)
	}
	assertRows(t, w, "SELECT id, s FROM tests.t ORDER BY id", [][]any{{int64(1), "a"}, {int64(2), "b"}})

	// A compilation error, and a previous view, which the failing table
	// must not replace.
	view := warehouse.Relation{Schema: "tests", Name: "v"}
	if err := w.CreateView(ctx, view, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{"SELECT nope FROM tests.t", bad} {
		if _, err := w.CreateTable(ctx, view, sel); err == nil {
			t.Fatalf("%s: want error", sel)
		}
		assertKind(t, w, view, warehouse.KindView)
		assertRows(t, w, "SELECT x FROM tests.v", [][]any{{int64(1)}})
	}
	// And the other way round: a failing view keeps the table.
	if err := w.CreateView(ctx, rel, "SELECT nope FROM tests.t"); err == nil {
		t.Fatal("want error")
	}
	assertKind(t, w, rel, warehouse.KindTable)
	assertNoScratch(t, w, "tests")
}

func TestIncremental(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "inc"}

	_, err := w.Incremental(ctx, rel, "SELECT 1 AS id", nil)
	if !errors.Is(err, warehouse.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, err := w.CreateTable(ctx, rel, "SELECT column1 AS id, column2 AS s, column3 AS n FROM (VALUES (1, 'a', 10), (2, 'b', 20))"); err != nil {
		t.Fatal(err)
	}

	// Append, with columns in a different order (matched by name).
	n, err := w.Incremental(ctx, rel, "SELECT 30 AS n, 'c' AS s, 3 AS id", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	const all = "SELECT id, s, n FROM tests.inc ORDER BY id, s"
	assertRows(t, w, all, [][]any{
		{int64(1), "a", int64(10)}, {int64(2), "b", int64(20)}, {int64(3), "c", int64(30)},
	})

	// Upsert: id 2 replaced, id 4 new.
	n, err = w.Incremental(ctx, rel, "SELECT column1 AS id, column2 AS s, column3 AS n FROM (VALUES (2, 'B', 21), (4, 'd', 40))", []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, all, [][]any{
		{int64(1), "a", int64(10)}, {int64(2), "B", int64(21)}, {int64(3), "c", int64(30)}, {int64(4), "d", int64(40)},
	})

	// Composite key: only the (1, 'a') row matches.
	n, err = w.Incremental(ctx, rel, "SELECT column1 AS id, column2 AS s, column3 AS n FROM (VALUES (1, 'a', 11), (3, 'x', 31))", []string{"id", "s"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, all, [][]any{
		{int64(1), "a", int64(11)}, {int64(2), "B", int64(21)}, {int64(3), "c", int64(30)},
		{int64(3), "x", int64(31)}, {int64(4), "d", int64(40)},
	})

	// Every column a key: nothing to update, new keys inserted.
	if _, err := w.Incremental(ctx, rel, "SELECT 5 AS id, 'e' AS s, 50 AS n", []string{"id", "s", "n"}); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT count(*) FROM tests.inc", [][]any{{int64(6)}})

	// A failure rolls everything back.
	before := rowsOf(t, w, all)
	_, err = w.Incremental(ctx, rel, "SELECT 1 AS id, 'a' AS s, 'not a number' AS n", []string{"id"})
	if err == nil || !strings.Contains(err.Error(), "not a number") || !strings.HasPrefix(err.Error(), "incremental tests.inc: ") {
		t.Fatalf("err = %v", err)
	}
	assertRows(t, w, all, before)

	view := warehouse.Relation{Schema: "tests", Name: "a_view"}
	if err := w.CreateView(ctx, view, "SELECT 1 AS id"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Incremental(ctx, view, "SELECT 1 AS id", nil); err == nil || !strings.Contains(err.Error(), "is a view") {
		t.Errorf("err = %v", err)
	}
}

func TestExecQueryAndErrors(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE TABLE tests.t (i INTEGER, f DOUBLE, s VARCHAR, b BOOLEAN, d DATE, ts TIMESTAMP_NTZ, n NUMBER(10,2))",
		"INSERT INTO tests.t SELECT seq4(), seq4() / 2, 'x', true, '2024-01-02'::date, '2024-01-02 03:04:05'::timestamp_ntz, 1.5 FROM TABLE(GENERATOR(ROWCOUNT => 10))",
	} {
		if err := w.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Query(ctx, "SELECT i, f, s, b, d, ts, n FROM tests.t ORDER BY i", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Columns, []string{"I", "F", "S", "B", "D", "TS", "N"}) || len(res.Rows) != 3 {
		t.Fatalf("got %v %v", res.Columns, res.Rows)
	}
	want := []any{int64(2), 1.0, "x", true, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "1.50"}
	if !reflect.DeepEqual(res.Rows[2], want) {
		t.Errorf("row = %#v\nwant  %#v", res.Rows[2], want)
	}
	if rows := rowsOf(t, w, "SELECT i FROM tests.t"); len(rows) != 10 {
		t.Errorf("limit 0 returned %d rows", len(rows))
	}
	res, err = w.Query(ctx, "SELECT 1 WHERE false", 0)
	if err != nil || res.Rows == nil || len(res.Rows) != 0 {
		t.Errorf("empty result = %#v, %v", res, err)
	}

	// Snowflake's error code and SQL state are kept.
	err = w.Exec(ctx, "SELECT * FROM tests.missing_table")
	if err == nil || !strings.HasPrefix(err.Error(), "exec: 002003 (42S02): ") || !strings.Contains(err.Error(), "MISSING_TABLE") {
		t.Errorf("err = %v", err)
	}
	_, err = w.Query(ctx, "SELEC 1", 0)
	if err == nil || !strings.HasPrefix(err.Error(), "query: 001003 (42000): ") {
		t.Errorf("err = %v", err)
	}
}

// TestExecLeavesNoOpenTransaction checks that a transaction Exec leaves
// open does not follow its session back into the pool.
//
// On Snowflake, Exec finds it with CURRENT_TRANSACTION(), rolls it back and
// says so. The emulator has no CURRENT_TRANSACTION(), so there Exec cannot
// tell and closes the session instead, which ends the transaction just the
// same; the test accepts either outcome and checks what matters: the next
// statements are not caught in it.
func TestExecLeavesNoOpenTransaction(t *testing.T) {
	w, _ := openEmu(t)
	w.db.SetMaxOpenConns(1) // whatever Exec leaves behind, the next call sees
	ctx := context.Background()
	if err := w.Exec(ctx, "CREATE TABLE tests.t (i INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if err := w.Exec(ctx, "BEGIN"); err != nil && !strings.Contains(err.Error(), "left a transaction open") {
		t.Fatalf("err = %v", err)
	}
	if err := w.Exec(ctx, "INSERT INTO tests.t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	// Seen from other sessions: committed, not pending in an open
	// transaction.
	other, err := Open(ctx, Options{Target: "test", Settings: emulatorSettings(fakesnow.Shared(t), w.cfg.Driver.Database)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	assertRows(t, other, "SELECT i FROM tests.t", [][]any{{int64(1)}})
}

func TestContextCancellation(t *testing.T) {
	// The emulator ignores Snowflake's abort request, so it keeps
	// computing after the client gave up: the query is sized to take a few
	// seconds there, not to be cut short.
	const long = "SELECT count(DISTINCT seq8()) AS n FROM TABLE(GENERATOR(ROWCOUNT => 8000000))"
	for _, name := range []string{"query", "table"} {
		t.Run(name, func(t *testing.T) {
			w, _ := openEmu(t)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			var err error
			if name == "query" {
				_, err = w.Query(ctx, long, 0)
			} else {
				_, err = w.CreateTable(ctx, warehouse.Relation{Schema: "tests", Name: "big"}, long)
			}
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("want error after cancel")
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %v after cancel", elapsed)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			// The warehouse is still usable afterwards. On Snowflake the
			// abort frees the session at once; the emulator keeps it busy
			// ("connection is busy with another call") until the statement
			// it did not abort finishes, hence the patience.
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := w.Query(context.Background(), "SELECT 1", 0)
				if err == nil {
					break
				}
				if time.Now().After(deadline) || !strings.Contains(err.Error(), "busy") {
					t.Fatalf("after cancel: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			// On Snowflake the aborted CREATE TABLE leaves no table; the
			// emulator finishes it, so whether "big" exists is not checked.
		})
	}
}

func TestConcurrentDDL(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	const perKind = 12
	schemas := []string{"tests", "s_a", "s_b", "S C"}
	type job struct {
		rel  warehouse.Relation
		view bool
	}
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for i := range perKind {
			schema := schemas[i%len(schemas)]
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, true}
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, false}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*perKind)
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				if err := w.EnsureSchema(ctx, j.rel.Schema); err != nil {
					errs <- err
					continue
				}
				sel := fmt.Sprintf("SELECT '%s' AS name, seq4() AS i FROM TABLE(GENERATOR(ROWCOUNT => 100))", j.rel.Name)
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
		schema := schemas[i%len(schemas)]
		assertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, warehouse.KindView)
		assertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, warehouse.KindTable)
	}
	assertRows(t, w, `SELECT count(*), sum(i)::integer FROM "S C".t3`, [][]any{{int64(100), int64(4950)}})
	// Unqualified names still resolve to the target's schema: no pooled
	// session was left in a schema EnsureSchema created.
	for range 8 {
		assertRows(t, w, "SELECT current_schema()", [][]any{{"TESTS"}})
	}
}
