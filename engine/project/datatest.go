package project

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// Test is the resource type of data tests: queries that select failing rows.
const Test ResourceType = "test"

// TestSpec is what a test node checks.
type TestSpec struct {
	Kind     string         // datatest.Generic, datatest.Singular or datatest.Freshness
	Generic  string         // the generic test's name: unique, not_null, ...
	Attached *Node          // the model, seed or source it is declared on
	Column   string         // for column tests
	Args     map[string]any // the generic test's arguments

	WarnAfter, ErrorAfter time.Duration // freshness
}

// TestKind returns datatest.Generic, datatest.Singular or
// datatest.Freshness for test nodes.
func (n *Node) TestKind() string {
	if n.Test == nil {
		return ""
	}
	return n.Test.Kind
}

// Attached returns the node a generic or freshness test is declared on.
func (n *Node) Attached() *Node {
	if n.Test == nil {
		return nil
	}
	return n.Test.Attached
}

func (n *Node) configKeys() []string {
	switch n.Type {
	case Test:
		return config.TestKeys()
	case Seed:
		return config.SeedKeys()
	}
	return config.ModelKeys()
}

// testDecl is a test as written in a property file, kept until every node
// is known.
type testDecl struct {
	file     string
	node     *yaml.Node
	attached *Node
	column   string
}

// freshnessDecl is a source table's freshness block.
type freshnessDecl struct {
	file     string
	node     *yaml.Node
	attached *Node
}

// collectTests remembers the tests declared for a node and its columns.
func (p *Project) collectTests(file string, attached *Node, tests, dataTests []yaml.Node, cols []columnProps) {
	add := func(column string, nodes []yaml.Node) {
		for i := range nodes {
			p.testDecls = append(p.testDecls, testDecl{file: file, node: &nodes[i], attached: attached, column: column})
		}
	}
	add("", tests)
	add("", dataTests)
	for _, c := range cols {
		add(c.Name, c.Tests)
		add(c.Name, c.DataTests)
	}
}

// loadGenericTests parses tests/generic/*.sql: each file is a template,
// named after the file, that selects the failing rows of .Relation.
func (p *Project) loadGenericTests(files []string, diags *diag.List) {
	p.genericTests = map[string]map[string]*parse.Tree{}
	for _, rel := range files {
		src, ok := readSource(filepath.Join(p.Dir, rel), rel, diags)
		if !ok {
			continue
		}
		name := strings.TrimSuffix(path.Base(rel), ".sql")
		if _, builtin := datatest.LookupBuiltin(name); builtin {
			diags.Add(rel, 1, 1, "%q is a built-in test; give the custom test another name", name)
			continue
		}
		trees, err := render.ParseTrees(rel, src)
		if err != nil {
			diags.Append(render.Diagnostic(err, rel, map[string]string{rel: src}))
			continue
		}
		if _, ok := render.UsedFuncs(trees, p.funcs, rel, diags); !ok {
			continue
		}
		p.genericTests[name] = trees
	}
}

// addSingularTests makes a node of each tests/**/*.sql outside generic/.
func (p *Project) addSingularTests(files []string, diags *diag.List) {
	for _, rel := range files {
		name := strings.TrimSuffix(path.Base(rel), ".sql")
		n := &Node{UniqueID: "test." + p.Name + "." + name, Name: name, Type: Test, Path: rel,
			Config: config.Node{Enabled: true, Severity: "error"}, Test: &TestSpec{Kind: datatest.Singular}}
		p.addTest(n, diags, 1, 1)
	}
}

func (p *Project) addTest(n *Node, diags *diag.List, line, col int) bool {
	if prev, dup := p.tests[n.Name]; dup {
		diags.Add(n.Path, line, col, "test name %q is already used by %s: rename one of them", n.Name, prev.Path)
		return false
	}
	p.tests[n.Name] = n
	p.Nodes[n.UniqueID] = n
	return true
}

// buildTests turns every declaration into a test node. It runs after all
// models, seeds and sources are known, so names can be checked.
func (p *Project) buildTests(diags *diag.List) {
	for _, d := range p.testDecls {
		p.buildTest(d, diags)
	}
	for _, f := range p.freshnessDecls {
		p.buildFreshness(f, diags)
	}
}

