package project

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
)

// Test is the resource type of data tests: queries that select failing rows.
const Test ResourceType = "test"

// Test kinds.
const (
	TestGeneric   = "generic"
	TestSingular  = "singular"
	TestFreshness = "freshness"
)

// TestSpec is what a test node checks.
type TestSpec struct {
	Kind     string         // TestGeneric, TestSingular or TestFreshness
	Generic  string         // the generic test's name: unique, not_null, ...
	Attached *Node          // the model, seed or source it is declared on
	Column   string         // for column tests
	Args     map[string]any // the generic test's arguments

	WarnAfter, ErrorAfter time.Duration // freshness
}

// TestKind returns "generic", "singular" or "freshness" for test nodes.
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
		return testKeys
	case Seed:
		return seedKeys
	}
	return modelKeys
}

// genericTest describes one built-in generic test: the arguments it takes
// and whether it tests a column or a whole model.
type genericTest struct {
	column   bool     // declared under a column
	model    bool     // declared under a model
	required []string // arguments
	optional []string
}

var builtinTests = map[string]genericTest{
	"not_null":           {column: true},
	"unique":             {column: true},
	"accepted_values":    {column: true, required: []string{"values"}, optional: []string{"quote"}},
	"relationships":      {column: true, required: []string{"to", "field"}},
	"expression_is_true": {column: true, model: true, required: []string{"expression"}},
	"row_count":          {model: true, optional: []string{"min", "max"}},
	"unique_combination": {model: true, required: []string{"columns"}},
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
		if _, builtin := builtinTests[name]; builtin {
			diags.Add(rel, 1, 1, "%q is a built-in test; give the custom test another name", name)
			continue
		}
		trees, err := parseTrees(rel, src)
		if err != nil {
			diags.Append(templateDiag(err, rel, map[string]string{rel: src}))
			continue
		}
		if _, ok := usedFuncs(trees, p.funcs, rel, diags); !ok {
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
			Config: Config{Enabled: true, Severity: "error"}, Test: &TestSpec{Kind: TestSingular}}
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
	def, builtin := builtinTests[name]
	_, custom := p.genericTests[name]
	if !builtin && !custom {
		known := slices.Sorted(maps.Keys(builtinTests))
		known = append(known, slices.Sorted(maps.Keys(p.genericTests))...)
		msg := fmt.Sprintf("unknown test %q (tests: %s; custom ones live in tests/generic/NAME.sql)", name, strings.Join(known, ", "))
		if s := suggest(name, known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		diags.Add(d.file, d.node.Line, d.node.Column, "%s", msg)
		return
	}
	n := &Node{Type: Test, Path: d.file, Config: Config{Enabled: true, Severity: "error"},
		Test: &TestSpec{Kind: TestGeneric, Generic: name, Attached: d.attached, Column: d.column, Args: map[string]any{}}}
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
					if err := n.Config.set(ck, cfg[ck], testKeys); err != nil {
						diags.Add(d.file, v.Line, v.Column, "test %s: %v", name, err)
					}
				}
			case slices.Contains(testKeys, k.Value):
				if err := n.Config.set(k.Value, value, testKeys); err != nil {
					diags.Add(d.file, v.Line, v.Column, "test %s: %v", name, err)
				}
			case builtin && !slices.Contains(def.required, k.Value) && !slices.Contains(def.optional, k.Value):
				args := append(slices.Clone(def.required), def.optional...)
				msg := fmt.Sprintf("test %s takes no argument %q (arguments: %s; config: %s)", name, k.Value,
					strings.Join(args, ", "), strings.Join(testKeys, ", "))
				if s := suggest(k.Value, append(args, testKeys...)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
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
func (p *Project) checkBuiltinArgs(n *Node, def genericTest, d testDecl, line, col int, diags *diag.List) bool {
	t := n.Test
	name := t.Generic
	ok := true
	fail := func(format string, args ...any) {
		diags.Add(d.file, line, col, "test %s on %s: %s", name, describeTarget(t), fmt.Sprintf(format, args...))
		ok = false
	}
	if t.Column != "" && !def.column {
		fail("it tests a whole model: declare it under the model's tests, not a column's")
	}
	if t.Column == "" && !def.model {
		fail("it tests a column: declare it under columns: - name: COLUMN, tests: [...]")
	}
	for _, r := range def.required {
		if _, has := t.Args[r]; !has {
			fail("missing argument %q", r)
		}
	}
	if !ok {
		return false
	}
	if t.Column != "" {
		if err := checkColumn(t.Attached, t.Column); err != nil {
			fail("%v", err)
		}
	}
	switch name {
	case "accepted_values":
		if vals, isList := t.Args["values"].([]any); !isList || len(vals) == 0 {
			fail("values must be a non-empty list")
		}
		if q, has := t.Args["quote"]; has {
			if _, isBool := q.(bool); !isBool {
				fail("quote must be true or false")
			}
		}
	case "relationships":
		to := strings.TrimSpace(fmt.Sprint(t.Args["to"]))
		// dbt writes ref('name'); accept it, and a bare name.
		to = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(to, "ref("), "ref ("), ")")
		to = strings.Trim(to, `'" `)
		target, found := p.byName[to]
		if !found {
			msg := fmt.Sprintf("to: no model or seed is named %q", to)
			if s := suggest(to, slices.Sorted(maps.Keys(p.byName))); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			fail("%s", msg)
			break
		}
		t.Args["to"] = to
		field, _ := t.Args["field"].(string)
		if field == "" {
			fail("field must be a column name")
		} else if err := checkColumn(target, field); err != nil {
			fail("field: %v", err)
		}
	case "expression_is_true":
		if s, _ := t.Args["expression"].(string); strings.TrimSpace(s) == "" {
			fail("expression must be a SQL boolean expression")
		}
	case "row_count":
		if _, has := t.Args["min"]; !has {
			if _, has := t.Args["max"]; !has {
				fail("give min, max or both")
			}
		}
		for _, k := range []string{"min", "max"} {
			if v, has := t.Args[k]; has {
				if _, isInt := v.(int); !isInt {
					fail("%s must be a whole number, not %v", k, v)
				}
			}
		}
	case "unique_combination":
		cols, err := stringList(t.Args["columns"])
		if err != nil || len(cols) == 0 {
			fail("columns must be a list of column names")
			break
		}
		for _, c := range cols {
			if err := checkColumn(t.Attached, c); err != nil {
				fail("columns: %v", err)
			}
		}
		t.Args["columns"] = cols
	}
	return ok
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

// checkColumn reports a column that n certainly does not have: seeds know
// their columns from the CSV header; models and sources only when their
// property file declares columns.
func checkColumn(n *Node, column string) error {
	var known []string
	switch {
	case n.Type == Seed:
		if known = n.seed.header(); known == nil {
			return nil // the file is unreadable, and already reported
		}
	case len(n.Columns) > 0:
		for _, c := range n.Columns {
			known = append(known, c.Name)
		}
	default:
		return nil
	}
	for _, k := range known {
		if strings.EqualFold(k, column) {
			return nil
		}
	}
	msg := fmt.Sprintf("%s has no column %q (columns: %s)", n.Name, column, strings.Join(known, ", "))
	if s := suggest(column, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
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
	t := &TestSpec{Kind: TestFreshness, Attached: src}
	var err error
	if spec.WarnAfter != nil {
		if t.WarnAfter, err = parseAge(spec.WarnAfter); err != nil {
			diags.Add(f.file, f.node.Line, f.node.Column, "freshness warn_after: %v", err)
			return
		}
	}
	if spec.ErrorAfter != nil {
		if t.ErrorAfter, err = parseAge(spec.ErrorAfter); err != nil {
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
		Config: Config{Enabled: true, Severity: "error"}, Test: t}
	if p.addTest(n, diags, f.node.Line, f.node.Column) {
		p.testPos[n] = pos{f.node.Line, f.node.Column}
	}
}

// parseAge reads "24h", "90m", "2d" or dbt's {count: 2, period: day}.
func parseAge(v any) (time.Duration, error) {
	switch v := v.(type) {
	case string:
		if days, ok := strings.CutSuffix(v, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 2d", v)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 2d", v)
		}
		return d, nil
	case map[string]any:
		count, ok := v["count"].(int)
		unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[fmt.Sprint(v["period"])]
		if !ok || count <= 0 || unit == 0 {
			return 0, fmt.Errorf("write {count: N, period: minute|hour|day}")
		}
		return time.Duration(count) * unit, nil
	}
	return 0, fmt.Errorf("%v is not a duration like 24h, 90m or 2d", v)
}

// renderTests produces the SQL of every generic test. Built-in tests are
// SQL written here; custom ones render their template.
func (p *Project) renderTests(diags *diag.List) {
	for _, n := range p.tests {
		t := n.Test
		if t.Kind == TestSingular {
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
		if t.Kind == TestFreshness {
			n.Rendered = fmt.Sprintf("select max(%s) as max_loaded_at from %s", p.Dialect.QuoteIdent(t.Attached.LoadedAtField), placeholder(t.Attached))
			continue
		}
		if _, builtin := builtinTests[t.Generic]; builtin {
			n.Rendered = p.builtinSQL(t)
			continue
		}
		p.renderCustomTest(n, diags)
	}
}

func placeholder(n *Node) string {
	if n.Type == Source {
		return phSource + n.SourceName + "." + n.Name + phEnd
	}
	return phRef + n.Name + phEnd
}

func (p *Project) builtinSQL(t *TestSpec) string {
	q := p.Dialect.QuoteIdent
	rel := placeholder(t.Attached)
	c := q(t.Column)
	switch t.Generic {
	case "not_null":
		return fmt.Sprintf("select *\nfrom %s\nwhere %s is null", rel, c)
	case "unique":
		return fmt.Sprintf("select %s as unique_field, count(*) as n_records\nfrom %s\nwhere %s is not null\ngroup by %s\nhaving count(*) > 1", c, rel, c, c)
	case "accepted_values":
		quote := true
		if qv, ok := t.Args["quote"].(bool); ok {
			quote = qv
		}
		var vals []string
		for _, v := range t.Args["values"].([]any) {
			if quote {
				vals = append(vals, "'"+strings.ReplaceAll(fmt.Sprint(v), "'", "''")+"'")
			} else {
				vals = append(vals, fmt.Sprint(v))
			}
		}
		return fmt.Sprintf("select %s as value_field, count(*) as n_records\nfrom %s\nwhere %s is not null and %s not in (%s)\ngroup by %s",
			c, rel, c, c, strings.Join(vals, ", "), c)
	case "relationships":
		to := phRef + t.Args["to"].(string) + phEnd
		f := q(t.Args["field"].(string))
		return fmt.Sprintf("select child.%s as from_field\nfrom %s as child\nleft join %s as parent on child.%s = parent.%s\nwhere child.%s is not null and parent.%s is null",
			c, rel, to, c, f, c, f)
	case "expression_is_true":
		expr := t.Args["expression"].(string)
		if t.Column != "" {
			expr = c + " " + expr
		}
		return fmt.Sprintf("select *\nfrom %s\nwhere not (%s)", rel, expr)
	case "row_count":
		var conds []string
		if v, ok := t.Args["min"].(int); ok {
			conds = append(conds, fmt.Sprintf("count(*) < %d", v))
		}
		if v, ok := t.Args["max"].(int); ok {
			conds = append(conds, fmt.Sprintf("count(*) > %d", v))
		}
		return fmt.Sprintf("select count(*) as row_count\nfrom %s\nhaving %s", rel, strings.Join(conds, " or "))
	case "unique_combination":
		var cols []string
		for _, col := range t.Args["columns"].([]string) {
			cols = append(cols, q(col))
		}
		list := strings.Join(cols, ", ")
		return fmt.Sprintf("select %s, count(*) as n_records\nfrom %s\ngroup by %s\nhaving count(*) > 1", list, rel, list)
	}
	return ""
}

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
	data := TemplateData{Model: t.Attached.Name, Relation: placeholder(t.Attached), Args: t.Args}
	if t.Column != "" {
		data.Column = p.Dialect.QuoteIdent(t.Column)
	}
	out, err := r.renderData(data)
	if err != nil {
		d := templateDiag(err, n.Path, nil)
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
