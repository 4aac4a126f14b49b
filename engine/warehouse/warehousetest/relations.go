package warehousetest

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
)

// relations creates and replaces views and tables, in a schema of the
// suite's own.
func (s *suite) relations(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	must(t, w.EnsureSchema(ctx, "analytics"))
	// Cached and idempotent, whatever the case.
	must(t, w.EnsureSchema(ctx, "analytics"))
	must(t, w.EnsureSchema(ctx, "ANALYTICS"))

	v := warehouse.Relation{Schema: "analytics", Name: "v"}
	AssertKind(t, w, v, warehouse.KindNone)
	must(t, w.CreateView(ctx, v, "SELECT 1 AS a, 'x' AS b;"))
	AssertKind(t, w, v, warehouse.KindView)
	AssertRows(t, w, "SELECT a, b FROM analytics.v", [][]any{{s.o.Int(1), "x"}})
	// Replacing a view keeps it a view with the new definition; a trailing
	// line comment must not swallow anything.
	must(t, w.CreateView(ctx, v, "SELECT 2 AS a -- comment"))
	AssertKind(t, w, v, warehouse.KindView)
	AssertRows(t, w, "SELECT * FROM analytics.v", [][]any{s.ints(2)})

	tbl := warehouse.Relation{Schema: "analytics", Name: "Orders"}
	mustRows(t, 5)(w.CreateTable(ctx, tbl, "SELECT i AS id FROM ("+s.o.Series(5)+") s"))
	AssertKind(t, w, tbl, warehouse.KindTable)
	AssertRows(t, w, `SELECT count(*), CAST(sum(id) AS BIGINT) FROM analytics."Orders"`, [][]any{{int64(5), int64(10)}})
	mustRows(t, 1)(w.CreateTable(ctx, tbl, "SELECT 7 AS id"))
	AssertRows(t, w, `SELECT id FROM analytics."Orders"`, [][]any{s.ints(7)})
	s.assertNoScratch(t, w, "analytics")
}

// lookup checks that Lookup finds relations under the names the warehouse
// resolves them by, in the target schema when none is given.
func (s *suite) lookup(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	must(t, w.EnsureSchema(ctx, "analytics"))
	if _, err := w.CreateTable(ctx, warehouse.Relation{Schema: "analytics", Name: "orders"}, "select 1 as order_id"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, warehouse.Relation{Schema: "analytics", Name: "Mixed"}, "select 1 as x"); err != nil {
		t.Fatal(err)
	}
	// A user's unquoted SQL finds the relation quarry named, whatever the
	// case it is typed in; so does the folded name quoted.
	fold := func(n string) string { return w.QuoteIdent(s.fold(w, n)) }
	for _, q := range []string{
		"select order_id from analytics.orders",
		"select ORDER_ID from ANALYTICS.ORDERS",
		"select Order_Id from Analytics.Orders",
		"select " + fold("order_id") + " from " + fold("analytics") + "." + fold("orders"),
	} {
		AssertRows(t, w, q, [][]any{s.ints(1)})
	}
	AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "orders"}, warehouse.KindTable)
	AssertKind(t, w, warehouse.Relation{Schema: "ANALYTICS", Name: "ORDERS"}, warehouse.KindTable)
	AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "order"}, warehouse.KindNone)
	if s.o.FoldsCase {
		// A quoted mixed-case name is another relation than the folded one.
		AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "Orders"}, warehouse.KindNone)
		AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "mixed"}, warehouse.KindNone)
	} else {
		// Names resolve case-insensitively; Lookup follows.
		AssertKind(t, w, warehouse.Relation{Schema: "ANALYTICS", Name: "Orders"}, warehouse.KindTable)
		AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "mixed"}, warehouse.KindTable)
	}
	AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "Mixed"}, warehouse.KindTable)

	// Relations without a schema are in the target's schema.
	if _, err := w.CreateTable(ctx, warehouse.Relation{Name: "plain"}, "select 1 as x"); err != nil {
		t.Fatal(err)
	}
	AssertKind(t, w, warehouse.Relation{Name: "plain"}, warehouse.KindTable)
	AssertKind(t, w, s.rel("plain"), warehouse.KindTable)
	AssertKind(t, w, warehouse.Relation{Schema: "analytics", Name: "plain"}, warehouse.KindNone)
	// A schema that does not exist holds nothing.
	AssertKind(t, w, warehouse.Relation{Schema: "nowhere", Name: "orders"}, warehouse.KindNone)
}

