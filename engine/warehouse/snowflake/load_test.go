package snowflake

import (
	"context"
	"fmt"
	"math"
	"reflect"
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
	{Name: "Amount", Type: "NUMBER(10,2)"}, // pinned verbatim
	{Name: "tz", Type: "TIMESTAMP_TZ"},     // pinned verbatim
	{Name: "pinned date", Type: "DATE"},    // a string into a date column
	{Name: "order", Type: ""},              // a keyword, no type: varchar
}

// loadQuery selects loadCols back. The null flags of the timestamps are
// selected too: the emulator hands a NULL timestamp to gosnowflake as
// 1970-01-01 (its Arrow struct carries no null mask), so the values of
// NULL timestamps are compared through them rather than directly.
const loadQuery = `SELECT s, i, n, f, b, d, ts, "Amount", tz, "pinned date", "order", ts IS NULL, tz IS NULL
FROM tests.loaded ORDER BY i NULLS LAST`

// loadedRows reads loadQuery's rows, with NULL timestamps as nil.
func loadedRows(t *testing.T, w *Warehouse) [][]any {
	t.Helper()
	var out [][]any
	for _, r := range rowsOf(t, w, loadQuery) {
		if r[11] == true {
			r[6] = nil
		}
		if r[12] == true {
			r[8] = nil
		}
		// Instants compare by value, whatever zone they are read in.
		if tz, ok := r[8].(time.Time); ok {
			r[8] = tz.UTC()
		}
		out = append(out, r[:11])
	}
	return out
}

func TestLoadRowsReplaceAndAppend(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "loaded"}

	tricky := "it's \"quoted\"\nline two\ttab \\ backslash; DROP TABLE x; -- ünïcödé 🦆 日本 ? $1 :x"
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
		{"", int64(math.MinInt64), int64(0), -2.5e300, false, d, ts, "-0.05", tz.UTC(), wantDate(1999, 12, 31), ""},
		{tricky, int64(math.MaxInt64), int64(-7), 0.1, true, d, ts, "12.34", tz.UTC(), wantDate(2024, 3, 4), "NULL"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	if got := loadedRows(t, w); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded:\ngot:  %#v\nwant: %#v", got, want)
	}
	// The declared types were used, including the pinned ones.
	assertRows(t, w, `SELECT column_name, data_type, numeric_scale FROM information_schema.columns
WHERE table_schema = 'TESTS' AND table_name = 'LOADED' ORDER BY ordinal_position`, [][]any{
		{"S", "TEXT", nil}, {"I", "NUMBER", int64(0)}, {"N", "NUMBER", int64(0)}, {"F", "FLOAT", nil},
		{"B", "BOOLEAN", nil}, {"D", "DATE", nil}, {"TS", "TIMESTAMP_NTZ", nil}, {"Amount", "NUMBER", int64(2)},
		{"TZ", "TIMESTAMP_TZ", nil}, {"pinned date", "DATE", nil}, {"order", "TEXT", nil},
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
	assertRows(t, w, "SELECT count(*), count(s) FROM tests.loaded", [][]any{{int64(4), int64(3)}})
	assertRows(t, w, `SELECT s, "pinned date" FROM tests.loaded WHERE i = 1`, [][]any{{"appended", wantDate(2000, 1, 1)}})

	// Replace with a different shape.
	n, err = w.LoadRows(ctx, rel, []warehouse.Column{{Name: "only", Type: "varchar"}}, [][]any{{"a"}, {"b"}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("rows = %d, want 2", n)
	}
	assertRows(t, w, "SELECT * FROM tests.loaded ORDER BY 1", [][]any{{"a"}, {"b"}})
	assertNoScratch(t, w, "tests")
}

func TestLoadRowsSpecialFloats(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "floats"}
	cols := []warehouse.Column{{Name: "k", Type: "integer"}, {Name: "f", Type: "double"}}
	rows := [][]any{{int64(1), math.Inf(1)}, {int64(2), math.Inf(-1)}, {int64(3), math.NaN()}, {int64(4), math.SmallestNonzeroFloat64}, {int64(5), math.MaxFloat64}}
	if _, err := w.LoadRows(ctx, rel, cols, rows, true); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, w, "SELECT f FROM tests.floats ORDER BY k")
	if len(got) != 5 || got[0][0] != math.Inf(1) || got[1][0] != math.Inf(-1) ||
		!math.IsNaN(got[2][0].(float64)) || got[3][0] != math.SmallestNonzeroFloat64 || got[4][0] != math.MaxFloat64 {
		t.Errorf("got %v", got)
	}
}

