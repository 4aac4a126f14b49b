package gen_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/gen"
	"github.com/quarrydev/quarry/internal/targets"
)

// files returns every file under dir by slash path.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := gen.Project(dir, gen.Options{Models: 120, Seed: 7}); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := files(t, a), files(t, b)
	// 120 models, 12 property files, project.yaml and the macro.
	if len(fa) != 120+12+2 {
		t.Errorf("wrote %d files, want %d", len(fa), 120+12+2)
	}
	for name, text := range fa {
		if fb[name] != text {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	c := t.TempDir()
	if err := gen.Project(c, gen.Options{Models: 120, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	if files(t, c)["models/left/model_00100.sql"] == fa["models/left/model_00100.sql"] {
		t.Error("a different seed wrote the same refs")
	}
}

func TestRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := gen.Project(dir, gen.Options{Models: 1}); err == nil {
		t.Fatal("wrote into a non-empty directory")
	}
}

func load(t *testing.T, o gen.Options) *project.Project {
	t.Helper()
	dir := t.TempDir()
	if err := gen.Project(dir, o); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: func(string) (string, bool) { return "", false }},
		targets.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != o.Models {
		t.Fatalf("loaded %d nodes, want %d", len(p.Nodes), o.Models)
	}
	return p
}

func TestLoads(t *testing.T) {
	p := load(t, gen.Options{Models: 200, Seed: 1})
	for _, n := range p.Nodes {
		deps := len(n.DependsOn)
		if n.Name == "model_00000" {
			if deps != 0 {
				t.Errorf("%s refs %d models, want 0", n.Name, deps)
			}
			continue
		}
		if deps < 1 || deps > 3 {
			t.Errorf("%s refs %d models, want 1 to 3", n.Name, deps)
		}
		if n.Description == "" || len(n.Columns) != 1 {
			t.Errorf("%s: property file not applied", n.Name)
		}
	}
	n, _ := p.Lookup("model_00007")
	if n.Relation.Schema != "right_side" || !strings.Contains(n.Compiled, "(7 * 100) as value") {
		t.Errorf("model_00007 in %s compiled to:\n%s", n.Relation.Schema, n.Compiled)
	}
}

func TestTests(t *testing.T) {
	dir := t.TempDir()
	if err := gen.Project(dir, gen.Options{Models: 20, Seed: 1, Tests: true}); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: func(string) (string, bool) { return "", false }},
		targets.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	tests := 0
	for _, n := range p.Nodes {
		if n.Type == project.Test {
			tests++
		}
	}
	if tests != 20 {
		t.Errorf("loaded %d tests, want 20", tests)
	}
}

func TestFlatWithBody(t *testing.T) {
	p := load(t, gen.Options{Models: 10, Seed: 1, Refs: -1, Materialized: "table", Body: "hash(1, 2)"})
	for _, n := range p.Nodes {
		if len(n.DependsOn) != 0 || n.Config.Materialized != "table" || !strings.Contains(n.Compiled, "hash(1, 2) as body") {
			t.Errorf("%s (%s, %d refs):\n%s", n.Name, n.Config.Materialized, len(n.DependsOn), n.Compiled)
		}
	}
	// With refs, the union's sides carry the body column too.
	p = load(t, gen.Options{Models: 10, Seed: 1, Body: "42"})
	n, _ := p.Lookup("model_00009")
	if !strings.Contains(n.Compiled, "union all select id, value, body from") {
		t.Errorf("model_00009:\n%s", n.Compiled)
	}
}
