package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/secret"
	"github.com/quarrydev/quarry/engine/state"
	"github.com/quarrydev/quarry/internal/english"
)

// execSpecs are the commands whose runs retry can repeat.
var execSpecs = map[string]func() execSpec{
	"build": buildSpec, "run": runSpec, "seed": seedSpec, "test": testSpec, "extract": extractSpec,
}

// retryStatuses are the results retry runs again.
var retryStatuses = []run.Status{run.StatusError, run.StatusFail, run.StatusSkipped}

func (a *app) retryCommand() *cobra.Command {
	var failFast bool
	cmd := &cobra.Command{
		Use:   "retry",
		Short: "Run again what errored, failed or was skipped in the last run, with its flags",
		Long: `retry reads target/run_results.json, the last build, run, seed, test or
extract, and runs that command again on exactly the nodes whose result was
ERROR, FAIL or SKIP, with the flags it was given (--full-refresh,
--store-failures, --no-check, --strict, --fail-fast, --replay, and --target, --threads and
--vars unless given to retry). Nodes removed from the project since are left
out. A run that was interrupted let its running nodes finish and reported
those it had not started as SKIP, so retry runs the rest of it. When the last run had nothing to retry,
retry says so and exits 0.

Vars whose names look like secrets' are not recorded in run_results.json:
pass them to retry again with --vars.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(a.projectDir, "target", "run_results.json")
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return &exitError{code: exitLoad, err: fmt.Errorf("nothing to retry: no %s: run quarry build (or run, seed, test) first", path)}
			}
			last, err := state.ReadResults(path)
			if err != nil {
				return &exitError{code: exitLoad, err: err}
			}
			newSpec, ok := execSpecs[last.Metadata.Command]
			if !ok {
				return &exitError{code: exitLoad, err: fmt.Errorf("%s: command %q is not one retry repeats (build, run, seed, test, extract)", path, last.Metadata.Command)}
			}
			var ids []string
			for _, r := range last.Results {
				if slices.Contains(retryStatuses, run.Status(r.Status)) {
					ids = append(ids, r.UniqueID)
				}
			}
			if len(ids) == 0 {
				fmt.Fprintf(a.stdout, "Nothing to retry: the last %s (%s) had no errors, failures or skips.\n", last.Metadata.Command, path)
				return nil
			}
			spec := newSpec()
			if err := a.applyArgs(&spec, last); err != nil {
				return &exitError{code: exitLoad, err: fmt.Errorf("%s: %w", path, err)}
			}
			spec.retry = ids
			spec.failFast = spec.failFast || failFast
			fmt.Fprintf(a.stdout, "Retrying the last %s: %d %s that errored, failed or were skipped\n", spec.command, len(ids), english.Plural(len(ids), "node", "nodes"))
			return a.execute(cmd.Context(), spec)
		},
	}
	cmd.Flags().BoolVarP(&failFast, "fail-fast", "x", false, "stop at the first error or failed error-severity test (also when the last run had it)")
	return cmd
}

// applyArgs sets the spec and the app's settings from the flags the last
// run recorded (run_results.json args); settings given to retry itself win.
func (a *app) applyArgs(spec *execSpec, last *state.Results) error {
	args := last.Args
	flag := func(name string) bool { b, _ := args[name].(bool); return b }
	text := func(name string) string { s, _ := args[name].(string); return s }
	spec.fullRefresh, spec.storeFailures, spec.extract.strict = flag("full_refresh"), flag("store_failures"), flag("strict")
	spec.failFast = flag("fail_fast")
	// Recording again would overwrite the recording: retry replays, or
	// goes to the network.
	spec.extract.replay = text("replay")
	if spec.command != "seed" && spec.command != "extract" {
		spec.check = &checkFlag{off: flag("no_check")}
	}
	spec.sel.selects, spec.sel.excludes = stringList(args["select"]), stringList(args["exclude"])
	// A --defer run's nodes read what it did not build from the state's
	// run: so do they when retried.
	if flag("defer") {
		spec.deferState, spec.sel.state = true, text("state")
	}
	if a.target == "" {
		a.target = text("target")
	}
	if n, ok := args["threads"].(float64); ok && a.threads == 0 {
		a.threads = int(n)
	}
	if vars, ok := args["vars"].(map[string]any); ok && len(vars) > 0 {
		b, err := json.Marshal(vars) // a JSON object is a YAML mapping, as --vars takes it
		if err != nil {
			return fmt.Errorf("recorded vars: %w", err)
		}
		a.vars = append([]string{string(b)}, a.vars...) // retry's own --vars come later and win
	}
	return nil
}

// stringList reads a recorded list of strings.
func stringList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, item := range list {
		if s, ok := item.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// retryIDs are the ids of spec.retry that the project still has, of the
// command's types.
func retryIDs(p *project.Project, spec execSpec) []string {
	var ids []string
	for _, id := range spec.retry {
		if n, ok := p.Nodes[id]; ok && slices.Contains(spec.types, n.Type) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// recordableVars are the --vars values to record in run_results.json for
// retry, without those whose names look like secrets'.
func recordableVars(values []string) map[string]any {
	vars, err := parseVars(values)
	if err != nil { // load refused them already: nothing ran
		return map[string]any{}
	}
	for _, name := range slices.Collect(maps.Keys(vars)) {
		if secret.Word(name) != "" {
			delete(vars, name)
		}
	}
	return vars
}
