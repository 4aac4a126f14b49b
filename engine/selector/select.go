// Package selector evaluates --select and --exclude: node names, graph
// operators (+name, name+, 2+name, name+1), and methods (tag:, path:,
// resource_type:, source:, test_type:, test_name:, and against an earlier
// run state: and result:), into node ids.
package selector

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/state"
)

// Selection follows dbt's syntax: space-separated terms are a union, comma-
// separated atoms inside a term an intersection, and each atom is
// [N]+ method:value +[N], where the pluses add ancestors and descendants
// (optionally only N generations of them). A bare value is a node name.

var selectorMethods = []string{"path", "resource_type", "result", "source", "state", "tag", "test_name", "test_type"}

// Options give the selection what the state: and result: methods compare
// with.
type Options struct {
	// State is the earlier run of --state; nil without it.
	State *state.State
	// Results reads the run results result: uses when there is no
	// --state (the project's own target/); nil: result: needs --state.
	Results func() (*state.Results, error)
}

// Select returns the unique ids of the nodes chosen by the --select and
// --exclude expressions, sorted. No --select means every node. A selector
// that is malformed or matches no node is an error (a typo would otherwise
// quietly build or skip the wrong nodes); an intersection of selectors that
// each match something but share nothing is only a warning.
func Select(p *project.Project, selects, excludes []string) (ids []string, warnings []string, err error) {
	return SelectWith(p, selects, excludes, Options{})
}

