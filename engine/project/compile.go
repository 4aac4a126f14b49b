package project

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// cteName is how an ephemeral model is named where it is inlined.
func cteName(model string) string { return "__quarry_cte__" + model }

// link resolves relations, drops disabled nodes, and builds the graph from
// the ref and source calls recorded while rendering. Cycles are reported
// with every node on them.
func (p *Project) link(diags *diag.List) {
	for _, n := range p.byName {
		if !n.Config.Enabled {
			delete(p.Nodes, n.UniqueID)
			continue
		}
		switch n.Type {
		case Model:
			n.Relation = warehouse.Relation{Schema: p.Target.SchemaPrefix + cmpOr(n.Config.Schema, p.Target.Schema), Name: cmpOr(n.Config.Alias, n.Name)}
		case Seed:
			n.Relation = warehouse.Relation{Schema: p.Target.SchemaPrefix + cmpOr(n.Config.Schema, p.seedsSchema), Name: cmpOr(n.Config.Alias, n.Name)}
		}
	}
	for _, n := range p.tests {
		// A test of a disabled node goes with it, as in dbt.
		attachedOff := n.Test.Attached != nil && !n.Test.Attached.Config.Enabled
		if !n.Config.Enabled || attachedOff {
			delete(p.Nodes, n.UniqueID)
			delete(p.tests, n.Name)
			continue
		}
		// Only --store-failures writes here: the failing rows of the test.
		n.Relation = warehouse.Relation{Schema: p.Target.SchemaPrefix + p.testsSchema, Name: n.Name}
	}
	p.prefixLandings()
	p.checkRelationClashes(diags)
	for id := range p.Nodes {
		p.Graph.AddNode(id)
	}
	for _, n := range p.Nodes {
		if n.Type != Model && n.Type != Test {
			continue
		}
		for _, name := range n.refs {
			dep := p.byName[name]
			if !dep.Config.Enabled {
				path, line, col := findCall(n, "ref", name)
				diags.Add(path, line, col, "ref %q points at a disabled %s (enabled: false in %s): enable it or remove the ref", name, dep.Type, dep.Path)
				continue
			}
			p.Graph.AddEdge(dep.UniqueID, n.UniqueID)
			n.DependsOn = append(n.DependsOn, dep.UniqueID)
		}
		for _, s := range n.srcs {
			dep := p.sources[s[0]+"."+s[1]]
			p.Graph.AddEdge(dep.UniqueID, n.UniqueID)
			n.DependsOn = append(n.DependsOn, dep.UniqueID)
		}
		slices.Sort(n.DependsOn)
	}
	p.linkExtracts()
	for _, cycle := range p.Graph.Cycles() {
		// Graph edges run from a model to the models that ref it; report
		// the cycle the way it reads in the files: each model refs the next.
		refOrder := append(cycle[:1:1], cycle[1:]...)
		slices.Reverse(refOrder[1:])
		names := make([]string, 0, len(cycle)+1)
		for _, id := range refOrder {
			names = append(names, p.Nodes[id].Name)
		}
		names = append(names, names[0])
		first := p.Nodes[refOrder[0]]
		path, line, col := findCall(first, "ref", names[1])
		diags.Add(path, line, col, "dependency cycle: %s (each refs the next); break it by removing one of these refs",
			strings.Join(names, " -> "))
	}
}

// prefixLandings puts the target's schema_prefix before the schemas the
// extractors land in: quarry writes them, so a CI target must not write
// production's. A source no extractor lands is read where it is declared.
func (p *Project) prefixLandings() {
	if p.Target.SchemaPrefix == "" {
		return
	}
	done := map[*Node]bool{}
	for _, e := range p.extracts {
		for _, src := range e.Extraction.Tables {
			if !done[src] {
				done[src] = true
				src.Relation.Schema = p.Target.SchemaPrefix + src.Relation.Schema
			}
		}
	}
}

