package dag

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func build(edges ...string) *Graph {
	g := New()
	for _, e := range edges {
		var a, b string
		fmt.Sscanf(e, "%s %s", &a, &b)
		if b == "" {
			g.AddNode(a)
			continue
		}
		g.AddEdge(a, b)
	}
	return g
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name  string
		edges []string
		want  [][]string
	}{
		{"acyclic", []string{"a b", "b c", "a c"}, nil},
		{"self", []string{"a a", "a b"}, [][]string{{"a"}}},
		{"three", []string{"c a", "a b", "b c", "c d"}, [][]string{{"a", "b", "c"}}},
		{"two separate", []string{"x y", "y x", "b a", "a b", "q r"}, [][]string{{"a", "b"}, {"x", "y"}}},
		// a component with two cycles through a: both are reported, so
		// that every node on a cycle is named.
		{"figure eight", []string{"a b", "b a", "a c", "c d", "d a"}, [][]string{{"a", "b"}, {"a", "c", "d"}}},
		{"shared node", []string{"b a", "c a", "a b", "a c"}, [][]string{{"a", "b"}, {"a", "c"}}},
		// every edge of a clique is on a reported cycle, so fixing the
		// reported refs never reveals a new cycle
		{"clique", []string{"a b", "a c", "b a", "b c", "c a", "c b"}, [][]string{{"a", "b"}, {"a", "c"}, {"b", "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 { // map order must not leak into the result
				got := build(tt.edges...).Cycles()
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Fatalf("Cycles() (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestWalks(t *testing.T) {
	g := build("a b", "b c", "x c", "c d", "e")
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	if got, want := keys(g.Descendants("b")), []string{"c", "d"}; !slices.Equal(got, want) {
		t.Errorf("Descendants(b) = %v, want %v", got, want)
	}
	if got, want := keys(g.Ancestors("c")), []string{"a", "b", "x"}; !slices.Equal(got, want) {
		t.Errorf("Ancestors(c) = %v, want %v", got, want)
	}
	if got := g.Parents("c"); !slices.Equal(got, []string{"b", "x"}) {
		t.Errorf("Parents(c) = %v", got)
	}
	if !g.Has("e") || g.Has("zz") || g.Len() != 6 {
		t.Errorf("Has/Len wrong: Has(e)=%v Has(zz)=%v Len=%d", g.Has("e"), g.Has("zz"), g.Len())
	}
}
