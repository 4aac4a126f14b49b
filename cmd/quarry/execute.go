package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/state"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors/httprec"
	"github.com/quarrydev/quarry/internal/english"
)

// selection holds the --select/--exclude flags of a command, and --state,
// the earlier run that state: and result: compare with.
type selection struct {
	selects, excludes []string
	state             string
}

func (s *selection) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&s.selects, "select", "s", nil, "nodes to include: name, +name, name+, tag:x, path:dir, source:name, state:modified, result:error (space-separated, repeatable)")
	cmd.Flags().StringArrayVar(&s.excludes, "exclude", nil, "nodes to leave out, same syntax as --select")
	cmd.Flags().StringVar(&s.state, "state", "", "the target/ folder of an earlier run (`DIR`), for the state: and result: selectors")
}

// loadState reads --state, if given: an unreadable or incompatible folder
// is exit 2, before anything runs.
func (s *selection) loadState() (*state.State, error) {
	if s.state == "" {
		return nil, nil
	}
	st, err := state.Load(s.state)
	if err != nil {
		return nil, &exitError{code: exitLoad, err: err}
	}
	return st, nil
}

// expandSelectArgs lets --select, -s and --exclude take several values, as
// dbt's do (--select a b): each bare word after one of them, up to the next
// flag, goes to that flag as if it were repeated. Commands take no
// positional arguments, so no word is taken from anything else; "--" ends
// the flags as usual.
func expandSelectArgs(args []string) []string {
	out := make([]string, 0, len(args))
	open := "" // the selection flag the following bare words belong to
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(out, args[i:]...)
		case arg == "--select" || arg == "-s" || arg == "--exclude":
			out = append(out, arg)
			if i+1 < len(args) {
				out = append(out, args[i+1]) // its first value, whatever it looks like
				i++
			}
			open = arg
		case strings.HasPrefix(arg, "--select="), strings.HasPrefix(arg, "--exclude="):
			out = append(out, arg)
			open, _, _ = strings.Cut(arg, "=")
		case strings.HasPrefix(arg, "-s") && !strings.HasPrefix(arg, "--"): // -sname, -s=name
			out = append(out, arg)
			open = "-s"
		case strings.HasPrefix(arg, "-") && arg != "-":
			out = append(out, arg)
			open = ""
		case open != "":
			out = append(out, open, arg)
		default:
			out = append(out, arg)
		}
	}
	return out
}

// choose returns the selected ids of the given resource types.
func (a *app) choose(p *project.Project, sel selection, types ...project.ResourceType) ([]string, error) {
	st, err := sel.loadState()
	if err != nil {
		return nil, err
	}
	// Without --state, result: reads the project's own last run.
	own := func() (*state.Results, error) {
		return state.ReadResults(filepath.Join(p.Dir, "target", "run_results.json"))
	}
	ids, warnings, err := selector.SelectWith(p, sel.selects, sel.excludes, selector.Options{State: st, Results: own})
	for _, w := range warnings {
		a.warnf("%s", w)
	}
	if err != nil {
		a.printError(err)
		return nil, &exitError{code: exitLoad}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(types, p.Nodes[id].Type) }), nil
}

// execSpec describes one of the commands that change the warehouse.
type execSpec struct {
	command       string
	types         []project.ResourceType
	sel           selection
	fullRefresh   bool
	storeFailures bool
	extract       extractFlags
	failFast      bool
	// deferState is --defer: what the run reads and does not build comes
	// from the --state run's relations when this target lacks it.
	deferState bool
	check      *checkFlag // nil for commands that run no SQL of the user's
	// catalog makes the command write target/catalog.json after the run.
	catalog bool
	// retry, when not nil, is what to run instead of a selection: the
	// unique ids quarry retry took from the last run's results.
	retry []string
}

// registerFailFast adds --fail-fast / -x to a command that runs nodes.
func (s *execSpec) registerFailFast(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&s.failFast, "fail-fast", "x", false, "stop at the first error or failed error-severity test: running nodes finish, the rest are SKIP")
}

// registerDefer adds --defer to a command that builds or tests models.
func (s *execSpec) registerDefer(cmd *cobra.Command) {
	registerDeferFlag(cmd, &s.deferState)
}

