package engine_test

import (
	"testing"

	"github.com/quarrydev/quarry/engine"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/internal/gen"
)

func duckdbAdapters() map[string]engine.Adapter {
	return map[string]engine.Adapter{"duckdb": {Dialect: duckdb.Dialect{}}}
}

// BenchmarkLoad10k measures load + compile of a generated project of
// 10,000 models (issue target: at most 1 s, under 500 MB peak).
func BenchmarkLoad10k(b *testing.B) {
	dir := b.TempDir()
	if err := gen.Project(dir, gen.Options{Models: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := engine.Load(engine.Options{Dir: dir}, duckdbAdapters())
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Nodes) != 10000 {
			b.Fatalf("loaded %d nodes, want 10000", len(p.Nodes))
		}
	}
}
