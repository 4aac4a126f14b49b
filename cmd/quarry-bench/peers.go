package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quarrydev/quarry/internal/benchkit"
	"github.com/quarrydev/quarry/internal/gen"
)

// peerThreads is the thread count every tool builds with: one per core of
// the 2-core machine BENCHMARKS.md is measured on.
const peerThreads = 2

// peerDuckDB is the DuckDB quarry links (go.mod's duckdb-go v2.10506.0):
// the peers install the same release, so that all run the same engine.
// measurePeers checks it against both sides before it measures.
const peerDuckDB = "1.5.6"

// A peer is another SQL build tool that quarry is measured against.
type peer struct {
	name string
	// requirements are pip's arguments, pinned. dbt-core stays on 1.11:
	// 1.12 depends on dbt-core-experimental-parser, whose build downloads
	// a wheel and so fails offline.
	requirements []string
	// write generates the project in the peer's syntax.
	write func(dir string, o gen.Options) error
	// command is the build, run in the project's directory.
	command func(venv string) []string
	// env quiets the peer's telemetry and update checks.
	env []string
}

var peers = map[string]peer{
	"dbt": {
		name:         "dbt",
		requirements: []string{"dbt-core==1.11.16", "dbt-duckdb==1.11.1", "duckdb==" + peerDuckDB},
		write:        gen.DBTProject,
		command: func(venv string) []string {
			return []string{filepath.Join(venv, "bin", "dbt"), "build", "--threads", fmt.Sprint(peerThreads),
				"--project-dir", ".", "--profiles-dir", "."}
		},
		env: []string{"DBT_SEND_ANONYMOUS_USAGE_STATS=false", "DBT_VERSION_CHECK=false", "DO_NOT_TRACK=1"},
	},
	"sqlmesh": {
		name:         "sqlmesh",
		requirements: []string{"sqlmesh==0.236.4", "duckdb==" + peerDuckDB},
		write:        gen.SQLMeshProject,
		command: func(venv string) []string {
			// Its threads are concurrent_tasks in the generated config.yaml.
			return []string{filepath.Join(venv, "bin", "sqlmesh"), "plan", "--auto-apply", "--no-prompts"}
		},
		env: []string{"SQLMESH__DISABLE_ANONYMIZED_ANALYTICS=1", "DO_NOT_TRACK=1"},
	},
}

// peerProjectOptions is the project both sides build: -models tables,
// each selecting from one to three earlier ones.
func peerProjectOptions() gen.Options {
	return gen.Options{Models: *models, Seed: 1, Materialized: "table", Narrow: true, Threads: peerThreads}
}

// writePeerProject is -gen with -vs: write the peer's project and exit.
func writePeerProject(dir, name string) error {
	p, ok := peers[name]
	if !ok {
		return fmt.Errorf("-vs %q: want dbt or sqlmesh", name)
	}
	o := peerProjectOptions()
	o.Refs, o.Materialized, o.Body, o.Path = *refs, *mat, *bodySQL, *path
	return p.write(dir, o)
}

// measurePeers builds the same generated project with quarry and with the
// peer, each as a whole process, alternating which goes first, and checks
// that both built the same rows.
func measurePeers(dir, name string) error {
	p, ok := peers[name]
	if !ok {
		return fmt.Errorf("-vs %q: want dbt or sqlmesh", name)
	}
	if v := linkedDuckDB(); v != peerDuckDB {
		return fmt.Errorf("quarry links DuckDB %s but the peers are pinned to %s: update peerDuckDB", v, peerDuckDB)
	}
	venv, err := peerVenv(p)
	if err != nil {
		return fmt.Errorf("%s: %w (a peer that cannot install offline is not measured)", name, err)
	}
	quarry, err := buildQuarry(dir)
	if err != nil {
		return err
	}
	quarryCmd := []string{quarry, "build", "--threads", fmt.Sprint(peerThreads), "--target", "dev"}
	o := peerProjectOptions()
	fmt.Printf("\nquarry vs %s: build %d tables (each selecting from 1-3 earlier ones), threads %d,\n", name, *models, peerThreads)
	fmt.Printf("   whole processes, alternating which goes first, each run into a fresh project and database, %d runs\n", *runs)
	fmt.Printf("   %-8s quarry %s  (this checkout)\n", "quarry:", strings.Join(quarryCmd[1:], " "))
	fmt.Printf("   %-8s %s %s  (%s)\n", name+":", name, strings.Join(p.command(venv)[1:], " "), strings.Join(p.requirements, " "))
	before := benchkit.SampleCPU()
	var qs, ps []time.Duration
	for i := range *runs {
		qdir, pdir := filepath.Join(dir, fmt.Sprintf("quarry-%d", i)), filepath.Join(dir, fmt.Sprintf("%s-%d", name, i))
		if err := gen.Project(qdir, o); err != nil {
			return err
		}
		if err := p.write(pdir, o); err != nil {
			return err
		}
		runQuarry := func() error {
			d, err := timeProcess(qdir, quarryCmd, nil)
			qs = append(qs, d)
			return err
		}
		runPeer := func() error {
			d, err := timeProcess(pdir, p.command(venv), p.env)
			ps = append(ps, d)
			return err
		}
		first, second := runQuarry, runPeer
		if i%2 == 1 {
			first, second = runPeer, runQuarry
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		if err := sameRows(filepath.Join(qdir, "generated.duckdb"), filepath.Join(pdir, "generated.duckdb"), *models); err != nil {
			return fmt.Errorf("run %d: quarry and %s built different rows: %w", i+1, name, err)
		}
	}
	q, s := spreadOf(qs), spreadOf(ps)
	fmt.Printf("   %-8s %s\n", "quarry", q)
	fmt.Printf("   %-8s %s\n", name, s)
	fmt.Printf("   ratio of medians: %s takes %.1fx quarry's time; both built the same %d tables, rows and sums\n",
		name, float64(s.median)/float64(q.median), *models)
	printOthers(before)
	return nil
}

// timeProcess runs argv in dir and times it, exec to exit. On failure the
// error carries the end of the process's output.
func timeProcess(dir string, argv, env []string) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		tail := out.String()
		if len(tail) > 4000 {
			tail = "…" + tail[len(tail)-4000:]
		}
		return d, fmt.Errorf("%s in %s: %w\n%s", filepath.Base(argv[0]), dir, err, tail)
	}
	return d, nil
}