// checkRelationClashes refuses two nodes that would build the same relation:
// the one to finish last would silently win.
func (p *Project) checkRelationClashes(diags *diag.List) {
	var nodes []*Node
	for _, n := range p.Nodes {
		if Executable(n) {
			nodes = append(nodes, n)
		}
	}
	slices.SortFunc(nodes, func(a, b *Node) int { return strings.Compare(a.Path, b.Path) })
	owner := map[string]*Node{}
	for _, n := range nodes {
		if n.Type != Model && n.Type != Seed {
			continue // tests and extractors build no relation of their own
		}
		// Both warehouses resolve unquoted names case-insensitively.
		key := strings.ToLower(n.Relation.Schema + "." + n.Relation.Name)
		if prev, dup := owner[key]; dup {
			diags.Add(n.Path, 1, 1, "%s %s builds %s.%s, as %s does: give one of them another alias or schema",
				n.Type, n.Name, n.Relation.Schema, n.Relation.Name, prev.Path)
			continue
		}
		owner[key] = n
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// compileAll fills in every model's and test's compiled SQL, in parallel:
// compiling a node only reads the linked project and writes its own
// Compiled, and at 10,000 models it is a tenth of the load.
func (p *Project) compileAll() {
	var nodes []*Node
	for _, n := range p.Nodes {
		if n.Type == Model || n.Type == Test {
			nodes = append(nodes, n)
		}
	}
	parallel(len(nodes), func(i int) {
		nodes[i].Compiled = p.CompileWith(nodes[i], nodes[i].Rendered, nil)
	})
}

// refuseCompiledSecrets fails the compile of every model or test whose SQL
// would contain the value of a secret-looking environment variable, however
// it got there (a var holding it, a sprig function rebuilding it, the file
// itself): that SQL would be written to target/ and sent to the warehouse.
func (p *Project) refuseCompiledSecrets(diags *diag.List) {
	for _, n := range p.Nodes {
		if n.Type != Model && n.Type != Test {
			continue
		}
		name, _ := p.secrets.Find(n.Compiled)
		if name == "" {
			continue
		}
		line, col := 0, 0
		how := "the template builds it"
		if _, i := p.secrets.Find(n.Raw); i >= 0 {
			line, col = diag.LineCol(n.Raw, i)
			how = "the file itself holds it"
		}
		diags.Add(n.Path, line, col, "the compiled SQL of %s %s would contain the value of environment variable %s, whose name looks like a secret's (%s); "+
			"nothing was written: secrets must never reach compiled SQL or target/, put them in the target's connection settings (${%s} in project.yaml)",
			n.Type, n.Name, name, how, name)
	}
}

// RefuseSecretValue returns an error when text holds the value of a
// secret-looking environment variable; via says where text comes from. The
// error names the variable, never the value.
func (p *Project) RefuseSecretValue(text, via string) error {
	name, _ := p.secrets.Find(text)
	if name == "" {
		return nil
	}
	return fmt.Errorf("%s holds the value of environment variable %s, whose name looks like a secret's: secrets must never reach compiled SQL or target/; "+
		"put them in the target's connection settings (${%s} in project.yaml), and pass only non-secret values with --vars", via, name, name)
}

// CompileWith replaces the placeholders in rendered SQL with relation names and
// inlines the ephemeral models it depends on as common table expressions.
//
// overrides maps a node's unique id to a relation to use instead of its own,
// e.g. an audited table's audit copy while its tests run.
func (p *Project) CompileWith(n *Node, rendered string, overrides map[string]warehouse.Relation) string {
	var ephemerals []*Node
	body := p.stripTerminator(p.substitute(n, rendered, &ephemerals, overrides))
	if len(ephemerals) == 0 {
		return body
	}
	// Inline the ephemerals, each after the ones it depends on.
	var ordered []*Node
	seen := map[*Node]bool{}
	var visit func(e *Node)
	visit = func(e *Node) {
		if seen[e] {
			return
		}
		seen[e] = true
		var deps []*Node
		p.substitute(e, e.Rendered, &deps, overrides)
		for _, d := range deps {
			visit(d)
		}
		ordered = append(ordered, e)
	}
	for _, e := range ephemerals {
		visit(e)
	}
	ctes := make([]string, len(ordered))
	for i, e := range ordered {
		sql := p.stripTerminator(p.substitute(e, e.Rendered, new([]*Node), overrides))
		ctes[i] = fmt.Sprintf("%s as (\n%s\n)", cteName(e.Name), sql)
	}
	with := strings.Join(ctes, ",\n")
	if lead, keyword, rest, ok := cutWith(body); ok {
		// Join the model's own WITH list; non-recursive CTEs are allowed
		// in a WITH RECURSIVE list, so the keyword is kept as written.
		return lead + keyword + " " + with + ",\n" + rest
	}
	return "with " + with + "\n" + body
}

// stripTerminator trims sql, one statement, and blanks out the semicolon
// that may end it, which must not land inside the CREATE ... AS, subquery
// or common table expression it is embedded in; comments are kept. Load has
// checked that sql is one statement (checkStatements); were it not, it is
// returned as it is, trimmed, and the warehouse refuses it.
func (p *Project) stripTerminator(sql string) string {
	if one, err := p.syntax().Single(sql); err == nil {
		return one
	}
	return strings.TrimSpace(sql)
}

// cutWith reports whether sql starts with a WITH clause, returning the
// comments before it (kept as written), the keyword ("with" or "with
// recursive") and what follows it.
func cutWith(sql string) (lead, keyword, rest string, ok bool) {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return "", "", "", false
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return "", "", "", false
			}
			s = s[i+2:]
		default:
			if !hasKeyword(s, "with") {
				return "", "", "", false
			}
			lead = sql[:len(sql)-len(s)]
			rest := strings.TrimSpace(s[4:])
			if hasKeyword(rest, "recursive") {
				return lead, "with recursive", strings.TrimSpace(rest[9:]), true
			}
			return lead, "with", rest, true
		}
	}
}

