package warehousetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// loadCols are the portable types, two types pinned verbatim, a string
// into a date column and a keyword without a type.
func (s *suite) loadCols() []warehouse.Column {
	return []warehouse.Column{
		{Name: "s", Type: "varchar"},
		{Name: "i", Type: "bigint"},
		{Name: "n", Type: "integer"},
		{Name: "f", Type: "double"},
		{Name: "b", Type: "boolean"},
		{Name: "d", Type: "date"},
		{Name: "ts", Type: "timestamp"},
		{Name: "Amount", Type: s.o.Decimal}, // pinned verbatim
		{Name: "tz", Type: s.o.TimestampTZ}, // pinned verbatim
		{Name: "pinned date", Type: "DATE"}, // a string into a date column
		{Name: "order", Type: ""},           // a keyword, no type: varchar
	}
}

// loaded reads back the table load creates: DECIMAL as text, instants in
// UTC. Timestamps' nullness is read in SQL, since the Snowflake emulator
// hands a NULL timestamp to the driver as 1970-01-01.
func (s *suite) loaded(t *testing.T, w warehouse.Warehouse, rel warehouse.Relation) [][]any {
	t.Helper()
	q := `SELECT s, i, n, f, b, d, ts, CAST("Amount" AS VARCHAR), tz, "pinned date", "order", ts IS NULL, tz IS NULL FROM ` +
		w.RelationSQL(rel) + " ORDER BY i NULLS LAST"
	var out [][]any
	for _, r := range Rows(t, w, q) {
		if r[11] == true {
			r[6] = nil
		}
		if r[12] == true {
			r[8] = nil
		}
		if tz, ok := r[8].(time.Time); ok {
			r[8] = tz.UTC()
		}
		out = append(out, r[:11])
	}
	return out
}

// load replaces and appends rows of every portable type, NULLs and
// awkward text included.
func (s *suite) load(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	rel := s.rel("loaded")
	name := w.RelationSQL(rel)
	cols := s.loadCols()

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
	mustRows(t, 3)(w.LoadRows(ctx, rel, cols, rows, true))
	date := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	want := [][]any{
		{"", int64(math.MinInt64), s.o.Int(0), -2.5e300, false, d, ts, "-0.05", tz.UTC(), date(1999, 12, 31), ""},
		{tricky, int64(math.MaxInt64), s.o.Int(-7), 0.1, true, d, ts, "12.34", tz.UTC(), date(2024, 3, 4), "NULL"},
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	if got := s.loaded(t, w, rel); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded:\ngot:  %#v\nwant: %#v", got, want)
	}
	// The declared types were used, including the pinned ones.
	AssertRows(t, w, s.o.TypesQuery, s.o.TypesWant)

	// Append.
	more := [][]any{{"appended", int64(1), int64(1), 1.0, true, d, ts, "1", tz, "2000-01-01", "x"}}
	mustRows(t, 1)(w.LoadRows(ctx, rel, cols, more, false))
	AssertRows(t, w, "SELECT count(*), count(s) FROM "+name, [][]any{{int64(4), int64(3)}})
	AssertRows(t, w, `SELECT s, "pinned date" FROM `+name+" WHERE i = 1", [][]any{{"appended", date(2000, 1, 1)}})

	// Replace with a different shape.
	mustRows(t, 2)(w.LoadRows(ctx, rel, []warehouse.Column{{Name: "only", Type: "varchar"}}, [][]any{{"a"}, {"b"}}, true))
	AssertRows(t, w, "SELECT * FROM "+name+" ORDER BY 1", [][]any{{"a"}, {"b"}})
	s.assertNoScratch(t, w, s.o.Schema)
}

func (s *suite) loadSpecialFloats(t *testing.T) {
	w := s.open(t)
	rel := s.rel("floats")
	cols := []warehouse.Column{{Name: "k", Type: "integer"}, {Name: "f", Type: "double"}}
	rows := [][]any{{int64(1), math.Inf(1)}, {int64(2), math.Inf(-1)}, {int64(3), math.NaN()}, {int64(4), math.SmallestNonzeroFloat64}, {int64(5), math.MaxFloat64}}
	if _, err := w.LoadRows(context.Background(), rel, cols, rows, true); err != nil {
		t.Fatal(err)
	}
	got := Rows(t, w, "SELECT f FROM "+w.RelationSQL(rel)+" ORDER BY k")
	if len(got) != 5 || got[0][0] != math.Inf(1) || got[1][0] != math.Inf(-1) ||
		!math.IsNaN(got[2][0].(float64)) || got[3][0] != math.SmallestNonzeroFloat64 || got[4][0] != math.MaxFloat64 {
		t.Errorf("got %v", got)
	}
}

