package main

import (
	"context"
	"path/filepath"

	"github.com/quarrydev/quarry/engine"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/extractors/github"
	"github.com/quarrydev/quarry/extractors/pypi"
)

// adapters lists the warehouses this binary can build into.
func adapters() map[string]engine.Adapter {
	return map[string]engine.Adapter{
		"duckdb": {
			Dialect: duckdb.Dialect{},
			Open: func(ctx context.Context, dir string, t engine.Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error) {
				path := t.Setting("path", env)
				if path != ":memory:" && !filepath.IsAbs(path) {
					path = filepath.Join(dir, path) // relative to the project, not the shell
				}
				return duckdb.Open(ctx, path, threads)
			},
		},
	}
}

// extractorRegistry lists the extractors this binary can run.
func extractorRegistry() map[string]extractors.Factory {
	return map[string]extractors.Factory{
		github.ExtractorName: func() extractors.Extractor { return github.New() },
		pypi.Name:            pypi.Factory,
	}
}
