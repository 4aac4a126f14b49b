package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) lsCommand() *cobra.Command {
	var sel selection
	var output string
	var types []string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the selected nodes, one a line",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := a.loadForReading()
			if err != nil {
				return err
			}
			want := []project.ResourceType{project.Model, project.Seed, project.Source, project.Test}
			if len(types) > 0 {
				want = nil
				for _, t := range types {
					want = append(want, project.ResourceType(t))
				}
			}
			ids, err := a.choose(p, sel, want...)
			if err != nil {
				return err
			}
			// One write for the whole list rather than one a line: at 10,000
			// nodes the writes cost more than the listing.
			out := bufio.NewWriter(a.stdout)
			for _, id := range ids {
				n := p.Nodes[id]
				switch output {
				case "name":
					if n.Type == project.Source {
						fmt.Fprintf(out, "source:%s.%s\n", n.SourceName, n.Name)
					} else {
						fmt.Fprintln(out, n.Name)
					}
				case "id":
					fmt.Fprintln(out, id)
				case "path":
					fmt.Fprintln(out, n.Path)
				case "json":
					b, _ := json.Marshal(map[string]any{"unique_id": id, "name": n.Name, "resource_type": n.Type,
						"path": n.Path, "depends_on": nonNil(n.DependsOn), "config": n.Config})
					fmt.Fprintln(out, string(b))
				}
			}
			if err := out.Flush(); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("print the list: %w", err)}
			}
			return nil
		},
	}
	sel.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "name", "what to print: name, id, path or json")
	cmd.Flags().StringSliceVar(&types, "resource-type", nil, "only these types: extract, model, seed, source, test (default all but extract)")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if !slices.Contains([]string{"name", "id", "path", "json"}, output) {
			return &exitError{code: exitLoad, err: fmt.Errorf("--output must be name, id, path or json, not %q", output)}
		}
		for _, t := range types {
			if !slices.Contains(project.ResourceTypes, project.ResourceType(t)) {
				return &exitError{code: exitLoad, err: fmt.Errorf("--resource-type %q: the types are %s", t, resourceTypeList())}
			}
		}
		return nil
	}
	return cmd
}

func resourceTypeList() string {
	names := make([]string, len(project.ResourceTypes))
	for i, t := range project.ResourceTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
