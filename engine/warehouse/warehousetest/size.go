package warehousetest

import (
	"context"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// tableBytes checks that TableBytes answers for tables, by the names the
// project uses, and for nothing else (views, relations that do not exist),
// and, where the warehouse keeps a real figure, that it grows with the rows.
func (s *suite) tableBytes(t *testing.T) {
	ctx := context.Background()
	open := s.open
	if s.o.Stored != nil {
		open = s.o.Stored
	}
	w := open(t)
	must(t, w.EnsureSchema(ctx, "raw"))
	sized := warehouse.Relation{Schema: "raw", Name: "sized"}
	view := warehouse.Relation{Schema: "raw", Name: "sized_v"}
	missing := warehouse.Relation{Schema: "raw", Name: "missing"}
	noSchema := warehouse.Relation{Schema: "nowhere", Name: "sized"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "varchar"}}
	mustRows(t, 2)(w.LoadRows(ctx, sized, cols, [][]any{{int64(1), "a"}, {int64(2), "b"}}, false))
	must(t, w.CreateView(ctx, view, "SELECT id FROM raw.sized"))
	settle := func() {
		t.Helper()
		if s.o.Settle != nil {
			must(t, s.o.Settle(ctx, w))
		}
	}
	settle()

	ask := []warehouse.Relation{sized, view, missing, noSchema}
	got, err := w.TableBytes(ctx, ask)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []warehouse.Relation{view, missing, noSchema} {
		if n, ok := got[rel]; ok {
			t.Errorf("TableBytes has %d bytes for %s, which is not a table", n, w.RelationSQL(rel))
		}
	}
	small, ok := got[sized]
	if !ok || small < 0 {
		t.Fatalf("TableBytes = %v: want a figure of 0 or more for %s", got, w.RelationSQL(sized))
	}
	if s.o.BytesGrow {
		if small <= 0 {
			t.Errorf("TableBytes(%s) = %d for a table of 2 rows, want more than 0", w.RelationSQL(sized), small)
		}
		sql := "SELECT CAST(i AS BIGINT) AS id, CONCAT('row number ', CAST(i AS VARCHAR)) AS name FROM (" + s.o.Series(300000) + ") s"
		mustRows(t, 300000)(w.Incremental(ctx, sized, sql, nil))
		settle()
		got, err := w.TableBytes(ctx, []warehouse.Relation{sized})
		if err != nil {
			t.Fatal(err)
		}
		big := got[sized]
		t.Logf("%s: %d bytes with 2 rows, %d with 300,002", w.RelationSQL(sized), small, big)
		if big <= small {
			t.Errorf("TableBytes(%s) = %d after adding 300,000 rows to %d bytes: want it to grow", w.RelationSQL(sized), big, small)
		}
	}

	none, err := w.TableBytes(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("TableBytes(nothing) = %v, %v; want nothing", none, err)
	}
	if s.o.Stored != nil {
		// Where the warehouse is not stored, no figure but no error either.
		mem := s.open(t)
		mustRows(t, 2)(mem.LoadRows(ctx, s.rel("sized"), cols, [][]any{{int64(1), "a"}, {int64(2), "b"}}, false))
		if _, err := mem.TableBytes(ctx, []warehouse.Relation{s.rel("sized"), missing}); err != nil {
			t.Errorf("TableBytes where nothing is stored: %v", err)
		}
	}
}
