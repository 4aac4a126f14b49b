package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarrydev/quarry/internal/gen"
)

// parseRow is one line of the compile/ls comparison: a quarry command and
// the dbt command that does the same job, each with what must happen
// before every timed run (prepare may be nil).
type parseRow struct {
	label          string
	quarry, dbt    []string
	prepareQuarry  func(dir string) error
	prepareDBT     func(dir string) error
	quarryD, dbtDs []time.Duration
}

// measureParse is -vs dbt -only parse: quarry compile and ls against dbt
// parse and dbt ls on the same generated project, whole processes. dbt is
// timed with its partial-parse file in place (its everyday case) and
// without it (--no-partial-parse: everything parsed again); quarry has no
// parse cache, so its warm compile differs from its cold one only by
// finding target/compiled up to date.
func measureParse(dir string) error {
	p := peers["dbt"]
	venv, err := peerVenv(p)
	if err != nil {
		return fmt.Errorf("dbt: %w (a peer that cannot install offline is not measured)", err)
	}
	quarry, err := buildQuarry(dir)
	if err != nil {
		return err
	}
	o := peerProjectOptions()
	qdir, ddir := filepath.Join(dir, "quarry-project"), filepath.Join(dir, "dbt-project")
	if err := gen.Project(qdir, o); err != nil {
		return err
	}
	if err := p.write(ddir, o); err != nil {
		return err
	}
	dbt := func(args ...string) []string {
		return append([]string{filepath.Join(venv, "bin", "dbt")}, append(args, "--project-dir", ".", "--profiles-dir", ".")...)
	}
	dropTarget := func(d string) error { return os.RemoveAll(filepath.Join(d, "target")) }
	// The cold row goes last: it removes target/, which the warm rows need.
	rows := []*parseRow{
		{label: "compile warm / dbt parse, partial parse", quarry: []string{quarry, "compile"}, dbt: dbt("parse")},
		{label: "ls / dbt ls (partial parse)", quarry: []string{quarry, "ls"}, dbt: dbt("ls")},
		{label: "compile cold / dbt parse, no partial parse", quarry: []string{quarry, "compile"}, dbt: dbt("parse", "--no-partial-parse"),
			prepareQuarry: dropTarget, prepareDBT: dropTarget},
	}
	fmt.Printf("\nquarry vs dbt: compile and ls of %d models (%s, 1-3 refs each), whole processes, %d runs each\n", *models, o.Materialized, *runs)
	fmt.Printf("   dbt: %s\n", strings.Join(p.requirements, " "))
	// One untimed run of each side first: the warm rows need target/ and
	// dbt's partial-parse file to exist.
	if _, err := timeProcess(qdir, []string{quarry, "compile"}, nil); err != nil {
		return err
	}
	if _, err := timeProcess(ddir, dbt("parse"), p.env); err != nil {
		return err
	}
	for _, r := range rows {
		for i := range *runs {
			runQuarry := func() error {
				if r.prepareQuarry != nil {
					if err := r.prepareQuarry(qdir); err != nil {
						return err
					}
				}
				d, err := timeProcess(qdir, r.quarry, nil)
				r.quarryD = append(r.quarryD, d)
				return err
			}
			runDBT := func() error {
				if r.prepareDBT != nil {
					if err := r.prepareDBT(ddir); err != nil {
						return err
					}
				}
				d, err := timeProcess(ddir, r.dbt, p.env)
				r.dbtDs = append(r.dbtDs, d)
				return err
			}
			first, second := runQuarry, runDBT
			if i%2 == 1 {
				first, second = runDBT, runQuarry
			}
			if err := first(); err != nil {
				return err
			}
			if err := second(); err != nil {
				return err
			}
		}
		q, d := spreadOf(r.quarryD), spreadOf(r.dbtDs)
		fmt.Printf("   %s\n", r.label)
		fmt.Printf("      quarry %s\n      dbt    %s\n      dbt takes %.1fx quarry's time\n", q, d, float64(d.median)/float64(q.median))
	}
	return nil
}
