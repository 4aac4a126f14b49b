// Package dag is a directed acyclic graph of string ids with the operations
// a build needs: cycle reports in a stable order, topological order,
// ancestor/descendant walks, and a Walker that visits the nodes in
// dependency order on several goroutines.
package dag

import (
	"slices"
	"strings"
)

// Graph holds nodes and parent→child edges. The zero value is not usable:
// call New.
type Graph struct {
	nodes    map[string]struct{}
	children map[string][]string
	parents  map[string][]string
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{nodes: map[string]struct{}{}, children: map[string][]string{}, parents: map[string][]string{}}
}

// AddNode adds id (a no-op when present).
func (g *Graph) AddNode(id string) { g.nodes[id] = struct{}{} }

// AddEdge records that child depends on parent. Both become nodes.
func (g *Graph) AddEdge(parent, child string) {
	g.AddNode(parent)
	g.AddNode(child)
	if slices.Contains(g.children[parent], child) {
		return
	}
	g.children[parent] = append(g.children[parent], child)
	g.parents[child] = append(g.parents[child], parent)
}

// Has reports whether id is a node.
func (g *Graph) Has(id string) bool { _, ok := g.nodes[id]; return ok }

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.nodes) }

// Parents returns the direct parents of id, sorted.
func (g *Graph) Parents(id string) []string { return sorted(g.parents[id]) }

// Children returns the direct children of id, sorted.
func (g *Graph) Children(id string) []string { return sorted(g.children[id]) }

// Nodes returns every node, sorted.
func (g *Graph) Nodes() []string {
	out := make([]string, 0, len(g.nodes))
	for id := range g.nodes {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Cycles returns cycles that together use every edge that lies on a cycle,
// each as the list of its nodes starting from its smallest id and following
// edges (the first node is not repeated at the end). Removing only some of
// the reported edges therefore never reveals a cycle that was not reported.
// The result is the same on every run.
func (g *Graph) Cycles() [][]string {
	var cycles [][]string
	seen := map[string]bool{}
	for _, scc := range g.components() {
		in := make(map[string]bool, len(scc))
		for _, id := range scc {
			in[id] = true
		}
		slices.Sort(scc)
		covered := map[[2]string]bool{}
		for _, from := range scc {
			for _, to := range sorted(g.children[from]) {
				if !in[to] || covered[[2]string{from, to}] {
					continue
				}
				// The shortest way back closes the cycle through this edge.
				c := append([]string{from}, g.path(in, to, from)...)
				c = c[:len(c)-1]
				for i := range c {
					covered[[2]string{c[i], c[(i+1)%len(c)]}] = true
				}
				k := slices.Index(c, slices.Min(c))
				c = append(slices.Clone(c[k:]), c[:k]...)
				if key := strings.Join(c, "\x00"); !seen[key] {
					seen[key] = true
					cycles = append(cycles, c)
				}
			}
		}
	}
	slices.SortFunc(cycles, func(a, b []string) int { return slices.Compare(a, b) })
	return cycles
}

// path returns a shortest path from start to end (both included) using
// only nodes in, preferring smaller ids; start == end gives [start].
func (g *Graph) path(in map[string]bool, start, end string) []string {
	prev := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == end {
			var out []string
			for n := end; n != ""; n = prev[n] {
				out = append(out, n)
			}
			slices.Reverse(out)
			return out
		}
		for _, next := range sorted(g.children[cur]) {
			if _, ok := prev[next]; !ok && in[next] {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return []string{start, end} // unreachable inside a strongly connected component
}

// components returns the strongly connected components (Tarjan's
// algorithm, iterative so that deep graphs cannot overflow the stack).
func (g *Graph) components() [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	type frame struct {
		id   string
		kids []string
		i    int
	}
	for _, root := range g.Nodes() {
		if _, ok := index[root]; ok {
			continue
		}
		work := []*frame{{id: root, kids: g.children[root]}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(work) > 0 {
			f := work[len(work)-1]
			if f.i < len(f.kids) {
				k := f.kids[f.i]
				f.i++
				if _, ok := index[k]; !ok {
					index[k], low[k] = next, next
					next++
					stack = append(stack, k)
					onStack[k] = true
					work = append(work, &frame{id: k, kids: g.children[k]})
				} else if onStack[k] {
					low[f.id] = min(low[f.id], index[k])
				}
				continue
			}
			work = work[:len(work)-1]
			if len(work) > 0 {
				p := work[len(work)-1].id
				low[p] = min(low[p], low[f.id])
			}
			if low[f.id] == index[f.id] {
				var scc []string
				for {
					n := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[n] = false
					scc = append(scc, n)
					if n == f.id {
						break
					}
				}
				out = append(out, scc)
			}
		}
	}
	return out
}

// Descendants returns every node reachable from ids (excluding ids
// themselves unless reachable through a cycle).
func (g *Graph) Descendants(ids ...string) map[string]bool { return g.walk(g.children, ids) }

// Ancestors returns every node from which one of ids is reachable.
func (g *Graph) Ancestors(ids ...string) map[string]bool { return g.walk(g.parents, ids) }

func (g *Graph) walk(edges map[string][]string, ids []string) map[string]bool {
	seen := map[string]bool{}
	stack := slices.Clone(ids)
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, n := range edges[cur] {
			if !seen[n] {
				seen[n] = true
				stack = append(stack, n)
			}
		}
	}
	return seen
}
