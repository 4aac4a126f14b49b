// Command quarry-bench measures quarry against its performance targets and prints
// the figures (BENCHMARKS.md explains them):
//
//  1. load: load + compile of a generated 10,000-model project, each run in
//     a fresh process so that its peak memory (VmHWM) is its own;
//  2. overhead: a build of 1,000 trivial views against the same CREATE VIEW
//     statements run directly on DuckDB with the same thread count;
//  3. parallel: a fan-out of slow table models with DuckDB pinned to one
//     thread per query, built with --threads 1, 2 and 4;
//  4. analyze (only when named): quarry compile of the 10,000-model project
//     with its SQL analysis, cold and warm after editing one model.
//
// Usage:
//
//	go run ./cmd/quarry-bench                    # everything, print only
//	go run ./cmd/quarry-bench -check             # exit 1 when a target is missed
//	go run ./cmd/quarry-bench -only load -models 10000 -runs 5
//	go run ./cmd/quarry-bench -only analyze -sizes 10000 -runs 3
//	go run ./cmd/quarry-bench -gen DIR -models 1000 -refs -1   # write a project and exit
//	go run ./cmd/quarry-bench -vs dbt -models 1000 -runs 3     # quarry vs dbt, side by side
//	go run ./cmd/quarry-bench -vs sqlmesh -models 1000         # quarry vs SQLMesh
//	go run ./cmd/quarry-bench -vs dbt -only parse -models 10000  # compile vs dbt parse, ls vs dbt ls
//	go run ./cmd/quarry-bench -gen DIR -vs dbt -models 1000 -materialized table   # the dbt project
//
// Generated projects and databases live in a temporary directory that is
// removed on exit.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	duckdbdriver "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/internal/benchkit"
	"github.com/quarrydev/quarry/internal/gen"
)

// The targets. Timings are judged on the median run, memory on the worst.
const (
	loadTarget     = time.Second
	memTarget      = 500 << 20
	overheadTarget = 2 * time.Millisecond // per node
	speedupTarget  = 1.8                  // threads=2 over threads=1, on 2 cores
)

var (
	models  = flag.Int("models", 10000, "models in the load+compile project")
	runs    = flag.Int("runs", 5, "runs of each measurement")
	views   = flag.Int("views", 1000, "trivial view models in the overhead build")
	fanout  = flag.Int("fanout", 16, "slow table models in the parallel build")
	body    = flag.String("body", benchkit.SlowBody, "SQL expression that makes each fan-out model slow")
	only    = flag.String("only", "", "run one measurement: load, overhead, parallel, scale, analyze, docs or warm (scale, analyze, docs and warm run only when named); with -vs dbt, parse: compile and ls vs dbt parse and dbt ls")
	check   = flag.Bool("check", false, "exit 1 when a target is missed")
	genDir  = flag.String("gen", "", "write a project (-models, -refs, -materialized, -body-sql, -path) into DIR and exit")
	refs    = flag.Int("refs", 0, "with -gen: most refs per model (0: 3, -1: none)")
	mat     = flag.String("materialized", "view", "with -gen: materialization of every model")
	bodySQL = flag.String("body-sql", "", "with -gen: extra column expression for every model")
	path    = flag.String("path", "", "with -gen: the target's DuckDB path (default generated.duckdb)")
	narrow  = flag.Bool("narrow", false, "with -gen: models read their refs through one aggregate row, so tables stay two rows")
	child   = flag.String("load-child", "", "internal: load the project in DIR once, print figures as JSON")
	vs      = flag.String("vs", "", "build the same generated tables with quarry and a peer (dbt or sqlmesh), whole processes, and compare (-models default 1000); with -gen, write the peer's project")

	pythonFlag = flag.String("python", "python3", "with -vs: the Python that makes the peer's virtualenv (once, in the user cache folder)")
)

