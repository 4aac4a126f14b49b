package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/targets"
)

// targetOutputs are the entries of target/ that quarry writes, and so the
// only ones clean removes: whatever else is there (a user's file, a
// warehouse file someone pointed into target/) is left alone.
func targetOutputs() []string {
	return []string{analysisCache, "catalog.json", "compiled", "docs", "manifest.json", project.SnapshotFile, "run_results.json"}
}

func (a *app) cleanCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove what quarry wrote under target/ (never the warehouse)",
		Long: `clean removes the artifacts quarry writes under target/ (manifest.json,
run_results.json, catalog.json, the analysis cache, the load snapshot,
compiled/ and docs/), then
target/ itself when nothing else is left in it, and prints what it removed.
It never removes the warehouse (a DuckDB file, even one placed under
target/), files quarry did not write, or anything outside the project.
Running it again removes nothing and says so.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return a.clean() },
	}
}

func (a *app) clean() error {
	// project.yaml is read (not the models) to be sure this is a project,
	// and to know where the warehouse file is.
	diags := &diag.List{}
	pc := config.Load(config.Options{Dir: a.projectDir, Target: a.target, Env: a.env, Environ: a.environ, Extractors: extractorRegistry()}, adapters(), diags)
	if err := diags.Err(); err != nil || pc == nil {
		fmt.Fprintln(a.stderr, err)
		fmt.Fprintln(a.stderr, "\nnothing was removed: clean reads project.yaml to know where the warehouse is; fix it and run again.")
		return &exitError{code: exitLoad}
	}
	target := filepath.Join(a.projectDir, "target")
	st, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(a.stdout, "Nothing to clean: there is no target/.")
		return nil
	case err != nil:
		return &exitError{code: exitFailed, err: fmt.Errorf("clean: %w", err)}
	case st.Mode()&fs.ModeSymlink != 0:
		return &exitError{code: exitLoad, err: fmt.Errorf("clean: target/ is a symbolic link: its contents are outside the project, and clean removes nothing there; remove the link or its contents yourself")}
	case !st.IsDir():
		return &exitError{code: exitLoad, err: fmt.Errorf("clean: target is a file, not the folder quarry writes: move it away yourself")}
	}
	warehouseFile := targets.WarehouseFile(a.projectDir, pc.Target, a.env)
	removed := 0
	for _, name := range targetOutputs() {
		path := filepath.Join(target, name)
		entry, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if entry != nil && entry.IsDir() {
			name += "/"
		}
		if warehouseFile != "" && within(warehouseFile, path) {
			fmt.Fprintf(a.stdout, "kept    target/%s: it holds the warehouse of target %s (%s)\n", name, pc.Target.Name, warehouseFile)
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("clean: remove target/%s: %w", name, err)}
		}
		removed++
		fmt.Fprintf(a.stdout, "removed target/%s\n", name)
	}
	left, err := os.ReadDir(target)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("clean: %w", err)}
	}
	if len(left) == 0 {
		if err := os.Remove(target); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("clean: %w", err)}
		}
		removed++
		fmt.Fprintln(a.stdout, "removed target/")
	} else {
		names := make([]string, len(left))
		for i, e := range left {
			names[i] = e.Name()
		}
		slices.Sort(names)
		fmt.Fprintf(a.stdout, "left in target/ (not written by quarry): %s\n", strings.Join(names, ", "))
	}
	if removed == 0 {
		fmt.Fprintln(a.stdout, "Nothing to clean: target/ holds nothing quarry wrote.")
		return nil
	}
	fmt.Fprintf(a.stdout, "Cleaned: removed %d %s.\n", removed, english.Plural(removed, "entry", "entries"))
	return nil
}

// within reports whether file is path or lies under it, comparing absolute
// paths with symbolic links resolved where they exist.
func within(file, path string) bool {
	abs := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	rel, err := filepath.Rel(abs(path), abs(file))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
