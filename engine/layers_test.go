// Package engine_test checks how the engine's packages stand on each
// other. The engine has no code of its own at this level: each stage is a
// package below it (see docs/architecture.md).
package engine_test

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/quarrydev/quarry/"

// layers lists the engine's packages (and what they may use from outside
// it) from the bottom up: a package may import only packages listed before
// it. The data flows upward: files -> project -> selection and plan -> run
// -> artifacts.
var layers = []string{
	"internal/panics",
	"internal/english",
	"internal/names",
	"engine/diag",
	"engine/sqlscan",
	"engine/lineage",
	"engine/secret",
	"engine/dag",
	"engine/warehouse",
	"engine/warehouse/duckdb",
	"engine/warehouse/snowflake",
	"engine/warehouse/warehousetest",
	"extractors",
	"engine/render",
	"engine/seed",
	"engine/datatest",
	"engine/retention",
	"engine/config",
	"engine/project",
	"engine/analyze",
	"engine/state",
	"engine/selector",
	"engine/run",
	"engine/artifacts",
	"engine/docs",
}

// TestImportsRunOneWay fails when a package imports one at or above its
// own layer, or when a package of the engine is missing from the list.
func TestImportsRunOneWay(t *testing.T) {
	var pkgs []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() == "testdata" {
			return err
		}
		if p, err := build.ImportDir(path, 0); err == nil && len(p.GoFiles) > 0 {
			pkgs = append(pkgs, filepath.ToSlash(filepath.Join("engine", path)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		if strings.HasSuffix(pkg, "test") && pkg != "engine/warehouse/warehousetest" {
			continue // helpers for tests (projecttest) may use anything
		}
		at := slices.Index(layers, pkg)
		if at < 0 {
			t.Errorf("%s is not in layers: add it where it stands", pkg)
			continue
		}
		p, err := build.ImportDir(strings.TrimPrefix(pkg, "engine/"), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if i := slices.Index(layers, dep); i < 0 || i >= at {
				t.Errorf("%s imports %s, which is not below it", pkg, dep)
			}
		}
	}
	if len(pkgs) < 10 {
		t.Errorf("found only %d packages under engine/: %v", len(pkgs), pkgs)
	}
}