func TestLoadRowsCreatesOnAppendAndReplacesView(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}

	fresh := warehouse.Relation{Schema: "tests", Name: "fresh"}
	if _, err := w.LoadRows(ctx, fresh, cols, [][]any{{int64(1)}}, false); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT x FROM tests.fresh", [][]any{{int64(1)}})
	// Empty appends create the table, as the engine does for landings.
	empty := warehouse.Relation{Schema: "tests", Name: "empty_landing"}
	if _, err := w.LoadRows(ctx, empty, cols, nil, false); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT count(*) FROM tests.empty_landing", [][]any{{int64(0)}})

	view := warehouse.Relation{Schema: "tests", Name: "was_view"}
	if err := w.CreateView(ctx, view, "SELECT 1 AS x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.LoadRows(ctx, view, cols, [][]any{{int64(9)}}, false); err == nil || !strings.Contains(err.Error(), "is a view") {
		t.Errorf("append to a view: err = %v", err)
	}
	if _, err := w.LoadRows(ctx, view, cols, [][]any{{int64(9)}}, true); err != nil {
		t.Fatal(err)
	}
	assertKind(t, w, view, warehouse.KindTable)
	assertRows(t, w, "SELECT x FROM tests.was_view", [][]any{{int64(9)}})

	// Empty replace leaves an empty table of the right shape.
	if _, err := w.LoadRows(ctx, view, cols, nil, true); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT count(*) FROM tests.was_view", [][]any{{int64(0)}})
	assertNoScratch(t, w, "tests")
}

// TestLoadRowsBatches loads more rows than fit one statement.
func TestLoadRowsBatches(t *testing.T) {
	w, e := openEmu(t)
	defer func(n int) { maxBinds = n }(maxBinds)
	maxBinds = 20 // 10 rows of two columns per INSERT
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "batched"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "note", Type: "varchar"}}
	var rows [][]any
	for i := range 45 {
		note := any(fmt.Sprint("row ", i))
		if i < 10 {
			note = nil // the first batch has no notes at all
		}
		rows = append(rows, []any{int64(i), note})
	}
	before := len(e.Statements())
	for _, replace := range []bool{true, false} {
		n, err := w.LoadRows(ctx, rel, cols, rows, replace)
		if err != nil {
			t.Fatal(err)
		}
		if n != 45 {
			t.Errorf("replace=%v: rows = %d, want 45", replace, n)
		}
	}
	assertRows(t, w, "SELECT count(*), count(DISTINCT id), count(note), sum(id)::integer FROM tests.batched",
		[][]any{{int64(90), int64(45), int64(70), int64(2 * 990)}})
	// Five INSERTs per load, values bound rather than spliced in; a batch
	// whose notes are all NULL leaves the column out.
	var inserts []string
	for _, s := range e.Statements()[before:] {
		if strings.HasPrefix(s.SQL, "INSERT") {
			inserts = append(inserts, s.SQL)
		}
	}
	if len(inserts) != 10 {
		t.Fatalf("%d INSERTs, want 10: %q", len(inserts), inserts)
	}
	if !strings.HasSuffix(inserts[0], "(id) VALUES (?)") || !strings.HasSuffix(inserts[1], "(id, note) VALUES (?, ?)") {
		t.Errorf("INSERTs: %q", inserts)
	}
}

