package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/english"
)

func (a *app) compileCommand() *cobra.Command {
	var sel selection
	var show bool
	cmd := &cobra.Command{
		Use:   "compile",
		Short: "Compile the selected models to SQL under target/compiled, touching no warehouse",
		Long: `compile renders the selected models and writes their SQL under
target/compiled/, mirroring models/, plus target/manifest.json. Incremental
models compile as a full build (is_incremental is false), since compile does
not look at the warehouse.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.load()
			if err != nil {
				return err
			}
			ids, err := a.choose(p, sel, project.Model, project.Test)
			if err != nil {
				return err
			}
			for _, id := range ids {
				n := p.Nodes[id]
				if err := p.WriteCompiled(n); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
				if show {
					fmt.Fprintf(a.stdout, "-- %s\n%s\n\n", project.CompiledPath(n), n.Compiled)
				}
			}
			if err := artifacts.WriteManifest(p, "compile", time.Now()); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(a.stderr, "Compiled %d %s to target/compiled/\n", len(ids), english.Plural(len(ids), "model", "models"))
			return nil
		},
	}
	sel.register(cmd)
	cmd.Flags().BoolVar(&show, "print", false, "also print the compiled SQL")
	return cmd
}