func registerDeferFlag(cmd *cobra.Command, on *bool) {
	cmd.Flags().BoolVar(on, "defer", false, "read what is not selected and not built in this target from the --state run's relations (slim CI: docs/ci.md)")
}

// errDeferNeedsState is --defer without --state.
var errDeferNeedsState = &exitError{code: exitLoad, err: errors.New("--defer reads what this run does not build from an earlier run: pass --state DIR too, that run's target/ folder (e.g. production's)")}

// deferRefs applies --defer: it decides, against the open warehouse, which
// relations the selected nodes (and extra, nodes the project does not
// hold) read from the --state run, and compiles the project again to read
// them there. It returns how many relations are deferred.
func deferRefs(ctx context.Context, p *project.Project, sel selection, ids []string, wh warehouse.Warehouse, extra ...*project.Node) (int, error) {
	st, err := sel.loadState()
	if err != nil {
		return 0, err
	}
	rels, err := st.Deferrals(ctx, p, ids, wh.Lookup, extra...)
	if err != nil {
		return 0, &exitError{code: exitFailed, err: err}
	}
	if err := p.Defer(rels); err != nil {
		return 0, &exitError{code: exitLoad, err: err}
	}
	return len(rels), nil
}

// extractFlags are the flags of commands that run extractors.
type extractFlags struct {
	record, replay string
	strict         bool
	// dryRun: print what retention would delete, and run nothing.
	dryRun bool
}

func (f *extractFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.record, "record", "", "save every HTTP exchange of the extractors in `DIR` (credentials stripped)")
	cmd.Flags().StringVar(&f.replay, "replay", "", "serve the extractors' HTTP exchanges from `DIR` (written by --record), with no network and the recorded clock")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "fail an extractor when any single item fails")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "run nothing: print what the selected extractors' retention: policies would delete now (as quarry raw --retention)")
}

// session opens the record or replay session the flags ask for.
func (f *extractFlags) session(now time.Time) (*httprec.Session, error) {
	switch {
	case f.record != "" && f.replay != "":
		return nil, &exitError{code: exitLoad, err: fmt.Errorf("--record and --replay cannot be used together")}
	case f.record != "":
		return httprec.Record(f.record, now, nil)
	case f.replay != "":
		return httprec.Replay(f.replay)
	}
	return nil, nil
}

func (a *app) execute(ctx context.Context, spec execSpec) error {
	start := time.Now()
	p, err := a.load()
	if err != nil {
		return err
	}
	var ids []string
	if spec.retry != nil {
		ids = retryIDs(p, spec)
	} else if ids, err = a.choose(p, spec.sel, spec.types...); err != nil {
		return err
	}
	if spec.extract.dryRun {
		// Judged when retention would run: now, or with --replay at the
		// recording's clock, as a replayed load applies it.
		now := start
		if spec.extract.replay != "" {
			sess, err := httprec.Replay(spec.extract.replay)
			if err != nil {
				return &exitError{code: exitLoad, err: err}
			}
			now = sess.Meta().RecordedAt
			if err := sess.Close(); err != nil {
				a.warnf("%v", err)
			}
		}
		return a.retentionDryRun(ctx, p, ids, now)
	}
	if spec.deferState && spec.sel.state == "" {
		return errDeferNeedsState
	}
	var checked *analyze.Summary
	if spec.check != nil && !spec.check.off {
		// Against the project's own relations: a deferred one is the same
		// node, built by the state's run.
		if checked, err = a.check(ctx, p, ids); err != nil {
			return err
		}
	}
	var wh warehouse.Warehouse
	deferred := 0
	if spec.deferState {
		// Deciding what to defer needs the warehouse before the manifest
		// is written, since the manifest records it.
		if wh, err = a.open(ctx, p); err != nil {
			return err
		}
		defer wh.Close()
		if deferred, err = deferRefs(ctx, p, spec.sel, ids, wh); err != nil {
			return err
		}
	}
	if err := artifacts.WriteManifest(p, a.invocation(spec.command, start)); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	log := a.newRunLog(p, spec.command, start)
	log.started(len(ids))
	if spec.deferState {
		log.deferred(deferred, spec.sel.state)
	}
	res, err := a.runSelected(ctx, spec, p, ids, checked, log, wh)
	// The run's last word: in json an error that ends it comes before
	// run_finished, not after. (A panic skips this: it is no run's end.)
	code := exitCode(err)
	var ee *exitError
	if a.events != nil && errors.As(err, &ee) && ee.err != nil {
		a.printError(ee.err)
		err = &exitError{code: ee.code}
	}
	log.finished(res, code)
	return err
}

