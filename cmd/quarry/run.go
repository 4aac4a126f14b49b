package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) runCommand() *cobra.Command {
	spec := runSpec()
	spec.check = &checkFlag{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build the selected models (not seeds)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	spec.registerFailFast(cmd)
	spec.registerDefer(cmd)
	spec.check.register(cmd)
	cmd.Flags().BoolVar(&spec.fullRefresh, "full-refresh", false, "rebuild incremental models from scratch")
	return cmd
}

// runSpec is what run runs (and retry, after a run).
func runSpec() execSpec {
	return execSpec{command: "run", types: []project.ResourceType{project.Model}}
}
