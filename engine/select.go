package engine

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
)

// Selection follows dbt's syntax: space-separated terms are a union, comma-
// separated atoms inside a term an intersection, and each atom is
// [N]+ method:value +[N], where the pluses add ancestors and descendants
// (optionally only N generations of them). A bare value is a node name.

var selectorMethods = []string{"path", "resource_type", "source", "tag", "test_name", "test_type"}

// Select returns the unique ids of the nodes chosen by the --select and
// --exclude expressions, sorted. No --select means every node. Selectors
// that match nothing are returned as warnings; malformed ones as an error.
func (p *Project) Select(selects, excludes []string) (ids []string, warnings []string, err error) {
	diags := &diag.List{}
	chosen := map[string]bool{}
	terms := splitTerms(selects)
	if len(terms) == 0 {
		for id := range p.Nodes {
			chosen[id] = true
		}
	}
	for _, term := range terms {
		set, warn := p.evalTerm(term, diags)
		warnings = append(warnings, warn...)
		for id := range set {
			chosen[id] = true
		}
	}
	excluded := map[string]bool{}
	for _, term := range splitTerms(excludes) {
		set, warn := p.evalTerm(term, diags)
		warnings = append(warnings, warn...)
		for id := range set {
			delete(chosen, id)
			excluded[id] = true
		}
	}
	// Selecting a node selects its tests (dbt's "eager" indirect selection),
	// unless they were excluded.
	for id, n := range p.Nodes {
		if n.Type != Test || chosen[id] || excluded[id] {
			continue
		}
		for _, parent := range p.Graph.Parents(id) {
			if chosen[parent] {
				chosen[id] = true
				break
			}
		}
	}
	if err := diags.Err(); err != nil {
		return nil, warnings, err
	}
	for id := range chosen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, warnings, nil
}

func splitTerms(exprs []string) []string {
	var out []string
	for _, e := range exprs {
		out = append(out, strings.Fields(e)...)
	}
	return out
}

func (p *Project) evalTerm(term string, diags *diag.List) (map[string]bool, []string) {
	var result map[string]bool
	var warnings []string
	for _, atom := range strings.Split(term, ",") {
		set, err := p.evalAtom(atom)
		if err != nil {
			diags.Add("", 0, 0, "--select/--exclude %q: %v", atom, err)
			return nil, nil
		}
		if len(set) == 0 {
			warnings = append(warnings, fmt.Sprintf("the selector %q matches no nodes", atom))
		}
		if result == nil {
			result = set
			continue
		}
		for id := range result {
			if !set[id] {
				delete(result, id)
			}
		}
	}
	return result, warnings
}

func (p *Project) evalAtom(atom string) (map[string]bool, error) {
	up, down := 0, 0 // generations; -1 means all
	s := atom
	if i := strings.IndexByte(s, '+'); i >= 0 && i < len(s)-1 && allDigits(s[:i]) {
		up = -1
		if i > 0 {
			up, _ = strconv.Atoi(s[:i])
		}
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '+'); i > 0 && allDigits(s[i+1:]) {
		down = -1
		if i < len(s)-1 {
			down, _ = strconv.Atoi(s[i+1:])
		}
		s = s[:i]
	}
	if s == "" {
		return nil, fmt.Errorf("nothing to select: write a name, tag:x, path:dir or source:name")
	}
	method, value, hasMethod := strings.Cut(s, ":")
	if !hasMethod {
		method, value = "name", s
	}
	base := map[string]bool{}
	var match func(n *Node) bool
	switch method {
	case "name":
		match = func(n *Node) bool { return n.Name == value || n.UniqueID == value || globMatch(value, n.Name) }
	case "tag":
		match = func(n *Node) bool { return slices.Contains(n.Config.Tags, value) }
	case "path":
		clean := strings.TrimSuffix(path.Clean(value), "/")
		match = func(n *Node) bool {
			for _, prefix := range []string{clean, "models/" + clean, "seeds/" + clean, "tests/" + clean} {
				if n.Path == prefix || strings.HasPrefix(n.Path, prefix+"/") {
					return n.Type != Source
				}
			}
			return false
		}
	case "source":
		match = func(n *Node) bool {
			return n.Type == Source && (n.SourceName == value || n.SourceName+"."+n.Name == value)
		}
	case "resource_type":
		match = func(n *Node) bool { return string(n.Type) == value }
	case "test_type":
		if value != TestGeneric && value != TestSingular && value != TestFreshness {
			return nil, fmt.Errorf("test_type is generic, singular or freshness, not %q", value)
		}
		match = func(n *Node) bool { return n.TestKind() == value }
	case "test_name":
		match = func(n *Node) bool {
			return n.Type == Test && (n.test.generic == value || n.test.kind == value || n.Name == value)
		}
	default:
		msg := fmt.Sprintf("unknown selector method %q (methods: %s)", method, strings.Join(selectorMethods, ", "))
		if s := suggest(method, selectorMethods); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, fmt.Errorf("%s", msg)
	}
	for id, n := range p.Nodes {
		if match(n) {
			base[id] = true
		}
	}
	out := map[string]bool{}
	for id := range base {
		out[id] = true
	}
	if up != 0 {
		for id := range p.generations(base, up, p.Graph.Parents) {
			out[id] = true
		}
	}
	if down != 0 {
		for id := range p.generations(base, down, p.Graph.Children) {
			out[id] = true
		}
	}
	return out, nil
}

// generations walks up to depth steps along next (all when depth < 0).
func (p *Project) generations(start map[string]bool, depth int, next func(string) []string) map[string]bool {
	seen := map[string]bool{}
	frontier := make([]string, 0, len(start))
	for id := range start {
		frontier = append(frontier, id)
	}
	for step := 0; len(frontier) > 0 && (depth < 0 || step < depth); step++ {
		var nextFrontier []string
		for _, id := range frontier {
			for _, n := range next(id) {
				if !seen[n] {
					seen[n] = true
					nextFrontier = append(nextFrontier, n)
				}
			}
		}
		frontier = nextFrontier
	}
	return seen
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func globMatch(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?[") {
		return false
	}
	ok, _ := path.Match(pattern, name)
	return ok
}
