package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quarrydev/quarry/internal/benchkit"
	"github.com/quarrydev/quarry/internal/gen"
)

var (
	sizes        = flag.String("sizes", "1000,3000", "with -only scale: the numbers of tables built; with -only analyze: of models (default -models) (comma-separated)")
	scaleThreads = flag.Int("scale-threads", 2, "with -only scale: quarry build --threads")
)

// Targets of the scale measurement: quarry's own cost per table, whole
// process against the same DDL run directly, and how it grows.
const (
	maxScaleOverhead = 500 * time.Microsecond
	// linearSlack is how much more the overhead per table may be at the
	// largest size than at the smallest before it counts as growing with
	// the project: a quarter of it, or 0.1 ms, whichever is more (the runs'
	// own noise on this machine is about that).
	linearSlack = 4
	minSlack    = 100 * time.Microsecond
)

// measureScale builds generated projects of tables, each selecting from
// 1-3 earlier ones through one aggregate row (so every table holds two
// rows at any depth), with `quarry build` as a whole process, and the same
// DDL run directly in one DuckDB connection, one statement after the other,
// alternating. The overhead per table is the difference over the count.
func measureScale(dir string) error {
	ns, err := parseSizes("tables")
	if err != nil {
		return err
	}
	quarry, err := buildQuarry(dir)
	if err != nil {
		return err
	}
	fmt.Printf("scale: build N tables (1-3 refs each), quarry build --threads %d as a whole process vs the same DDL\n", *scaleThreads)
	fmt.Printf("   run directly in one DuckDB connection (CREATE TABLE, then count, as quarry does), %d runs each, alternating\n", *runs)
	var perTable []time.Duration
	for _, n := range ns {
		o, err := scaleOnce(dir, quarry, n)
		if err != nil {
			return fmt.Errorf("%d tables: %w", n, err)
		}
		perTable = append(perTable, o)
	}
	if len(perTable) > 1 {
		first, last := perTable[0], perTable[len(perTable)-1]
		slack := max(abs(first)/linearSlack, minSlack)
		fmt.Printf("   linear: overhead per table %s at %d tables, %s at %d (at most %s more allowed)  %s\n",
			ms3(first), ns[0], ms3(last), ns[len(ns)-1], ms3(slack), verdict(last <= first+slack))
	}
	return nil
}

// scaleOnce measures one size and returns quarry's median overhead per
// table.
func scaleOnce(dir, quarry string, n int) (time.Duration, error) {
	var qs, ds []time.Duration
	var cpu time.Duration
	var peak int64
	for r := range *runs {
		q := filepath.Join(dir, fmt.Sprintf("q%d-%d", n, r))
		if err := gen.Project(q, gen.Options{Models: n, Seed: 1, Materialized: "table", Narrow: true}); err != nil {
			return 0, err
		}
		p, err := benchkit.Load(q, *scaleThreads)
		if err != nil {
			return 0, err
		}
		ddl, err := benchkit.TableDDL(p)
		if err != nil {
			return 0, err
		}
		direct := func() error {
			t, err := benchkit.Direct(context.Background(), filepath.Join(q, "direct.duckdb"), 1, ddl)
			ds = append(ds, t.Total)
			return err
		}
		build := func() error {
			cmd := exec.Command(quarry, "build", "--threads", strconv.Itoa(*scaleThreads))
			cmd.Dir = q
			start := time.Now()
			out, err := cmd.CombinedOutput()
			qs = append(qs, time.Since(start))
			if err != nil {
				return fmt.Errorf("quarry build: %w\n%s", err, lastLines(string(out), 5))
			}
			if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				peak = max(peak, u.Maxrss*1024)
				cpu += time.Duration(u.Utime.Nano() + u.Stime.Nano())
			}
			return nil
		}
		first, second := build, direct
		if r%2 == 1 {
			first, second = direct, build
		}
		if err := first(); err != nil {
			return 0, err
		}
		if err := second(); err != nil {
			return 0, err
		}
		if err := os.RemoveAll(q); err != nil {
			return 0, err
		}
	}
	qm, dm := spreadOf(qs), spreadOf(ds)
	over := (qm.median - dm.median) / time.Duration(n)
	fmt.Printf("   %d tables\n", n)
	fmt.Printf("     quarry build  %s   (CPU %.1f s a run, peak RSS %s)\n", qm, cpu.Seconds()/float64(*runs), mb(peak))
	fmt.Printf("     direct DDL    %s\n", dm)
	note := ""
	if over < 0 {
		note = " (quarry beat the sequential DDL: its threads run independent tables at once)"
	}
	fmt.Printf("     overhead per table  %s  ratio %.2fx%s   target <= %s  %s\n",
		ms3(over), float64(qm.median)/float64(dm.median), note, ms3(maxScaleOverhead), verdict(over <= maxScaleOverhead))
	return over, nil
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-k):], "\n")
}
