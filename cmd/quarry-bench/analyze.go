package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quarrydev/quarry/internal/gen"
)

// Targets of issue 11's analysis, whole `quarry compile` processes.
const (
	analyzeColdTarget = 10 * time.Second
	analyzeWarmTarget = 500 * time.Millisecond
)

// measureAnalyze times `quarry compile` on generated projects of -sizes
// models (default -models): cold (no target/analysis.gob), then warm after
// editing one model early in the graph without changing its columns, each
// also with --no-check, which is load and compile alone; the difference is
// the analysis's own cost.
func measureAnalyze(dir string) error {
	ns := []int{*models}
	if flagSet("sizes") {
		var err error
		if ns, err = parseSizes("models"); err != nil {
			return err
		}
	}
	quarry, err := buildQuarry(dir)
	if err != nil {
		return err
	}
	fmt.Printf("analyze: quarry compile of N generated models as a whole process, %d runs each: cold (no cache), and warm\n", *runs)
	fmt.Println("   after editing one model early in the graph (its columns kept); --no-check is load + compile alone")
	for _, n := range ns {
		if err := analyzeOnce(dir, quarry, n); err != nil {
			return fmt.Errorf("%d models: %w", n, err)
		}
	}
	return nil
}

// processRun is one whole process: its wall time and peak RSS.
type processRun struct {
	wall time.Duration
	peak int64
}

func analyzeOnce(dir, quarry string, n int) error {
	q := filepath.Join(dir, fmt.Sprintf("p%d", n))
	defer os.RemoveAll(q)
	if err := gen.Project(q, gen.Options{Models: n, Seed: 1}); err != nil {
		return err
	}
	edited, err := firstModel(q)
	if err != nil {
		return err
	}
	compile := func(args ...string) (processRun, error) {
		return runQuarry(quarry, q, append([]string{"compile"}, args...)...)
	}
	cache := filepath.Join(q, "target", "analysis.gob")
	var cold, coldOff, warm, warmOff []processRun
	for r := range *runs {
		if err := os.Remove(cache); err != nil && !os.IsNotExist(err) {
			return err
		}
		steps := []struct {
			into *[]processRun
			prep func() error
			args []string
		}{
			{&coldOff, nil, []string{"--no-check"}},
			{&cold, nil, nil},
			{&warmOff, func() error { return edit(edited, r) }, []string{"--no-check"}},
			{&warm, nil, nil}, // the same edit, not yet analysed
		}
		for _, s := range steps {
			if s.prep != nil {
				if err := s.prep(); err != nil {
					return err
				}
			}
			res, err := compile(s.args...)
			if err != nil {
				return err
			}
			*s.into = append(*s.into, res)
		}
	}
	fmt.Printf("   %d models\n", n)
	line := func(name string, rs []processRun, target time.Duration) { printRuns(22, name, rs, target) }
	line("cold", cold, analyzeColdTarget)
	line("cold --no-check", coldOff, 0)
	line("warm, one model edited", warm, analyzeWarmTarget)
	line("warm --no-check", warmOff, 0)
	c, co, w, wo := med(cold), med(coldOff), med(warm), med(warmOff)
	fmt.Printf("     the analysis's own cost (median minus --no-check's): cold %s, warm %s\n", ms(c-co), ms(w-wo))
	return nil
}

// printRuns prints one line of whole-process runs: their spread, peak
// memory, and the verdict against target when there is one.
func printRuns(width int, name string, rs []processRun, target time.Duration) {
	sp, peak := spreadRuns(rs)
	fmt.Printf("     %-*s %s   peak RSS %s", width, name, sp, mb(peak))
	if target > 0 {
		fmt.Printf("   target <= %s  %s", ms(target), verdict(sp.median <= target))
	}
	fmt.Println()
}

// parseSizes reads -sizes, numbers of what (tables, models).
func parseSizes(what string) ([]int, error) {
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sizes: %q is not a number of %s", s, what)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func spreadRuns(rs []processRun) (spread, int64) {
	ds := make([]time.Duration, len(rs))
	var peak int64
	for i, r := range rs {
		ds[i], peak = r.wall, max(peak, r.peak)
	}
	return spreadOf(ds), peak
}

func med(rs []processRun) time.Duration {
	s, _ := spreadRuns(rs)
	return s.median
}

// firstModel is the generated model with the lowest number: many others
// are below it, but its edit keeps its columns, so they stay cached.
func firstModel(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "models", "*", "model_00000.sql"))
	if err != nil || len(matches) != 1 {
		return "", fmt.Errorf("find model_00000.sql in %s: %v", dir, matches)
	}
	return matches[0], nil
}

// edit changes the model's SQL, differently for each run, but not its
// columns.
func edit(path string, run int) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := strings.TrimRight(string(src), "\n") + fmt.Sprintf("\n-- edited for run %d\n", run)
	return os.WriteFile(path, []byte(text), 0o644)
}
