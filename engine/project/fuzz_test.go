package project_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/selector"
)

// The fuzz targets feed hostile input to the parts of loading a user writes
// by hand: project.yaml, property files, CSV seeds and selectors. Whatever
// the input, loading must end in a project or in positioned diagnostics,
// never in a panic. Their seed corpora (testdata/fuzz/Fuzz*) run as ordinary
// tests; .ci/run also fuzzes each one briefly.

// fuzzProject is a small valid project; each target replaces one file.
var fuzzProject = map[string]string{
	"project.yaml":                     "name: fuzz\nmodels:\n  marts: {materialized: table}\n",
	"seeds/countries.csv":              "code,name,population\nfr,France,68\nde,Germany,84\n",
	"seeds/seeds.yml":                  "seeds:\n  - name: countries\n    column_types: {population: integer}\n",
	"models/staging/stg_countries.sql": "select code, name, population from {{ ref \"countries\" }}\n",
	"models/marts/big_countries.sql":   "{{ config \"tags\" \"mart\" }}\nselect * from {{ ref \"stg_countries\" }} where population > {{ var \"min\" 50 }}\n",
	"models/marts/marts.yml":           "models:\n  - name: big_countries\n    columns:\n      - name: code\n        tests: [unique, not_null]\n",
	"tests/no_empty_names.sql":         "select * from {{ ref \"stg_countries\" }} where name = ''\n",
}

// loadFuzz writes the base project with files replaced, loads it and checks
// the outcome's invariants.
func loadFuzz(t *testing.T, replace map[string]string) *project.Project {
	t.Helper()
	// Report a panic as this input's failure, so that a corpus run lists
	// every input that panics rather than stopping at the first.
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Load panicked: %v\n%s", r, debug.Stack())
		}
	}()
	dir := t.TempDir()
	files := maps.Clone(fuzzProject)
	maps.Copy(files, replace)
	if err := writeProject(dir, files); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.NoEnv}, projecttest.Adapters())
	if err == nil {
		if p == nil {
			t.Fatal("Load returned neither a project nor an error")
		}
		return p
	}
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("Load failed with an unpositioned %T: %v", err, err)
	}
	if len(de.Diagnostics) == 0 {
		t.Fatal("Load failed with no diagnostic")
	}
	for _, d := range de.Diagnostics {
		if d.Path == "" || strings.TrimSpace(d.Msg) == "" {
			t.Errorf("diagnostic without a file or a message: %+v", d)
		}
		if d.Line < 0 || d.Col < 0 {
			t.Errorf("diagnostic with a negative position: %+v", d)
		}
		if strings.Contains(d.Msg, "goroutine ") || strings.Contains(d.Msg, "panic") {
			t.Errorf("diagnostic leaks a Go panic: %+v", d)
		}
	}
	return nil
}

func FuzzProjectYAML(f *testing.F) {
	fuzzFile(f, "project.yaml",
		"name: fuzz\ntargets:\n  default: dev\n  dev: {type: duckdb, path: x.duckdb, threads: 2}\n",
		"name: fuzz\ntargets:\n  default: nosuch\n",
		"name: [1, 2]\n",
		"name: fuzz\nname: again\n",
		"name: fuzz\nvars: {a: 1, b: [x]}\nseeds: {schema: s}\ntests: {schema: t}\n")
}

func FuzzPropertyFile(f *testing.F) {
	fuzzFile(f, "models/marts/marts.yml",
		"models:\n  - name: big_countries\n    description: x\n    config: {materialized: view, tags: [a]}\n"+
			"    tests:\n      - row_count: {min: 1}\n      - expression_is_true: {expression: \"population > 0\", severity: warn}\n",
		"sources:\n  - name: raw\n    tables:\n      - name: t\n        loaded_at_field: _loaded_at\n        freshness: {warn_after: 24h}\n",
		"models:\n  - name: big_countries\n    columns:\n      - name: code\n        tests:\n          - accepted_values: {values: [fr, de]}\n          - relationships: {to: countries, field: code}\n",
		"models: x\n",
		"models:\n  - name: [1]\n")
}

// fuzzFile fuzzes one text file of the base project: its own content and
// seeds are the starting inputs, the checked-in corpus adds the rest.
func fuzzFile(f *testing.F, file string, seeds ...string) {
	f.Add(fuzzProject[file])
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		loadFuzz(t, map[string]string{file: src})
	})
}

func FuzzSeedCSV(f *testing.F) {
	f.Add([]byte(fuzzProject["seeds/countries.csv"]))
	f.Add([]byte("\xef\xbb\xbfcode,name,population\r\nfr,\"Fr,ance\",68\r\n"))
	f.Add([]byte("code,name,population\nfr,Caf\xe9,1\n"))
	f.Add([]byte("code,code,population\n"))
	f.Add([]byte("code,name,population\nfr,\"unterminated,1\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, csv []byte) {
		p := loadFuzz(t, map[string]string{"seeds/countries.csv": string(csv)})
		if p == nil {
			return
		}
		// What loaded must be what the file says: valid UTF-8 text (or
		// a load error), never silently mangled.
		if !utf8.Valid(csv) {
			t.Fatalf("a seed that is not valid UTF-8 loaded without an encoding: %q", csv)
		}
	})
}

func FuzzSelector(f *testing.F) {
	for _, s := range []string{"big_countries", "+big_countries", "stg_countries+", "2+big_countries+1", "tag:mart",
		"path:models/marts", "resource_type:seed", "test_type:singular", "big_countries,tag:mart", "@big_countries",
		"source:x", "+", "tag:", "1+", "big_*", "*"} {
		f.Add(s, "")
	}
	f.Add("big_countries", "stg_countries")
	dir := f.TempDir()
	if err := writeProject(dir, fuzzProject); err != nil {
		f.Fatal(err)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.NoEnv}, projecttest.Adapters())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sel, excl string) {
		var excludes []string
		if excl != "" {
			excludes = []string{excl}
		}
		ids, _, err := selector.Select(p, []string{sel}, excludes)
		if err != nil {
			return
		}
		for _, id := range ids {
			if p.Nodes[id] == nil {
				t.Fatalf("selection %q returned %q, which is no node", sel, id)
			}
		}
	})
}

// writeProject writes files (slash-separated paths) under dir.
func writeProject(dir string, files map[string]string) error {
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}
