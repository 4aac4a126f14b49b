package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/english"
)

// checkFlag is the --no-check flag of the commands that analyse SQL before
// they do anything else.
type checkFlag struct{ off bool }

func (f *checkFlag) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.off, "no-check", false, "skip the analysis of the SQL against its upstream columns before running")
}

// analysisCache is the file in target/ that keeps what the analysis
// learnt, so that the next run describes only what changed and what is
// below it.
const analysisCache = "analysis.gob"

// check analyses the SQL of ids and the nodes above them. Problems are
// printed like load problems and end the command with exit 2, before
// anything runs.
func (a *app) check(ctx context.Context, p *project.Project, ids []string) (*analyze.Summary, error) {
	cachePath := filepath.Join(p.Dir, "target", analysisCache)
	cache := analyze.LoadCache(cachePath)
	// The last build's catalog gives the columns of sources that property
	// files do not type; without it those sources are unknown, and what
	// reads them unchecked (each saying why).
	previous, err := artifacts.ReadCatalog(filepath.Join(p.Dir, "target"))
	if err != nil {
		a.warnf("%v", err)
	}
	sum, err := analyze.Run(ctx, p, analyze.Options{Select: ids, Previous: previous.Columns, Cache: cache})
	if serr := cache.Save(cachePath); serr != nil {
		// Only the next run's speed depends on it.
		a.warnf("%v", serr)
	}
	if err != nil {
		var de *diag.Error
		if errors.As(err, &de) {
			n := len(de.Diagnostics)
			a.printDiagnostics(de, fmt.Sprintf("%d %s found by checking the SQL against its upstream columns; nothing ran. Fix %s and run again (--no-check skips this check).",
				n, english.Plural(n, "problem", "problems"), english.Plural(n, "it", "them")))
			return nil, &exitError{code: exitLoad}
		}
		if ctx.Err() != nil {
			return nil, &exitError{code: exitInterrupted}
		}
		return nil, &exitError{code: exitFailed, err: fmt.Errorf("check the SQL: %w", err)}
	}
	return &sum, nil
}

// printCheck says how many models and tests were checked, and why the
// others were not.
func printCheck(w io.Writer, prefix string, sum *analyze.Summary) {
	if sum == nil {
		return
	}
	total := sum.Checked + len(sum.Unchecked)
	fmt.Fprintf(w, "%sChecked the SQL of %d of %d %s against upstream columns", prefix, sum.Checked, total, english.Plural(total, "model or test", "models and tests"))
	if len(sum.Unchecked) == 0 {
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "; %d unchecked:\n", len(sum.Unchecked))
	const shown = 10
	for i, u := range sum.Unchecked {
		if i == shown {
			fmt.Fprintf(w, "%s  ... and %d more (manifest.json has every reason)\n", prefix, len(sum.Unchecked)-shown)
			break
		}
		fmt.Fprintf(w, "%s  %s: %s\n", prefix, u.ID, u.Reason)
	}
}
