package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) seedCommand() *cobra.Command {
	spec := seedSpec()
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load the selected CSV seeds into tables",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	spec.registerFailFast(cmd)
	return cmd
}

// seedSpec is what seed runs (and retry, after a seed).
func seedSpec() execSpec {
	return execSpec{command: "seed", types: []project.ResourceType{project.Seed}}
}
