// Package benchkit holds the measurements shared by the Go benchmarks
// (engine/run/bench_test.go) and the bench command (cmd/quarry-bench): a build as
// `quarry build` does it, the same DDL run directly against DuckDB, and the
// process's peak memory.
package benchkit

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/internal/targets"
)

// SlowBody is a model column that costs ~200 ms of CPU in one DuckDB thread
// (on a 2.6 GHz EPYC): the parallel benchmarks build many models of it.
const SlowBody = "(select sum(hash(i)) from range(25000000) t(i))"

// Adapters wires the warehouses the way cmd/quarry does.
func Adapters() map[string]config.Adapter { return targets.Adapters() }

// noEnv keeps QUARRY_TARGET, QUARRY_THREADS and the like in the caller's
// environment from changing what is measured.
func noEnv(string) (string, bool) { return "", false }

// Load loads and compiles the project in dir.
func Load(dir string, threads int) (*project.Project, error) {
	return project.Load(config.Options{Dir: dir, Threads: threads, Env: noEnv}, Adapters())
}

// BuildTiming is how long a build took, whole and its Execute part.
type BuildTiming struct {
	Total   time.Duration // load to close, as `quarry build` spends it
	Execute time.Duration // run.Execute alone
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
	ids, _, err := selector.Select(p, nil, nil)
	if err != nil {
		return t, err
	}
	if err := artifacts.WriteManifest(p, artifacts.Invocation{Command: "build", At: start}); err != nil {
		return t, err
	}
	wh, err := Adapters()[p.Target.Type].Open(ctx, p.Dir, p.Target, p.Threads, noEnv)
	if err != nil {
		return t, err
	}
	exec := time.Now()
	res := run.Execute(ctx, p, wh, ids, run.Options{Threads: p.Threads, WriteCompiled: true})
	t.Execute = time.Since(exec)
	if err := artifacts.WriteRunResults(p, artifacts.Invocation{Command: "build", At: time.Now()}, map[string]any{"threads": p.Threads}, res); err != nil {
		wh.Close()
		return t, err
	}
	if err := wh.Close(); err != nil {
		return t, err
	}
	t.Total = time.Since(start)
	return t, Failed(res)
}

// Failed returns the first node that errored, failed or was skipped, or
// nil when everything succeeded (or, for tests, passed or warned).
func Failed(res *run.Report) error {
	for _, r := range res.Results {
		switch r.Status {
		case run.StatusError, run.StatusFail, run.StatusSkipped:
			return fmt.Errorf("%s: %s %s", r.UniqueID, r.Status, r.Message)
		}
	}
	return nil
}

// DDL is what a build sends to DuckDB, without quarry.
type DDL struct {
	Schemas    []string // CREATE SCHEMA statements
	Statements []string // per model: CREATE OR REPLACE VIEW (ViewDDL), or CREATE TABLE and its count (TableDDL)
}

// ViewDDL returns the statements that building p's models as views
// executes, exactly as the DuckDB warehouse writes them. The views must not
// depend on each other: Direct runs them in any order.
func ViewDDL(p *project.Project) (DDL, error) {
	var d DDL
	var dialect duckdb.Dialect
	schemas := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(p.Nodes)) {
		n := p.Nodes[id]
		if n.Type != project.Model {
			continue
		}
		if len(n.DependsOn) > 0 {
			return d, fmt.Errorf("%s refs other models; ViewDDL needs independent views", n.Name)
		}
		if !schemas[n.Relation.Schema] {
			schemas[n.Relation.Schema] = true
			d.Schemas = append(d.Schemas, "CREATE SCHEMA IF NOT EXISTS "+dialect.QuoteIdent(n.Relation.Schema))
		}
		d.Statements = append(d.Statements, "CREATE OR REPLACE VIEW "+dialect.RelationSQL(n.Relation)+" AS\n"+n.Compiled+"\n")
	}
	return d, nil
}

// DirectTiming is how long the same DDL took without quarry.
type DirectTiming struct {
	Total      time.Duration // open to close, as Build's Total
	Statements time.Duration // the CREATE statements alone, as Build's Execute
}

// Direct opens the DuckDB database at dsn with the driver itself, creates
// the schemas, runs the statements on threads connections at once (in
// order when threads is 1, as TableDDL's need), and closes the database:
// what Build does, without quarry.
func Direct(ctx context.Context, dsn string, threads int, d DDL) (DirectTiming, error) {
	var t DirectTiming
	start := time.Now()
	connector, err := duckdbdriver.NewConnector(dsn, nil)
	if err != nil {
		return t, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return t, err
	}
	stmts := time.Now()
	for _, s := range d.Schemas {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return t, err
		}
	}
	next := make(chan string, len(d.Statements))
	for _, v := range d.Statements {
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
	t.Statements = time.Since(stmts)
	for _, err := range errs {
		if err != nil {
			return t, err
		}
	}
	if err := db.Close(); err != nil {
		return t, err
	}
	t.Total = time.Since(start)
	return t, nil
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

// CPUSample is the CPU time used by every process on the machine and by
// this one (with its finished children), at one moment.
type CPUSample struct {
	All, Self time.Duration
	At        time.Time
}

// SampleCPU reads /proc/stat and this process's resource usage.
func SampleCPU() CPUSample {
	c := CPUSample{At: time.Now()}
	// cpu  user nice system idle iowait irq softirq steal ..., in 1/100 s
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
		for i, v := range f[1:min(len(f), 9)] {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && i != 3 && i != 4 {
				c.All += time.Duration(n) * 10 * time.Millisecond
			}
		}
	}
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			c.Self += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return c
}

// OthersSince is how many cores other processes kept busy on average since
// prev: anything well above zero skews timings taken meanwhile.
func (c CPUSample) OthersSince(prev CPUSample) float64 {
	return max(0, float64(c.All-prev.All-(c.Self-prev.Self))/float64(c.At.Sub(prev.At)))
}

// TableDDL returns what building p's models as tables sends to DuckDB, as
// the DuckDB warehouse writes it: each CREATE OR REPLACE TABLE followed by
// the count of its rows, in an order where every model comes after the
// models it reads (Kahn's algorithm): run it on one thread.
func TableDDL(p *project.Project) (DDL, error) {
	var d DDL
	var dialect duckdb.Dialect
	schemas := map[string]bool{}
	waiting := map[string]int{}
	var ready []string
	for id, n := range p.Nodes {
		if n.Type != project.Model {
			continue
		}
		waiting[id] = len(n.DependsOn)
		if waiting[id] == 0 {
			ready = append(ready, id)
		}
	}
	slices.Sort(ready)
	for len(ready) > 0 {
		id := ready[0]
		ready = ready[1:]
		n := p.Nodes[id]
		if !schemas[n.Relation.Schema] {
			schemas[n.Relation.Schema] = true
			d.Schemas = append(d.Schemas, "CREATE SCHEMA IF NOT EXISTS "+dialect.QuoteIdent(n.Relation.Schema))
		}
		rel := dialect.RelationSQL(n.Relation)
		d.Statements = append(d.Statements, "CREATE OR REPLACE TABLE "+rel+" AS\n"+n.Compiled+"\n", "SELECT count(*) FROM "+rel)
		for _, c := range p.Graph.Children(id) {
			if _, ok := waiting[c]; ok {
				if waiting[c]--; waiting[c] == 0 {
					ready = append(ready, c)
				}
			}
		}
	}
	if len(d.Statements) != 2*len(waiting) {
		return d, fmt.Errorf("the models' refs form a loop")
	}
	return d, nil
}
