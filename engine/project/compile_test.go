package project_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestCompileGolden loads each project in testdata/compile/*.txtar and
// compares the compiled SQL of every model, or the error output, with the
// archive's want/ files. Run with -update to rewrite them.
func TestCompileGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/compile/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden projects: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			want := map[string]string{}
			for _, f := range ar.Files {
				if rest, ok := strings.CutPrefix(f.Name, "want/"); ok {
					want[rest] = string(f.Data)
					continue
				}
				projecttest.WriteFile(t, filepath.Join(dir, f.Name), string(f.Data))
			}
			env := map[string]string{"QUARRY_TEST_REGION": "eu"}
			got := map[string]string{}
			p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(env)}, projecttest.Adapters())
			if err != nil {
				var de *diag.Error
				if !errors.As(err, &de) {
					t.Fatalf("load: %v", err)
				}
				got["errors"] = de.Error() + "\n"
			} else {
				for _, n := range p.Nodes {
					if n.Type == project.Model {
						got["compiled/"+n.Path] = n.Compiled + "\n"
					}
				}
			}
			if *update {
				var kept []txtar.File
				for _, f := range ar.Files {
					if !strings.HasPrefix(f.Name, "want/") {
						kept = append(kept, f)
					}
				}
				for _, name := range sortedKeys(got) {
					kept = append(kept, txtar.File{Name: "want/" + name, Data: []byte(got[name])})
				}
				ar.Files = kept
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("compiled output differs from %s (-want +got); run go test ./engine/project -run TestCompileGolden -update to accept:\n%s", file, diff)
			}
		})
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
