package project_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

func loadDir(t *testing.T, dir string, environ ...string) *project.Project {
	t.Helper()
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Environ: func() []string { return environ }}, projecttest.Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

func compiledNodes(p *project.Project) []*project.Node {
	var nodes []*project.Node
	for _, n := range p.Nodes {
		if n.Type == project.Model || n.Type == project.Test {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

func TestWriteCompiledAllWritesOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 1 as x\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/deep/b.sql"), `select x from {{ ref "a" }}`+"\n")
	a := filepath.Join(dir, "target/compiled/models/a.sql")
	b := filepath.Join(dir, "target/compiled/models/deep/b.sql")

	p := loadDir(t, dir)
	if n, err := p.WriteCompiledAll(compiledNodes(p)); err != nil || n != 2 {
		t.Fatalf("first compile wrote %d files (%v), want 2", n, err)
	}
	// An old time, so that a rewrite shows whatever the file system's
	// timestamp resolution.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []string{a, b} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
	modTime := func(f string) time.Time {
		t.Helper()
		info, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		return info.ModTime()
	}

	p = loadDir(t, dir)
	if n, err := p.WriteCompiledAll(compiledNodes(p)); err != nil || n != 0 {
		t.Fatalf("compile of an unchanged project wrote %d files (%v), want 0", n, err)
	}
	for _, f := range []string{a, b} {
		if got := modTime(f); !got.Equal(old) {
			t.Errorf("%s was rewritten (modified %v) though its SQL did not change", f, got)
		}
	}

	// The same length, so only the content tells the files apart.
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 2 as x\n")
	p = loadDir(t, dir)
	if n, err := p.WriteCompiledAll(compiledNodes(p)); err != nil || n != 1 {
		t.Fatalf("compile after one model changed wrote %d files (%v), want 1", n, err)
	}
	if got, err := os.ReadFile(a); err != nil || string(got) != "select 2 as x\n" {
		t.Errorf("a.sql holds %q (%v), want the new SQL", got, err)
	}
	if modTime(a).Equal(old) {
		t.Errorf("a.sql keeps its old time though it was rewritten")
	}
	if !modTime(b).Equal(old) {
		t.Errorf("b.sql was rewritten though its SQL did not change")
	}
}

func TestGuardSecretsSeesValuesSplitBetweenWrites(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	p := loadDir(t, dir, "API_TOKEN=s3cr3t-v4lue")

	var out bytes.Buffer
	w := p.GuardSecrets(&out, "manifest.json")
	for _, piece := range []string{`{"a": "s3`, "cr", `3t-v4lue"}`} {
		if _, err := w.Write([]byte(piece)); err != nil {
			if !strings.Contains(err.Error(), "API_TOKEN") || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %q should name API_TOKEN and not its value", err)
			}
			if strings.Contains(out.String(), "3t-v4lue") {
				t.Fatalf("the piece completing the value was passed on: %q", out.String())
			}
			return
		}
	}
	t.Fatalf("a secret's value split over three writes went through: %q", out.String())
}

func TestGuardSecretsPassesOtherText(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	p := loadDir(t, dir, "API_TOKEN=s3cr3t-v4lue")

	var out bytes.Buffer
	w := p.GuardSecrets(&out, "manifest.json")
	pieces := []string{`{"a": "s3`, "cr", `3t-v4lu"}`, "\n"}
	for _, piece := range pieces {
		if _, err := w.Write([]byte(piece)); err != nil {
			t.Fatalf("write %q: %v", piece, err)
		}
	}
	if want := strings.Join(pieces, ""); out.String() != want {
		t.Errorf("passed on %q, want %q", out.String(), want)
	}
}

// Once the record of target/compiled has aged past the racy window, an
// unchanged file is known from its stat; every change still gets through:
// a model's new SQL, a compiled file edited or deleted by hand.
func TestWriteCompiledAllTrustsOnlyAgedStamps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 1 as x\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/b.sql"), "select 2 as y\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/c.sql"), "select 3 as z\n")
	a := filepath.Join(dir, "target/compiled/models/a.sql")
	b := filepath.Join(dir, "target/compiled/models/b.sql")
	c := filepath.Join(dir, "target/compiled/models/c.sql")
	stamps := filepath.Join(dir, "target/compiled/.stamps.gob")
	compile := func(want int) {
		t.Helper()
		p := loadDir(t, dir)
		if n, err := p.WriteCompiledAll(compiledNodes(p)); err != nil || n != want {
			t.Fatalf("compile wrote %d files (%v), want %d", n, err, want)
		}
	}
	compile(3)
	time.Sleep(2100 * time.Millisecond) // the racy window, 2 s, must pass in earnest
	compile(0)                          // reads the files, and records that they can now be trusted
	before, err := os.Stat(stamps)
	if err != nil {
		t.Fatal(err)
	}
	compile(0)
	if after, err := os.Stat(stamps); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the record was written again though nothing changed (%v)", err)
	}

	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 9 as x\n") // same length
	projecttest.WriteFile(t, b, "select 7 as y\n")                                  // a hand edit
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	compile(3)
	for f, want := range map[string]string{a: "select 9 as x\n", b: "select 2 as y\n", c: "select 3 as z\n"} {
		if got, err := os.ReadFile(f); err != nil || string(got) != want {
			t.Errorf("%s holds %q (%v), want %q", f, got, err, want)
		}
	}
}
