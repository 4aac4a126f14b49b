package analyze

import (
	"context"
	"fmt"
	"strings"

	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/project"
)

// lineage reads the column lineage of every model described in this run:
// DuckDB parses their compiled SQL into trees, many statements a query, and
// engine/lineage follows each output column to the columns of the nodes it
// reads. Sources name nodes by unique id. Names come from the analysed
// columns by position, since DuckDB names unaliased expressions itself;
// when the two disagree in length (a * over something unknown), every
// column is Unknown rather than misaligned.
func (a *analyser) lineage(ctx context.Context) error {
	var due []*project.Node
	for _, f := range a.fresh {
		if f.n.Type == project.Model && f.n.Analysis.Columns != nil {
			due = append(due, f.n)
		}
	}
	const batch = 256 // statements parsed by one query
	for len(due) > 0 {
		chunk := due[:min(batch, len(due))]
		due = due[len(chunk):]
		trees, err := a.trees(ctx, chunk)
		if err != nil {
			return err
		}
		for i, n := range chunk {
			n.Analysis.Lineage = a.columnLineage(trees[i], names(n.Analysis.Columns))
		}
	}
	return nil
}

// trees returns the parse trees of the nodes' compiled SQL, in order.
func (a *analyser) trees(ctx context.Context, nodes []*project.Node) ([]string, error) {
	sh, err := a.shadow(ctx)
	if err != nil {
		return nil, err
	}
	sqls := make([]string, len(nodes))
	for i, n := range nodes {
		sqls[i] = n.Compiled
	}
	var list any
	if err := sh.conn.QueryRowContext(ctx, lineage.TreesQuery, sqls).Scan(&list); err != nil {
		return nil, fmt.Errorf("parse SQL for column lineage: %w", err)
	}
	items, ok := list.([]any)
	if !ok || len(items) != len(nodes) {
		return nil, fmt.Errorf("parse SQL for column lineage: got %T of %d, want %d trees", list, len(items), len(nodes))
	}
	out := make([]string, len(items))
	for i, item := range items {
		out[i], _ = item.(string)
	}
	return out, nil
}

// columnLineage reads one statement's lineage from its tree.
func (a *analyser) columnLineage(tree string, cols []string) []lineage.Column {
	unknown := func(reason string) []lineage.Column {
		out := make([]lineage.Column, len(cols))
		for i, c := range cols {
			out[i] = lineage.Column{Name: c, Kind: lineage.Unknown, Reason: reason}
		}
		return out
	}
	got, err := lineage.Analyze([]byte(tree), a.catalog)
	if err != nil {
		return unknown(err.Error())
	}
	if len(got) != len(cols) {
		return unknown(fmt.Sprintf("the analysis found %d columns where the statement has %d", len(got), len(cols)))
	}
	for i := range got {
		got[i].Name = cols[i]
	}
	return got
}

// catalog resolves a relation named in compiled SQL to the node that owns
// it, keyed by unique id, with the columns analysed for it.
func (a *analyser) catalog(schema, name string) (string, []string, bool) {
	if a.relations == nil {
		a.relations = map[string]*project.Node{}
		for _, n := range a.p.Nodes {
			if n.Relation.Name != "" && n.Type != project.Test {
				a.relations[strings.ToLower(n.Relation.Schema+"."+n.Relation.Name)] = n
			}
		}
	}
	n, ok := a.relations[strings.ToLower(schema+"."+name)]
	if !ok && schema == "" {
		n, ok = a.relations["main."+strings.ToLower(name)] // DuckDB's default schema
	}
	if !ok || n.Analysis == nil || n.Analysis.Columns == nil {
		return "", nil, false
	}
	return n.UniqueID, names(n.Analysis.Columns), true
}
