// Package projecttest holds what tests of loading and running projects
// share: writing project files, an environment from a map, the warehouses.
package projecttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/benchkit"
)

// Env is an environment holding exactly m.
func Env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// NoEnv is an empty environment.
func NoEnv(string) (string, bool) { return "", false }

// WriteFile writes data to path, creating its folder.
func WriteFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Adapters are the warehouses a project may target in tests (DuckDB).
func Adapters() map[string]config.Adapter {
	return benchkit.Adapters()
}

// Load writes files (project.yaml defaults to one DuckDB target) into a
// temporary folder and loads the project, failing the test if it does not
// load.
func Load(t testing.TB, files map[string]string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["project.yaml"]; !ok {
		files["project.yaml"] = "name: t\ntargets:\n  dev: {type: duckdb}\n"
	}
	for name, data := range files {
		WriteFile(t, filepath.Join(dir, name), data)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: Env(nil)}, Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}
