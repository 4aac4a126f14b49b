package duckdb

import (
	"context"
	"slices"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

func TestQuoteIdent(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"orders", "orders"},
		{"_tmp1", "_tmp1"},
		{"order_items_2", "order_items_2"},
		{"Orders", `"Orders"`},
		{"ORDERS", `"ORDERS"`},
		{"1st", `"1st"`},
		{"my table", `"my table"`},
		{"a-b", `"a-b"`},
		{`say "hi"`, `"say ""hi"""`},
		{`"`, `""""`},
		{"", `""`},
		{"café", `"café"`},
		{"select", `"select"`},
		{"order", `"order"`},
		{"group", `"group"`},
		{"join", `"join"`}, // type_function category, also rejected bare
		{"left", `"left"`},
		{"columns", `"columns"`},
		{"year", "year"}, // unreserved keyword: fine bare
		{"name", "name"},
	}
	var d Dialect
	for _, tt := range tests {
		if got := d.QuoteIdent(tt.in); got != tt.want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRelationSQL(t *testing.T) {
	var d Dialect
	if got := d.Name(); got != "duckdb" {
		t.Errorf("Name() = %q", got)
	}
	tests := []struct {
		rel  warehouse.Relation
		want string
	}{
		{warehouse.Relation{Name: "orders"}, "orders"},
		{warehouse.Relation{Schema: "analytics", Name: "orders"}, "analytics.orders"},
		{warehouse.Relation{Schema: "Raw Data", Name: "from"}, `"Raw Data"."from"`},
		{warehouse.Relation{Database: "prod", Schema: "staging", Name: "orders"}, "prod.staging.orders"},
	}
	for _, tt := range tests {
		if got := d.RelationSQL(tt.rel); got != tt.want {
			t.Errorf("RelationSQL(%+v) = %s, want %s", tt.rel, got, tt.want)
		}
	}
}

// TestKeywordsMatchDuckDB keeps the compiled-in keyword list in sync with the
// DuckDB version the driver embeds.
func TestKeywordsMatchDuckDB(t *testing.T) {
	w := openMem(t)
	res, err := w.Query(context.Background(), `SELECT keyword_name FROM duckdb_keywords()
WHERE keyword_category IN ('reserved', 'type_function') ORDER BY keyword_name`, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range res.Rows {
		want = append(want, r[0].(string))
	}
	if !slices.Equal(keywords, want) {
		t.Errorf("keywords out of date.\ngot:  %q\nwant: %q", keywords, want)
	}
	if !slices.IsSorted(keywords) {
		t.Error("keywords must be sorted for binary search")
	}
}
