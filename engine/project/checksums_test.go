package project_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// checksumProject is a small project: a seed, two models reading it (one
// through a macro and a var), a property file and a macro file holding a
// second macro nothing calls.
func checksumProject() map[string]string {
	return map[string]string{
		"project.yaml":  "name: t\nvars:\n  cutoff: 3\n  unused: 1\ntargets:\n  dev: {type: duckdb}\nmodels:\n  marts: {materialized: table}\n",
		"seeds/raw.csv": "id,v\n1,a\n",
		"macros/m.sql": `{{ define "pick" }}id, v{{ template "inner" }}{{ end }}
{{ define "inner" }}{{ end }}
{{ define "other" }}1{{ end }}
`,
		"models/staging/a.sql":   `select {{ template "pick" }} from {{ ref "raw" }} where id < {{ var "cutoff" }}`,
		"models/marts/b.sql":     `select id from {{ ref "a" }}`,
		"models/marts/props.yml": "models:\n  - name: b\n    description: the b model\n    columns:\n      - name: id\n        tests: [not_null]\n",
	}
}

// changed lists, per node name, the checksum kinds that differ between two
// loads of checksumProject, the second with edit applied.
func changed(t *testing.T, edit func(files map[string]string)) map[string][]string {
	t.Helper()
	before := projecttest.Load(t, checksumProject())
	files := checksumProject()
	edit(files)
	after := projecttest.Load(t, files)
	out := map[string][]string{}
	for id, n := range after.Nodes {
		old, ok := before.Nodes[id]
		if !ok {
			out[n.Name] = []string{"new"}
			continue
		}
		a, b := before.Checksums(old), after.Checksums(n)
		for _, kind := range project.ChecksumKinds {
			if a.Get(kind) != b.Get(kind) {
				out[n.Name] = append(out[n.Name], kind)
			}
		}
	}
	return out
}

func TestChecksumsChangeOneKindEach(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want map[string][]string
	}{
		{"nothing", func(map[string]string) {}, map[string][]string{}},
		{"model body", func(f map[string]string) { f["models/marts/b.sql"] = `select id, 1 as one from {{ ref "a" }}` },
			map[string][]string{"b": {"body"}}},
		{"config in project.yaml", func(f map[string]string) {
			f["project.yaml"] = "name: t\nvars:\n  cutoff: 3\n  unused: 1\ntargets:\n  dev: {type: duckdb}\nmodels:\n  marts: {materialized: view}\n"
		}, map[string][]string{"b": {"configs"}}},
		{"description", func(f map[string]string) {
			f["models/marts/props.yml"] = "models:\n  - name: b\n    description: the b model, better said\n    columns:\n      - name: id\n        tests: [not_null]\n"
		}, map[string][]string{"b": {"properties"}}},
		{"a macro used, through another", func(f map[string]string) {
			f["macros/m.sql"] = `{{ define "pick" }}id, v{{ template "inner" }}{{ end }}
{{ define "inner" }} {{ end }}
{{ define "other" }}1{{ end }}
`
		}, map[string][]string{"a": {"macros"}}},
		{"a macro nobody uses", func(f map[string]string) {
			f["macros/m.sql"] = "\n\n" + `{{ define "pick" }}id, v{{ template "inner" }}{{ end }}
{{ define "inner" }}{{ end }}
{{ define "other" }}2{{ end }}
`
		}, map[string][]string{}},
		{"a var read", func(f map[string]string) {
			f["project.yaml"] = "name: t\nvars:\n  cutoff: 4\n  unused: 1\ntargets:\n  dev: {type: duckdb}\nmodels:\n  marts: {materialized: table}\n"
		}, map[string][]string{"a": {"vars"}}},
		{"a var nobody reads", func(f map[string]string) {
			f["project.yaml"] = "name: t\nvars:\n  cutoff: 3\n  unused: 2\ntargets:\n  dev: {type: duckdb}\nmodels:\n  marts: {materialized: table}\n"
		}, map[string][]string{}},
		{"seed contents", func(f map[string]string) { f["seeds/raw.csv"] = "id,v\n1,a\n2,b\n" },
			map[string][]string{"raw": {"body"}}},
		{"a test added", func(f map[string]string) {
			f["models/marts/props.yml"] = "models:\n  - name: b\n    description: the b model\n    columns:\n      - name: id\n        tests: [not_null, unique]\n"
		}, map[string][]string{"b": {"properties"}, "unique_b_id": {"new"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := changed(t, tc.edit)
			if !maps.EqualFunc(got, tc.want, slices.Equal) {
				t.Errorf("changed checksums = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestChecksumsHoldNoVarValue: the vars checksum is a hash, so a secret
// read through var never appears in it.
func TestChecksumsHoldNoVarValue(t *testing.T) {
	files := checksumProject()
	files["project.yaml"] = "name: t\nvars:\n  cutoff: 31337\ntargets:\n  dev: {type: duckdb}\n"
	p := projecttest.Load(t, files)
	n, _ := p.Lookup("a")
	c := p.Checksums(n)
	if len(c.Vars) != 64 || c.Vars == p.Checksums(mustLookup(t, p, "b")).Vars {
		t.Errorf("vars checksum %q: want a sha256 differing from a model that reads no var", c.Vars)
	}
}

func mustLookup(t *testing.T, p *project.Project, name string) *project.Node {
	t.Helper()
	n, ok := p.Lookup(name)
	if !ok {
		t.Fatalf("no node %s", name)
	}
	return n
}
