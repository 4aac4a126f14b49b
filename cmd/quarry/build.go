package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) buildCommand() *cobra.Command {
	spec := buildSpec()
	spec.check = &checkFlag{}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Load seeds, run extractors, build models and run their tests, in dependency order",
		Long: `build loads the selected seeds, runs the extractors (appending a new load
to the landing tables), builds the selected models and runs their tests, in
dependency order, on --threads workers. A model's tests run
right after it, and a failing error-severity test skips everything
downstream. Tables published audited (the default under models/marts) are
built beside the live table, tested there, and swapped in only if the
tests pass. Exit status: 0 when everything passed (warnings allowed), 1 when
a node or an error-severity test failed, 2 when the project could not be
loaded (nothing ran).

After the run, build writes target/catalog.json: every relation of the
project as the warehouse holds it (kind, columns and types, row counts).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	spec.registerFailFast(cmd)
	spec.registerDefer(cmd)
	spec.check.register(cmd)
	cmd.Flags().BoolVar(&spec.fullRefresh, "full-refresh", false, "rebuild incremental models from scratch")
	spec.extract.register(cmd)
	cmd.Flags().BoolVar(&spec.storeFailures, "store-failures", false, "keep each failing test's rows in a table of the tests schema (default audit)")
	return cmd
}

// buildSpec is what build runs (and retry, after a build).
func buildSpec() execSpec {
	return execSpec{command: "build", types: []project.ResourceType{project.Seed, project.Extract, project.Model, project.Test}, catalog: true}
}