func (p *Project) buildTest(d testDecl, diags *diag.List) {
	name, argsNode, ok := splitTestNode(d.node)
	if !ok {
		diags.Add(d.file, d.node.Line, d.node.Column, "a test is a name (unique) or a mapping with one name (accepted_values: {values: [a, b]})")
		return
	}
	def, builtin := datatest.LookupBuiltin(name)
	_, custom := p.genericTests[name]
	if !builtin && !custom {
		known := datatest.BuiltinNames()
		known = append(known, slices.Sorted(maps.Keys(p.genericTests))...)
		msg := fmt.Sprintf("unknown test %q (tests: %s; custom ones live in tests/generic/NAME.sql)", name, strings.Join(known, ", "))
		msg += diag.DidYouMean(name, known)
		diags.Add(d.file, d.node.Line, d.node.Column, "%s", msg)
		return
	}
	n := &Node{Type: Test, Path: d.file, Config: config.Node{Enabled: true, Severity: "error"},
		Test: &TestSpec{Kind: datatest.Generic, Generic: name, Attached: d.attached, Column: d.column, Args: map[string]any{}}}
	line, col := d.node.Line, d.node.Column
	if argsNode != nil {
		if argsNode.Kind != yaml.MappingNode {
			diags.Add(d.file, argsNode.Line, argsNode.Column, "test %s: arguments must be a mapping", name)
			return
		}
		for i := 0; i+1 < len(argsNode.Content); i += 2 {
			k, v := argsNode.Content[i], argsNode.Content[i+1]
			var value any
			if err := v.Decode(&value); err != nil {
				diags.Add(d.file, v.Line, v.Column, "test %s: %v", name, err)
				return
			}
			switch {
			case k.Value == "config":
				cfg, ok := value.(map[string]any)
				if !ok {
					diags.Add(d.file, v.Line, v.Column, "test %s: config must be a mapping", name)
					return
				}
				for _, ck := range slices.Sorted(maps.Keys(cfg)) {
					if err := n.Config.Set(ck, cfg[ck], config.TestKeys()); err != nil {
						diags.Add(d.file, v.Line, v.Column, "test %s: %v", name, err)
					}
				}
			case slices.Contains(config.TestKeys(), k.Value):
				if err := n.Config.Set(k.Value, value, config.TestKeys()); err != nil {
					diags.Add(d.file, v.Line, v.Column, "test %s: %v", name, err)
				}
			case builtin && !def.Takes(k.Value):
				args := def.Args()
				msg := fmt.Sprintf("test %s takes no argument %q (arguments: %s; config: %s)", name, k.Value,
					strings.Join(args, ", "), strings.Join(config.TestKeys(), ", "))
				msg += diag.DidYouMean(k.Value, append(args, config.TestKeys()...))
				diags.Add(d.file, k.Line, k.Column, "%s", msg)
			default:
				n.Test.Args[k.Value] = value
			}
		}
	}
	if builtin && !p.checkBuiltinArgs(n, def, d, line, col, diags) {
		return
	}
	n.Name = p.testName(n)
	n.UniqueID = "test." + p.Name + "." + n.Name
	if !p.addTest(n, diags, line, col) {
		return
	}
	p.testPos[n] = pos{line, col}
}

// splitTestNode reads `unique` or `accepted_values: {...}`.
func splitTestNode(n *yaml.Node) (name string, args *yaml.Node, ok bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, nil, n.Value != ""
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Value != "" {
			return n.Content[0].Value, n.Content[1], true
		}
	}
	return "", nil, false
}

// checkBuiltinArgs validates a built-in test's arguments and the columns
// they name, where the columns can be known before anything runs: a seed's
// header, or the columns a model declares in its property file.
func (p *Project) checkBuiltinArgs(n *Node, def datatest.Builtin, d testDecl, line, col int, diags *diag.List) bool {
	t := n.Test
	problems := def.Check(datatest.Use{Column: t.Column, Args: t.Args}, p.lookups(t, loadedColumns))
	for _, msg := range problems {
		diags.Add(d.file, line, col, "test %s on %s: %s", t.Generic, describeTarget(t), msg)
	}
	return len(problems) == 0
}

// lookups answer a built-in test's questions about columns from known.
func (p *Project) lookups(t *TestSpec, known func(*Node) []string) datatest.Lookups {
	return datatest.Lookups{
		Column: func(column string) error { return checkColumnIn(t.Attached, known(t.Attached), column) },
		Relation: func(name string) (func(string) error, error) {
			target, found := p.byName[name]
			if !found {
				msg := fmt.Sprintf("no model or seed is named %q", name)
				msg += diag.DidYouMean(name, slices.Sorted(maps.Keys(p.byName)))
				return nil, errors.New(msg)
			}
			return func(column string) error { return checkColumnIn(target, known(target), column) }, nil
		},
	}
}