// runSelected runs ids, once the project is loaded and checked and the run
// announced, on wh, or on a warehouse it opens when wh is nil; res is nil
// when the run could not start.
func (a *app) runSelected(ctx context.Context, spec execSpec, p *project.Project, ids []string, checked *analyze.Summary, log *runLog, wh warehouse.Warehouse) (res *run.Report, err error) {
	start := log.start
	a.printCheckSummary(a.stdout, log.stamp, checked)
	opts := run.Options{
		FullRefresh: spec.fullRefresh, StoreFailures: spec.storeFailures, Threads: p.Threads, Drain: a.drain,
		OnStart: log.onStart(), OnResult: log.onResult(), WriteCompiled: true, Strict: spec.extract.strict, FailFast: spec.failFast,
	}
	if opts.RetentionStep, err = retentionTestHook(a.env); err != nil {
		return nil, &exitError{code: exitLoad, err: err}
	}
	sess, err := spec.extract.session(start)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, &exitError{code: exitLoad, err: err}
	}
	if sess != nil {
		defer func() {
			if err := sess.Close(); err != nil {
				a.warnf("%v", err)
			}
		}()
		opts.HTTP = sess.Client()
		if sess.Replaying() {
			meta := sess.Meta()
			recordedAt := meta.RecordedAt
			opts.Replaying, opts.SampleData, opts.Endpoints = true, meta.Sample, meta.Endpoints
			opts.Now = func() time.Time { return recordedAt }
			what := "recorded responses"
			if meta.Sample {
				what = "SAMPLE responses (invented values for offline runs, not real measurements)"
			}
			log.session(true, spec.extract.replay, what, recordedAt, meta.Sample)
		} else {
			opts.Recording = true
			sess.SetEndpoints(p.Endpoints())
			log.session(false, spec.extract.record, "", time.Time{}, false)
		}
	}
	if wh == nil {
		if wh, err = a.open(ctx, p); err != nil {
			return nil, err
		}
		defer wh.Close()
	}

	res = run.Execute(ctx, p, wh, ids, opts)
	args := map[string]any{"select": nonNil(spec.sel.selects), "exclude": nonNil(spec.sel.excludes), "full_refresh": spec.fullRefresh,
		"store_failures": spec.storeFailures, "threads": p.Threads, "target": p.Target.Name,
		"strict": spec.extract.strict, "record": spec.extract.record, "replay": spec.extract.replay, "state": spec.sel.state, "defer": spec.deferState,
		"vars": recordableVars(a.vars), "retry": spec.retry != nil, "fail_fast": spec.failFast}
	if spec.check != nil {
		args["no_check"] = spec.check.off
	}
	if err := artifacts.WriteRunResults(p, a.invocation(spec.command, time.Now()), args, res); err != nil {
		a.warnf("%v", err)
	}
	if spec.catalog && !res.Interrupted {
		// Also after failures: the catalog describes what is there. It is
		// a description, so failing to write it changes no exit status.
		if err := writeCatalog(ctx, p, wh, a.invocation(spec.command, time.Now())); err != nil {
			a.warnf("%v", err)
		}
	}
	switch {
	case res.Interrupted:
		return res, &exitError{code: exitInterrupted}
	case res.Failed():
		return res, &exitError{code: exitFailed}
	}
	return res, nil
}

// open connects to the project's target.
func (a *app) open(ctx context.Context, p *project.Project) (warehouse.Warehouse, error) {
	wh, err := adapters()[p.Target.Type].Open(ctx, p.Dir, p.Target, p.Threads, a.env)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: fmt.Errorf("connect to target %s: %w", p.Target.Name, err)}
	}
	return wh, nil
}

