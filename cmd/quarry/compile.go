package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/jsonlog"
	"github.com/quarrydev/quarry/internal/panics"
)

func (a *app) compileCommand() *cobra.Command {
	var sel selection
	var show, deferState bool
	var check checkFlag
	cmd := &cobra.Command{
		Use:   "compile",
		Short: "Compile the selected models to SQL under target/compiled, touching no warehouse",
		Long: `compile renders the selected models and writes their SQL under
target/compiled/, mirroring models/, plus target/manifest.json. Incremental
models compile as a full build (is_incremental is false), since compile does
not look at the warehouse; with --defer (and --state) it connects, to see
which relations to read from the --state run (docs/ci.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.loadForReading()
			if err != nil {
				return err
			}
			ids, err := a.choose(p, sel, project.Model, project.Test)
			if err != nil {
				return err
			}
			var checked *analyze.Summary
			if !check.off {
				if checked, err = a.check(cmd.Context(), p, ids); err != nil {
					return err
				}
			}
			if deferState {
				if err := a.deferCompiled(cmd.Context(), p, sel, ids); err != nil {
					return err
				}
			}
			nodes := make([]*project.Node, len(ids))
			for i, id := range ids {
				nodes[i] = p.Nodes[id]
			}
			// The manifest describes the project, not the files written:
			// it is encoded while they are compared and written, as both
			// take a while at 10,000 models and leave cores idle.
			manifest := make(chan error, 1)
			var panicked *panics.Error // set before the send, read after it
			go func() {
				defer panics.Capture(func(e *panics.Error) { panicked = e; manifest <- nil })
				manifest <- artifacts.WriteManifest(p, a.invocation("compile", time.Now()))
			}()
			_, compiledErr := p.WriteCompiledAll(nodes)
			manifestErr := <-manifest
			if panicked != nil {
				panic(panicked) // on the command's goroutine, where quarry reports it
			}
			if err := cmp.Or(compiledErr, manifestErr); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if show {
				out := bufio.NewWriter(a.stdout)
				for _, n := range nodes {
					fmt.Fprintf(out, "-- %s\n%s\n\n", project.CompiledPath(n), n.Compiled)
				}
				if err := out.Flush(); err != nil {
					return &exitError{code: exitFailed, err: fmt.Errorf("print the compiled SQL: %w", err)}
				}
			}
			msg := fmt.Sprintf("Compiled %s to target/compiled/", compiledCounts(nodes))
			if a.events != nil {
				a.events.Log(jsonlog.Info, "compiled", msg, slog.Int("nodes", len(nodes)), slog.String("dir", "target/compiled"))
			} else {
				fmt.Fprintln(a.stderr, msg)
			}
			a.printCheckSummary(a.stderr, "", checked)
			return nil
		},
	}
	sel.register(cmd)
	check.register(cmd)
	cmd.Flags().BoolVar(&show, "print", false, "also print the compiled SQL")
	registerDeferFlag(cmd, &deferState)
	return cmd
}

// deferCompiled is compile's --defer: it connects only to see which
// relations exist.
func (a *app) deferCompiled(ctx context.Context, p *project.Project, sel selection, ids []string) error {
	if sel.state == "" {
		return errDeferNeedsState
	}
	wh, err := a.open(ctx, p)
	if err != nil {
		return err
	}
	defer wh.Close()
	_, err = deferRefs(ctx, p, sel, ids, wh)
	return err
}

// compiledCounts says how many models and tests nodes hold, e.g. "3 models
// and 1 test"; tests are left out when there are none.
func compiledCounts(nodes []*project.Node) string {
	models, tests := 0, 0
	for _, n := range nodes {
		if n.Type == project.Test {
			tests++
		} else {
			models++
		}
	}
	s := fmt.Sprintf("%d %s", models, english.Plural(models, "model", "models"))
	if tests > 0 {
		s += fmt.Sprintf(" and %d %s", tests, english.Plural(tests, "test", "tests"))
	}
	return s
}