func (s *suite) replaceViewWithTableAndBack(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	rel := s.rel("thing")
	must(t, w.CreateView(ctx, rel, "SELECT 'view' AS src"))
	if _, err := w.CreateTable(ctx, rel, "SELECT 'table' AS src"); err != nil {
		t.Fatal(err)
	}
	AssertKind(t, w, rel, warehouse.KindTable)
	AssertRows(t, w, "SELECT src FROM "+w.RelationSQL(rel), [][]any{{"table"}})

	must(t, w.CreateView(ctx, rel, "SELECT 'view again' AS src"))
	AssertKind(t, w, rel, warehouse.KindView)
	AssertRows(t, w, "SELECT src FROM "+w.RelationSQL(rel), [][]any{{"view again"}})
	s.assertNoScratch(t, w, s.o.Schema)
}

// createTableFailureKeepsPrevious checks that CreateTable is atomic: a
// failure, at compilation or half-way through writing, leaves the previous
// relation exactly as it was.
func (s *suite) createTableFailureKeepsPrevious(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	rel := s.rel("t")
	name := w.RelationSQL(rel)
	if _, err := w.CreateTable(ctx, rel, "SELECT 1 AS id, 'a' AS s UNION ALL SELECT 2, 'b'"); err != nil {
		t.Fatal(err)
	}
	// Fails at execution time, after the statement started writing.
	bad := "SELECT CAST(CASE WHEN i = 5000 THEN 'boom at row' ELSE '1' END AS INTEGER) AS id FROM (" + s.o.Series(10000) + ") s"
	_, err := w.CreateTable(ctx, rel, bad)
	if err == nil || !strings.Contains(err.Error(), "boom at row") {
		t.Fatalf("err = %v, want the warehouse's message", err)
	}
	if !strings.HasPrefix(err.Error(), "create table "+name+": ") {
		t.Errorf("err = %v, want context prefix", err)
	}
	AssertRows(t, w, "SELECT id, s FROM "+name+" ORDER BY id", [][]any{{s.o.Int(1), "a"}, {s.o.Int(2), "b"}})

	// A compilation error, and a previous view, which the failing table
	// must not replace.
	view := s.rel("v")
	must(t, w.CreateView(ctx, view, "SELECT 1 AS x"))
	for _, sel := range []string{"SELECT nope FROM " + name, bad} {
		if _, err := w.CreateTable(ctx, view, sel); err == nil {
			t.Fatalf("%s: want error", sel)
		}
		AssertKind(t, w, view, warehouse.KindView)
		AssertRows(t, w, "SELECT x FROM "+w.RelationSQL(view), [][]any{s.ints(1)})
	}
	// And the other way round: a failing view keeps the table.
	if err := w.CreateView(ctx, rel, "SELECT nope FROM "+name); err == nil {
		t.Fatal("want error")
	}
	AssertKind(t, w, rel, warehouse.KindTable)
	s.assertNoScratch(t, w, s.o.Schema)
}

