package state

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Lookup reports what a relation is in the run's own target.
type Lookup func(ctx context.Context, rel warehouse.Relation) (warehouse.Kind, error)

// Deferrals decides what a --defer run reads from the state's run instead
// of its own target, by dbt's rule: a node the selected models and tests
// read (through ephemeral models) that is not selected itself and whose
// relation does not exist in the target reads the relation the state's
// manifest records for it. A source is deferred too, unless an extractor
// landing it is selected: a CI target's landing schemas are its own, and
// on DuckDB production's raw data lives in production's file. A node the
// state does not know is left as it is (the run then fails on it, naming
// the relation). Extra readers are nodes the project does not hold that
// read the same way: quarry show's inline query.
func (s *State) Deferrals(ctx context.Context, p *project.Project, selected []string, lookup Lookup, extra ...*project.Node) (map[string]warehouse.Relation, error) {
	sel := make(map[string]bool, len(selected))
	for _, id := range selected {
		sel[id] = true
	}
	candidates := map[string]bool{}
	seen := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if seen[id] || sel[id] {
			return
		}
		seen[id] = true
		n := p.Nodes[id]
		switch {
		case n == nil:
		case n.Type == project.Model && n.Config.Materialized == "ephemeral":
			for _, dep := range n.DependsOn {
				visit(dep) // inlined: what it reads is read by its reader
			}
		case n.Type == project.Model, n.Type == project.Seed:
			candidates[id] = true
		case n.Type == project.Source:
			if !slices.ContainsFunc(n.DependsOn, func(ex string) bool { return sel[ex] }) {
				candidates[id] = true
			}
		}
	}
	readers := extra
	for _, id := range selected {
		if n := p.Nodes[id]; n != nil && (n.Type == project.Model || n.Type == project.Test) {
			readers = append(readers, n)
		}
	}
	for _, n := range readers {
		for _, dep := range n.DependsOn {
			visit(dep)
		}
	}
	out := map[string]warehouse.Relation{}
	for _, id := range slices.Sorted(maps.Keys(candidates)) {
		old, ok := s.Manifest.Node(id)
		if !ok || old.Identifier == "" {
			continue
		}
		n := p.Nodes[id]
		kind, err := lookup(ctx, n.Relation)
		if err != nil {
			return nil, fmt.Errorf("--defer: %w", err)
		}
		if kind != warehouse.KindNone {
			continue // built in this target: read it here, as dbt does
		}
		out[id] = warehouse.Relation{Database: old.Database, Schema: old.Schema, Name: old.Identifier}
	}
	return out, nil
}