func TestLoadRowsFailureLeavesPrevious(t *testing.T) {
	w, _ := openEmu(t)
	defer func(n int) { maxBinds = n }(maxBinds)
	maxBinds = 100 // several batches
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "seed"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "born", Type: "date"}}
	good := [][]any{{int64(1), "2020-01-01"}, {int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)}}
	if _, err := w.LoadRows(ctx, rel, cols, good, true); err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{int64(1), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)},
	}

	// Good rows in several batches, and one bad one in a later batch.
	var bad [][]any
	for i := range 300 {
		bad = append(bad, []any{int64(100 + i), "2022-01-01"})
	}
	bad[234][1] = "31/12/2022"

	for _, replace := range []bool{true, false} {
		t.Run(fmt.Sprintf("replace=%v", replace), func(t *testing.T) {
			_, err := w.LoadRows(ctx, rel, cols, bad, replace)
			if err == nil {
				t.Fatal("want error")
			}
			for _, want := range []string{"load rows into tests.seed: ", "rows 201 to 250: ", "31/12/2022"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertRows(t, w, "SELECT id, born FROM tests.seed ORDER BY id", wantRows)
			assertNoScratch(t, w, "tests")

			// Rejected before touching the database.
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{int64(3)}}, replace)
			if err == nil || !strings.Contains(err.Error(), "row 1 has 1 values, want 2") {
				t.Errorf("err = %v", err)
			}
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{3, "2020-01-01"}}, replace)
			if err == nil || !strings.Contains(err.Error(), "column id: unsupported value type int") {
				t.Errorf("err = %v", err)
			}
			assertRows(t, w, "SELECT id, born FROM tests.seed ORDER BY id", wantRows)
		})
	}

	// A failed append into a missing table does not create it.
	missing := warehouse.Relation{Schema: "tests", Name: "never"}
	if _, err := w.LoadRows(ctx, missing, cols, [][]any{{int64(1), "nope"}}, false); err == nil {
		t.Fatal("want error")
	}
	assertKind(t, w, missing, warehouse.KindNone)
	assertNoScratch(t, w, "tests")
}

func TestLoadRowsCanceled(t *testing.T) {
	w, _ := openEmu(t)
	rel := warehouse.Relation{Schema: "tests", Name: "t"}
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}
	if _, err := w.LoadRows(context.Background(), rel, cols, [][]any{{int64(1)}}, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, replace := range []bool{true, false} {
		if _, err := w.LoadRows(ctx, rel, cols, [][]any{{int64(2)}}, replace); err == nil {
			t.Fatal("want error from canceled context")
		}
	}
	assertRows(t, w, "SELECT x FROM tests.t", [][]any{{int64(1)}})
	assertNoScratch(t, w, "tests")
}

func TestValueText(t *testing.T) {
	at := time.Date(2024, 6, 1, 12, 30, 0, 500, time.FixedZone("+02", 7200))
	for _, tc := range []struct {
		v       any
		colType string
		want    any
	}{
		{nil, "VARCHAR", nil},
		{"x", "DATE", "x"},
		{int64(-3), "BIGINT", "-3"},
		{0.1, "DOUBLE", "0.1"},
		{1e21, "DOUBLE", "1e+21"},
		{math.Inf(1), "DOUBLE", "inf"},
		{math.Inf(-1), "DOUBLE", "-inf"},
		{math.NaN(), "DOUBLE", "NaN"},
		{true, "BOOLEAN", "true"},
		{at, "DATE", "2024-06-01"},
		{at, "TIMESTAMP_NTZ", "2024-06-01 10:30:00.0000005"},
		{at, "TIMESTAMP_TZ", "2024-06-01 10:30:00.0000005+00:00"},
		{at, "VARCHAR", "2024-06-01 10:30:00.0000005+00:00"},
	} {
		got, err := valueText(tc.v, tc.colType)
		if err != nil || got != tc.want {
			t.Errorf("valueText(%v, %s) = %v, %v; want %v", tc.v, tc.colType, got, err, tc.want)
		}
	}
	if _, err := valueText(int32(1), "INTEGER"); err == nil {
		t.Error("int32 accepted")
	}
}