// report prints what went wrong in a run (errors, failed and warning
// tests with their first rows), then the summary line.
func (a *app) report(res *run.Report) {
	var problems []*run.Result
	for _, r := range res.Results {
		switch r.Status {
		case run.StatusError, run.StatusFail, run.StatusWarn:
			problems = append(problems, r)
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(a.stdout, "\nCompleted with %d %s:\n", len(problems), english.Plural(len(problems), "problem", "problems"))
		for _, r := range problems {
			fmt.Fprintln(a.stdout)
			if r.Failures == nil {
				fmt.Fprintf(a.stdout, "  %s\n", r.Message)
				continue
			}
			a.reportTest(r)
		}
	}
	var kept []string
	for _, r := range res.Results {
		if r.Kept != "" {
			kept = append(kept, r.Kept)
		}
	}
	if len(kept) > 0 {
		fmt.Fprintf(a.stdout, "\nNot published (tests failed), previous version kept: %s\n", strings.Join(kept, ", "))
	}
	if res.Interrupted {
		fmt.Fprintln(a.stdout, "\nInterrupted: nodes that had not started are reported as SKIP.")
	}
	if !a.quiet || len(problems) > 0 || len(kept) > 0 || res.Interrupted {
		fmt.Fprintln(a.stdout) // sets the summary apart from what came before it
	}
	fmt.Fprintln(a.stdout, res.Summary())
}

// reportTest prints a failed or warning test: its count and threshold, its
// first rows, and where its query is.
func (a *app) reportTest(r *run.Result) {
	n := r.Node()
	word := map[run.Status]string{run.StatusFail: "Failure", run.StatusWarn: "Warning"}[r.Status]
	fmt.Fprintf(a.stdout, "  %s in test %s (%s)\n", word, n.Name, n.Path)
	switch {
	case r.Message != "" && n.TestKind() == datatest.Freshness:
		fmt.Fprintf(a.stdout, "    %s\n", r.Message)
	default:
		fmt.Fprintf(a.stdout, "    got %d failing %s; the test %s if the count is %s\n", *r.Failures,
			english.Plural(int(*r.Failures), "row", "rows"), map[run.Status]string{run.StatusFail: "fails", run.StatusWarn: "warns"}[r.Status], r.Threshold)
		if r.Message != "" {
			fmt.Fprintf(a.stdout, "    %s\n", r.Message)
		}
	}
	if s := r.Sample; s != nil && len(s.Rows) > 0 {
		fmt.Fprintf(a.stdout, "    first rows:\n      %s\n", strings.Join(s.Columns, " | "))
		for _, row := range s.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = cellText(v)
			}
			fmt.Fprintf(a.stdout, "      %s\n", strings.Join(cells, " | "))
		}
	}
	if r.StoredIn != "" {
		fmt.Fprintf(a.stdout, "    failing rows stored in %s\n", r.StoredIn)
	}
	fmt.Fprintf(a.stdout, "    compiled query: %s\n", r.CompiledPath)
}

func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 && v.Nanosecond() == 0 {
			return v.Format(time.DateOnly)
		}
		return v.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// inventory says what the project holds, e.g. "3 models, 1 seed, 4 tests".
func inventory(p *project.Project) string {
	counts := map[project.ResourceType]int{}
	for _, n := range p.Nodes {
		counts[n.Type]++
	}
	var parts []string
	for _, k := range []struct {
		t         project.ResourceType
		one, many string
	}{
		{project.Extract, "extractor", "extractors"}, {project.Model, "model", "models"}, {project.Seed, "seed", "seeds"},
		{project.Test, "test", "tests"}, {project.Source, "source", "sources"},
	} {
		if c := counts[k.t]; c > 0 || k.t == project.Model {
			parts = append(parts, fmt.Sprintf("%d %s", c, english.Plural(c, k.one, k.many)))
		}
	}
	return strings.Join(parts, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeCatalog writes target/catalog.json from what wh holds now.
func writeCatalog(ctx context.Context, p *project.Project, wh warehouse.Warehouse, inv artifacts.Invocation) error {
	infos, err := wh.Catalog(ctx, artifacts.CatalogSchemas(p))
	if err != nil {
		return fmt.Errorf("not writing target/catalog.json: %w", err)
	}
	return artifacts.WriteCatalog(p, inv, infos)
}
