package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// BenchmarkCreateView is the warehouse's share of a view model's build:
// CreateView (a transaction holding a catalog lookup and the CREATE) against
// the bare CREATE OR REPLACE VIEW, in a database already holding `catalog`
// views, to show how the cost grows with the catalog.
//
//	go test -run '^$' -bench CreateView ./engine/warehouse/duckdb/
func BenchmarkCreateView(b *testing.B) {
	ctx := context.Background()
	for _, catalog := range []int{0, 1000, 5000} {
		w, err := Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"), 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.EnsureSchema(ctx, "s"); err != nil {
			b.Fatal(err)
		}
		for i := range catalog {
			if err := w.Exec(ctx, fmt.Sprintf("CREATE VIEW s.v%d AS SELECT %d AS id", i, i)); err != nil {
				b.Fatal(err)
			}
		}
		rel := warehouse.Relation{Schema: "s", Name: "bench"}
		b.Run(fmt.Sprintf("catalog=%d/CreateView", catalog), func(b *testing.B) {
			for b.Loop() {
				if err := w.CreateView(ctx, rel, "select 1 as id"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("catalog=%d/lookup", catalog), func(b *testing.B) {
			for b.Loop() {
				if _, err := w.Lookup(ctx, rel); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("catalog=%d/direct", catalog), func(b *testing.B) {
			for b.Loop() {
				if _, err := w.db.ExecContext(ctx, "CREATE OR REPLACE VIEW s.bench AS\nselect 1 as id\n"); err != nil {
					b.Fatal(err)
				}
			}
		})
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
