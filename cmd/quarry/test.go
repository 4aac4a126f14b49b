package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) testCommand() *cobra.Command {
	spec := testSpec()
	spec.check = &checkFlag{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the selected data tests against what is in the warehouse",
		Long: `test runs the selected tests (selecting a model selects its tests)
against the relations as they are now in the warehouse, and prints, for each
failure, the count, the first rows and the compiled query. Exit status: 0 when
no error-severity test failed, 1 otherwise, 2 when the project could not be
loaded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	spec.registerFailFast(cmd)
	spec.registerDefer(cmd)
	spec.check.register(cmd)
	cmd.Flags().BoolVar(&spec.storeFailures, "store-failures", false, "keep each failing test's rows in a table of the tests schema (default audit)")
	return cmd
}

// testSpec is what test runs (and retry, after a test).
func testSpec() execSpec {
	return execSpec{command: "test", types: []project.ResourceType{project.Test}}
}
