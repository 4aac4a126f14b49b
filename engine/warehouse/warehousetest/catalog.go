package warehousetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// catalog checks that Catalog lists the tables and views of the schemas it
// is asked about, and only those: kinds, columns in order with the
// warehouse's type names, row counts of tables.
func (s *suite) catalog(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	for _, schema := range []string{"analytics", "raw", "elsewhere"} {
		must(t, w.EnsureSchema(ctx, schema))
	}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "varchar"}, {Name: "Amount", Type: s.o.Decimal}}
	rows := [][]any{{int64(1), "a", "1.50"}, {int64(2), "b", "2.25"}, {int64(3), nil, nil}}
	mustRows(t, 3)(w.LoadRows(ctx, warehouse.Relation{Schema: "raw", Name: "events"}, cols, rows, true))
	// Appended rows count too.
	mustRows(t, 1)(w.LoadRows(ctx, warehouse.Relation{Schema: "raw", Name: "events"}, cols, rows[:1], false))
	mustRows(t, 4)(w.CreateTable(ctx, warehouse.Relation{Schema: "analytics", Name: "Mixed"}, "SELECT i AS n FROM ("+s.o.Series(4)+") s"))
	must(t, w.CreateView(ctx, warehouse.Relation{Schema: "analytics", Name: "v"}, "SELECT id, name FROM raw.events"))
	mustRows(t, 1)(w.CreateTable(ctx, warehouse.Relation{Schema: "elsewhere", Name: "hidden"}, "SELECT 1 AS x"))

	// The schemas as the project names them, one of them twice and one
	// that does not exist.
	infos, err := w.Catalog(ctx, []string{"analytics", "raw", "RAW", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(n int64) *int64 { return &n }
	want := []warehouse.RelationInfo{
		{Relation: warehouse.Relation{Schema: s.fold(w, "analytics"), Name: "Mixed"}, Kind: warehouse.KindTable,
			Columns: []warehouse.ColumnInfo{{Name: s.fold(w, "n"), Type: s.o.CatalogTypes[0]}}, RowCount: count(4)},
		{Relation: warehouse.Relation{Schema: s.fold(w, "analytics"), Name: s.fold(w, "v")}, Kind: warehouse.KindView,
			Columns: []warehouse.ColumnInfo{{Name: s.fold(w, "id"), Type: s.o.CatalogTypes[1]}, {Name: s.fold(w, "name"), Type: s.o.CatalogTypes[2]}}},
		{Relation: warehouse.Relation{Schema: s.fold(w, "raw"), Name: s.fold(w, "events")}, Kind: warehouse.KindTable,
			Columns: []warehouse.ColumnInfo{
				{Name: s.fold(w, "id"), Type: s.o.CatalogTypes[1]}, {Name: s.fold(w, "name"), Type: s.o.CatalogTypes[2]},
				{Name: "Amount", Type: s.o.CatalogTypes[3]},
			}, RowCount: count(4)},
	}
	if got, want := describe(infos), describe(want); got != want {
		t.Errorf("Catalog:\ngot:  %s\nwant: %s", got, want)
	}

	// Columns describes one relation as Catalog does, its name matched as
	// Lookup matches it.
	for _, want := range want {
		name := want.Relation.Name
		if name != "Mixed" {
			name = strings.ToLower(name)
		}
		rel := warehouse.Relation{Schema: strings.ToLower(want.Relation.Schema), Name: name}
		cols, err := w.Columns(ctx, rel)
		if err != nil {
			t.Errorf("Columns(%v): %v", rel, err)
		} else if got, want := fmt.Sprint(cols), fmt.Sprint(want.Columns); got != want {
			t.Errorf("Columns(%v) = %s, want %s", rel, got, want)
		}
	}
	if _, err := w.Columns(ctx, warehouse.Relation{Schema: "analytics", Name: "nothing"}); !errors.Is(err, warehouse.ErrNotFound) {
		t.Errorf("Columns of a relation that does not exist: got %v, want ErrNotFound", err)
	}

	none, err := w.Catalog(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("Catalog(no schemas) = %v, %v; want nothing", none, err)
	}
}

// describe renders infos for comparison, row counts by value.
func describe(infos []warehouse.RelationInfo) string {
	out := ""
	for _, i := range infos {
		count := "-"
		if i.RowCount != nil {
			count = fmt.Sprint(*i.RowCount)
		}
		out += fmt.Sprintf("\n  %s.%s %s rows=%s %v", i.Relation.Schema, i.Relation.Name, i.Kind, count, i.Columns)
	}
	return out
}
