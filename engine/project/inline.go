package project

import (
	"fmt"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
)

// InlinePath is how SQL given on the command line (quarry show --inline)
// is named in diagnostics.
const InlinePath = "--inline"

// CompileInline renders sql, a template like a model's (ref, source, var,
// env_var, the project's macros), in the project's context and compiles it,
// without adding anything to the project: the node returned holds the
// Compiled SQL, ready to run, and DependsOn lists the models, seeds and
// sources it reads. Problems are a *diag.Error positioned in sql, under
// InlinePath, with the same checks a model gets: one statement, known refs
// and sources, no secret values.
func (p *Project) CompileInline(sql string) (*Node, error) {
	diags := &diag.List{}
	n := &Node{UniqueID: "inline." + p.Name, Name: "inline", Type: Model, Path: InlinePath, Raw: sql,
		Config: config.Node{Materialized: "view", Enabled: true}}
	if p.sqlIsEmpty(sql) {
		diags.Add(InlinePath, 1, 1, "the query is empty: write a select statement")
		return nil, diags.Err()
	}
	r, ok := p.parseModel(n, diags)
	if !ok {
		return nil, diags.Err()
	}
	out, err := r.render(false)
	if err != nil {
		diags.Append(render.Diagnostic(err, InlinePath, map[string]string{InlinePath: sql}))
		return nil, diags.Err()
	}
	p.checkStatements(n, out, diags)
	for _, m := range r.missing {
		p.reportMissing(n, m, diags)
	}
	for _, name := range r.refs {
		dep := p.byName[name]
		if !dep.Config.Enabled {
			path, line, col := findCall(n, "ref", name)
			diags.Add(path, line, col, "ref %q points at a disabled %s (enabled: false in %s): enable it or remove the ref", name, dep.Type, dep.Path)
			continue
		}
		n.DependsOn = append(n.DependsOn, dep.UniqueID)
	}
	for _, s := range r.sources {
		n.DependsOn = append(n.DependsOn, p.sources[s[0]+"."+s[1]].UniqueID)
	}
	if err := diags.Err(); err != nil {
		return nil, err
	}
	n.Rendered = out
	n.Compiled = p.CompileWith(n, out, nil)
	if err := p.RefuseSecretValue(n.Compiled, "the compiled SQL"); err != nil {
		return nil, fmt.Errorf("%s: %w", InlinePath, err)
	}
	return n, nil
}
