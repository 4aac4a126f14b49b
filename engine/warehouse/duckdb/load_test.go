package duckdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
)

var loadCols = []warehouse.Column{
	{Name: "s", Type: "varchar"},
	{Name: "i", Type: "bigint"},
	{Name: "n", Type: "integer"},
	{Name: "f", Type: "double"},
	{Name: "b", Type: "boolean"},
	{Name: "d", Type: "date"},
	{Name: "ts", Type: "timestamp"},
	{Name: "Amount", Type: "DECIMAL(10,2)"}, // pinned verbatim
	{Name: "tz", Type: "TIMESTAMPTZ"},       // pinned verbatim
	{Name: "pinned date", Type: "DATE"},     // a string into a date column
	{Name: "order", Type: ""},               // no type: varchar
}

// loadQuery selects loadCols back in a comparable form: DECIMAL as text.
const loadQuery = `SELECT s, i, n, f, b, d, ts, "Amount"::VARCHAR, tz, "pinned date", "order" FROM main.loaded ORDER BY i NULLS LAST`

func TestLoadRowsReplaceAndAppend(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "loaded"}

	tricky := "it's \"quoted\"\nline two\ttab \\ backslash; DROP TABLE x; -- ünïcödé 🦆 日本"
	plus2 := time.FixedZone("+02", 2*60*60)
	d := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	tz := time.Date(2024, 6, 1, 12, 0, 0, 0, plus2)
	rows := [][]any{
		{tricky, int64(math.MaxInt64), int64(-7), 0.1, true, d, ts, "12.34", tz, "2024-03-04", "NULL"},
		{"", int64(math.MinInt64), int64(0), -2.5e300, false, d, ts.In(plus2), "-0.05", tz, "1999-12-31", ""},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	n, err := w.LoadRows(ctx, rel, loadCols, rows, true)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("rows = %d, want 3", n)
	}
	wantDate := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	want := [][]any{
		{"", int64(math.MinInt64), int32(0), -2.5e300, false, d, ts, "-0.05", tz.UTC(), wantDate(1999, 12, 31), ""},
		{tricky, int64(math.MaxInt64), int32(-7), 0.1, true, d, ts, "12.34", tz.UTC(), wantDate(2024, 3, 4), "NULL"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	assertRows(t, w, loadQuery, want)
	// The declared types were used, including the pinned ones.
	assertRows(t, w, `SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'loaded' ORDER BY ordinal_position`, [][]any{
		{"s", "VARCHAR"}, {"i", "BIGINT"}, {"n", "INTEGER"}, {"f", "DOUBLE"}, {"b", "BOOLEAN"},
		{"d", "DATE"}, {"ts", "TIMESTAMP"}, {"Amount", "DECIMAL(10,2)"}, {"tz", "TIMESTAMP WITH TIME ZONE"},
		{"pinned date", "DATE"}, {"order", "VARCHAR"},
	})

	// Append.
	more := [][]any{{"appended", int64(1), int64(1), 1.0, true, d, ts, "1", tz, "2000-01-01", "x"}}
	n, err = w.LoadRows(ctx, rel, loadCols, more, false)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows = %d, want 1", n)
	}
	assertRows(t, w, "SELECT count(*), count(s) FROM loaded", [][]any{{int64(4), int64(3)}})
	assertRows(t, w, "SELECT s, \"pinned date\" FROM loaded WHERE i = 1", [][]any{{"appended", wantDate(2000, 1, 1)}})

	// Replace with a different shape.
	n, err = w.LoadRows(ctx, rel, []warehouse.Column{{Name: "only", Type: "varchar"}}, [][]any{{"a"}, {"b"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, "SELECT * FROM loaded ORDER BY 1", [][]any{{"a"}, {"b"}})
	assertNoScratchTables(t, w)
}

func TestLoadRowsSpecialFloats(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	rel := warehouse.Relation{Name: "floats"}
	cols := []warehouse.Column{{Name: "k", Type: "integer"}, {Name: "f", Type: "double"}}
	rows := [][]any{{int64(1), math.Inf(1)}, {int64(2), math.Inf(-1)}, {int64(3), math.NaN()}, {int64(4), math.SmallestNonzeroFloat64}, {int64(5), math.MaxFloat64}}
	if _, err := w.LoadRows(ctx, rel, cols, rows, true); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, w, "SELECT f FROM floats ORDER BY k")
	if len(got) != 5 || got[0][0] != math.Inf(1) || got[1][0] != math.Inf(-1) ||
		!math.IsNaN(got[2][0].(float64)) || got[3][0] != math.SmallestNonzeroFloat64 || got[4][0] != math.MaxFloat64 {
		t.Errorf("got %v", got)
	}
}

func TestLoadRowsCreatesOnAppendAndReplacesView(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}

	fresh := warehouse.Relation{Schema: "main", Name: "fresh"}
	if _, err := w.LoadRows(ctx, fresh, cols, [][]any{{int64(1)}}, false); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT x FROM fresh", [][]any{{int64(1)}})

	view := warehouse.Relation{Schema: "main", Name: "was_view"}
	if err := w.CreateView(ctx, view, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.LoadRows(ctx, view, cols, [][]any{{int64(9)}}, true); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, view, warehouse.KindTable)
	assertRows(t, w, "SELECT x FROM was_view", [][]any{{int64(9)}})

	// Empty replace leaves an empty table of the right shape.
	if _, err := w.LoadRows(ctx, view, cols, nil, true); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT count(*) FROM was_view", [][]any{{int64(0)}})
}

