package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine"
)

// selection holds the --select/--exclude flags of a command.
type selection struct {
	selects, excludes []string
}

func (s *selection) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&s.selects, "select", "s", nil, "nodes to include: name, +name, name+, tag:x, path:dir, source:name (space-separated, repeatable)")
	cmd.Flags().StringArrayVar(&s.excludes, "exclude", nil, "nodes to leave out, same syntax as --select")
}

// choose returns the selected ids of the given resource types.
func (a *app) choose(p *engine.Project, sel selection, types ...engine.ResourceType) ([]string, error) {
	ids, warnings, err := p.Select(sel.selects, sel.excludes)
	for _, w := range warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintln(a.stderr, err)
		return nil, &exitError{code: exitLoad}
	}
	return slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(types, p.Nodes[id].Type) }), nil
}

// execSpec describes one of the commands that change the warehouse.
type execSpec struct {
	command     string
	types       []engine.ResourceType
	sel         selection
	fullRefresh bool
}

func (a *app) execute(ctx context.Context, spec execSpec) error {
	start := time.Now()
	p, err := a.load()
	if err != nil {
		return err
	}
	ids, err := a.choose(p, spec.sel, spec.types...)
	if err != nil {
		return err
	}
	if err := p.WriteManifest(spec.command, start); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Fprintf(a.stdout, "%s  quarry %s · project %s · target %s (%s) · %d threads\n",
		start.Format("15:04:05"), engine.Version, p.Name, p.Target.Name, p.Target.Type, p.Threads)
	fmt.Fprintf(a.stdout, "%s  Found %s\n", start.Format("15:04:05"), inventory(p))
	wh, err := adapters()[p.Target.Type].Open(ctx, p.Dir, p.Target, p.Threads, a.env)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("connect to target %s: %w", p.Target.Name, err)}
	}
	defer wh.Close()

	res := p.Execute(ctx, wh, ids, engine.RunOptions{
		FullRefresh: spec.fullRefresh, Threads: p.Threads, Drain: a.drain,
		Progress: a.stdout, WriteCompiled: true,
	})
	args := map[string]any{"select": nonNil(spec.sel.selects), "exclude": nonNil(spec.sel.excludes), "full_refresh": spec.fullRefresh,
		"threads": p.Threads, "target": p.Target.Name}
	if err := p.WriteRunResults(spec.command, args, res, time.Now()); err != nil {
		fmt.Fprintf(a.stderr, "warning: %v\n", err)
	}
	a.report(res)
	switch {
	case res.Interrupted:
		return &exitError{code: exitInterrupted}
	case res.Failed():
		return &exitError{code: exitFailed}
	}
	return nil
}

// report prints the errors of a run, then its summary line.
func (a *app) report(res *engine.RunResult) {
	var errs []*engine.Result
	for _, r := range res.Results {
		if r.Status == engine.StatusError {
			errs = append(errs, r)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(a.stdout, "\nCompleted with %d %s:\n", len(errs), plural(len(errs), "error", "errors"))
		for _, r := range errs {
			fmt.Fprintf(a.stdout, "\n  %s\n", r.Message)
		}
	}
	if res.Interrupted {
		fmt.Fprintln(a.stdout, "\nInterrupted: nodes that had not started are reported as SKIP.")
	}
	fmt.Fprintf(a.stdout, "\n%s\n", res.Summary())
}

func inventory(p *engine.Project) string {
	counts := map[engine.ResourceType]int{}
	for _, n := range p.Nodes {
		counts[n.Type]++
	}
	return fmt.Sprintf("%d %s, %d %s, %d %s",
		counts[engine.Model], plural(counts[engine.Model], "model", "models"),
		counts[engine.Seed], plural(counts[engine.Seed], "seed", "seeds"),
		counts[engine.Source], plural(counts[engine.Source], "source", "sources"))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
