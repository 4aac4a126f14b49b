package analyze_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/benchkit"
)

// shop is a small project: a seed with a pinned type, a chain a -> b
// below it, c beside them, and d reading nothing.
var shop = map[string]string{
	"project.yaml": `name: shop
targets:
  default: dev
  dev: {type: duckdb, path: shop.duckdb}
  other: {type: duckdb, path: other.duckdb}
  prod: {type: snowflake, account: a, user: u, password: p, database: d, schema: s, warehouse: w}
`,
	"seeds/nums.csv":   "id,amount\n1,10\n",
	"seeds/props.yml":  "seeds:\n  - name: nums\n    column_types: {amount: integer}\n",
	"models/a.sql":     `select id, amount from {{ ref "nums" }}`,
	"models/b.sql":     `select id, amount * 2 as twice from {{ ref "a" }}`,
	"models/c.sql":     `select count(*) as n from {{ ref "nums" }}`,
	"models/d.sql":     `select 1 as one`,
	"models/props.yml": "models:\n  - name: b\n    columns:\n      - name: twice\n        tests: [not_null]\n",
}

type fixture struct {
	t   *testing.T
	dir string
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, dir: t.TempDir()}
	for name, text := range shop {
		f.write(name, text)
	}
	return f
}

func (f *fixture) write(name, text string) {
	f.t.Helper()
	path := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) cachePath() string { return filepath.Join(f.dir, "target", "analysis.gob") }

// run loads the project on target, analyses it with the cache on disk and
// saves the cache; it returns the project, the names of the statements
// described and the analysis's error.
func (f *fixture) run(target string) (*project.Project, []string, error) {
	f.t.Helper()
	p, err := project.Load(config.Options{Dir: f.dir, Threads: 1, Target: target, Env: func(string) (string, bool) { return "", false }}, benchkit.Adapters())
	if err != nil {
		f.t.Fatal(err)
	}
	cache := analyze.LoadCache(f.cachePath())
	var described []string
	opts := analyze.OnDescribe(analyze.Options{Cache: cache}, func(id string) { described = append(described, p.Nodes[id].Name) })
	_, err = analyze.Run(context.Background(), p, opts)
	if serr := cache.Save(f.cachePath()); serr != nil {
		f.t.Fatal(serr)
	}
	slices.Sort(described)
	return p, described, err
}

// analysed runs the analysis, which must find no problem, and returns the
// statements described.
func (f *fixture) analysed(target string) (*project.Project, []string) {
	f.t.Helper()
	p, described, err := f.run(target)
	if err != nil {
		f.t.Fatalf("analysis: %v", err)
	}
	return p, described
}

const notNull = "not_null_b_twice"

func TestCacheDescribesOnlyWhatChanged(t *testing.T) {
	f := newFixture(t)
	_, cold := f.analysed("")
	if want := []string{"a", "b", "c", "d", notNull}; !slices.Equal(cold, want) {
		t.Fatalf("cold run described %v, want %v", cold, want)
	}
	p, warm := f.analysed("")
	if len(warm) != 0 {
		t.Fatalf("unchanged project: described %v, want nothing", warm)
	}
	// Cached answers are the answers.
	if got := p.Nodes["model.shop.b"].Analysis; !got.Checked || len(got.Columns) != 2 || got.Columns[1].Name != "twice" || got.Columns[1].Type != "INTEGER" {
		t.Fatalf("cached analysis of b: %+v", got)
	}

	// An edit that keeps a's columns re-describes a alone.
	f.write("models/a.sql", `select id, amount from {{ ref "nums" }} where id > 0`)
	if _, got := f.analysed(""); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("edit of a keeping its columns: described %v, want [a]", got)
	}
	// One that changes them re-describes a and what reads it.
	f.write("models/a.sql", `select id, amount::bigint as amount from {{ ref "nums" }}`)
	p, got := f.analysed("")
	if want := []string{"a", "b", notNull}; !slices.Equal(got, want) {
		t.Fatalf("edit of a's types: described %v, want %v", got, want)
	}
	if typ := p.Nodes["model.shop.b"].Analysis.Columns[1].Type; typ != "BIGINT" {
		t.Fatalf("b.twice after a's amount became bigint: %s, want BIGINT", typ)
	}
}