// assertNoScratchTables checks that no staging or temp table is left over.
// Temp tables are only visible on their own connection, so callers that
// care about them pin the pool to one connection.
func assertNoScratchTables(t *testing.T, w *Warehouse) {
	t.Helper()
	assertRows(t, w, "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_\\_quarry%' ESCAPE '\\'", [][]any{})
}

func TestLoadRowsFailureLeavesPrevious(t *testing.T) {
	w := openMem(t)
	// One connection, so the temp table of a failed load would be visible.
	w.db.SetMaxOpenConns(1)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "main", Name: "seed"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "born", Type: "date"}}
	good := [][]any{{int64(1), "2020-01-01"}, {int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)}}
	if _, err := w.LoadRows(ctx, rel, cols, good, true); err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{int64(1), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)},
	}

	// Many good rows (several appender chunks) and one bad one near the end.
	var bad [][]any
	for i := range 5000 {
		bad = append(bad, []any{int64(100 + i), "2022-01-01"})
	}
	bad[4321][1] = "31/12/2022"

	for _, replace := range []bool{true, false} {
		t.Run(fmt.Sprintf("replace=%v", replace), func(t *testing.T) {
			_, err := w.LoadRows(ctx, rel, cols, bad, replace)
			if err == nil {
				t.Fatal("want error")
			}
			for _, want := range []string{"load rows into main.seed", "31/12/2022", "column born", "Conversion Error"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			// The value is named by its row, for the caller to name its line.
			var ve *warehouse.ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *warehouse.ValueError", err)
			}
			if ve.Row != 4321 || ve.Column != "born" || ve.Value != "31/12/2022" || ve.Type != "DATE" {
				t.Errorf("ValueError = row %d, column %q, value %q, type %q; want row 4321, column born, value 31/12/2022, type DATE",
					ve.Row, ve.Column, ve.Value, ve.Type)
			}
			assertRows(t, w, "SELECT id, born FROM seed ORDER BY id", wantRows)
			assertNoScratchTables(t, w)

			// Rejected before touching the database.
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{int64(3)}}, replace)
			if err == nil || !strings.Contains(err.Error(), "row 1 has 1 values, want 2") {
				t.Errorf("err = %v", err)
			}
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{3, "2020-01-01"}}, replace)
			if err == nil || !strings.Contains(err.Error(), "column id: unsupported value type int") {
				t.Errorf("err = %v", err)
			}
			assertRows(t, w, "SELECT id, born FROM seed ORDER BY id", wantRows)
		})
	}

	// A failed append into a missing table does not create it.
	missing := warehouse.Relation{Schema: "main", Name: "never"}
	if _, err := w.LoadRows(ctx, missing, cols, [][]any{{int64(1), "nope"}}, false); err == nil {
		t.Fatal("want error")
	}
	assertKind(t, w, missing, warehouse.KindNone)
	assertNoScratchTables(t, w)
}

func TestLoadRowsCanceled(t *testing.T) {
	w := openMem(t)
	w.db.SetMaxOpenConns(1)
	rel := warehouse.Relation{Name: "t"}
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}
	if _, err := w.LoadRows(context.Background(), rel, cols, [][]any{{int64(1)}}, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.LoadRows(ctx, rel, cols, [][]any{{int64(2)}}, true); err == nil {
		t.Fatal("want error from canceled context")
	}
	assertRows(t, w, "SELECT x FROM t", [][]any{{int64(1)}})
	assertNoScratchTables(t, w)
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
	assertKind(t, w, warehouse.Relation{Name: "half"}, warehouse.KindNone)

	err = w.Exec(ctx, "BEGIN; CREATE TABLE unfinished(i INTEGER)")
	if err == nil || !strings.Contains(err.Error(), "left a transaction open") {
		t.Fatalf("err = %v", err)
	}
	assertKind(t, w, warehouse.Relation{Name: "unfinished"}, warehouse.KindNone)

	if err := w.Exec(ctx, "BEGIN; CREATE TABLE done(i INTEGER); COMMIT"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, warehouse.Relation{Name: "after"}, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, warehouse.Relation{Name: "done"}, warehouse.KindTable)
}