// hasKeyword reports whether s starts with the SQL keyword kw, any case.
func hasKeyword(s, kw string) bool {
	return len(s) > len(kw) && strings.EqualFold(s[:len(kw)], kw) && isSpace(s[len(kw)])
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// substitute resolves placeholders in s for node n, collecting the
// ephemeral models referenced.
func (p *Project) substitute(n *Node, s string, ephemerals *[]*Node, overrides map[string]warehouse.Relation) string {
	if !strings.Contains(s, phEnd) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i:]
		j := strings.IndexByte(rest[1:], 0)
		if j < 0 { // unterminated: cannot happen for placeholders we wrote
			b.WriteString(rest)
			return b.String()
		}
		token := rest[:j+2]
		s = rest[j+2:]
		arg := token[3 : len(token)-1]
		switch token[:3] {
		case phRef:
			dep := p.byName[arg]
			if dep.Config.Materialized == "ephemeral" {
				if !slices.Contains(*ephemerals, dep) {
					*ephemerals = append(*ephemerals, dep)
				}
				b.WriteString(cteName(dep.Name))
			} else if rel, ok := overrides[dep.UniqueID]; ok {
				b.WriteString(p.Dialect.RelationSQL(rel))
			} else {
				b.WriteString(p.Dialect.RelationSQL(p.relationRead(dep)))
			}
		case phSource:
			b.WriteString(p.Dialect.RelationSQL(p.relationRead(p.sources[arg])))
		case phThis:
			b.WriteString(p.Dialect.RelationSQL(n.Relation))
		}
	}
}

// relationRead is the relation SQL reads for dep: the one a --defer run
// points it at, else its own.
func (p *Project) relationRead(dep *Node) warehouse.Relation {
	if rel, ok := p.deferred[dep.UniqueID]; ok {
		return rel
	}
	return dep.Relation
}

// Defer makes every ref and source to the nodes in rels (by unique id)
// read the relation given instead of the node's own, and compiles every
// model and test again: --defer points what a run does not build at
// another run's relations (production's). Call it before running, once.
func (p *Project) Defer(rels map[string]warehouse.Relation) error {
	p.deferred = rels
	p.compileAll()
	var diags diag.List
	p.refuseCompiledSecrets(&diags)
	return diags.Err()
}

// DeferredTo returns the relation a --defer run reads instead of node id's
// own, if it does.
func (p *Project) DeferredTo(id string) (warehouse.Relation, bool) {
	rel, ok := p.deferred[id]
	return rel, ok
}

// Recompile renders a model again with is_incremental set as given, as the
// runner does for incremental models whose table already exists.
func (p *Project) Recompile(n *Node, incremental bool) error {
	if n.tmpl == nil {
		// A project from a load snapshot (LoadCached) has no templates.
		return fmt.Errorf("%s: the model's template was not loaded (a project from a load snapshot cannot run nodes)", n.Path)
	}
	r := &renderer{p: p, node: n}
	out, err := r.render(incremental)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Path, err)
	}
	if len(r.missing) > 0 { // only the incremental branch can reach these
		return fmt.Errorf("%s: %s names an unknown node: %s", n.Path, r.missing[0].fn, strings.Join(r.missing[0].args, "."))
	}
	// Load checked the SQL without the incremental branch; this is its
	// first rendering with it.
	var diags diag.List
	p.checkStatements(n, out, &diags)
	if err := diags.Err(); err != nil {
		return err
	}
	compiled := p.CompileWith(n, out, nil)
	if err := p.RefuseSecretValue(compiled, "the compiled SQL"); err != nil {
		return fmt.Errorf("%s: %w", n.Path, err)
	}
	n.Compiled = compiled
	return nil
}

// CompiledPath is where a node's compiled SQL is written, relative to the
// project: target/compiled/ mirrors models/, and tests go under
// target/compiled/tests/ by name.
func CompiledPath(n *Node) string {
	if n.Type == Test {
		return "target/compiled/tests/" + n.Name + ".sql"
	}
	return "target/compiled/" + n.Path
}

// WriteSQL writes sql to rel under the project, creating its folder, unless
// the file already holds it.
func (p *Project) WriteSQL(rel, sql string) error {
	dst := filepath.Join(p.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write compiled SQL: %w", err)
	}
	_, err := p.writeSQL(rel, dst, sql)
	return err
}
