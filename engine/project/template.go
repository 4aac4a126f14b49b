package project

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/template"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
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

// renderer renders one model and records what it refers to.
type renderer struct {
	p    *Project
	node *Node

	refs    []string       // names passed to ref
	sources [][2]string    // source, table pairs
	missing []missingCall  // calls naming unknown nodes, positioned later
	vars    map[string]any // the vars read, with the values they had
	incr    bool
}

// missingCall is a ref or source call that named nothing known. It is
// recorded rather than failing the render, so every unknown name in a file
// is reported, each at its own position.
type missingCall struct {
	fn   string
	args []string
}

// boundFuncs are the functions bound to each render: the quarry functions
// that need the node, and the budget's checkpoints (render.BaseFuncs holds
// unbound stand-ins for them, so templates parse).
var boundFuncs = []string{"ref", "source", "config", "var", "env_var", "this", "is_incremental", render.FnLoop, render.FnEnter, render.FnLeave}

// funcs are the functions bound to this render: those of boundFuncs the
// template calls (node.bind), or all of them when that is not known. Only
// those: text/template copies every function it is given into its maps, at
// each render, and a render of every model is the hot path of loading.
func (r *renderer) funcs(b *render.Budget) template.FuncMap {
	names := r.node.bind
	if names == nil {
		names = boundFuncs
	}
	f := make(template.FuncMap, len(names))
	for _, name := range names {
		switch name {
		case "ref":
			f[name] = r.ref
		case "source":
			f[name] = r.source
		case "config":
			f[name] = r.configFn
		case "var":
			f[name] = r.varFn
		case "env_var":
			f[name] = r.envVar
		case "this":
			f[name] = func() string { return phThis + phEnd }
		case "is_incremental":
			f[name] = func() bool { return r.incr }
		}
	}
	b.AddFuncs(f, names)
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
		if err := r.node.Config.Set(key, kv[i+1], r.node.configKeys()); err != nil {
			return "", err
		}
	}
	return "", nil
}

func (r *renderer) varFn(name string, def ...any) (any, error) {
	if v, ok := r.p.Vars[name]; ok {
		r.readVar(name, v)
		return v, r.p.RefuseSecretValue(fmt.Sprint(v), fmt.Sprintf("var %q", name))
	}
	if len(def) > 0 {
		r.readVar(name, def[0])
		return def[0], nil
	}
	msg := fmt.Sprintf("unknown var %q: define it under vars: in project.yaml, pass --vars %s=..., or give a default: var %q <default>", name, name, name)
	msg += diag.DidYouMean(name, slices.Sorted(maps.Keys(r.p.Vars)))
	return nil, fmt.Errorf("%s", msg)
}

// readVar records a var the template read, for the node's vars checksum
// (state:modified.vars). A default counts too: setting the var later
// changes what the node reads.
func (r *renderer) readVar(name string, v any) {
	if r.vars == nil {
		r.vars = map[string]any{}
	}
	r.vars[name] = v
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

// findCall locates the first call of fn with the given leading string
// arguments that node n's template makes: in the model's file first, then
// in the macros it can call. It returns the file and position, or the
// model's file with no position when the call was built dynamically.
func findCall(n *Node, fn string, args ...string) (path string, line, col int) {
	if n.tmpl == nil {
		return n.Path, 0, 0
	}
	if path, line, col, ok := render.FindCall(n.tmpl, fn, args...); ok {
		return path, line, col
	}
	return n.Path, 0, 0
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
