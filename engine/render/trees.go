package render

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/quarrydev/quarry/engine/diag"
)

// Position returns the line and column of n in tree's file.
func Position(tree *parse.Tree, n parse.Node) (line, col int) {
	loc, _ := tree.ErrorContext(n)
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0, 0
	}
	line, _ = strconv.Atoi(parts[len(parts)-2])
	col, _ = strconv.Atoi(parts[len(parts)-1])
	return line, col + 1 // text/template counts columns from 0
}

// Walk calls visit for every node below n, depth first, while visit
// returns true.
func Walk(n parse.Node, visit func(parse.Node) bool) bool {
	if n == nil || !visit(n) {
		return false
	}
	var kids []parse.Node
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			kids = n.Nodes
		}
	case *parse.ActionNode:
		kids = []parse.Node{n.Pipe}
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				kids = append(kids, c)
			}
		}
	case *parse.CommandNode:
		kids = n.Args
	case *parse.ChainNode:
		kids = []parse.Node{n.Node}
	case *parse.IfNode:
		kids = branchKids(&n.BranchNode)
	case *parse.RangeNode:
		kids = branchKids(&n.BranchNode)
	case *parse.WithNode:
		kids = branchKids(&n.BranchNode)
	case *parse.TemplateNode:
		kids = []parse.Node{n.Pipe}
	}
	for _, k := range kids {
		if isNilNode(k) {
			continue
		}
		if !Walk(k, visit) {
			return false
		}
	}
	return true
}

func branchKids(b *parse.BranchNode) []parse.Node {
	return []parse.Node{b.Pipe, b.List, b.ElseList}
}

// isNilNode catches typed nil pointers stored in parse.Node interfaces.
func isNilNode(n parse.Node) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *parse.ListNode:
		return n == nil
	case *parse.PipeNode:
		return n == nil
	}
	return false
}

// ParseTrees parses a template file into its trees (the file's own and its
// define blocks) without checking function names: parsing against a
// function map would force every template to copy sprig's ~200 functions,
// which dominates load time on big projects. Names are checked by
// UsedFuncs instead, with exact positions.
func ParseTrees(name, text string) (map[string]*parse.Tree, error) {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return nil, err
	}
	for _, tree := range trees {
		instrument(tree)
	}
	return trees, nil
}

// builtinFuncs are text/template's predefined functions.
var builtinFuncs = []string{"and", "call", "eq", "ge", "gt", "html", "index", "js", "le", "len", "lt", "ne", "not", "or", "print", "printf", "println", "slice", "urlquery"}

// UsedFuncs returns the function names the trees call. Unknown names are
// reported to diags at their position; ok is false when there were any.
func UsedFuncs(trees map[string]*parse.Tree, known template.FuncMap, path string, diags *diag.List) (used []string, ok bool) {
	ok = true
	for _, name := range slices.Sorted(maps.Keys(trees)) {
		tree := trees[name]
		Walk(tree.Root, func(n parse.Node) bool {
			id, isIdent := n.(*parse.IdentifierNode)
			if !isIdent {
				return true
			}
			if _, isKnown := known[id.Ident]; !isKnown && !slices.Contains(builtinFuncs, id.Ident) {
				line, col := Position(tree, id)
				msg := fmt.Sprintf("function %q not defined", id.Ident)
				msg += diag.DidYouMean(id.Ident, slices.Sorted(maps.Keys(known)))
				diags.Add(path, line, col, "%s", msg)
				ok = false
				return true
			}
			if !slices.Contains(used, id.Ident) {
				used = append(used, id.Ident)
			}
			return true
		})
	}
	return used, ok
}

func matchesCall(c *parse.CommandNode, fn string, args []string) bool {
	if len(c.Args) < 1+len(args) {
		return false
	}
	id, ok := c.Args[0].(*parse.IdentifierNode)
	if !ok || id.Ident != fn {
		return false
	}
	for i, want := range args {
		s, ok := c.Args[i+1].(*parse.StringNode)
		if !ok || s.Text != want {
			return false
		}
	}
	return true
}

// FindCall locates the first call of fn with the given leading string
// arguments that t makes: in t's own tree first, then in the other
// templates it holds (the macros it can call), by name. ok is false when
// no tree holds such a call (it was built dynamically).
func FindCall(t *template.Template, fn string, args ...string) (path string, line, col int, ok bool) {
	trees := []*parse.Tree{t.Tree}
	others := t.Templates()
	slices.SortFunc(others, func(a, b *template.Template) int { return strings.Compare(a.Name(), b.Name()) })
	for _, o := range others {
		if o.Tree != nil && o != t {
			trees = append(trees, o.Tree)
		}
	}
	for _, tree := range trees {
		if tree == nil {
			continue
		}
		var found parse.Node
		Walk(tree.Root, func(node parse.Node) bool {
			if c, ok := node.(*parse.CommandNode); ok && matchesCall(c, fn, args) {
				found = c.Args[0] // the function's name: where an editor should point
			}
			return found == nil
		})
		if found != nil {
			line, col := Position(tree, found)
			return tree.ParseName, line, col, true
		}
	}
	return "", 0, 0, false
}
