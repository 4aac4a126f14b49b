// Package targets wires quarry's warehouse implementations into the
// engine, by target type: the CLI and the benchmarks share it.
package targets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/engine/warehouse/snowflake"
)

// Adapters lists the warehouses quarry can build into, by target type.
func Adapters() map[string]config.Adapter {
	return map[string]config.Adapter{
		"duckdb": {
			Dialect:  duckdb.Dialect{},
			Settings: []string{"attach", "path"},
			Check: func(dir string, t config.Target, env func(string) (string, bool)) []config.SettingProblem {
				if err := duckdb.CheckPath(duckdbPath(dir, t, env)); err != nil {
					return []config.SettingProblem{{Key: "path", Msg: fmt.Sprintf("path %q: %v (a relative path starts from the project folder)", t.Setting("path", env), err)}}
				}
				return checkAttach(dir, t, env)
			},
			Open: func(ctx context.Context, dir string, t config.Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error) {
				w, err := duckdb.Open(ctx, duckdbPath(dir, t, env), threads)
				if err != nil {
					return nil, err
				}
				if attach := attachPath(dir, t, env); attach != "" {
					if err := w.AttachReadOnly(ctx, attach); err != nil {
						w.Close()
						return nil, err
					}
				}
				return w, nil
			},
			Database: func(dir string, t config.Target, env func(string) (string, bool)) string {
				return duckdb.DatabaseName(duckdbPath(dir, t, env))
			},
		},
		"snowflake": {
			Dialect:  snowflake.Dialect{},
			Settings: snowflake.Settings(),
			Database: func(_ string, t config.Target, env func(string) (string, bool)) string {
				return t.Setting("database", env)
			},
			Open: func(ctx context.Context, _ string, t config.Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error) {
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

// duckdbPath is a DuckDB target's file: relative to the project, not the
// shell.
func duckdbPath(dir string, t config.Target, env func(string) (string, bool)) string {
	path := t.Setting("path", env)
	if path != ":memory:" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return path
}

// attachPath is a DuckDB target's attach: file (another run's database,
// read-only), relative to the project; "" when none.
func attachPath(dir string, t config.Target, env func(string) (string, bool)) string {
	path := t.Setting("attach", env)
	if path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return path
}

// checkAttach checks a DuckDB target's attach: the file exists, and its
// name (the name SQL reads it by) is not the target's own database's.
func checkAttach(dir string, t config.Target, env func(string) (string, bool)) []config.SettingProblem {
	path := attachPath(dir, t, env)
	if path == "" {
		return nil
	}
	problem := func(format string, args ...any) []config.SettingProblem {
		return []config.SettingProblem{{Key: "attach", Msg: fmt.Sprintf("attach %q: ", t.Setting("attach", env)) + fmt.Sprintf(format, args...)}}
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return problem("no such database file (a relative path starts from the project folder): build production into it first, or fix the path")
	}
	if name := duckdb.DatabaseName(path); name == duckdb.DatabaseName(duckdbPath(dir, t, env)) {
		return problem("its name %s is also the name of the target's own file %q; DuckDB names a file by its name without extension: give one of them another name", name, t.Setting("path", env))
	}
	return nil
}

// WarehouseFile is the file a target's warehouse lives in, absolute or
// relative to the shell as dir is: a DuckDB target's database; "" for an
// in-memory one and for a warehouse that is no local file (Snowflake).
// Whoever removes files in the project keeps away from it.
func WarehouseFile(dir string, t config.Target, env func(string) (string, bool)) string {
	if t.Type != "duckdb" {
		return ""
	}
	if path := duckdbPath(dir, t, env); path != ":memory:" && t.Setting("path", env) != "" {
		return path
	}
	return ""
}
