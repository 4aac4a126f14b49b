package project

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/Masterminds/sprig/v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/secret"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Placeholders stand for relation names while models render: a model's
// relation depends on its own config call, so names are only known once
// every model has rendered. The NUL byte cannot occur in a model file.
const (
	phRef    = "\x00r:"
	phSource = "\x00s:"
	phThis   = "\x00t:"
	phEnd    = "\x00"
)

// baseFuncs returns the template functions every model and macro sees:
// sprig's hermetic map (which has no env/expandenv) plus quarry's own, bound
// per model before execution.
func baseFuncs() template.FuncMap {
	f := sprig.HermeticTxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	checkedGenerators(f)
	unbound := func(...any) (string, error) { return "", fmt.Errorf("not available here") }
	for _, name := range []string{"ref", "source", "config", "var", "env_var", "this", "is_incremental", fnLoop, fnEnter, fnLeave} {
		f[name] = unbound
	}
	return f
}

// addDialectFuncs adds the functions whose SQL differs between warehouses,
// so that models compile for every target without `if target` branches.
func (p *Project) addDialectFuncs() {
	unit := func(u string) error {
		if !slices.Contains(warehouse.DateUnits, u) {
			return fmt.Errorf("unit %q: use one of %s", u, strings.Join(warehouse.DateUnits, ", "))
		}
		return nil
	}
	// Without a dialect the target did not resolve (reported, and the load
	// fails on it): the unit is still checked, the SQL is not written.
	p.funcs["dateadd"] = func(u string, n any, expr string) (string, error) {
		if p.Dialect == nil {
			return "", unit(u)
		}
		return p.Dialect.DateAdd(u, fmt.Sprint(n), expr), unit(u)
	}
	p.funcs["datediff"] = func(u, start, end string) (string, error) {
		if p.Dialect == nil {
			return "", unit(u)
		}
		return p.Dialect.DateDiff(u, start, end), unit(u)
	}
}

// TemplateData is the dot of a model template, passed on to macros by
// {{ template "name" . }}.
type TemplateData struct {
	Model  string // the model's name (for a generic test: the tested node's)
	Target struct {
		Name, Type string
	}
	// In tests/generic templates: the tested relation, the tested column
	// (quoted; empty for model-level tests) and the test's arguments.
	Relation string
	Column   string
	Args     map[string]any
}

// renderer renders one model and records what it refers to.
type renderer struct {
	p    *Project
	node *Node

	refs    []string      // names passed to ref
	sources [][2]string   // source, table pairs
	missing []missingCall // calls naming unknown nodes, positioned later
	config  []setting
	incr    bool
}

// missingCall is a ref or source call that named nothing known. It is
// recorded rather than failing the render, so every unknown name in a file
// is reported, each at its own position.
type missingCall struct {
	fn   string
	args []string
}

// funcs are the functions bound to this render: the quarry functions and
// the budget's checkpoints. One map, built once per render (a render of
// every model is the hot path of loading).
func (r *renderer) funcs(b *budget) template.FuncMap {
	f := make(template.FuncMap, 10)
	b.addFuncs(f)
	f["ref"] = r.ref
	f["source"] = r.source
	f["config"] = r.configFn
	f["var"] = r.varFn
	f["env_var"] = r.envVar
	f["this"] = func() string { return phThis + phEnd }
	f["is_incremental"] = func() bool { return r.incr }
	return f
}

func (r *renderer) ref(name string) string {
	if _, ok := r.p.byName[name]; !ok {
		r.missing = append(r.missing, missingCall{"ref", []string{name}})
	} else if !slices.Contains(r.refs, name) {
		r.refs = append(r.refs, name)
	}
	return phRef + name + phEnd
}

func (r *renderer) source(src, table string) string {
	key := src + "." + table
	if _, ok := r.p.sources[key]; !ok {
		r.missing = append(r.missing, missingCall{"source", []string{src, table}})
	} else if !slices.Contains(r.sources, [2]string{src, table}) {
		r.sources = append(r.sources, [2]string{src, table})
	}
	return phSource + key + phEnd
}

func (r *renderer) configFn(kv ...any) (string, error) {
	if len(kv)%2 != 0 {
		return "", fmt.Errorf("config takes key value pairs, got %d arguments", len(kv))
	}
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			return "", fmt.Errorf("config key must be a string, got %v", kv[i])
		}
		if err := r.node.Config.set(key, kv[i+1], r.node.configKeys()); err != nil {
			return "", err
		}
		r.config = append(r.config, setting{key, kv[i+1]})
	}
	return "", nil
}

func (r *renderer) varFn(name string, def ...any) (any, error) {
	if v, ok := r.p.Vars[name]; ok {
		return v, r.p.RefuseSecretValue(fmt.Sprint(v), fmt.Sprintf("var %q", name))
	}
	if len(def) > 0 {
		return def[0], nil
	}
	msg := fmt.Sprintf("unknown var %q: define it under vars: in project.yaml, pass --vars %s=..., or give a default: var %q <default>", name, name, name)
	if s := suggest(name, slices.Sorted(maps.Keys(r.p.Vars))); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return nil, fmt.Errorf("%s", msg)
}

func (r *renderer) envVar(name string, def ...string) (string, error) {
	if w := secret.Word(name); w != "" {
		return "", fmt.Errorf("env_var refuses %q: the name looks like a secret's (%s), and secrets must never reach compiled SQL or target/: "+
			"pass non-secret values with --vars and read them with var; put secrets in the target's connection settings (${%s} in project.yaml)", name, w, name)
	}
	if v, ok := r.p.Env(name); ok {
		return v, r.p.RefuseSecretValue(v, fmt.Sprintf("env_var %q", name))
	}
	if len(def) > 0 {
		return def[0], nil
	}
	return "", fmt.Errorf("environment variable %s is not set: set it, or give a default: env_var %q <default>", name, name)
}

