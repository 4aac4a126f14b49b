// Package gen writes synthetic quarry projects for benchmarks: n models in
// two folders, each selecting from one to three earlier models, one
// property file per ten models, a macro, a var and tags (and optionally a
// data test per model). The same options
// always write the same project, byte for byte.
package gen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Options shape a generated project.
type Options struct {
	Models int
	Seed   uint64
	// Materialized is the materialization of every model (default view).
	Materialized string
	// Refs is the most models each one refs (default 3; 0 keeps the
	// default, -1 means no refs at all, a flat fan-out).
	Refs int
	// Body, when set, is an SQL expression added to every model's select
	// list as a column named body, e.g. a slow aggregate for scheduling
	// benchmarks. Models that ref others carry their body column through.
	Body string
	// Tests declares a not_null data test on every model's id column.
	Tests bool
	// Path is the DuckDB target's path (default generated.duckdb). DuckDB
	// settings may follow a "?", e.g. "generated.duckdb?threads=1".
	Path string
}

// Project writes a generated project into dir, which must be empty or
// absent.
func Project(dir string, o Options) error {
	if o.Materialized == "" {
		o.Materialized = "view"
	}
	if o.Refs == 0 {
		o.Refs = 3
	}
	if o.Path == "" {
		o.Path = "generated.duckdb"
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("gen: %s is not empty", dir)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0))
	write := func(rel, text string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(text), 0o644)
	}
	project := fmt.Sprintf(`name: generated
vars: {scale: 100}
models:
  left: {materialized: %s, schema: left_side}
  right: {materialized: %[1]s, schema: right_side}
targets:
  dev: {type: duckdb, path: %q}
`, o.Materialized, o.Path)
	if err := write("project.yaml", project); err != nil {
		return err
	}
	if err := write("macros/scale.sql", `{{ define "scaled" }}({{ . }} * {{ var "scale" }}){{ end }}`+"\n"); err != nil {
		return err
	}
	body, bodyCol := "", ""
	if o.Body != "" {
		body, bodyCol = ", "+o.Body+" as body", ", body"
	}
	tests := ""
	if o.Tests {
		tests = "        data_tests: [not_null]\n"
	}
	var props strings.Builder
	for i := range o.Models {
		folder := "left"
		if i%2 == 1 {
			folder = "right"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "{{ config \"tags\" \"group_%d\" }}\n", i%10)
		fmt.Fprintf(&b, "select %d as id, {{ template \"scaled\" \"%d\" }} as value%s\n", i, i, body)
		if i > 0 && o.Refs > 0 {
			k := 1 + rng.IntN(o.Refs)
			seen := map[int]bool{}
			for range k {
				// Mostly recent models, so the graph is deep as well as wide.
				j := i - 1 - rng.IntN(min(i, 50))
				if seen[j] {
					continue
				}
				seen[j] = true
				fmt.Fprintf(&b, "union all select id, value%s from {{ ref \"model_%05d\" }}\n", bodyCol, j)
			}
		}
		if err := write(fmt.Sprintf("models/%s/model_%05d.sql", folder, i), b.String()); err != nil {
			return err
		}
		if i%10 == 0 {
			props.Reset()
			props.WriteString("models:\n")
		}
		fmt.Fprintf(&props, "  - name: model_%05d\n    description: Generated model %d.\n    columns:\n      - name: id\n        description: The id.\n%s", i, i, tests)
		if i%10 == 9 || i == o.Models-1 {
			if err := write(fmt.Sprintf("models/props_%05d.yml", i/10), props.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
