// Package gen writes synthetic projects for benchmarks: n models in two
// folders, each selecting from one to three earlier models, one property
// file per ten models, a macro, a var and tags (and optionally a data test
// per model). Project writes it for quarry; DBTProject and SQLMeshProject
// write the same models, refs and rows in dbt's and SQLMesh's syntax, so
// that peers can be measured on the same work. The same options always
// write the same project, byte for byte.
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
	// Narrow keeps every model two rows: it reads its refs through one
	// aggregate row (their least id, their greatest value) instead of
	// passing every upstream row on, which multiplies rows with the depth
	// of the graph. Builds of tables need it; views never run the select.
	Narrow bool
	// Path is the DuckDB target's path (default generated.duckdb). For
	// quarry, DuckDB settings may follow a "?", e.g.
	// "generated.duckdb?threads=1"; the peers' writers take a plain path,
	// relative to the directory the peer runs in.
	Path string
	// Threads is how many models the peers build at once, written into
	// their configuration (default 1): dbt's profile threads (its --threads
	// overrides them) and SQLMesh's concurrent_tasks (it has no flag).
	// quarry's project does not carry it: quarry takes --threads.
	Threads int
}

// model is one generated model: its number, its folder (and so its
// schema) and the earlier models it selects from, in order.
type model struct {
	i      int
	folder string
	refs   []int
}

func (m model) name() string { return modelName(m.i) }

func modelName(i int) string { return fmt.Sprintf("model_%05d", i) }

// folderOf is where model i lives: even models left, odd ones right.
func folderOf(i int) string {
	if i%2 == 1 {
		return "right"
	}
	return "left"
}

// schemaOf is the schema of a folder's models.
func schemaOf(folder string) string { return folder + "_side" }

// prepare fills in the defaults and checks dir is empty or absent.
func prepare(dir string, o Options) (Options, error) {
	if o.Materialized == "" {
		o.Materialized = "view"
	}
	if o.Refs == 0 {
		o.Refs = 3
	}
	if o.Path == "" {
		o.Path = "generated.duckdb"
	}
	if o.Threads == 0 {
		o.Threads = 1
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return o, fmt.Errorf("gen: %s is not empty", dir)
	}
	return o, nil
}

// graph draws the models and their refs. Every writer renders this one
// graph, so that the same options give every tool the same models.
func graph(o Options) []model {
	rng := rand.New(rand.NewPCG(o.Seed, 0))
	ms := make([]model, o.Models)
	for i := range ms {
		ms[i] = model{i: i, folder: folderOf(i)}
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
				ms[i].refs = append(ms[i].refs, j)
			}
		}
	}
	return ms
}

// writer writes files under dir by slash path, making folders as needed.
func writer(dir string) func(rel, text string) error {
	return func(rel, text string) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(text), 0o644)
	}
}

// bodyColumns is the extra select-list item of a model and the column
// its unions carry through.
func bodyColumns(o Options) (body, bodyCol string) {
	if o.Body != "" {
		return ", " + o.Body + " as body", ", body"
	}
	return "", ""
}

// upstream is the part of a model's select that reads the models it refs,
// named by from (each tool has its own syntax for a reference).
func upstream(refs []int, bodyCol string, narrow bool, from func(int) string) string {
	if len(refs) == 0 {
		return ""
	}
	var b strings.Builder
	if !narrow {
		for _, j := range refs {
			fmt.Fprintf(&b, "union all select id, value%s from %s\n", bodyCol, from(j))
		}
		return b.String()
	}
	agg := ""
	if bodyCol != "" {
		agg = ", max(body)"
	}
	fmt.Fprintf(&b, "union all select min(id), max(value)%s from (\n", agg)
	for k, j := range refs {
		sep := "  "
		if k > 0 {
			sep = "  union all "
		}
		fmt.Fprintf(&b, "%sselect id, value%s from %s\n", sep, bodyCol, from(j))
	}
	b.WriteString(") as upstream\n")
	return b.String()
}

// Project writes a generated quarry project into dir, which must be empty
// or absent.
func Project(dir string, o Options) error {
	o, err := prepare(dir, o)
	if err != nil {
		return err
	}
	write := writer(dir)
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
	return writeModels(write, o, syntax{
		tags:       func(group int) string { return fmt.Sprintf("{{ config \"tags\" \"group_%d\" }}", group) },
		scaled:     func(i int) string { return fmt.Sprintf("{{ template \"scaled\" \"%d\" }}", i) },
		ref:        func(j int) string { return fmt.Sprintf("{{ ref %q }}", modelName(j)) },
		propsStart: "models:\n",
	})
}

// syntax is how one tool spells what a generated model says.
type syntax struct {
	tags       func(group int) string // the line that tags a model
	scaled     func(i int) string     // the expression of model i's value
	ref        func(j int) string     // a reference to model j
	propsStart string                 // the head of a property file
}

// writeModels writes the models and their property files (ten models to a
// file) in a tool's syntax.
func writeModels(write func(rel, text string) error, o Options, s syntax) error {
	body, bodyCol := bodyColumns(o)
	tests := ""
	if o.Tests {
		tests = "        data_tests: [not_null]\n"
	}
	var props strings.Builder
	for _, m := range graph(o) {
		i := m.i
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n", s.tags(i%10))
		fmt.Fprintf(&b, "select %d as id, %s as value%s\n", i, s.scaled(i), body)
		b.WriteString(upstream(m.refs, bodyCol, o.Narrow, s.ref))
		if err := write(fmt.Sprintf("models/%s/%s.sql", m.folder, m.name()), b.String()); err != nil {
			return err
		}
		if i%10 == 0 {
			props.Reset()
			props.WriteString(s.propsStart)
		}
		fmt.Fprintf(&props, "  - name: %s\n    description: Generated model %d.\n    columns:\n      - name: id\n        description: The id.\n%s", m.name(), i, tests)
		if i%10 == 9 || i == o.Models-1 {
			if err := write(fmt.Sprintf("models/props_%05d.yml", i/10), props.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
