package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine"
)

func (a *app) buildCommand() *cobra.Command {
	spec := execSpec{command: "build", types: []engine.ResourceType{engine.Seed, engine.Model}}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Load seeds and build models, in dependency order",
		Long: `build loads the selected seeds and builds the selected models into the
target, in dependency order, on --threads workers. A node whose upstream
failed is skipped. Exit status: 0 when everything passed, 1 when a node
failed, 2 when the project could not be loaded (nothing ran).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	cmd.Flags().BoolVar(&spec.fullRefresh, "full-refresh", false, "rebuild incremental models from scratch")
	return cmd
}