func (s *suite) incremental(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	rel := s.rel("inc")
	name := w.RelationSQL(rel)

	_, err := w.Incremental(ctx, rel, "SELECT 1 AS id", nil)
	if !errors.Is(err, warehouse.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, err := w.CreateTable(ctx, rel, "SELECT 1 AS id, 'a' AS s, 10 AS n UNION ALL SELECT 2, 'b', 20"); err != nil {
		t.Fatal(err)
	}
	all := "SELECT id, s, n FROM " + name + " ORDER BY id, s"
	row := func(id int64, str string, n int64) []any { return []any{s.o.Int(id), str, s.o.Int(n)} }

	// Append, with columns in a different order (matched by name).
	mustRows(t, 1)(w.Incremental(ctx, rel, "SELECT 30 AS n, 'c' AS s, 3 AS id", nil))
	AssertRows(t, w, all, [][]any{row(1, "a", 10), row(2, "b", 20), row(3, "c", 30)})

	// Upsert: id 2 replaced, id 4 new.
	mustRows(t, 2)(w.Incremental(ctx, rel, "SELECT 2 AS id, 'B' AS s, 21 AS n UNION ALL SELECT 4, 'd', 40", []string{"id"}))
	AssertRows(t, w, all, [][]any{row(1, "a", 10), row(2, "B", 21), row(3, "c", 30), row(4, "d", 40)})

	// Composite key: only the (1, 'a') row matches.
	mustRows(t, 2)(w.Incremental(ctx, rel, "SELECT 1 AS id, 'a' AS s, 11 AS n UNION ALL SELECT 3, 'x', 31", []string{"id", "s"}))
	AssertRows(t, w, all, [][]any{row(1, "a", 11), row(2, "B", 21), row(3, "c", 30), row(3, "x", 31), row(4, "d", 40)})

	// Every column a key: nothing to update, new keys inserted.
	mustRows(t, 1)(w.Incremental(ctx, rel, "SELECT 5 AS id, 'e' AS s, 50 AS n", []string{"id", "s", "n"}))
	AssertRows(t, w, "SELECT count(*) FROM "+name, [][]any{{int64(6)}})

	// A failure after the delete rolls back the delete too.
	before := Rows(t, w, all)
	_, err = w.Incremental(ctx, rel, "SELECT 1 AS id, 'a' AS s, 'not a number' AS n", []string{"id"})
	if err == nil || !strings.Contains(err.Error(), "not a number") || !strings.HasPrefix(err.Error(), "incremental "+name+": ") {
		t.Fatalf("err = %v", err)
	}
	AssertRows(t, w, all, before)
	s.assertNoScratch(t, w, s.o.Schema)

	view := s.rel("a_view")
	must(t, w.CreateView(ctx, view, "SELECT 1 AS id"))
	if _, err := w.Incremental(ctx, view, "SELECT 1 AS id", nil); err == nil || !strings.Contains(err.Error(), "is a view") {
		t.Errorf("err = %v", err)
	}
}

// execAndQuery runs a script through Exec and reads portable types back
// through Query, limited and not.
func (s *suite) execAndQuery(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	name := w.RelationSQL(s.rel("t"))
	for _, stmt := range []string{
		"CREATE TABLE " + name + " (i INTEGER, f DOUBLE, s VARCHAR, b BOOLEAN, d DATE, ts " + s.o.Timestamp + ")",
		"INSERT INTO " + name + " SELECT i, i / 2, 'x', true, CAST('2024-01-02' AS DATE), CAST('2024-01-02 03:04:05' AS " + s.o.Timestamp + ") FROM (" + s.o.Series(10) + ") s",
	} {
		must(t, w.Exec(ctx, stmt))
	}
	res, err := w.Query(ctx, "SELECT i, f, s, b, d, ts FROM "+name+" ORDER BY i", 3)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range []string{"i", "f", "s", "b", "d", "ts"} {
		cols = append(cols, s.fold(w, c))
	}
	if !reflect.DeepEqual(res.Columns, cols) || len(res.Rows) != 3 {
		t.Fatalf("got %v %v", res.Columns, res.Rows)
	}
	want := []any{s.o.Int(2), 1.0, "x", true, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(res.Rows[2], want) {
		t.Errorf("row = %#v\nwant  %#v", res.Rows[2], want)
	}
	if rows := Rows(t, w, "SELECT i FROM "+name); len(rows) != 10 {
		t.Errorf("limit 0 returned %d rows", len(rows))
	}
	res, err = w.Query(ctx, "SELECT 1 WHERE false", 0)
	if err != nil || res.Rows == nil || len(res.Rows) != 0 {
		t.Errorf("empty result = %#v, %v", res, err)
	}

	// Errors carry the operation and what the warehouse said.
	err = w.Exec(ctx, "SELECT * FROM "+w.RelationSQL(s.rel("missing_table")))
	if err == nil || !strings.HasPrefix(err.Error(), "exec: ") || !strings.Contains(strings.ToLower(err.Error()), "missing_table") {
		t.Errorf("err = %v", err)
	}
	if _, err = w.Query(ctx, "SELEC 1", 0); err == nil || !strings.HasPrefix(err.Error(), "query: ") {
		t.Errorf("err = %v", err)
	}
}

// publish swaps a staged table in (write-audit-publish).
func (s *suite) publish(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	live := s.rel("mart")
	staged := s.rel("mart__quarry_audit")
	version := "SELECT version FROM " + w.RelationSQL(live)

	// No live table yet: renamed into place.
	if _, err := w.CreateTable(ctx, staged, "SELECT 1 AS version"); err != nil {
		t.Fatal(err)
	}
	must(t, w.Publish(ctx, staged, live))
	AssertRows(t, w, version, [][]any{s.ints(1)})
	AssertKind(t, w, staged, warehouse.KindNone)

	// A live table: replaced, the old version gone.
	if _, err := w.CreateTable(ctx, staged, "SELECT 2 AS version"); err != nil {
		t.Fatal(err)
	}
	must(t, w.Publish(ctx, staged, live))
	AssertRows(t, w, version, [][]any{s.ints(2)})
	AssertKind(t, w, staged, warehouse.KindNone)

	// A live view: replaced by the table.
	view := s.rel("was_view")
	must(t, w.CreateView(ctx, view, "SELECT 0 AS version"))
	if _, err := w.CreateTable(ctx, staged, "SELECT 3 AS version"); err != nil {
		t.Fatal(err)
	}
	must(t, w.Publish(ctx, staged, view))
	AssertKind(t, w, view, warehouse.KindTable)
	AssertRows(t, w, "SELECT version FROM "+w.RelationSQL(view), [][]any{s.ints(3)})

	// Nothing staged: an error, and the live table as it was.
	err := w.Publish(ctx, staged, live)
	if err == nil || !strings.HasPrefix(err.Error(), "publish "+w.RelationSQL(live)+": ") {
		t.Fatalf("err = %v", err)
	}
	AssertRows(t, w, version, [][]any{s.ints(2)})
	s.assertNoScratch(t, w, s.o.Schema)
}

func (s *suite) drop(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	tbl, view := s.rel("t"), s.rel("v")
	if _, err := w.CreateTable(ctx, tbl, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	must(t, w.CreateView(ctx, view, "SELECT x FROM "+w.RelationSQL(tbl)))
	for _, rel := range []warehouse.Relation{view, tbl, tbl, {Schema: "nowhere", Name: "x"}} {
		must(t, w.Drop(ctx, rel))
		AssertKind(t, w, rel, warehouse.KindNone)
	}
}

// quotedNames checks that whatever QuoteIdent renders works as a schema,
// table and column name, and that Lookup finds the relation under the name
// quarry gave it.
func (s *suite) quotedNames(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	names := append([]string{"Mixed Case", `quo"te`, "ünïcödé", "orders", "ORDERS", "order", "select", "qualify", "x.y"}, s.o.QuotedNames...)
	for _, n := range names {
		rel := warehouse.Relation{Schema: n, Name: n}
		if s.o.SchemaNameOK != nil && !s.o.SchemaNameOK(n) {
			rel.Schema = s.o.Schema
		}
		must(t, w.EnsureSchema(ctx, rel.Schema))
		col := w.QuoteIdent(n)
		if _, err := w.CreateTable(ctx, rel, "SELECT 42 AS "+col); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		AssertKind(t, w, rel, warehouse.KindTable)
		res, err := w.Query(ctx, "SELECT "+col+" FROM "+w.RelationSQL(rel), 0)
		if err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		if len(res.Rows) != 1 || res.Rows[0][0] != s.o.Int(42) {
			t.Fatalf("%q: got %v", n, res.Rows)
		}
		if res.Columns[0] != s.fold(w, n) {
			t.Errorf("%q: column is named %q, want %q", n, res.Columns[0], s.fold(w, n))
		}
	}
}

// concurrentDDL builds views and tables from many goroutines, in schemas
// they create concurrently.
func (s *suite) concurrentDDL(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	schemas := []string{s.o.Schema, "s_a", "s_b", "S C"}
	type job struct {
		rel  warehouse.Relation
		view bool
	}
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for i := range s.o.PerKind {
			schema := schemas[i%len(schemas)]
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, true}
			jobs <- job{warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, false}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 2*s.o.PerKind)
	for range s.o.Workers {
		wg.Go(func() {
			for j := range jobs {
				if err := w.EnsureSchema(ctx, j.rel.Schema); err != nil {
					errs <- err
					continue
				}
				sel := fmt.Sprintf("SELECT '%s' AS name, i FROM (%s) s", j.rel.Name, s.o.Series(100))
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
	for i := range s.o.PerKind {
		schema := schemas[i%len(schemas)]
		AssertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("v%d", i)}, warehouse.KindView)
		AssertKind(t, w, warehouse.Relation{Schema: schema, Name: fmt.Sprintf("t%d", i)}, warehouse.KindTable)
	}
	for _, schema := range schemas {
		s.assertNoScratch(t, w, schema)
	}
	// Nothing else was created: the catalog holds exactly these.
	var in []string
	for _, schema := range schemas {
		in = append(in, "'"+s.fold(w, schema)+"'")
	}
	counts := `SELECT table_type, count(*) FROM information_schema.tables WHERE table_schema IN (` +
		strings.Join(in, ", ") + ") AND table_type IN ('BASE TABLE', 'VIEW') GROUP BY table_type ORDER BY table_type"
	want := [][]any{{"BASE TABLE", int64(s.o.PerKind)}}
	if s.o.CatalogListsViews {
		want = append(want, []any{"VIEW", int64(s.o.PerKind)})
	}
	AssertRows(t, w, counts, want)
	AssertRows(t, w, `SELECT count(*), CAST(sum(i) AS BIGINT) FROM "S C".t3`, [][]any{{int64(100), int64(4950)}})
	// Unqualified names still resolve to the target's schema: no pooled
	// session was left in a schema EnsureSchema created.
	for range 8 {
		AssertRows(t, w, "SELECT current_schema()", [][]any{{s.fold(w, s.o.Schema)}})
	}
}

// concurrentReplace has many workers repeatedly replacing tables, views and
// loaded tables in one schema, the pattern of a scheduler re-running a
// project.
func (s *suite) concurrentReplace(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range s.o.Workers {
		wg.Go(func() {
			for round := range 5 {
				rel := s.rel(fmt.Sprintf("r%d", g))
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
				if _, err := w.LoadRows(ctx, s.rel(fmt.Sprintf("l%d", g)), cols, [][]any{{int64(round)}}, true); err != nil {
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
	for g := range s.o.Workers {
		AssertRows(t, w, "SELECT round FROM "+w.RelationSQL(s.rel(fmt.Sprintf("r%d", g))), [][]any{s.ints(4)})
		AssertRows(t, w, "SELECT x FROM "+w.RelationSQL(s.rel(fmt.Sprintf("l%d", g))), [][]any{{int64(4)}})
	}
	s.assertNoScratch(t, w, s.o.Schema)
}
