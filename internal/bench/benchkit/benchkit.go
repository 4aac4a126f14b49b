// Package benchkit holds the measurements shared by the Go benchmarks
// (engine/bench_test.go) and the bench command (internal/bench): a build as
// `quarry build` does it, the same DDL run directly against DuckDB, and the
// process's peak memory.
package benchkit

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
)

// Adapters wires the DuckDB warehouse the way cmd/quarry does, with the
// target's path taken relative to the project.
func Adapters() map[string]engine.Adapter {
	return map[string]engine.Adapter{
		"duckdb": {
			Dialect: duckdb.Dialect{},
			Open: func(ctx context.Context, dir string, t engine.Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error) {
				path := t.Setting("path", env)
				if path != ":memory:" && !filepath.IsAbs(path) {
					path = filepath.Join(dir, path)
				}
				return duckdb.Open(ctx, path, threads)
			},
		},
	}
}

// noEnv keeps QUARRY_TARGET, QUARRY_THREADS and the like in the caller's
// environment from changing what is measured.
func noEnv(string) (string, bool) { return "", false }

// Load loads and compiles the project in dir.
func Load(dir string, threads int) (*engine.Project, error) {
	return engine.Load(engine.Options{Dir: dir, Threads: threads, Env: noEnv}, Adapters())
}

// BuildTiming is how long a build took, whole and its Execute part.
type BuildTiming struct {
	Total   time.Duration // load to close, as `quarry build` spends it
	Execute time.Duration // Project.Execute alone
}

// Build does what `quarry build --threads N` does (cmd/quarry/execute.go),
// minus printing progress to a terminal: load and compile, select every
// node, write target/manifest.json, open the warehouse, execute writing
// target/compiled/, write target/run_results.json and close (which
// checkpoints DuckDB's WAL). Any failed node is an error.
func Build(ctx context.Context, dir string, threads int) (BuildTiming, error) {
	var t BuildTiming
	start := time.Now()
	p, err := Load(dir, threads)
	if err != nil {
		return t, err
	}
	ids, _, err := p.Select(nil, nil)
	if err != nil {
		return t, err
	}
	if err := p.WriteManifest("build", start); err != nil {
		return t, err
	}
	wh, err := Adapters()[p.Target.Type].Open(ctx, p.Dir, p.Target, p.Threads, noEnv)
	if err != nil {
		return t, err
	}
	exec := time.Now()
	res := p.Execute(ctx, wh, ids, engine.RunOptions{Threads: p.Threads, Progress: io.Discard, WriteCompiled: true})
	t.Execute = time.Since(exec)
	if err := p.WriteRunResults("build", map[string]any{"threads": p.Threads}, res, time.Now()); err != nil {
		wh.Close()
		return t, err
	}
	if err := wh.Close(); err != nil {
		return t, err
	}
	t.Total = time.Since(start)
	return t, Failed(res)
}

// Failed returns the first failed node's message, or nil.
func Failed(res *engine.RunResult) error {
	for _, r := range res.Results {
		if r.Status != engine.StatusSuccess {
			return fmt.Errorf("%s: %s %s", r.UniqueID, r.Status, r.Message)
		}
	}
	return nil
}

// DDL is what a build of views sends to DuckDB, without quarry.
type DDL struct {
	Schemas []string // CREATE SCHEMA statements
	Views   []string // CREATE OR REPLACE VIEW statements, one per model
}

// ViewDDL returns the statements that building p's models as views
// executes, exactly as the DuckDB warehouse writes them. The views must not
// depend on each other: Direct runs them in any order.
func ViewDDL(p *engine.Project) (DDL, error) {
	var d DDL
	var dialect duckdb.Dialect
	schemas := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(p.Nodes)) {
		n := p.Nodes[id]
		if n.Type != engine.Model {
			continue
		}
		if len(n.DependsOn) > 0 {
			return d, fmt.Errorf("%s refs other models; ViewDDL needs independent views", n.Name)
		}
		if !schemas[n.Relation.Schema] {
			schemas[n.Relation.Schema] = true
			d.Schemas = append(d.Schemas, "CREATE SCHEMA IF NOT EXISTS "+dialect.QuoteIdent(n.Relation.Schema))
		}
		d.Views = append(d.Views, "CREATE OR REPLACE VIEW "+dialect.RelationSQL(n.Relation)+" AS\n"+n.Compiled+"\n")
	}
	return d, nil
}

// Direct opens the DuckDB database at dsn with the driver itself, creates
// the schemas, runs the views on threads connections at once, and closes
// the database, as Build does around Execute.
func Direct(ctx context.Context, dsn string, threads int, d DDL) (time.Duration, error) {
	start := time.Now()
	connector, err := duckdbdriver.NewConnector(dsn, nil)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(connector)
	for _, s := range d.Schemas {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return 0, err
		}
	}
	next := make(chan string, len(d.Views))
	for _, v := range d.Views {
		next <- v
	}
	close(next)
	var wg sync.WaitGroup
	errs := make([]error, threads)
	for w := range threads {
		wg.Go(func() {
			conn, err := db.Conn(ctx)
			if err != nil {
				errs[w] = err
				return
			}
			defer conn.Close()
			for stmt := range next {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		return 0, err
	}
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// PeakRSS returns the process's peak resident set size (VmHWM) in bytes.
func PeakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