func describeTarget(t *TestSpec) string {
	s := t.Attached.Name
	if t.Attached.Type == Source {
		s = t.Attached.SourceName + "." + t.Attached.Name
	}
	if t.Column != "" {
		s += "." + t.Column
	}
	return s
}

// checkColumn reports a column that n certainly does not have, as far as
// loading knows: seeds know their columns from the CSV header; models and
// sources only when their property file declares columns. After loading,
// the analyser knows every model's (CheckColumns).
func checkColumn(n *Node, column string) error {
	return checkColumnIn(n, loadedColumns(n), column)
}

// loadedColumns are the columns of n known without analysing SQL, nil when
// none are.
func loadedColumns(n *Node) []string {
	if n.Type == Seed {
		return n.seed.header() // nil when unreadable, which is already reported
	}
	var known []string
	for _, c := range n.Columns {
		known = append(known, c.Name)
	}
	return known
}

// checkColumnIn reports column when known (not nil) lacks it.
func checkColumnIn(n *Node, known []string, column string) error {
	if known == nil {
		return nil
	}
	for _, k := range known {
		if strings.EqualFold(k, column) {
			return nil
		}
	}
	msg := fmt.Sprintf("%s has no column %q (columns: %s)", n.Name, column, strings.Join(known, ", "))
	msg += diag.DidYouMean(column, known)
	return fmt.Errorf("%s", msg)
}

