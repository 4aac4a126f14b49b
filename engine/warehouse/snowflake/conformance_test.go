package snowflake

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

// TestConformance runs the warehouse conformance suite on the emulator,
// each test in a database of its own. Where the emulator differs from
// Snowflake (docs/snowflake.md lists how), the options say so.
func TestConformance(t *testing.T) {
	e := fakesnow.Shared(t)
	// Small INSERT batches, so that loads span several of them.
	defer func(n int) { maxBinds = n }(maxBinds)
	maxBinds = 100
	warehousetest.Run(t, func(t *testing.T) warehouse.Warehouse { w, _ := openEmu(t); return w }, warehousetest.Options{
		Schema:    "tests",
		FoldsCase: true,
		Int:       func(n int64) any { return n },
		Series: func(n int) string {
			return fmt.Sprintf("SELECT seq4() AS i FROM TABLE(GENERATOR(ROWCOUNT => %d))", n)
		},
		Timestamp: "TIMESTAMP_NTZ",
		Scratch: func(ctx context.Context, w warehouse.Warehouse, schema string) ([]string, error) {
			res, err := w.Query(ctx, "SHOW TERSE OBJECTS IN SCHEMA "+w.QuoteIdent(schema), 0)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, r := range res.Rows {
				for _, v := range r {
					if s, ok := v.(string); ok && strings.HasPrefix(s, "__QUARRY_") {
						names = append(names, s)
					}
				}
			}
			return names, nil
		},
		OneConnection: func(w warehouse.Warehouse) { w.(*Warehouse).db.SetMaxOpenConns(1) },

		Decimal:     "NUMBER(10,2)",
		TimestampTZ: "TIMESTAMP_TZ",
		TypesQuery: `SELECT column_name, data_type, numeric_scale FROM information_schema.columns
WHERE table_schema = 'TESTS' AND table_name = 'LOADED' ORDER BY ordinal_position`,
		TypesWant: [][]any{
			{"S", "TEXT", nil}, {"I", "NUMBER", int64(0)}, {"N", "NUMBER", int64(0)}, {"F", "FLOAT", nil},
			{"B", "BOOLEAN", nil}, {"D", "DATE", nil}, {"TS", "TIMESTAMP_NTZ", nil}, {"Amount", "NUMBER", int64(2)},
			{"TZ", "TIMESTAMP_TZ", nil}, {"pinned date", "DATE", nil}, {"order", "TEXT", nil},
		},
		// 50 rows of two columns per INSERT: the bad value is in the fifth.
		BadLoadRows:      300,
		BadLoadRow:       234,
		BadLoadSays:      []string{"rows 201 to 250: "},
		AppendToViewSays: "is a view",

		CatalogTypes: []string{"NUMBER(38,0)", "NUMBER(38,0)", "TEXT", "NUMBER(10,2)"},
		// The emulator fails on a schema name holding a double quote or a
		// dot (it switches schemas with an unescaped SET schema); Snowflake
		// accepts both.
		SchemaNameOK: func(name string) bool { return !strings.ContainsAny(name, `".`) },
		Workers:      4,
		PerKind:      12,

		// The emulator ignores Snowflake's abort request and keeps
		// computing after the client gave up: the query is sized to take a
		// few seconds there, not to be cut short.
		Long:         "SELECT count(DISTINCT seq8()) AS n FROM TABLE(GENERATOR(ROWCOUNT => 8000000))",
		CancelWithin: 2 * time.Second,
		CancelRunsOn: true,

		Sent: func() []string {
			var sql []string
			for _, s := range e.Statements() {
				sql = append(sql, s.SQL)
			}
			return sql
		},
	})
}
