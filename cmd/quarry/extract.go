package main

import (
	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) extractCommand() *cobra.Command {
	spec := extractSpec()
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Run the extractors: append a new load of outside data to the landing tables",
		Long: `extract runs the selected extractors (GitHub, PyPI), reading their items
from their input seeds (load them first with quarry seed, or use quarry
build), and appends what they collect to the landing tables as one new load:
every row carries _load_id, _loaded_at and _source; nothing is truncated or
updated. Item-level failures land in _extract_errors and show as warnings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.execute(cmd.Context(), spec) },
	}
	spec.sel.register(cmd)
	spec.registerFailFast(cmd)
	spec.extract.register(cmd)
	return cmd
}

// extractSpec is what extract runs (and retry, after a extract).
func extractSpec() execSpec {
	return execSpec{command: "extract", types: []project.ResourceType{project.Extract}}
}