func TestCacheSeedTypeChangeReachesItsChildren(t *testing.T) {
	f := newFixture(t)
	f.analysed("")
	f.write("seeds/props.yml", "seeds:\n  - name: nums\n    column_types: {amount: double}\n")
	p, got := f.analysed("")
	// c counts rows: its key holds nums's columns, so it is described again
	// even though its own columns cannot change.
	if want := []string{"a", "b", "c", notNull}; !slices.Equal(got, want) {
		t.Fatalf("seed type change: described %v, want %v", got, want)
	}
	if typ := p.Nodes["model.shop.b"].Analysis.Columns[1].Type; typ != "DOUBLE" {
		t.Fatalf("b.twice after nums.amount became double: %s, want DOUBLE", typ)
	}
}

func TestCacheDialectChangeDescribesAll(t *testing.T) {
	f := newFixture(t)
	f.analysed("")
	// Another DuckDB target: same dialect, same answers.
	if _, got := f.analysed("other"); len(got) != 0 {
		t.Fatalf("another duckdb target: described %v, want nothing", got)
	}
	if _, got := f.analysed("prod"); len(got) != 5 {
		t.Fatalf("snowflake target: described %v, want all 5", got)
	}
}

func TestCacheBadFileIsIgnoredAndRebuilt(t *testing.T) {
	for name, content := range map[string]string{
		"corrupt":    "not a gob at all",
		"empty":      "",
		"old format": oldFormat(t),
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.write("target/analysis.gob", content)
			if _, got := f.analysed(""); len(got) != 5 {
				t.Fatalf("with a %s cache: described %v, want all 5", name, got)
			}
			if _, got := f.analysed(""); len(got) != 0 {
				t.Fatalf("after rebuilding a %s cache: described %v, want nothing", name, got)
			}
		})
	}
}

// oldFormat is a well-formed cache file of another format version.
func oldFormat(t *testing.T) string {
	f := newFixture(t)
	f.analysed("")
	src, err := os.ReadFile(f.cachePath())
	if err != nil {
		t.Fatal(err)
	}
	return analyze.WithFormat(src, 0)
}

func TestCacheProblemsAreReportedEveryRun(t *testing.T) {
	f := newFixture(t)
	f.analysed("")
	f.write("models/b.sql", "select id,\n  amont * 2 as twice from {{ ref \"a\" }}")
	for run := range 2 {
		_, got, err := f.run("")
		var de *diag.Error
		if !errors.As(err, &de) || len(de.Diagnostics) != 1 {
			t.Fatalf("run %d: want one problem, got %v", run, err)
		}
		if d := de.Diagnostics[0]; d.Path != "models/b.sql" || d.Line != 2 || d.Col != 3 {
			t.Fatalf("run %d: problem at %s:%d:%d, want models/b.sql:2:3", run, d.Path, d.Line, d.Col)
		}
		if !slices.Contains(got, "b") {
			t.Fatalf("run %d: b, which does not bind, was not described: %v", run, got)
		}
	}
	// Put back as it was: b's entry from before the typo serves again,
	// and so does its test's.
	f.write("models/b.sql", shop["models/b.sql"])
	if _, got := f.analysed(""); len(got) != 0 {
		t.Fatalf("after the fix: described %v, want nothing", got)
	}
}

// A statement described again on a warm run binds against the tables it
// reads, created then from the cache: through an ephemeral model, and
// even named without ref.
func TestCacheCreatesWhatAStatementReadsWhenDescribed(t *testing.T) {
	f := newFixture(t)
	f.write("models/f.sql", `{{ config "materialized" "ephemeral" }}select id from {{ ref "a" }}`)
	f.write("models/g.sql", `select id from {{ ref "f" }}`)
	f.write("models/h.sql", `select one from main.d`)
	f.analysed("")
	f.write("models/g.sql", `select id, id + 1 as next from {{ ref "f" }}`)
	f.write("models/h.sql", `select one, 2 as two from main.d`)
	p, got := f.analysed("")
	if want := []string{"g", "h"}; !slices.Equal(got, want) {
		t.Fatalf("described %v, want %v", got, want)
	}
	for _, id := range []string{"model.shop.g", "model.shop.h"} {
		if a := p.Nodes[id].Analysis; !a.Checked || len(a.Columns) != 2 {
			t.Fatalf("%s: %+v", id, a)
		}
	}
}
