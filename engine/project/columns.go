package project

import (
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// CheckColumns reports, where the property files name them, the columns
// that a node does not produce, now that known can tell (the analyser's
// columns; nil for a node it could not analyse): the columns a model or
// source declares, and the columns built-in tests name, on the node they
// are declared on or, for relationships, the node they point to. Loading
// already checked what it could know (seeds' headers, declared columns), so
// what is reported here is new. Only the nodes report accepts are
// reported on.
func (p *Project) CheckColumns(known func(*Node) []string, report func(*Node) bool, diags *diag.List) {
	for _, n := range p.sortedNodes() {
		if !report(n) {
			continue
		}
		switch n.Type {
		case Model, Source:
			cols := known(n)
			if cols == nil {
				continue
			}
			for _, c := range n.Columns {
				if err := checkColumnIn(n, cols, c.Name); err != nil {
					diags.Add(c.File, c.Line, c.Col, "%s %s declares column %q, which its SQL does not produce (columns: %s)%s",
						n.Type, n.Name, c.Name, strings.Join(cols, ", "), diag.DidYouMean(c.Name, cols))
				}
			}
		case Test:
			t := n.Test
			def, builtin := datatest.LookupBuiltin(t.Generic)
			if t.Kind != datatest.Generic || !builtin {
				continue
			}
			look := p.lookups(t, func(m *Node) []string {
				if loadedColumns(m) != nil {
					return nil // checked when loading
				}
				return known(m)
			})
			pos := p.testPos[n]
			for _, msg := range def.Check(datatest.Use{Column: t.Column, Args: t.Args}, look) {
				diags.Add(n.Path, pos.line, pos.col, "test %s on %s: %s", t.Generic, describeTarget(t), msg)
			}
		}
	}
}

// TestPosition is where a generic or freshness test is declared in its
// property file; a singular test is its own file.
func (p *Project) TestPosition(n *Node) (file string, line, col int) {
	if pos, ok := p.testPos[n]; ok {
		return n.Path, pos.line, pos.col
	}
	return n.Path, 1, 1
}

// sortedNodes returns the nodes by unique id, for output in a stable order.
func (p *Project) sortedNodes() []*Node {
	out := make([]*Node, 0, len(p.Nodes))
	for _, n := range p.Nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *Node) int { return strings.Compare(a.UniqueID, b.UniqueID) })
	return out
}

// Schemas are the schemas the project's models, seeds and sources live in.
func (p *Project) Schemas() []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range p.Nodes {
		if s := n.Relation.Schema; s != "" && n.Type != Test && !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// KnownColumn is one column of a node, as far as quarry knows it before
// looking at the warehouse.
type KnownColumn struct {
	Name        string
	DataType    string // the analyser's, a seed's file's, or as declared
	Description string
	Lineage     *lineage.Column // a model's, when its SQL was analysed
}

// KnownColumns lists n's columns: those the analyser found, in output
// order, else a seed's from its file, else those its property file
// declares; each with what the property file says of it.
func (n *Node) KnownColumns() []KnownColumn {
	var found []warehouse.Column
	switch {
	case n.Analysis != nil && n.Analysis.Columns != nil:
		found = n.Analysis.Columns
	case n.Type == Seed:
		if n.seed.sound {
			found = n.seed.table.Columns
		}
	}
	if found == nil {
		out := make([]KnownColumn, len(n.Columns))
		for i, c := range n.Columns {
			out[i] = KnownColumn{Name: c.Name, DataType: c.DataType, Description: c.Description}
		}
		return out
	}
	out := make([]KnownColumn, len(found))
	for i, c := range found {
		out[i] = KnownColumn{Name: c.Name, DataType: warehouse.ColumnType(c.Type, "TIMESTAMP")}
		if a := n.Analysis; a != nil && len(a.Lineage) == len(found) {
			out[i].Lineage = &a.Lineage[i]
		}
		for _, d := range n.Columns {
			if strings.EqualFold(d.Name, c.Name) {
				out[i].Description = d.Description
			}
		}
	}
	return out
}
