package analyze

import (
	"context"
	"fmt"
	"strings"

	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/project"
)

// lineageOf reads the column lineage of a model whose SQL bound to cols:
// DuckDB parses the compiled SQL into its tree, and engine/lineage follows
// each output column to the columns of the nodes it reads. Sources name
// nodes by unique id. Names come from cols by position, since DuckDB names
// unaliased expressions itself; when the two disagree in length (a * over
// something unknown), every column is Unknown rather than misaligned.
func (a *analyser) lineageOf(ctx context.Context, n *project.Node, cols []string) []lineage.Column {
	unknown := func(reason string) []lineage.Column {
		out := make([]lineage.Column, len(cols))
		for i, c := range cols {
			out[i] = lineage.Column{Name: c, Kind: lineage.Unknown, Reason: reason}
		}
		return out
	}
	sh, err := a.shadow(ctx)
	if err != nil {
		return unknown(err.Error())
	}
	var tree string
	if err := sh.conn.QueryRowContext(ctx, lineage.TreeQuery, n.Compiled).Scan(&tree); err != nil {
		return unknown(fmt.Sprintf("DuckDB could not parse it: %v", firstLine(err.Error())))
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