// peerVenv returns a virtualenv holding exactly p's requirements, in the
// user's cache folder (XDG_CACHE_HOME or ~/.cache on Linux), made and
// pip-installed on first use. A file in it records what was installed, so
// later runs reuse it without asking pip.
func peerVenv(p peer) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(cache, "quarry-bench", "peers", p.name)
	stamp := filepath.Join(venv, "quarry-bench-requirements.txt")
	want := strings.Join(p.requirements, "\n") + "\n"
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return venv, nil
	}
	python := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(python); err != nil {
		fmt.Fprintf(os.Stderr, "bench: making a virtualenv in %s\n", venv)
		if err := verbose(exec.Command(*pythonFlag, "-m", "venv", venv)); err != nil {
			return "", fmt.Errorf("make virtualenv with %s: %w", *pythonFlag, err)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: pip install %s (once; later runs reuse %s)\n", strings.Join(p.requirements, " "), venv)
	if err := verbose(exec.Command(python, append([]string{"-m", "pip", "install", "--quiet"}, p.requirements...)...)); err != nil {
		return "", fmt.Errorf("pip install: %w", err)
	}
	check := "import duckdb, sys; sys.exit(0 if duckdb.__version__ == '" + peerDuckDB + "' else 'duckdb ' + duckdb.__version__ + ', want " + peerDuckDB + "')"
	if err := verbose(exec.Command(python, "-c", check)); err != nil {
		return "", fmt.Errorf("the virtualenv's DuckDB: %w", err)
	}
	return venv, os.WriteFile(stamp, []byte(want), 0o644)
}

// verbose runs cmd with its output on stderr, for the one-off installs.
func verbose(cmd *exec.Cmd) error {
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// linkedDuckDB is the DuckDB release quarry links, e.g. "1.5.6".
func linkedDuckDB() string {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("select version()").Scan(&v); err != nil {
		return "?"
	}
	return strings.TrimPrefix(v, "v")
}

// tableFigures is what sameRows compares per generated model.
type tableFigures struct{ rows, ids, values int64 }

// figures reads, for every generated model in the DuckDB file at path, its
// row count and the sums of its id and value columns, keyed by model name:
// quarry, dbt and SQLMesh each put the models in schemas of their own
// (SQLMesh's published views over its sqlmesh__ tables).
func figures(path string) (map[string]tableFigures, error) {
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`select table_schema, table_name from information_schema.tables
		where table_name like 'model\_%' escape '\' and table_schema not like 'sqlmesh%'`)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", path, err)
	}
	var rels [][2]string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			return nil, err
		}
		rels = append(rels, [2]string{schema, name})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	out := make(map[string]tableFigures, len(rels))
	for _, r := range rels {
		if _, dup := out[r[1]]; dup {
			return nil, fmt.Errorf("%s: %s is in more than one schema", path, r[1])
		}
		var f tableFigures
		q := fmt.Sprintf(`select count(*), coalesce(sum(id), 0), coalesce(sum(value), 0) from %q.%q`, r[0], r[1])
		if err := db.QueryRow(q).Scan(&f.rows, &f.ids, &f.values); err != nil {
			return nil, fmt.Errorf("%s: %s.%s: %w", path, r[0], r[1], err)
		}
		out[r[1]] = f
	}
	return out, nil
}

// sameRows fails unless both DuckDB files hold the same n generated
// models with the same row counts and sums.
func sameRows(a, b string, n int) error {
	fa, err := figures(a)
	if err != nil {
		return err
	}
	fb, err := figures(b)
	if err != nil {
		return err
	}
	if len(fa) != n || len(fb) != n {
		return fmt.Errorf("%d and %d models built, want %d", len(fa), len(fb), n)
	}
	var diffs []string
	for name, f := range fa {
		if g, ok := fb[name]; !ok || g != f {
			diffs = append(diffs, fmt.Sprintf("%s: %+v vs %+v", name, f, g))
		}
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("%d models differ, e.g. %s", len(diffs), diffs[0])
	}
	return nil
}
