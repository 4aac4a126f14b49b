package run

import (
	"maps"
	"slices"

	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
)

// audited reports whether a model is built beside its live table, tested
// there, and only then published.
func audited(n *project.Node) bool {
	return n.Type == project.Model && n.Config.Publish == "audited" && n.Config.Materialized == "table"
}

// schedule is the work of one run: the nodes to run and the order between
// them.
type schedule struct {
	graph  *dag.Graph                 // nodes scheduled, each waiting on its parents
	inline map[string][]*project.Node // audited model -> tests run inside it
}

// plan decides what runs and in which order. Tests gate their model's
// children: a child waits for the tests of what it reads, so an error-
// severity failure stops bad data from flowing downstream. An audited
// table's tests run inside its node, against the unpublished copy.
func plan(p *project.Project, ids []string) *schedule {
	s := &schedule{graph: dag.New(), inline: map[string][]*project.Node{}}
	set := map[string]bool{} // nodes scheduled
	for _, id := range ids {
		if n := p.Nodes[id]; n != nil && project.Executable(n) {
			set[id] = true
		}
	}
	// Ephemeral models join as no-ops, so that an ordering through them
	// (a -> ephemeral -> b) is still respected.
	for id, n := range p.Nodes {
		if n.Type == project.Model && n.Config.Materialized == "ephemeral" {
			set[id] = true
		}
	}
	// Tests of an audited model run inside it, against its unpublished
	// copy, when everything else they read is upstream of it (so already
	// built when it runs). The others run as nodes of their own, after all
	// they read, against what is live.
	for _, id := range slices.Sorted(maps.Keys(set)) {
		n := p.Nodes[id]
		if n.Type != project.Test {
			continue
		}
		m := n.Attached()
		if n.TestKind() == datatest.Singular {
			// a singular test belongs to the audited model it reads, if one
			for _, parent := range p.Graph.Parents(id) {
				if set[parent] && audited(p.Nodes[parent]) {
					m = p.Nodes[parent]
					break
				}
			}
		}
		if m == nil || !set[m.UniqueID] || !audited(m) {
			continue
		}
		up := p.Graph.Ancestors(m.UniqueID)
		if !slices.ContainsFunc(p.Graph.Parents(id), func(q string) bool { return q != m.UniqueID && !up[q] }) {
			s.inline[m.UniqueID] = append(s.inline[m.UniqueID], n)
			delete(set, id)
		}
	}
	for id := range set {
		s.graph.AddNode(id)
	}
	// A source passes its extractor on: a model reading a source waits
	// for the extract node that lands it.
	var link func(id, via string)
	link = func(id, via string) {
		for _, parent := range p.Graph.Parents(via) {
			switch {
			case set[parent]:
				s.graph.AddEdge(parent, id)
			case p.Nodes[parent].Type == project.Source:
				link(id, parent)
			}
		}
	}
	for id := range set {
		link(id, id)
	}
	// A test gates the children of what it tests: they wait for it, so an
	// error-severity failure stops bad data from flowing downstream. A test
	// that reads several nodes (relationships, many singular tests) could
	// close a loop through another such test; those edges are added only
	// where they cannot.
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if p.Nodes[id].Type != project.Test {
			continue
		}
		parents := p.Graph.Parents(id)
		tested := parents
		if a := p.Nodes[id].Attached(); a != nil {
			tested = []string{a.UniqueID}
		}
		// A child of the only node a test reads cannot be upstream of the
		// test (that would be a cycle): only tests reading several nodes
		// need the ancestor walk.
		var ancestors map[string]bool
		if len(parents) > 1 {
			ancestors = p.Graph.Ancestors(id)
		}
		for _, t := range tested {
			for _, child := range p.Graph.Children(t) {
				if !set[child] || p.Nodes[child].Type == project.Test || ancestors[child] {
					continue
				}
				// the edge would close a loop through the schedule
				if len(parents) > 1 && s.graph.Descendants(child)[id] {
					continue
				}
				s.graph.AddEdge(id, child)
			}
		}
	}
	return s
}
