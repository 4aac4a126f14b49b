// Package targets wires quarry's warehouse implementations into the
// engine, by target type: the CLI and the benchmarks share it.
package targets

import (
	"context"
	"path/filepath"

	"github.com/quarrydev/quarry/engine"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/engine/warehouse/snowflake"
)

// Adapters lists the warehouses quarry can build into, by target type.
func Adapters() map[string]engine.Adapter {
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
		"snowflake": {
			Dialect: snowflake.Dialect{},
			Open: func(ctx context.Context, _ string, t engine.Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error) {
				// Every key is expanded here, at connection time, so that
				// secrets never travel through the engine.
				settings := make(map[string]string, len(t.Settings))
				for k := range t.Settings {
					settings[k] = t.Setting(k, env)
				}
				w, err := snowflake.Open(ctx, snowflake.Options{Target: t.Name, Settings: settings, Env: env, Threads: threads})
				if err != nil {
					return nil, err
				}
				return w, nil
			},
		},
	}
}
