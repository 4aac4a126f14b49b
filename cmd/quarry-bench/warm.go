package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarrydev/quarry/internal/gen"
)

// Targets of issue 13 for the commands an analyst runs over and over, whole
// processes on a project that did not change since the last run.
const (
	warmLsTarget      = 300 * time.Millisecond
	warmCompileTarget = 600 * time.Millisecond
)

// racyWait outlasts the 2 s within which quarry does not trust a file's
// modification time (its load snapshot and compiled-file stamps).
const racyWait = 2100 * time.Millisecond

// measureWarm times `quarry ls` and `quarry compile --no-check` on a
// generated project of -models models (10,000 by default) as whole
// processes: once cold (no target/), then -runs times each with nothing
// changed, against the targets (at 10,000 models), then after editing one model (each run a
// new edit); and `compile` with its SQL check once its cache is warm. The
// project's files are dated an hour back first, as an analyst's are, so
// that none counts as just edited.
func measureWarm(dir string) error {
	quarry, q, err := quarryAndProject(dir)
	if err != nil {
		return err
	}
	if err := ageFiles(q, time.Now().Add(-time.Hour)); err != nil {
		return err
	}
	edited, err := firstModel(q)
	if err != nil {
		return err
	}
	fmt.Printf("warm: quarry ls and compile of %d generated models as whole processes, %d runs each\n", *models, *runs)
	cold, err := runQuarry(quarry, q, "compile", "--no-check")
	if err != nil {
		return err
	}
	printRuns(38, "compile --no-check, cold (no target/)", []processRun{cold}, 0)
	// What the cold run wrote is too fresh to trust for 2 s: the first
	// run after that settles the load snapshot and the stamps, as an
	// analyst's second command would.
	time.Sleep(racyWait)
	if _, err := runQuarry(quarry, q, "compile", "--no-check"); err != nil {
		return err
	}
	repeat := func(prep func(run int) error, args ...string) ([]processRun, error) {
		var rs []processRun
		for r := range *runs {
			if prep != nil {
				if err := prep(r); err != nil {
					return nil, err
				}
			}
			res, err := runQuarry(quarry, q, args...)
			if err != nil {
				return nil, err
			}
			rs = append(rs, res)
		}
		return rs, nil
	}
	ls, err := repeat(nil, "ls")
	if err != nil {
		return err
	}
	compile, err := repeat(nil, "compile", "--no-check")
	if err != nil {
		return err
	}
	lsTarget, compileTarget := warmLsTarget, warmCompileTarget
	if *models != 10000 {
		// The targets are for 10,000 models; other sizes are for looking.
		lsTarget, compileTarget = 0, 0
	}
	printRuns(38, "ls, nothing changed", ls, lsTarget)
	printRuns(38, "compile --no-check, nothing changed", compile, compileTarget)

	editEach := func(r int) error { return edit(edited, r) }
	lsEdited, err := repeat(editEach, "ls")
	if err != nil {
		return err
	}
	compileEdited, err := repeat(func(r int) error { return edit(edited, *runs+r) }, "compile", "--no-check")
	if err != nil {
		return err
	}
	printRuns(38, "ls, one model edited", lsEdited, 0)
	printRuns(38, "compile --no-check, one model edited", compileEdited, 0)

	// The SQL check, its cache filled by one cold analysis (seconds).
	if _, err := runQuarry(quarry, q, "compile"); err != nil {
		return err
	}
	time.Sleep(racyWait)
	if _, err := runQuarry(quarry, q, "compile"); err != nil {
		return err
	}
	checked, err := repeat(nil, "compile")
	if err != nil {
		return err
	}
	printRuns(38, "compile (SQL check cached)", checked, 0)
	return nil
}

// quarryAndProject builds this checkout's quarry into dir and generates a
// project of -models models in dir/project.
func quarryAndProject(dir string) (quarry, project string, err error) {
	if quarry, err = buildQuarry(dir); err != nil {
		return "", "", err
	}
	project = filepath.Join(dir, "project")
	return quarry, project, gen.Project(project, gen.Options{Models: *models, Seed: 1})
}

// runQuarry runs quarry with args in the project dir as a whole process,
// and returns its wall time and peak memory.
func runQuarry(quarry, dir string, args ...string) (processRun, error) {
	cmd := exec.Command(quarry, args...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r := processRun{wall: time.Since(start)}
	if err != nil {
		return r, fmt.Errorf("quarry %s: %w\n%s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	r.peak = peakRSS(cmd)
	return r, nil
}

// ageFiles dates every file of the project at t.
func ageFiles(dir string, t time.Time) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(path, t, t)
	})
}