func (s *suite) loadCreatesAndReplacesView(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}

	fresh := s.rel("fresh")
	if _, err := w.LoadRows(ctx, fresh, cols, [][]any{{int64(1)}}, false); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "SELECT x FROM "+w.RelationSQL(fresh), [][]any{{int64(1)}})
	// Empty appends create the table, as the engine does for landings.
	empty := s.rel("empty_landing")
	if _, err := w.LoadRows(ctx, empty, cols, nil, false); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "SELECT count(*) FROM "+w.RelationSQL(empty), [][]any{{int64(0)}})

	view := s.rel("was_view")
	must(t, w.CreateView(ctx, view, "SELECT 1 AS x"))
	// Appending to a view is an error: only a replace turns it into a table.
	if _, err := w.LoadRows(ctx, view, cols, [][]any{{int64(9)}}, false); err == nil ||
		!strings.Contains(err.Error(), "was_view") || !strings.Contains(err.Error(), s.o.AppendToViewSays) {
		t.Errorf("append to a view: err = %v", err)
	}
	AssertKind(t, w, view, warehouse.KindView)
	if _, err := w.LoadRows(ctx, view, cols, [][]any{{int64(9)}}, true); err != nil {
		t.Fatal(err)
	}
	AssertKind(t, w, view, warehouse.KindTable)
	AssertRows(t, w, "SELECT x FROM "+w.RelationSQL(view), [][]any{{int64(9)}})

	// Empty replace leaves an empty table of the right shape.
	if _, err := w.LoadRows(ctx, view, cols, nil, true); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "SELECT count(*) FROM "+w.RelationSQL(view), [][]any{{int64(0)}})
	s.assertNoScratch(t, w, s.o.Schema)
}

// loadFailureLeavesPrevious checks that a load is one transaction: a bad
// value late in the rows leaves the table as it was, and rows that do not
// fit the columns are refused before anything is sent.
func (s *suite) loadFailureLeavesPrevious(t *testing.T) {
	w := s.open(t)
	// One connection, so that the temp table of a failed load would be
	// visible.
	s.o.OneConnection(w)
	ctx := context.Background()
	rel := s.rel("seed")
	name := w.RelationSQL(rel)
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "born", Type: "date"}}
	good := [][]any{{int64(1), "2020-01-01"}, {int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)}}
	if _, err := w.LoadRows(ctx, rel, cols, good, true); err != nil {
		t.Fatal(err)
	}
	wantRows := [][]any{
		{int64(1), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{int64(2), time.Date(2021, 5, 6, 0, 0, 0, 0, time.UTC)},
	}
	query := "SELECT id, born FROM " + name + " ORDER BY id"

	// Many good rows and one bad one near the end.
	var bad [][]any
	for i := range s.o.BadLoadRows {
		bad = append(bad, []any{int64(100 + i), "2022-01-01"})
	}
	bad[s.o.BadLoadRow][1] = "31/12/2022"

	for _, replace := range []bool{true, false} {
		t.Run(fmt.Sprintf("replace=%v", replace), func(t *testing.T) {
			_, err := w.LoadRows(ctx, rel, cols, bad, replace)
			if err == nil {
				t.Fatal("want error")
			}
			for _, want := range append([]string{"load rows into " + name + ": ", "31/12/2022"}, s.o.BadLoadSays...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if s.o.ValueErrors {
				// The value is named by its row, for the caller to name
				// its line.
				var ve *warehouse.ValueError
				if !errors.As(err, &ve) {
					t.Fatalf("error %v is not a *warehouse.ValueError", err)
				}
				if ve.Row != s.o.BadLoadRow || ve.Column != "born" || ve.Value != "31/12/2022" || ve.Type != "DATE" {
					t.Errorf("ValueError = row %d, column %q, value %q, type %q; want row %d, column born, value 31/12/2022, type DATE",
						ve.Row, ve.Column, ve.Value, ve.Type, s.o.BadLoadRow)
				}
			}
			AssertRows(t, w, query, wantRows)
			s.assertNoScratch(t, w, s.o.Schema)

			// Rejected before touching the database.
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{int64(3)}}, replace)
			if err == nil || !strings.Contains(err.Error(), "row 1 has 1 values, want 2") {
				t.Errorf("err = %v", err)
			}
			_, err = w.LoadRows(ctx, rel, cols, [][]any{{3, "2020-01-01"}}, replace)
			if err == nil || !strings.Contains(err.Error(), "column id: unsupported value type int") {
				t.Errorf("err = %v", err)
			}
			AssertRows(t, w, query, wantRows)
		})
	}

	// A failed append into a missing table does not create it.
	missing := s.rel("never")
	if _, err := w.LoadRows(ctx, missing, cols, [][]any{{int64(1), "nope"}}, false); err == nil {
		t.Fatal("want error")
	}
	AssertKind(t, w, missing, warehouse.KindNone)
	s.assertNoScratch(t, w, s.o.Schema)
}