// testName builds the stable generated name of a generic test, like
// unique_orders_order_id; a test that would collide with another gets a
// short hash of its arguments.
func (p *Project) testName(n *Node) string {
	t := n.Test
	target := t.Attached.Name
	if t.Attached.Type == Source {
		target = "source_" + t.Attached.SourceName + "_" + t.Attached.Name
	}
	parts := []string{t.Generic, target}
	if t.Column != "" {
		parts = append(parts, t.Column)
	}
	switch t.Generic {
	case "relationships":
		parts = append(parts, "_"+fmt.Sprint(t.Args["to"]), fmt.Sprint(t.Args["field"]))
	case "unique_combination":
		cols, _ := t.Args["columns"].([]string)
		parts = append(parts, "_"+strings.Join(cols, "_"))
	}
	name := sanitize(strings.Join(parts, "_"))
	if _, taken := p.tests[name]; taken {
		h := sha256.Sum256([]byte(fmt.Sprintf("%v|%s|%v", t.Args, t.Column, n.Config)))
		name += "_" + hex.EncodeToString(h[:])[:8]
	}
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// buildFreshness makes the freshness test of a source table.
func (p *Project) buildFreshness(f freshnessDecl, diags *diag.List) {
	src := f.attached
	var spec struct {
		WarnAfter  any `yaml:"warn_after"`
		ErrorAfter any `yaml:"error_after"`
	}
	if err := f.node.Decode(&spec); err != nil || f.node.Kind != yaml.MappingNode {
		diags.Add(f.file, f.node.Line, f.node.Column, "freshness must be a mapping like {warn_after: 24h, error_after: 72h}")
		return
	}
	if src.LoadedAtField == "" {
		diags.Add(f.file, f.node.Line, f.node.Column, "source %s.%s has freshness but no loaded_at_field: name the timestamp column to check", src.SourceName, src.Name)
		return
	}
	t := &TestSpec{Kind: datatest.Freshness, Attached: src}
	var err error
	if spec.WarnAfter != nil {
		if t.WarnAfter, err = datatest.ParseAge(spec.WarnAfter); err != nil {
			diags.Add(f.file, f.node.Line, f.node.Column, "freshness warn_after: %v", err)
			return
		}
	}
	if spec.ErrorAfter != nil {
		if t.ErrorAfter, err = datatest.ParseAge(spec.ErrorAfter); err != nil {
			diags.Add(f.file, f.node.Line, f.node.Column, "freshness error_after: %v", err)
			return
		}
	}
	if t.WarnAfter == 0 && t.ErrorAfter == 0 {
		diags.Add(f.file, f.node.Line, f.node.Column, "freshness needs warn_after, error_after or both")
		return
	}
	name := sanitize("freshness_" + src.SourceName + "_" + src.Name)
	n := &Node{UniqueID: "test." + p.Name + "." + name, Name: name, Type: Test, Path: f.file,
		Config: config.Node{Enabled: true, Severity: "error"}, Test: t}
	if p.addTest(n, diags, f.node.Line, f.node.Column) {
		p.testPos[n] = pos{f.node.Line, f.node.Column}
	}
}

// renderTests produces the SQL of every generic test. Built-in tests are
// SQL written here; custom ones render their template.
func (p *Project) renderTests(diags *diag.List) {
	for _, n := range p.tests {
		t := n.Test
		if t.Kind == datatest.Singular {
			continue // rendered with the models
		}
		if t.Attached.Type == Source {
			n.srcs = [][2]string{{t.Attached.SourceName, t.Attached.Name}}
		} else {
			n.refs = []string{t.Attached.Name}
		}
		if to, ok := t.Args["to"].(string); ok && t.Generic == "relationships" {
			n.refs = append(n.refs, to)
		}
		if p.Dialect == nil {
			// The target did not resolve (reported): there is no dialect
			// to write the test's SQL in, and the load fails anyway.
			continue
		}
		if t.Kind == datatest.Freshness {
			n.Rendered = datatest.FreshnessSQL(t.Attached.LoadedAtField, p.freshnessRelation(t.Attached), p.Dialect.QuoteIdent)
			continue
		}
		if def, builtin := datatest.LookupBuiltin(t.Generic); builtin {
			n.Rendered = def.SQL(datatest.Use{Column: t.Column, Args: t.Args}, placeholder(t.Attached), refPlaceholder, p.Dialect.QuoteIdent)
			continue
		}
		p.renderCustomTest(n, diags)
	}
}

// freshnessRelation is what a source's freshness reads: the source, or,
// for a table landed change-only with _loaded_at as its loaded_at_field,
// the source's times together with those of its seen entries, since a load
// that found nothing changed stores no row but did load.
func (p *Project) freshnessRelation(src *Node) string {
	rel := placeholder(src)
	if !strings.EqualFold(src.LoadedAtField, "_loaded_at") {
		return rel
	}
	for _, x := range p.extracts {
		for table, landed := range x.Extraction.Tables {
			if landed != src || !x.Extraction.ChangeOnly(table) {
				continue
			}
			seen := p.Dialect.RelationSQL(warehouse.Relation{Schema: src.Relation.Schema, Name: extractors.SeenTable})
			return fmt.Sprintf("(select _loaded_at from %s union all select _loaded_at from %s where landing_table = '%s') as loads",
				rel, seen, strings.ReplaceAll(table, "'", "''"))
		}
	}
	return rel
}

func placeholder(n *Node) string {
	if n.Type == Source {
		return phSource + n.SourceName + "." + n.Name + phEnd
	}
	return refPlaceholder(n.Name)
}

// refPlaceholder stands for the relation of the model or seed called name
// until the statement is compiled.
func refPlaceholder(name string) string { return phRef + name + phEnd }

// renderCustomTest renders a tests/generic template for one use of it.
func (p *Project) renderCustomTest(n *Node, diags *diag.List) {
	t := n.Test
	tmpl := template.New(n.Name)
	funcs := template.FuncMap{}
	for name, fn := range p.funcs {
		funcs[name] = fn
	}
	tmpl.Funcs(funcs)
	trees := p.genericTests[t.Generic]
	for name, tree := range p.macros {
		_, _ = tmpl.AddParseTree(name, tree)
	}
	var root string
	for name, tree := range trees {
		_, _ = tmpl.AddParseTree(name, tree)
		if strings.HasPrefix(name, "tests/") {
			root = name
		}
	}
	n.tmpl = tmpl.Lookup(root)
	r := &renderer{p: p, node: n}
	data := render.Data{Model: t.Attached.Name, Relation: placeholder(t.Attached), Args: t.Args}
	if t.Column != "" {
		data.Column = p.Dialect.QuoteIdent(t.Column)
	}
	out, err := r.renderData(data)
	if err != nil {
		d := render.Diagnostic(err, n.Path, nil)
		d.Msg = fmt.Sprintf("test %s (%s): %s", n.Name, d.Path, d.Msg)
		pos := p.testPos[n]
		diags.Add(n.Path, pos.line, pos.col, "%s", d.Msg)
		return
	}
	n.Rendered = out
	n.refs = append(n.refs, r.refs...)
	n.srcs = append(n.srcs, r.sources...)
	for _, m := range r.missing {
		p.reportMissing(n, m, diags)
	}
}
