package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
)

// TestConformance runs the warehouse conformance suite on an in-memory
// database.
func TestConformance(t *testing.T) {
	warehousetest.Run(t, func(t *testing.T) warehouse.Warehouse { return openMem(t) }, warehousetest.Options{
		Schema:    "main",
		Int:       func(n int64) any { return int32(n) },
		Series:    func(n int) string { return fmt.Sprintf("SELECT range AS i FROM range(%d)", n) },
		Timestamp: "TIMESTAMP",
		// Staging and temp tables alike: temp tables are only visible on
		// their own connection, so the tests that care pin the pool to one.
		// They live in the temp catalog, so every schema is searched.
		Scratch: func(ctx context.Context, w warehouse.Warehouse, _ string) ([]string, error) {
			res, err := w.Query(ctx, `SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\_\_quarry%' ESCAPE '\'`, 0)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, r := range res.Rows {
				names = append(names, fmt.Sprint(r[0]))
			}
			return names, nil
		},
		OneConnection: func(w warehouse.Warehouse) { w.(*Warehouse).db.SetMaxOpenConns(1) },

		Decimal:     "DECIMAL(10,2)",
		TimestampTZ: "TIMESTAMPTZ",
		TypesQuery:  "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'loaded' ORDER BY ordinal_position",
		TypesWant: [][]any{
			{"s", "VARCHAR"}, {"i", "BIGINT"}, {"n", "INTEGER"}, {"f", "DOUBLE"}, {"b", "BOOLEAN"},
			{"d", "DATE"}, {"ts", "TIMESTAMP"}, {"Amount", "DECIMAL(10,2)"}, {"tz", "TIMESTAMP WITH TIME ZONE"},
			{"pinned date", "DATE"}, {"order", "VARCHAR"},
		},
		// Several appender chunks of good rows before the bad one.
		BadLoadRows: 5000,
		BadLoadRow:  4321,
		BadLoadSays: []string{"column born", "Conversion Error"},
		ValueErrors: true,

		CatalogTypes:      []string{"BIGINT", "BIGINT", "VARCHAR", "DECIMAL(10,2)"},
		QuotedNames:       keywords,
		CatalogListsViews: true,
		Workers:           8,
		PerKind:           50,

		// Sizes come from the database file's blocks; written rows count
		// once checkpointed.
		Stored: func(t *testing.T) warehouse.Warehouse {
			w, err := Open(context.Background(), filepath.Join(t.TempDir(), "sized.duckdb"), 2)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			return w
		},
		Settle:    func(ctx context.Context, w warehouse.Warehouse) error { return w.Exec(ctx, "CHECKPOINT") },
		BytesGrow: true,

		Long:         "SELECT count(*) FROM range(10000000000)",
		CancelWithin: 5 * time.Second,
		CancelError:  "INTERRUPT", // DuckDB's interrupt, when database/sql does not report the context
	})
}