func main() {
	flag.Parse()
	if *vs != "" && !flagSet("models") {
		*models = 1000
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if *check && missed > 0 {
		fmt.Printf("\n%d target(s) missed\n", missed)
		os.Exit(1)
	}
}

// flagSet reports whether the flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// missed counts the targets missed so far.
var missed int

func run() error {
	switch {
	case *child != "":
		return loadOnce(*child)
	case *genDir != "" && *vs != "":
		return writePeerProject(*genDir, *vs)
	case *genDir != "":
		return gen.Project(*genDir, gen.Options{Models: *models, Seed: 1, Refs: *refs, Materialized: *mat, Body: *bodySQL, Path: *path, Narrow: *narrow})
	}
	tmp, err := os.MkdirTemp("", "quarry-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	printMachine()
	if *vs == "dbt" && *only == "parse" {
		before := benchkit.SampleCPU()
		defer printOthers(before)
		return measureParse(filepath.Join(tmp, "parse"))
	}
	if *vs != "" {
		return measurePeers(filepath.Join(tmp, "peers"), *vs)
	}
	steps := []struct {
		name string
		fn   func(tmp string) error
	}{{"load", measureLoad}, {"overhead", measureOverhead}, {"parallel", measureParallel}, {"scale", measureScale}, {"analyze", measureAnalyze}, {"docs", measureDocs}, {"warm", measureWarm}}
	for _, s := range steps {
		// scale builds thousands of tables several times, and analyze
		// and warm compile 10,000 models many times: only when asked.
		if *only != s.name && (*only != "" || s.name == "scale" || s.name == "analyze" || s.name == "docs" || s.name == "warm") {
			continue
		}
		fmt.Println()
		before := benchkit.SampleCPU()
		if err := s.fn(filepath.Join(tmp, s.name)); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		printOthers(before)
	}
	return nil
}

// printOthers says how busy other processes kept the CPUs since before,
// and that the figures are skewed when they did.
func printOthers(before benchkit.CPUSample) {
	others := benchkit.SampleCPU().OthersSince(before)
	fmt.Printf("   [other processes kept %.2f cores busy meanwhile", others)
	if others > 0.2 {
		fmt.Print(": the machine was not idle, these figures are skewed")
	}
	fmt.Println("]")
}

// buildQuarry builds the quarry command of this checkout into dir.
func buildQuarry(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	quarry := filepath.Join(dir, "quarry")
	if out, err := exec.Command("go", "build", "-o", quarry, "github.com/quarrydev/quarry/cmd/quarry").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build quarry: %w\n%s", err, out)
	}
	return quarry, nil
}

func printMachine() {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	version := "?"
	if c, err := duckdbdriver.NewConnector("", nil); err == nil {
		db := sql.OpenDB(c)
		_ = db.QueryRow("select version()").Scan(&version)
		db.Close()
	}
	fmt.Printf("machine: %d CPUs (%s), GOMAXPROCS %d, %s %s/%s, DuckDB %s\n",
		runtime.NumCPU(), cpu, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, version)
}

// verdict prints PASS or MISS and counts misses.
func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	missed++
	return "MISS"
}

// spread is the best, median and worst of some durations.
type spread struct{ best, median, worst time.Duration }

func spreadOf(ds []time.Duration) spread {
	s := slices.Clone(ds)
	slices.Sort(s)
	return spread{s[0], s[len(s)/2], s[len(s)-1]}
}

