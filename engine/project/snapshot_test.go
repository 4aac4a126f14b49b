package project_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// snapFiles is a project touching every kind of input a load reads.
var snapFiles = map[string]string{
	"project.yaml": `name: snap
vars: {greeting: hello}
targets:
  default: dev
  dev: {type: duckdb, path: dev.duckdb}
  prod: {type: snowflake, account: a, user: u, password: "${SNOWFLAKE_PASSWORD}", database: d, schema: analytics, warehouse: w}
`,
	"models/stg.sql":        "select 1 as id, '{{ var \"greeting\" }}' as g, '{{ env_var \"REGION\" \"none\" }}' as region\n",
	"models/mart.sql":       "{{ config \"materialized\" \"table\" }}select id, {{ template \"twice\" \"id\" }} as id2 from {{ ref \"stg\" }} join {{ ref \"codes\" }} using (id)\n",
	"models/props.yml":      "models:\n  - name: mart\n    description: the mart\n    columns:\n      - name: id\n        tests: [unique, not_null]\n",
	"macros/twice.sql":      "{{ define \"twice\" }}{{ . }} * 2{{ end }}\n",
	"seeds/codes.csv":       "id,code\n1,a\n",
	"tests/no_negative.sql": "select * from {{ ref \"mart\" }} where id < 0\n",
	"models/eph.sql":        "{{ config \"materialized\" \"ephemeral\" }}select 1 as x\n",
	"models/uses_eph.sql":   "select x from {{ ref \"eph\" }}\n",
}

const secretValue = "hunter2-do-not-store"

type loadCase struct {
	env  map[string]string
	opts config.Options
}

func (c loadCase) options(dir string) config.Options {
	o := c.opts
	o.Dir = dir
	env := map[string]string{"SNOWFLAKE_PASSWORD": secretValue}
	for k, v := range c.env {
		env[k] = v
	}
	o.Env = projecttest.Env(env)
	o.Environ = func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
	return o
}

func writeSnapProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		projecttest.WriteFile(t, filepath.Join(dir, name), data)
	}
	return dir
}

