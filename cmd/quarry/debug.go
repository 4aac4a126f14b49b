package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) debugCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "debug",
		Short: "Check the project and the target's connection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.load()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "project:  %s (%s)\n", p.Name, p.Dir)
			fmt.Fprintf(a.stdout, "target:   %s (%s), %d threads\n", p.Target.Name, p.Target.Type, p.Threads)
			fmt.Fprintf(a.stdout, "found:    %s\n", inventory(p))
			wh, err := adapters()[p.Target.Type].Open(cmd.Context(), p.Dir, p.Target, p.Threads, a.env)
			if err != nil {
				fmt.Fprintf(a.stdout, "connection: FAILED\n")
				return &exitError{code: exitFailed, err: fmt.Errorf("connect to target %s: %w", p.Target.Name, err)}
			}
			defer wh.Close()
			if _, err := wh.Query(cmd.Context(), "select 1", 1); err != nil {
				fmt.Fprintf(a.stdout, "connection: FAILED\n")
				return &exitError{code: exitFailed, err: fmt.Errorf("query target %s: %w", p.Target.Name, err)}
			}
			fmt.Fprintln(a.stdout, "connection: OK")
			return nil
		},
	}
}
