package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) lineageCommand() *cobra.Command {
	var up, down bool
	cmd := &cobra.Command{
		Use:   "lineage NODE[.COLUMN]",
		Short: "Show where a column comes from and where it goes, column by column",
		Long: `lineage analyses the project's SQL (nothing runs) and shows, as a tree,
the upstream columns a model's column is computed from, down to seeds and
sources, and the downstream columns computed from it. Each step says whether
the column is passed through or renamed (direct) or computed from it
(derived); where the analysis cannot tell, it says unknown and why.

NODE is a model or seed name, or SOURCE.TABLE for a source; without
.COLUMN, every column of the node is shown. --upstream or --downstream shows
one direction only.`,
		Example: `  quarry lineage mart_technology_overview.downloads_last_30_days --upstream
  quarry lineage pypi.pypi_downloads_daily.downloads --downstream`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.loadForReading()
			if err != nil {
				return err
			}
			n, column, err := findColumnArg(p, args[0])
			if err != nil {
				a.printError(err)
				return &exitError{code: exitLoad}
			}
			if !up && !down {
				up, down = true, true
			}
			ids := []string{n.UniqueID}
			if down {
				ids = append(ids, slices.Sorted(maps.Keys(p.Graph.Descendants(n.UniqueID)))...)
			}
			if _, err := a.check(cmd.Context(), p, ids); err != nil {
				return err
			}
			cols, err := nodeColumns(n, column)
			if err != nil {
				a.printError(err)
				return &exitError{code: exitLoad}
			}
			out := bufio.NewWriter(a.stdout)
			t := &lineageTree{p: p, w: out, down: downstreamIndex(p)}
			for i, c := range cols {
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintln(out, columnLabel(n, c))
				switch {
				case up && down:
					t.upstream(n, c, t.line("", false, "upstream"), map[string]bool{})
					t.downstream(n, c, t.line("", true, "downstream"), map[string]bool{})
				case up:
					t.upstream(n, c, "", map[string]bool{})
				default:
					t.downstream(n, c, "", map[string]bool{})
				}
			}
			if err := out.Flush(); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("print the lineage: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&up, "upstream", false, "show only where the column comes from")
	cmd.Flags().BoolVar(&down, "downstream", false, "show only what is computed from the column")
	return cmd
}

// findColumnArg reads NODE[.COLUMN]: the longest prefix naming a model,
// seed or source (SOURCE.TABLE) is the node, the rest the column.
func findColumnArg(p *project.Project, arg string) (*project.Node, string, error) {
	byName := map[string]*project.Node{}
	for _, n := range p.Nodes {
		switch n.Type {
		case project.Model, project.Seed:
			byName[n.Name] = n
		case project.Source:
			byName[n.SourceName+"."+n.Name] = n
		}
	}
	for i := len(arg); i > 0; i = strings.LastIndexByte(arg[:i], '.') {
		if n, ok := byName[arg[:i]]; ok {
			return n, strings.TrimPrefix(arg[i:], "."), nil
		}
	}
	head, _, _ := strings.Cut(arg, ".")
	return nil, "", fmt.Errorf("no model, seed or source is named %q (give NODE or NODE.COLUMN; a source as SOURCE.TABLE)%s",
		arg, diag.DidYouMean(head, slices.Sorted(maps.Keys(byName))))
}

// nodeColumns is column, checked against n's columns, or all of them.
func nodeColumns(n *project.Node, column string) ([]string, error) {
	if n.Analysis == nil || n.Analysis.Columns == nil {
		reason := "it was not analysed"
		if n.Analysis != nil {
			reason = n.Analysis.Reason
		}
		return nil, fmt.Errorf("the columns of %s %s are unknown: %s", n.Type, n.Name, reason)
	}
	all := names(n)
	if column == "" {
		return all, nil
	}
	for _, c := range all {
		if strings.EqualFold(c, column) {
			return []string{c}, nil
		}
	}
	return nil, fmt.Errorf("%s %s has no column %q (columns: %s)%s", n.Type, n.Name, column, strings.Join(all, ", "), diag.DidYouMean(column, all))
}

func names(n *project.Node) []string {
	out := make([]string, len(n.Analysis.Columns))
	for i, c := range n.Analysis.Columns {
		out[i] = c.Name
	}
	return out
}

// columnLabel names a column the way the tree shows it: "model x.col",
// "source pypi.downloads.col".
func columnLabel(n *project.Node, column string) string {
	name := n.Name
	if n.Type == project.Source {
		name = n.SourceName + "." + n.Name
	}
	return fmt.Sprintf("%s %s.%s", n.Type, name, column)
}

// use is one column computed from another: the model's column, and how.
type use struct {
	node   *project.Node
	column string
	kind   lineage.Kind
}

// downstreamIndex inverts the analysed lineage: for "unique id.column", the
// columns computed from it.
func downstreamIndex(p *project.Project) map[string][]use {
	idx := map[string][]use{}
	for _, n := range p.Nodes {
		if n.Analysis == nil {
			continue
		}
		for _, l := range n.Analysis.Lineage {
			for _, src := range l.Sources {
				key := src.Relation + "." + strings.ToLower(src.Column)
				idx[key] = append(idx[key], use{node: n, column: l.Name, kind: l.Kind})
			}
		}
	}
	for _, uses := range idx {
		slices.SortFunc(uses, func(x, y use) int {
			return strings.Compare(x.node.UniqueID+"."+x.column, y.node.UniqueID+"."+y.column)
		})
	}
	return idx
}

// lineageTree prints lineage as an indented tree. A column reached twice
// is expanded the first time only.
type lineageTree struct {
	p    *project.Project
	w    io.Writer
	down map[string][]use
}

func (t *lineageTree) line(prefix string, last bool, text string) string {
	branch, next := "├── ", "│   "
	if last {
		branch, next = "└── ", "    "
	}
	fmt.Fprintf(t.w, "%s%s%s\n", prefix, branch, text)
	return prefix + next
}

func (t *lineageTree) upstream(n *project.Node, column, prefix string, seen map[string]bool) {
	l, ok := columnLineage(n, column)
	if !ok && n.Type == project.Model {
		reason := "the model was not analysed"
		if n.Analysis != nil && n.Analysis.Reason != "" {
			reason = n.Analysis.Reason
		}
		t.line(prefix, true, "unknown: "+reason)
		return
	}
	if !ok {
		if n.Type == project.Source {
			for _, id := range n.DependsOn {
				if m := t.p.Nodes[id]; m.Type == project.Extract {
					t.line(prefix, true, fmt.Sprintf("landed by extractor %s", m.Name))
				}
			}
		}
		return // a seed or source: where data enters
	}
	switch {
	case l.Kind == lineage.Unknown:
		t.line(prefix, true, "unknown: "+l.Reason)
		return
	case len(l.Sources) == 0:
		t.line(prefix, true, fmt.Sprintf("%s from no upstream column (a constant, count(*), or a value only ordering or filters read columns for)", l.Kind))
		return
	}
	for i, src := range l.Sources {
		up := t.p.Nodes[src.Relation]
		key := src.Relation + "." + strings.ToLower(src.Column)
		text := fmt.Sprintf("%s from %s", l.Kind, columnLabel(up, src.Column))
		if seen[key] {
			t.line(prefix, i == len(l.Sources)-1, text+" (shown above)")
			continue
		}
		seen[key] = true
		next := t.line(prefix, i == len(l.Sources)-1, text)
		t.upstream(up, src.Column, next, seen)
	}
}

func (t *lineageTree) downstream(n *project.Node, column, prefix string, seen map[string]bool) {
	uses := t.down[n.UniqueID+"."+strings.ToLower(column)]
	if len(uses) == 0 && len(seen) == 0 {
		t.line(prefix, true, "no analysed model computes a column from it")
	}
	for i, u := range uses {
		key := u.node.UniqueID + "." + strings.ToLower(u.column)
		text := fmt.Sprintf("%s into %s", u.kind, columnLabel(u.node, u.column))
		if seen[key] {
			t.line(prefix, i == len(uses)-1, text+" (shown above)")
			continue
		}
		seen[key] = true
		next := t.line(prefix, i == len(uses)-1, text)
		t.downstream(u.node, u.column, next, seen)
	}
}

// columnLineage is a model column's lineage; false for seeds and sources,
// where data enters the project.
func columnLineage(n *project.Node, column string) (lineage.Column, bool) {
	if n.Type != project.Model || n.Analysis == nil {
		return lineage.Column{}, false
	}
	for _, l := range n.Analysis.Lineage {
		if strings.EqualFold(l.Name, column) {
			return l, true
		}
	}
	return lineage.Column{}, false
}