func (s spread) String() string {
	return fmt.Sprintf("best %s  median %s  worst %s", ms(s.best), ms(s.median), ms(s.worst))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func ms3(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// loadFigures is what one load child reports.
type loadFigures struct {
	Nodes      int   `json:"nodes"`
	LoadNS     int64 `json:"load_ns"`
	PeakRSS    int64 `json:"peak_rss"`    // VmHWM after loading
	Sys        int64 `json:"sys"`         // runtime.MemStats.Sys: all memory the Go runtime got from the OS
	HeapInuse  int64 `json:"heap_inuse"`  // live heap spans after loading
	TotalAlloc int64 `json:"total_alloc"` // bytes allocated while loading, cumulatively
	NumGC      int64 `json:"num_gc"`
}

// loadOnce is the child: one load in a fresh process.
func loadOnce(dir string) error {
	start := time.Now()
	p, err := benchkit.Load(dir, 0)
	if err != nil {
		return err
	}
	f := loadFigures{Nodes: len(p.Nodes), LoadNS: int64(time.Since(start))}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	f.Sys, f.HeapInuse, f.TotalAlloc, f.NumGC = int64(m.Sys), int64(m.HeapInuse), int64(m.TotalAlloc), int64(m.NumGC)
	if f.PeakRSS, err = benchkit.PeakRSS(); err != nil {
		return err
	}
	runtime.KeepAlive(p)
	return json.NewEncoder(os.Stdout).Encode(f)
}

func measureLoad(dir string) error {
	if err := gen.Project(dir, gen.Options{Models: *models, Seed: 1}); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("1. load + compile, %d models (1-3 refs each, a property file per 10), %d fresh processes\n", *models, *runs)
	var loads, procs []time.Duration
	var rss []int64
	var last loadFigures
	for range *runs {
		start := time.Now()
		out, err := exec.Command(self, "-load-child", dir).Output()
		if err != nil {
			return fmt.Errorf("load child: %w", err)
		}
		procs = append(procs, time.Since(start))
		if err := json.Unmarshal(out, &last); err != nil {
			return err
		}
		if last.Nodes != *models {
			return fmt.Errorf("loaded %d nodes, want %d", last.Nodes, *models)
		}
		loads = append(loads, time.Duration(last.LoadNS))
		rss = append(rss, last.PeakRSS)
	}
	s := spreadOf(loads)
	peak := slices.Max(rss)
	fmt.Printf("   load+compile    %s   target <= %s  %s\n", s, ms(loadTarget), verdict(s.median <= loadTarget))
	fmt.Printf("   whole process   %s   (exec to exit, for context)\n", spreadOf(procs))
	fmt.Printf("   peak RSS        best %s  worst %s   target < %s  %s\n", mb(slices.Min(rss)), mb(peak), mb(memTarget), verdict(peak < memTarget))
	fmt.Printf("   Go runtime      Sys %s, HeapInuse %s, allocated %s in %d GCs (last run)\n",
		mb(last.Sys), mb(last.HeapInuse), mb(last.TotalAlloc), last.NumGC)
	return nil
}

func measureOverhead(dir string) error {
	ctx := context.Background()
	fmt.Printf("2. build overhead, %d trivial views: quarry build vs the same CREATE VIEWs run directly on DuckDB\n", *views)
	fmt.Printf("   with as many connections, %d runs; each run builds into a fresh project and database, then rebuilds\n", *runs)
	for _, threads := range []int{1, 4} {
		// by phase ("build", "rebuild"), the per-run durations of each side
		quarry := map[string][]time.Duration{}
		direct := map[string][]time.Duration{}
		var execs, stmts []time.Duration
		for i := range *runs {
			q := filepath.Join(dir, fmt.Sprintf("t%d-%d", threads, i))
			if err := gen.Project(q, gen.Options{Models: *views, Seed: 1, Refs: -1}); err != nil {
				return err
			}
			p, err := benchkit.Load(q, threads)
			if err != nil {
				return err
			}
			ddl, err := benchkit.ViewDDL(p)
			if err != nil {
				return err
			}
			for _, phase := range []string{"build", "rebuild"} {
				// Alternate, so that drift in the machine hits both sides.
				d, err := benchkit.Direct(ctx, q+"-direct.duckdb", threads, ddl)
				if err != nil {
					return err
				}
				b, err := benchkit.Build(ctx, q, threads)
				if err != nil {
					return err
				}
				quarry[phase], direct[phase] = append(quarry[phase], b.Total), append(direct[phase], d.Total)
				if phase == "build" {
					execs, stmts = append(execs, b.Execute), append(stmts, d.Statements)
				}
			}
		}
		// perNode is the spread of (quarry - direct) / views over paired runs.
		perNode := func(q, d []time.Duration) spread {
			over := make([]time.Duration, len(q))
			for i := range q {
				over[i] = (q[i] - d[i]) / time.Duration(*views)
			}
			return spreadOf(over)
		}
		fmt.Printf("   threads=%d\n", threads)
		for _, phase := range []string{"build", "rebuild"} {
			o := perNode(quarry[phase], direct[phase])
			fmt.Printf("     %-7s quarry %s\n", phase, spreadOf(quarry[phase]))
			fmt.Printf("             direct %s\n", spreadOf(direct[phase]))
			fmt.Printf("             overhead per node  best %s  median %s  worst %s   target <= %s  %s\n",
				ms3(o.best), ms3(o.median), ms3(o.worst), ms(overheadTarget), verdict(o.median <= overheadTarget))
		}
		e := perNode(execs, stmts)
		fmt.Printf("     Execute alone vs the statements alone (first build): median %s per node\n", ms3(e.median))
	}
	return nil
}

func measureParallel(dir string) error {
	ctx := context.Background()
	fmt.Printf("3. parallel speedup, %d independent table models each computing %s,\n   DuckDB pinned to 1 thread per query (?threads=1), Execute time, %d runs\n", *fanout, *body, *runs)
	medians := map[int]time.Duration{}
	for _, threads := range []int{1, 2, 4} {
		var execs []time.Duration
		var cores, others []float64
		for i := range *runs {
			q := filepath.Join(dir, fmt.Sprintf("t%d-%d", threads, i))
			o := gen.Options{Models: *fanout, Seed: 1, Refs: -1, Materialized: "table", Body: *body, Path: "generated.duckdb?threads=1"}
			if err := gen.Project(q, o); err != nil {
				return err
			}
			before := benchkit.SampleCPU()
			b, err := benchkit.Build(ctx, q, threads)
			if err != nil {
				return err
			}
			after := benchkit.SampleCPU()
			execs = append(execs, b.Execute)
			cores = append(cores, float64(after.Self-before.Self)/float64(after.At.Sub(before.At)))
			others = append(others, after.OthersSince(before))
		}
		slices.Sort(cores)
		slices.Sort(others)
		s := spreadOf(execs)
		medians[threads] = s.median
		line := fmt.Sprintf("   threads=%d  %s", threads, s)
		switch threads {
		case 1:
			line += fmt.Sprintf("   (%s per model)", ms(s.median/time.Duration(*fanout)))
		case 2:
			x := float64(medians[1]) / float64(s.median)
			line += fmt.Sprintf("   speedup %.2fx  target >= %.1fx  %s", x, speedupTarget, verdict(x >= speedupTarget))
		default:
			x := float64(medians[1]) / float64(s.median)
			line += fmt.Sprintf("   speedup %.2fx  (no target: %d cores, so at most ~%dx)", x, runtime.NumCPU(), runtime.NumCPU())
		}
		fmt.Printf("%s\n              cores busy (CPU time / wall, medians): quarry and DuckDB %.2f, other processes %.2f\n",
			line, cores[len(cores)/2], others[len(others)/2])
	}
	return nil
}