// SelectWith is Select with an earlier run to compare with.
func SelectWith(p *project.Project, selects, excludes []string, o Options) (ids []string, warnings []string, err error) {
	diags := &diag.List{}
	chosen := map[string]bool{}
	terms := splitTerms(selects)
	if len(terms) == 0 {
		for id := range p.Nodes {
			chosen[id] = true
		}
	}
	for _, term := range terms {
		set, warn := evalTerm(p, &o, "--select", term, diags)
		warnings = append(warnings, warn...)
		for id := range set {
			chosen[id] = true
		}
	}
	excluded := map[string]bool{}
	for _, term := range splitTerms(excludes) {
		set, warn := evalTerm(p, &o, "--exclude", term, diags)
		warnings = append(warnings, warn...)
		for id := range set {
			delete(chosen, id)
			excluded[id] = true
		}
	}
	// Selecting a node selects its tests (dbt's "eager" indirect selection),
	// unless they were excluded.
	for id, n := range p.Nodes {
		if n.Type != project.Test || chosen[id] || excluded[id] {
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

// evalTerm evaluates one space-separated term: the intersection of its
// comma-separated atoms. Every atom is checked, so all problems are listed.
func evalTerm(p *project.Project, o *Options, flag, term string, diags *diag.List) (map[string]bool, []string) {
	var result map[string]bool
	var notes []string
	ok := true
	for _, atom := range strings.Split(term, ",") {
		set, note, err := evalAtom(p, o, atom)
		if err != nil {
			diags.Add("", 0, 0, "%s %q: %v", flag, atom, err)
			ok = false
			continue
		}
		if note != "" {
			notes = append(notes, fmt.Sprintf("%s %q %s", flag, atom, note))
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
	if !ok {
		return nil, nil
	}
	if len(notes) > 0 {
		return result, notes
	}
	if len(result) == 0 {
		return nil, []string{fmt.Sprintf("%s %q matches no nodes: each of its parts matches some, but no node matches them all", flag, term)}
	}
	return result, nil
}

// evalAtom evaluates one atom. A state: or result: atom may match nothing
// (nothing changed, nothing failed): its set is then empty, with a note
// saying so, rather than an error.
func evalAtom(p *project.Project, o *Options, atom string) (set map[string]bool, note string, err error) {
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
		return nil, "", fmt.Errorf("nothing to select: write a name, tag:x, path:dir or source:name")
	}
	if strings.ContainsAny(s, "+@") {
		return nil, "", fmt.Errorf("misplaced + or @: write name, +name, name+, 2+name or name+1")
	}
	method, value, hasMethod := strings.Cut(s, ":")
	if !hasMethod {
		method, value = "name", s
	} else if value == "" {
		return nil, "", fmt.Errorf("%s: needs a value after the colon, e.g. %s:x", method, method)
	}
	base := map[string]bool{}
	var match func(n *project.Node) bool
	// none explains an empty match, naming what exists.
	var none func() error
	var empty string // the note when a method that may match nothing does
	switch method {
	case "state":
		if match, empty, err = stateMatch(p, o, value); err != nil {
			return nil, "", err
		}
	case "result":
		if match, empty, err = resultMatch(o, value); err != nil {
			return nil, "", err
		}
	case "name":
		match = func(n *project.Node) bool { return n.Name == value || n.UniqueID == value || globMatch(value, n.Name) }
		none = func() error {
			if strings.ContainsAny(value, "*?[") {
				return fmt.Errorf("no node name matches the pattern")
			}
			return fmt.Errorf("no model, seed, test, source or extractor is named %q%s", value, diag.DidYouMean(value, nodeNames(p)))
		}
	case "tag":
		match = func(n *project.Node) bool { return slices.Contains(n.Config.Tags, value) }
		none = func() error {
			tags := tags(p)
			if len(tags) == 0 {
				return fmt.Errorf("no node has a tag (set them with config \"tags\" or tags: in project.yaml)")
			}
			return fmt.Errorf("no node has the tag %q (tags: %s)%s", value, strings.Join(tags, ", "), diag.DidYouMean(value, tags))
		}
	case "path":
		clean := strings.TrimSuffix(path.Clean(value), "/")
		match = func(n *project.Node) bool {
			for _, prefix := range []string{clean, "models/" + clean, "seeds/" + clean, "tests/" + clean} {
				if n.Path == prefix || strings.HasPrefix(n.Path, prefix+"/") {
					return n.Type != project.Source
				}
			}
			return false
		}
		none = func() error {
			dirs := nodeFolders(p)
			// path:staging means models/staging too: suggest either spelling.
			candidates := slices.Clone(dirs)
			for _, d := range dirs {
				if _, rest, ok := strings.Cut(d, "/"); ok {
					candidates = append(candidates, rest)
				}
			}
			return fmt.Errorf("no model, seed or test is under %q (folders: %s)%s", value, listSome(dirs), diag.DidYouMean(clean, candidates))
		}
	case "source":
		match = func(n *project.Node) bool {
			return n.Type == project.Source && (n.SourceName == value || n.SourceName+"."+n.Name == value)
		}
		none = func() error {
			var names []string
			for _, n := range p.Nodes {
				if n.Type == project.Source {
					names = append(names, n.SourceName, n.SourceName+"."+n.Name)
				}
			}
			slices.Sort(names)
			names = slices.Compact(names)
			if len(names) == 0 {
				return fmt.Errorf("the project declares no sources")
			}
			return fmt.Errorf("no source %q (sources: %s)%s", value, listSome(names), diag.DidYouMean(value, names))
		}
	case "resource_type":
		types := make([]string, len(project.ResourceTypes))
		for i, t := range project.ResourceTypes {
			types[i] = string(t)
		}
		if !slices.Contains(types, value) {
			return nil, "", fmt.Errorf("resource_type is one of %s, not %q%s", strings.Join(types, ", "), value, diag.DidYouMean(value, types))
		}
		match = func(n *project.Node) bool { return string(n.Type) == value }
		none = func() error { return fmt.Errorf("the project has no %s nodes", value) }
	case "test_type":
		if value != datatest.Generic && value != datatest.Singular && value != datatest.Freshness {
			return nil, "", fmt.Errorf("test_type is generic, singular or freshness, not %q", value)
		}
		match = func(n *project.Node) bool { return n.TestKind() == value }
		none = func() error { return fmt.Errorf("the project has no %s tests", value) }
	case "test_name":
		match = func(n *project.Node) bool {
			return n.Type == project.Test && (n.Test.Generic == value || n.Test.Kind == value || n.Name == value)
		}
		none = func() error {
			var names []string
			for _, n := range p.Nodes {
				if n.Type == project.Test && n.Test.Generic != "" {
					names = append(names, n.Test.Generic)
				}
			}
			slices.Sort(names)
			names = slices.Compact(names)
			return fmt.Errorf("no test is named %q or uses a test of that name%s", value, diag.DidYouMean(value, names))
		}
	default:
		return nil, "", fmt.Errorf("unknown selector method %q (methods: %s)%s", method, strings.Join(selectorMethods, ", "), diag.DidYouMean(method, selectorMethods))
	}
	for id, n := range p.Nodes {
		if match(n) {
			base[id] = true
		}
	}
	if len(base) == 0 {
		if none == nil {
			return map[string]bool{}, empty, nil
		}
		return nil, "", none()
	}
	out := map[string]bool{}
	for id := range base {
		out[id] = true
	}
	if up != 0 {
		for id := range generations(p, base, up, p.Graph.Parents) {
			out[id] = true
		}
	}
	if down != 0 {
		for id := range generations(p, base, down, p.Graph.Children) {
			out[id] = true
		}
	}
	return out, "", nil
}

// nodeNames are the names a bare selector can match, sorted.
func nodeNames(p *project.Project) []string {
	var names []string
	for _, n := range p.Nodes {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// tags are every tag of every node, sorted.
func tags(p *project.Project) []string {
	var tags []string
	for _, n := range p.Nodes {
		tags = append(tags, n.Config.Tags...)
	}
	slices.Sort(tags)
	return slices.Compact(tags)
}

// nodeFolders are the folders holding models, seeds or tests, sorted.
func nodeFolders(p *project.Project) []string {
	var dirs []string
	for _, n := range p.Nodes {
		if n.Type == project.Source {
			continue
		}
		for d := path.Dir(n.Path); d != "."; d = path.Dir(d) {
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// listSome joins the first dozen items, enough to recognise the right one.
func listSome(items []string) string {
	const most = 12
	if len(items) > most {
		return strings.Join(items[:most], ", ") + fmt.Sprintf(", ... (%d more)", len(items)-most)
	}
	return strings.Join(items, ", ")
}

// generations walks up to depth steps along next (all when depth < 0).
func generations(p *project.Project, start map[string]bool, depth int, next func(string) []string) map[string]bool {
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