func (s *suite) loadCanceled(t *testing.T) {
	w := s.open(t)
	s.o.OneConnection(w)
	rel := s.rel("t")
	cols := []warehouse.Column{{Name: "x", Type: "bigint"}}
	if _, err := w.LoadRows(context.Background(), rel, cols, [][]any{{int64(1)}}, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, replace := range []bool{true, false} {
		if _, err := w.LoadRows(ctx, rel, cols, [][]any{{int64(2)}}, replace); err == nil {
			t.Fatalf("replace=%v: want error from canceled context", replace)
		}
	}
	AssertRows(t, w, "SELECT x FROM "+w.RelationSQL(rel), [][]any{{int64(1)}})
	s.assertNoScratch(t, w, s.o.Schema)
}

// appendRowsAtomic checks that AppendRows lands rows in several tables
// together, and that a failure in the last table leaves every table as it
// was: a change-only landing stores rows and the keys it saw this way.
func (s *suite) appendRowsAtomic(t *testing.T) {
	w := s.open(t)
	s.o.OneConnection(w)
	ctx := context.Background()
	rows, seen := s.rel("landed"), s.rel("seen")
	rowCols := []warehouse.Column{{Name: "k", Type: "varchar"}, {Name: "v", Type: "bigint"}}
	seenCols := []warehouse.Column{{Name: "k", Type: "varchar"}, {Name: "seen_at", Type: "timestamp"}}
	for _, rel := range []warehouse.Relation{rows, seen} {
		cols := rowCols
		if rel == seen {
			cols = seenCols
		}
		if _, err := w.LoadRows(ctx, rel, cols, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	n, err := w.AppendRows(ctx, []warehouse.Append{
		{Rel: rows, Cols: rowCols, Rows: [][]any{{"a", int64(1)}, {"b", int64(2)}}},
		{Rel: seen, Cols: seenCols, Rows: [][]any{{"a", at}, {"b", at}, {"c", at}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(n, []int64{2, 3}) {
		t.Errorf("AppendRows counted %v, want [2 3]", n)
	}
	// An empty append is fine and counts 0.
	if n, err := w.AppendRows(ctx, []warehouse.Append{{Rel: rows, Cols: rowCols}, {Rel: seen, Cols: seenCols, Rows: [][]any{{"d", at}}}}); err != nil || !reflect.DeepEqual(n, []int64{0, 1}) {
		t.Errorf("empty append: %v, %v", n, err)
	}
	counts := "SELECT (SELECT count(*) FROM " + w.RelationSQL(rows) + "), (SELECT count(*) FROM " + w.RelationSQL(seen) + ")"
	AssertRows(t, w, counts, [][]any{{int64(2), int64(4)}})

	// The second table refuses a value: the first keeps none of its rows.
	_, err = w.AppendRows(ctx, []warehouse.Append{
		{Rel: rows, Cols: rowCols, Rows: [][]any{{"e", int64(5)}}},
		{Rel: seen, Cols: seenCols, Rows: [][]any{{"e", at}, {"f", "not a time"}}},
	})
	if err == nil || !strings.Contains(err.Error(), "not a time") {
		t.Errorf("bad value in the second table: err = %v", err)
	}
	AssertRows(t, w, counts, [][]any{{int64(2), int64(4)}})

	// A missing table is an error, not created, and nothing lands.
	missing := s.rel("never_appended")
	if _, err := w.AppendRows(ctx, []warehouse.Append{
		{Rel: rows, Cols: rowCols, Rows: [][]any{{"g", int64(7)}}},
		{Rel: missing, Cols: seenCols, Rows: [][]any{{"g", at}}},
	}); err == nil {
		t.Error("append to a missing table: want error")
	}
	AssertKind(t, w, missing, warehouse.KindNone)
	AssertRows(t, w, counts, [][]any{{int64(2), int64(4)}})
	s.assertNoScratch(t, w, s.o.Schema)
}
