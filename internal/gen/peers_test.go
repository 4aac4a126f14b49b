package gen_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/gen"
)

// quarryRefs is, by model name, the models each one refs in the quarry
// project of the same options, sorted.
func quarryRefs(t *testing.T, p *project.Project) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range p.Nodes {
		refs := []string{}
		for _, id := range n.DependsOn {
			refs = append(refs, id[strings.LastIndex(id, ".")+1:])
		}
		out[n.Name] = refs
	}
	return out
}

// refsIn is every match of re's first group in text, sorted.
func refsIn(re *regexp.Regexp, text string) []string {
	refs := []string{}
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		refs = append(refs, m[1])
	}
	slices.Sort(refs)
	return refs
}

func TestDBTProject(t *testing.T) {
	o := gen.Options{Models: 120, Seed: 3, Materialized: "table", Threads: 2, Path: "peer.duckdb"}
	dir := t.TempDir()
	if err := gen.DBTProject(dir, o); err != nil {
		t.Fatal(err)
	}
	fs := files(t, dir)
	// 120 models, 12 property files, dbt_project.yml, profiles.yml, the macro.
	if len(fs) != 120+12+3 {
		t.Errorf("wrote %d files, want %d", len(fs), 120+12+3)
	}

	var proj struct {
		Name          string                    `yaml:"name"`
		ConfigVersion int                       `yaml:"config-version"`
		Profile       string                    `yaml:"profile"`
		ModelPaths    []string                  `yaml:"model-paths"`
		MacroPaths    []string                  `yaml:"macro-paths"`
		Vars          map[string]int            `yaml:"vars"`
		Models        map[string]map[string]any `yaml:"models"`
	}
	if err := yaml.Unmarshal([]byte(fs["dbt_project.yml"]), &proj); err != nil {
		t.Fatalf("dbt_project.yml: %v", err)
	}
	if proj.ConfigVersion != 2 || proj.Vars["scale"] != 100 || !slices.Equal(proj.ModelPaths, []string{"models"}) ||
		!slices.Equal(proj.MacroPaths, []string{"macros"}) || proj.Models[proj.Name]["+materialized"] != "table" {
		t.Errorf("dbt_project.yml:\n%s", fs["dbt_project.yml"])
	}
	var profiles map[string]struct {
		Target  string
		Outputs map[string]struct {
			Type    string
			Path    string
			Threads int
		}
	}
	if err := yaml.Unmarshal([]byte(fs["profiles.yml"]), &profiles); err != nil {
		t.Fatalf("profiles.yml: %v", err)
	}
	prof, ok := profiles[proj.Profile]
	if out := prof.Outputs[prof.Target]; !ok || out.Type != "duckdb" || out.Path != "peer.duckdb" || out.Threads != 2 {
		t.Errorf("profile %q does not point at peer.duckdb:\n%s", proj.Profile, fs["profiles.yml"])
	}
	if !strings.Contains(fs["macros/scale.sql"], "{% macro scaled(x) %}") {
		t.Errorf("macros/scale.sql:\n%s", fs["macros/scale.sql"])
	}

	// Every model refs, in dbt's syntax, exactly what the quarry project's
	// counterpart refs, and each ref names a model that exists.
	want := quarryRefs(t, load(t, gen.Options{Models: 120, Seed: 3}))
	ref := regexp.MustCompile(`\{\{ ref\('(model_\d{5})'\) \}\}`)
	for i := range 120 {
		name := fmt.Sprintf("model_%05d", i)
		folder := []string{"left", "right"}[i%2]
		text, ok := fs["models/"+folder+"/"+name+".sql"]
		if !ok {
			t.Errorf("no models/%s/%s.sql", folder, name)
			continue
		}
		if got := refsIn(ref, text); !slices.Equal(got, want[name]) {
			t.Errorf("%s refs %v, the quarry project's %v:\n%s", name, got, want[name], text)
		}
		if !strings.Contains(text, fmt.Sprintf("select %d as id, {{ scaled(%[1]d) }} as value", i)) ||
			!strings.Contains(text, fmt.Sprintf("{{ config(tags=['group_%d']) }}", i%10)) {
			t.Errorf("%s:\n%s", name, text)
		}
	}
	if !strings.HasPrefix(fs["models/props_00000.yml"], "version: 2\nmodels:\n  - name: model_00000\n") {
		t.Errorf("models/props_00000.yml:\n%s", fs["models/props_00000.yml"])
	}
}

func TestSQLMeshProject(t *testing.T) {
	dir := t.TempDir()
	if err := gen.SQLMeshProject(dir, gen.Options{Models: 60, Seed: 3, Materialized: "table", Threads: 2}); err != nil {
		t.Fatal(err)
	}
	fs := files(t, dir)
	if len(fs) != 60+1 {
		t.Errorf("wrote %d files, want %d", len(fs), 60+1)
	}
	if !strings.Contains(fs["config.yaml"], `database: "generated.duckdb", concurrent_tasks: 2`) {
		t.Errorf("config.yaml:\n%s", fs["config.yaml"])
	}
	want := quarryRefs(t, load(t, gen.Options{Models: 60, Seed: 3}))
	ref := regexp.MustCompile(`from (?:left|right)_side\.(model_\d{5})`)
	for i := range 60 {
		name := fmt.Sprintf("model_%05d", i)
		folder := []string{"left", "right"}[i%2]
		text := fs["models/"+folder+"/"+name+".sql"]
		if !strings.HasPrefix(text, "MODEL (\n  name "+folder+"_side."+name+",\n  kind FULL,") {
			t.Errorf("%s:\n%s", name, text)
		}
		if got := refsIn(ref, text); !slices.Equal(got, want[name]) {
			t.Errorf("%s refs %v, the quarry project's %v:\n%s", name, got, want[name], text)
		}
	}
}