// execErr matches text/template's execution errors, which carry positions.
var execErr = regexp.MustCompile(`(?s)^template: (.*?):(\d+):(\d+): executing "[^"]*" at <.*?>: (?:error calling \w+: )?(.*)$`)

// parseErr matches text/template's parse errors, which carry a line.
var parseErr = regexp.MustCompile(`(?s)^template: (.*?):(\d+): (.*)$`)

// templateDiag turns a text/template error into a diagnostic. src is the
// file's text, used to find a column when the error has none.
func templateDiag(err error, fallbackPath string, sources map[string]string) diag.Diagnostic {
	if be, ok := asBudgetError(err); ok {
		if be.path == "" {
			return diag.Diagnostic{Path: fallbackPath, Msg: be.msg}
		}
		return diag.Diagnostic{Path: be.path, Line: be.line, Col: be.col, Msg: be.msg}
	}
	msg := err.Error()
	if m := execErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		// text/template counts columns from 0; editors count from 1.
		return diag.Diagnostic{Path: m[1], Line: line, Col: col + 1, Msg: m[4]}
	}
	if m := parseErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		text := m[3]
		col := guessColumn(sources[m[1]], line, text)
		return diag.Diagnostic{Path: m[1], Line: line, Col: col, Msg: "template syntax: " + text}
	}
	return diag.Diagnostic{Path: fallbackPath, Msg: msg}
}

// guessColumn finds where on line the quoted token of msg appears, or the
// first action on the line: parse errors only carry a line.
func guessColumn(src string, line int, msg string) int {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j > 0 {
			if k := strings.Index(l, msg[i+1:i+1+j]); k >= 0 {
				return k + 1
			}
		}
	}
	if k := strings.Index(l, "{{"); k >= 0 {
		return k + 1
	}
	return 1
}

// findCall locates the first call of fn with the given leading string
// arguments that node n's template makes: in the model's file first, then
// in the macros it can call. It returns the file and position, or the
// model's file with no position when the call was built dynamically.
func findCall(n *Node, fn string, args ...string) (path string, line, col int) {
	if n.tmpl == nil {
		return n.Path, 0, 0
	}
	trees := []*parse.Tree{n.tmpl.Tree}
	others := n.tmpl.Templates()
	slices.SortFunc(others, func(a, b *template.Template) int { return strings.Compare(a.Name(), b.Name()) })
	for _, t := range others {
		if t.Tree != nil && t != n.tmpl {
			trees = append(trees, t.Tree)
		}
	}
	for _, tree := range trees {
		if tree == nil {
			continue
		}
		var found parse.Node
		walkTree(tree.Root, func(node parse.Node) bool {
			if c, ok := node.(*parse.CommandNode); ok && matchesCall(c, fn, args) {
				found = c.Args[0] // the function's name: where an editor should point
			}
			return found == nil
		})
		if found != nil {
			line, col := nodePosition(tree, found)
			return tree.ParseName, line, col
		}
	}
	return n.Path, 0, 0
}

// nodePosition returns the line and column of n in tree's file.
func nodePosition(tree *parse.Tree, n parse.Node) (line, col int) {
	loc, _ := tree.ErrorContext(n)
	parts := strings.Split(loc, ":")
	if len(parts) < 3 {
		return 0, 0
	}
	line, _ = strconv.Atoi(parts[len(parts)-2])
	col, _ = strconv.Atoi(parts[len(parts)-1])
	return line, col + 1 // text/template counts columns from 0
}

// walkTree calls visit for every node below n, depth first, while visit
// returns true.
func walkTree(n parse.Node, visit func(parse.Node) bool) bool {
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
		if !walkTree(k, visit) {
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

// parseTrees parses a template file into its trees (the file's own and its
// define blocks) without checking function names: parsing against a
// function map would force every template to copy sprig's ~200 functions,
// which dominates load time on big projects. Names are checked by
// checkFuncs instead, with exact positions.
func parseTrees(name, text string) (map[string]*parse.Tree, error) {
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

// usedFuncs returns the function names the trees call. Unknown names are
// reported to diags at their position; ok is false when there were any.
func usedFuncs(trees map[string]*parse.Tree, known template.FuncMap, path string, diags *diag.List) (used []string, ok bool) {
	ok = true
	for _, name := range slices.Sorted(maps.Keys(trees)) {
		tree := trees[name]
		walkTree(tree.Root, func(n parse.Node) bool {
			id, isIdent := n.(*parse.IdentifierNode)
			if !isIdent {
				return true
			}
			if _, isKnown := known[id.Ident]; !isKnown && !slices.Contains(builtinFuncs, id.Ident) {
				line, col := nodePosition(tree, id)
				msg := fmt.Sprintf("function %q not defined", id.Ident)
				if s := suggest(id.Ident, slices.Sorted(maps.Keys(known))); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
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

// readSource reads a file for the loaders; errors become diagnostics.
func readSource(abs, rel string, diags *diag.List) (string, bool) {
	b, err := os.ReadFile(abs)
	if err != nil {
		diags.Add(rel, 0, 0, "%v", err)
		return "", false
	}
	if strings.IndexByte(string(b), 0) >= 0 {
		diags.Add(rel, 0, 0, "contains a NUL byte: is this a text file?")
		return "", false
	}
	return string(b), true
}