// view is what a load produced, as text: every node's exported fields
// (a test's attached node by id) and the graph's edges.
func view(t *testing.T, p *project.Project) string {
	t.Helper()
	type nodeView struct {
		*project.Node
		Test     *project.TestSpec `json:"-"` // its Attached is a whole node: by id below
		TestSpec string
		Attached string
		Parents  []string
		Children []string
		Sums     project.Checksums // state: compares them, so a snapshot must give a full load's
	}
	nodes := map[string]nodeView{}
	for id, n := range p.Nodes {
		v := nodeView{Node: n, Parents: p.Graph.Parents(id), Children: p.Graph.Children(id), Sums: p.Checksums(n)}
		if n.Test != nil {
			spec := *n.Test
			spec.Attached = nil
			b, _ := json.Marshal(spec)
			v.TestSpec = string(b)
		}
		if a := n.Attached(); a != nil {
			v.Attached = a.UniqueID
		}
		nodes[id] = v
	}
	b, err := json.MarshalIndent(map[string]any{"target": p.Target, "threads": p.Threads, "vars": p.Vars, "nodes": nodes}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func snapPath(dir string) string { return filepath.Join(dir, "target", project.SnapshotFile) }

func loadCached(t *testing.T, c loadCase, dir string) (*project.Project, project.LoadStatus) {
	t.Helper()
	p, st, err := project.LoadCached(c.options(dir), projecttest.Adapters(), snapPath(dir))
	if err != nil {
		t.Fatalf("LoadCached: %v", err)
	}
	return p, st
}

func loadFull(t *testing.T, c loadCase, dir string) *project.Project {
	t.Helper()
	p, err := project.Load(c.options(dir), projecttest.Adapters())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func TestSnapshotUnchanged(t *testing.T) {
	dir := writeSnapProject(t, snapFiles)
	c := loadCase{env: map[string]string{"REGION": "eu"}}
	first, st := loadCached(t, c, dir)
	if st != project.LoadedFull {
		t.Fatalf("first load: status %v, want a full load", st)
	}
	second, st := loadCached(t, c, dir)
	if st != project.LoadedSnapshot {
		t.Fatalf("second load of an unchanged project: status %v, want the snapshot", st)
	}
	if got, want := view(t, second), view(t, first); got != want {
		t.Errorf("the snapshot's project differs from the load it was taken from:\n%s", diffLines(want, got))
	}
	if n, ok := second.Lookup("mart"); !ok || !strings.Contains(n.Compiled, "id * 2") || n.Config.Materialized != "table" {
		t.Errorf("mart from the snapshot: %+v", n)
	}
	src, err := os.ReadFile(snapPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(src, []byte(secretValue)) {
		t.Errorf("the snapshot holds the value of SNOWFLAKE_PASSWORD")
	}
}

// Each change must reach the next load exactly as a full load sees it.
func TestSnapshotNoticesChanges(t *testing.T) {
	base := loadCase{env: map[string]string{"REGION": "eu"}}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string) // edit the files
		after  loadCase                       // how the next load is made
		want   project.LoadStatus             // how it is made
	}{
		// Same size and modification time as before (a coarse clock):
		// only the content tells.
		{name: "model edit", want: project.LoadedPartial,
			change: keepMTime("models/stg.sql", "select 2 as id, '{{ var \"greeting\" }}' as g, '{{ env_var \"REGION\" \"none\" }}' as region\n")},
		{name: "model refs change", want: project.LoadedPartial, change: write("models/mart.sql", "{{ config \"materialized\" \"table\" }}select id from {{ ref \"stg\" }}\n")},
		{name: "ephemeral model edit", want: project.LoadedPartial,
			change: write("models/eph.sql", "{{ config \"materialized\" \"ephemeral\" }}select 2 as x\n")},
		{name: "model config change", change: write("models/mart.sql", "{{ config \"materialized\" \"view\" }}select id from {{ ref \"stg\" }}\n")},
		{name: "model refs a disabled model", change: func(t *testing.T, dir string) {
			write("models/off.sql", "{{ config \"enabled\" false }}select 1 as id\n")(t, dir)
			loadCached(t, loadCase{env: map[string]string{"REGION": "eu"}}, dir)
			write("models/mart.sql", "select id from {{ ref \"off\" }}\n")(t, dir)
		}, want: -1},
		{name: "model reads another variable", want: project.LoadedPartial,
			change: write("models/uses_eph.sql", "select x, '{{ env_var \"ZONE\" \"z\" }}' as zone from {{ ref \"eph\" }}\n")},
		{name: "property file", change: write("models/props.yml", "models:\n  - name: mart\n    description: the MART\n    columns:\n      - name: id\n        tests: [unique, not_null]\n")},
		{name: "macro", change: write("macros/twice.sql", "{{ define \"twice\" }}{{ . }} * 3{{ end }}\n")},
		{name: "seed header", change: write("seeds/codes.csv", "id,kode\n1,a\n")},
		{name: "file added", change: write("models/extra.sql", "select 3 as id\n")},
		{name: "file deleted", change: remove("tests/no_negative.sql")},
		{name: "project.yaml", change: write("project.yaml", strings.Replace(snapFiles["project.yaml"], "hello", "howdy", 1))},
		{name: "env_var value", after: loadCase{env: map[string]string{"REGION": "us"}}},
		{name: "env_var unset", after: loadCase{}},
		{name: "vars", after: loadCase{env: base.env, opts: config.Options{Vars: map[string]any{"greeting": "hi"}}}},
		{name: "target", after: loadCase{env: base.env, opts: config.Options{Target: "prod"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeSnapProject(t, snapFiles)
			loadCached(t, base, dir)
			if tc.change != nil {
				tc.change(t, dir)
			}
			after := tc.after
			if after.env == nil && after.opts.Vars == nil && after.opts.Target == "" && tc.change != nil {
				after = base
			}
			if tc.want < 0 { // a load with a problem: the same error as Load's
				_, _, err := project.LoadCached(after.options(dir), projecttest.Adapters(), snapPath(dir))
				_, want := project.Load(after.options(dir), projecttest.Adapters())
				if err == nil || want == nil || err.Error() != want.Error() {
					t.Errorf("LoadCached: %v\nLoad: %v", err, want)
				}
				return
			}
			got, st := loadCached(t, after, dir)
			if st != tc.want {
				t.Errorf("status %v after the change, want %v", st, tc.want)
			}
			if g, w := view(t, got), view(t, loadFull(t, after, dir)); g != w {
				t.Errorf("after the change, LoadCached differs from Load:\n%s", diffLines(w, g))
			}
			// And the snapshot written now serves the next load.
			again, st := loadCached(t, after, dir)
			if st != project.LoadedSnapshot {
				t.Errorf("status %v on the load after, want the snapshot", st)
			}
			if g, w := view(t, again), view(t, got); g != w {
				t.Errorf("the new snapshot differs from its load:\n%s", diffLines(w, g))
			}
		})
	}
}

// A variable a re-rendered model reads for the first time is in the
// fingerprint from then on.
func TestSnapshotPartialRecordsVariables(t *testing.T) {
	dir := writeSnapProject(t, snapFiles)
	c := loadCase{env: map[string]string{"REGION": "eu", "ZONE": "a"}}
	loadCached(t, c, dir)
	write("models/uses_eph.sql", "select x, '{{ env_var \"ZONE\" \"z\" }}' as zone from {{ ref \"eph\" }}\n")(t, dir)
	if _, st := loadCached(t, c, dir); st != project.LoadedPartial {
		t.Fatalf("status %v, want a partial load", st)
	}
	c.env["ZONE"] = "b"
	p, st := loadCached(t, c, dir)
	if st != project.LoadedFull {
		t.Errorf("ZONE changed: status %v, want a full load", st)
	}
	if n, _ := p.Lookup("uses_eph"); !strings.Contains(n.Compiled, "'b' as zone") {
		t.Errorf("uses_eph compiled to %q, want ZONE's new value", n.Compiled)
	}
}

func TestSnapshotCorrupt(t *testing.T) {
	dir := writeSnapProject(t, snapFiles)
	c := loadCase{}
	want := view(t, loadFull(t, c, dir))
	for _, junk := range []string{"", "not a snapshot", "\x00\x01\x02garbage"} {
		projecttest.WriteFile(t, snapPath(dir), junk)
		p, st := loadCached(t, c, dir)
		if st != project.LoadedFull {
			t.Errorf("corrupt snapshot %q: status %v, want a full load", junk, st)
		}
		if got := view(t, p); got != want {
			t.Errorf("corrupt snapshot %q: the load differs:\n%s", junk, diffLines(want, got))
		}
		if _, st := loadCached(t, c, dir); st != project.LoadedSnapshot {
			t.Errorf("corrupt snapshot %q was not rewritten: status %v", junk, st)
		}
	}
}

// A load with problems leaves no snapshot, and reports them as Load does.
func TestSnapshotNotWrittenOnErrors(t *testing.T) {
	files := map[string]string{}
	for k, v := range snapFiles {
		files[k] = v
	}
	files["models/bad.sql"] = "select * from {{ ref \"nowhere\" }}\n"
	dir := writeSnapProject(t, files)
	if _, _, err := project.LoadCached(loadCase{}.options(dir), projecttest.Adapters(), snapPath(dir)); err == nil || !strings.Contains(err.Error(), "unknown ref") {
		t.Fatalf("err = %v, want the unknown ref", err)
	}
	if _, err := os.Stat(snapPath(dir)); !os.IsNotExist(err) {
		t.Errorf("a failed load wrote a snapshot (stat: %v)", err)
	}
}

func write(rel, data string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { projecttest.WriteFile(t, filepath.Join(dir, rel), data) }
}

// keepMTime writes rel with the modification time it had.
func keepMTime(rel, data string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		abs := filepath.Join(dir, rel)
		fi, err := os.Stat(abs)
		if err != nil {
			t.Fatal(err)
		}
		projecttest.WriteFile(t, abs, data)
		if err := os.Chtimes(abs, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
}

func remove(rel string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Remove(filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
}

// diffLines lists the lines of got that want lacks and the other way round.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	in := func(lines []string) map[string]int {
		m := map[string]int{}
		for _, l := range lines {
			m[l]++
		}
		return m
	}
	wm, gm := in(w), in(g)
	var b strings.Builder
	for _, l := range w {
		if gm[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if wm[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// Files stamped within the racy window are hashed on every load; once they
// have aged, the next load writes the snapshot again without the hashes,
// and the one after leaves it alone.
func TestSnapshotRewrittenOnceFreshFilesAge(t *testing.T) {
	t.Parallel()
	dir := writeSnapProject(t, snapFiles)
	c := loadCase{env: map[string]string{"REGION": "eu"}}
	if _, st := loadCached(t, c, dir); st != project.LoadedFull {
		t.Fatalf("first load: status %v, want a full load", st)
	}
	first, err := os.ReadFile(snapPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // the racy window, 2 s, must pass in earnest
	if _, st := loadCached(t, c, dir); st != project.LoadedSnapshot {
		t.Fatalf("second load: status %v, want the snapshot", st)
	}
	second, err := os.ReadFile(snapPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first, second) {
		t.Fatal("the snapshot was not written again once its files had aged")
	}
	info, err := os.Stat(snapPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, st := loadCached(t, c, dir); st != project.LoadedSnapshot {
		t.Fatalf("third load: status %v, want the snapshot", st)
	}
	if again, err := os.Stat(snapPath(dir)); err != nil || !again.ModTime().Equal(info.ModTime()) {
		t.Errorf("the snapshot was written again on a load with nothing to refresh (%v)", err)
	}
}
