package snowflake

import (
	"context"
	"slices"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

func TestQuoteIdent(t *testing.T) {
	tests := []struct {
		in, want, folded string
	}{
		{"orders", "orders", "ORDERS"},
		{"_tmp1", "_tmp1", "_TMP1"},
		{"order_items_2", "order_items_2", "ORDER_ITEMS_2"},
		{"_load_id", "_load_id", "_LOAD_ID"},
		{"Orders", `"Orders"`, "Orders"},
		{"ORDERS", `"ORDERS"`, "ORDERS"},
		{"1st", `"1st"`, "1st"},
		{"my table", `"my table"`, "my table"},
		{"a-b", `"a-b"`, "a-b"},
		{"a$b", `"a$b"`, "a$b"},
		{`say "hi"`, `"say ""hi"""`, `say "hi"`},
		{`"`, `""""`, `"`},
		{"", `""`, ""},
		{"café", `"café"`, "café"},
		{"select", `"select"`, "select"},
		{"order", `"order"`, "order"},
		{"qualify", `"qualify"`, "qualify"},
		{"minus", `"minus"`, "minus"},
		{"sample", `"sample"`, "sample"},
		{"localtime", `"localtime"`, "localtime"},
		// Not reserved in Snowflake: bare, folded like unquoted SQL.
		{"year", "year", "YEAR"},
		{"name", "name", "NAME"},
		{"language", "language", "LANGUAGE"},
		{"error", "error", "ERROR"},
		{"at", "at", "AT"},
	}
	var d Dialect
	for _, tt := range tests {
		if got := d.QuoteIdent(tt.in); got != tt.want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := folded(tt.in); got != tt.folded {
			t.Errorf("folded(%q) = %q, want %q", tt.in, got, tt.folded)
		}
	}
}

func TestKeywordsSorted(t *testing.T) {
	if !slices.IsSorted(keywords) {
		t.Error("keywords must be sorted for binary search")
	}
	if len(slices.Compact(slices.Clone(keywords))) != len(keywords) {
		t.Error("keywords has duplicates")
	}
}

func TestRelationSQLAndDates(t *testing.T) {
	var d Dialect
	if got := d.Name(); got != "snowflake" {
		t.Errorf("Name() = %q", got)
	}
	for _, tt := range []struct {
		rel  warehouse.Relation
		want string
	}{
		{warehouse.Relation{Name: "orders"}, "orders"},
		{warehouse.Relation{Schema: "analytics", Name: "orders"}, "analytics.orders"},
		{warehouse.Relation{Schema: "PUBLIC", Name: "dim_x"}, `"PUBLIC".dim_x`},
		{warehouse.Relation{Schema: "Raw Data", Name: "from"}, `"Raw Data"."from"`},
		{warehouse.Relation{Database: "PROD", Schema: "marts", Name: "dim_x"}, `"PROD".marts.dim_x`},
	} {
		if got := d.RelationSQL(tt.rel); got != tt.want {
			t.Errorf("RelationSQL(%+v) = %s, want %s", tt.rel, got, tt.want)
		}
	}
	if got, want := d.DateAdd("day", "-29", "t.through_date"), "cast(dateadd(day, -29, t.through_date) as date)"; got != want {
		t.Errorf("DateAdd = %s, want %s", got, want)
	}
	if got, want := d.DateDiff("week", "a", "b"), "datediff(week, a, b)"; got != want {
		t.Errorf("DateDiff = %s, want %s", got, want)
	}
}

// TestDateHelpers runs the date helpers: a date stays a date, and DATEDIFF
// counts day boundaries.
func TestDateHelpers(t *testing.T) {
	w, _ := openEmu(t)
	d := Dialect{}
	for _, tc := range []struct{ sql, want string }{
		{"select to_varchar(" + d.DateAdd("day", "-29", "'2026-11-25'::date") + ")", "2026-10-27"},
		{"select to_varchar(" + d.DateAdd("day", "1", "'2026-11-25 13:00:00'::timestamp_ntz") + ")", "2026-11-26"},
		{"select to_varchar(" + d.DateAdd("week", "1", "'2026-11-25'::date") + ")", "2026-12-02"},
		{"select to_varchar(" + d.DateAdd("month", "-1", "'2026-03-31'::date") + ")", "2026-02-28"},
		{"select to_varchar(" + d.DateAdd("year", "1", "'2024-02-29'::date") + ")", "2025-02-28"},
		{"select " + d.DateDiff("day", "'2026-11-24 23:59:00'::timestamp_ntz", "'2026-11-25 00:01:00'::timestamp_ntz"), "1"},
		{"select " + d.DateDiff("day", "'2026-11-01'::date", "'2026-11-25'::date"), "24"},
	} {
		r, err := w.Query(context.Background(), tc.sql, 1)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if got := fmtValue(r.Rows[0][0]); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.sql, got, tc.want)
		}
	}
}
