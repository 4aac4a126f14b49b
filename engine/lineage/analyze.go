package lineage

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// analyzer walks one statement. It holds only the catalog: everything that
// depends on where the walk is travels in ctes and scope values.
type analyzer struct {
	cat Catalog
}

// ctes is the chain of common table expressions visible at a point, the
// innermost first.
type ctes struct {
	name   string
	cols   []Column
	parent *ctes
}

func (c *ctes) find(name string) ([]Column, bool) {
	for ; c != nil; c = c.parent {
		if strings.EqualFold(c.name, name) {
			return c.cols, true
		}
	}
	return nil, false
}

// relation is one FROM item as a SELECT sees it.
type relation struct {
	alias         string // how the SQL may qualify it: the alias, else the table name
	schema        string // the schema the SQL wrote, for schema.table.col
	cols          []Column
	unknownReason string // set when its columns are not known
}

// scope is what a SELECT's expressions can name: its FROM items, the
// columns a USING or NATURAL join merged, the aliases of select items
// before the current one (DuckDB lets later items use them), and the
// enclosing query for correlated references.
type scope struct {
	rels    []*relation
	using   map[string]bool // lower-cased names
	aliases []Column
	parent  *scope
}

// query returns the output columns of a query node.
func (a *analyzer) query(n *queryNode, env *ctes, outer *scope) ([]Column, error) {
	if n == nil {
		return nil, fmt.Errorf("lineage: the tree has a query with no node")
	}
	for _, e := range n.CTEMap.Map {
		q := e.Value.Query.Node
		var cols []Column
		var err error
		if q != nil && q.Type == "RECURSIVE_CTE_NODE" {
			cols, err = a.recursive(q, e.Key, e.Value.Aliases, env, outer)
		} else {
			cols, err = a.query(q, env, outer)
		}
		if err != nil {
			return nil, fmt.Errorf("in CTE %s: %w", e.Key, err)
		}
		env = &ctes{name: e.Key, cols: renamed(cols, e.Value.Aliases), parent: env}
	}
	switch n.Type {
	case "SELECT_NODE":
		return a.selectNode(n, env, outer)
	case "SET_OPERATION_NODE":
		return a.setOperation(n, env, outer)
	case "RECURSIVE_CTE_NODE":
		return a.recursive(n, n.CTEName, nil, env, outer)
	}
	return nil, fmt.Errorf("lineage: query node %s is not supported", n.Type)
}

// setOperation pairs the branches' columns by position (by name for UNION
// BY NAME); the names are the left branch's.
func (a *analyzer) setOperation(n *queryNode, env *ctes, outer *scope) ([]Column, error) {
	left, err := a.query(n.Left, env, outer)
	if err != nil {
		return nil, err
	}
	right, err := a.query(n.Right, env, outer)
	if err != nil {
		return nil, err
	}
	switch n.SetopType {
	case "EXCEPT":
		return left, nil // the rows, and so the values, are the left branch's
	case "UNION_BY_NAME":
		out := slices.Clone(left)
		for _, r := range right {
			i := slices.IndexFunc(out, func(c Column) bool { return r.Name != "" && strings.EqualFold(c.Name, r.Name) })
			if i < 0 {
				out = append(out, r)
				continue
			}
			out[i] = merge(out[i].Name, out[i], r)
		}
		return out, nil
	}
	if len(left) != len(right) {
		return nil, fmt.Errorf("lineage: %s branches have %d and %d columns", n.SetopType, len(left), len(right))
	}
	out := make([]Column, len(left))
	for i := range left {
		out[i] = merge(left[i].Name, left[i], right[i])
	}
	return out, nil
}

// recursive analyses WITH RECURSIVE name: the anchor first, then the
// recursive branch reading the columns found so far, until they stop
// growing (sources only grow, so this ends).
func (a *analyzer) recursive(n *queryNode, name string, aliases []string, env *ctes, outer *scope) ([]Column, error) {
	cols, err := a.query(n.Left, env, outer)
	if err != nil {
		return nil, err
	}
	cols = renamed(cols, aliases)
	for range 16 {
		right, err := a.query(n.Right, &ctes{name: name, cols: cols, parent: env}, outer)
		if err != nil {
			return nil, err
		}
		if len(right) != len(cols) {
			return nil, fmt.Errorf("lineage: recursive CTE %s: branches have %d and %d columns", name, len(cols), len(right))
		}
		next := make([]Column, len(cols))
		for i := range cols {
			next[i] = merge(cols[i].Name, cols[i], right[i])
		}
		if equal(next, cols) {
			return cols, nil
		}
		cols = next
	}
	return cols, nil
}

func (a *analyzer) selectNode(n *queryNode, env *ctes, outer *scope) ([]Column, error) {
	sc := &scope{using: map[string]bool{}, parent: outer}
	if n.FromTable != nil {
		if err := a.from(n.FromTable, env, outer, sc); err != nil {
			return nil, err
		}
	}
	var out []Column
	for _, item := range n.SelectList {
		if str(item, "class") == "STAR" {
			out = append(out, a.star(item, env, sc)...)
			continue
		}
		c := a.item(item, env, sc)
		if alias := str(item, "alias"); alias != "" {
			sc.aliases = append(sc.aliases, c)
		}
		out = append(out, c)
	}
	return out, nil
}

// from adds the relations of one FROM item to sc.
func (a *analyzer) from(t *tableRef, env *ctes, outer *scope, sc *scope) error {
	switch t.Type {
	case "EMPTY":
		return nil
	case "JOIN":
		if err := a.from(t.Left, env, outer, sc); err != nil {
			return err
		}
		before := len(sc.rels)
		if err := a.from(t.Right, env, outer, sc); err != nil {
			return err
		}
		for _, u := range t.UsingColumns {
			sc.using[strings.ToLower(u)] = true
		}
		if t.RefType == "NATURAL" {
			for _, l := range sc.rels[:before] {
				for _, r := range sc.rels[before:] {
					for _, c := range l.cols {
						if slices.ContainsFunc(r.cols, func(rc Column) bool { return strings.EqualFold(rc.Name, c.Name) }) {
							sc.using[strings.ToLower(c.Name)] = true
						}
					}
				}
			}
		}
		return nil
	case "BASE_TABLE":
		r := &relation{alias: t.Alias, schema: t.SchemaName}
		if r.alias == "" {
			r.alias = t.TableName
		}
		if cols, ok := env.find(t.TableName); ok && t.SchemaName == "" && t.CatalogName == "" {
			r.cols, r.unknownReason = cols, unexpanded(cols)
		} else if key, names, ok := a.cat(t.SchemaName, t.TableName); ok {
			for _, c := range names {
				r.cols = append(r.cols, Column{Name: c, Kind: Direct, Sources: []Source{{Relation: key, Column: c}}})
			}
		} else {
			r.unknownReason = fmt.Sprintf("relation %s is not in the catalog", qualified(t.SchemaName, t.TableName))
		}
		r.cols = renamed(r.cols, t.ColumnNameAlias)
		sc.rels = append(sc.rels, r)
		return nil
	case "SUBQUERY":
		if t.Subquery == nil {
			return fmt.Errorf("lineage: a subquery in FROM has no query")
		}
		cols, err := a.query(t.Subquery.Node, env, outer)
		if err != nil {
			return err
		}
		sc.rels = append(sc.rels, &relation{alias: t.Alias, cols: renamed(cols, t.ColumnNameAlias), unknownReason: unexpanded(cols)})
		return nil
	case "EXPRESSION_LIST":
		// VALUES: DuckDB names the columns col0, col1, ...
		r := &relation{alias: t.Alias}
		for _, row := range t.Values {
			for i, v := range row {
				c := a.derived("", v, env, sc)
				if i == len(r.cols) {
					r.cols = append(r.cols, Column{Name: fmt.Sprintf("col%d", i), Kind: Derived})
				}
				r.cols[i] = merge(r.cols[i].Name, r.cols[i], c)
			}
		}
		sc.rels = append(sc.rels, r)
		return nil
	case "TABLE_FUNCTION":
		sc.rels = append(sc.rels, &relation{alias: t.Alias,
			unknownReason: fmt.Sprintf("table function %s: its columns are not in the catalog", t.Function.FunctionName)})
		return nil
	}
	sc.rels = append(sc.rels, &relation{alias: t.Alias,
		unknownReason: fmt.Sprintf("a FROM item of type %s is not analysed", t.Type)})
	return nil
}

// item is one select-list expression other than a star.
func (a *analyzer) item(e map[string]any, env *ctes, sc *scope) Column {
	name := str(e, "alias")
	switch str(e, "class") {
	case "COLUMN_REF":
		names := strs(e, "column_names")
		if name == "" && len(names) > 0 {
			name = names[len(names)-1]
		}
		c := a.resolve(names, sc)
		c.Name = name
		return c
	case "SUBQUERY":
		if str(e, "subquery_type") == "SCALAR" {
			// The value of a scalar subquery is its one column's value.
			cols, err := a.subquery(e, env, sc)
			if err != nil {
				return unknown(name, err.Error())
			}
			if len(cols) != 1 {
				return unknown(name, fmt.Sprintf("a scalar subquery has %d columns", len(cols)))
			}
			c := cols[0]
			c.Name = name
			return c
		}
	}
	return a.derived(name, e, env, sc)
}

// derived is the lineage of an expression computed over the columns it
// names.
func (a *analyzer) derived(name string, e any, env *ctes, sc *scope) Column {
	w := walk{a: a, env: env, sc: sc}
	w.expr(e)
	if w.reason != "" {
		return unknown(name, w.reason)
	}
	return Column{Name: name, Kind: Derived, Sources: w.sources}
}

// walk gathers the sources of an expression.
type walk struct {
	a       *analyzer
	env     *ctes
	sc      *scope
	bound   []string // lambda parameters in reach
	sources []Source
	reason  string // the first reason the expression is Unknown
}

func (w *walk) expr(e any) {
	switch e := e.(type) {
	case []any:
		for _, x := range e {
			w.expr(x)
		}
	case map[string]any:
		w.node(e)
	}
}

func (w *walk) node(e map[string]any) {
	switch str(e, "class") {
	case "COLUMN_REF":
		names := strs(e, "column_names")
		if len(names) == 1 && slices.ContainsFunc(w.bound, func(b string) bool { return strings.EqualFold(b, names[0]) }) {
			return // a lambda's parameter, not a column
		}
		w.add(w.a.resolve(names, w.sc))
		return
	case "SUBQUERY":
		w.expr(e["child"]) // the left side of IN or of a comparison
		cols, err := w.a.subquery(e, w.env, w.sc)
		if err != nil {
			w.fail(err.Error())
			return
		}
		if str(e, "subquery_type") != "EXISTS" { // EXISTS reads no value
			for _, c := range cols {
				w.add(c)
			}
		}
		return
	case "LAMBDA":
		n := len(w.bound)
		w.bind(e["lhs"])
		w.expr(e["expr"])
		w.bound = w.bound[:n]
		return
	case "STAR":
		w.fail("a * or COLUMNS(...) inside an expression is not analysed")
		return
	}
	// Keys in order, so that sources come out the same way every run.
	for _, k := range slices.Sorted(maps.Keys(e)) {
		v := e[k]
		switch k {
		case "partitions", "orders", "order_bys", "arg_orders":
			// Ordering and partitioning choose rows; they are not the value.
			continue
		}
		w.expr(v)
	}
}

// bind records a lambda's parameters: one name, or a row of them.
func (w *walk) bind(lhs any) {
	m, _ := lhs.(map[string]any)
	if names := strs(m, "column_names"); len(names) == 1 {
		w.bound = append(w.bound, names[0])
		return
	}
	for _, c := range list(m, "children") {
		w.bind(c)
	}
}

func (w *walk) add(c Column) {
	if c.Kind == Unknown {
		w.fail(c.Reason)
	}
	w.sources = addSources(w.sources, c.Sources)
}

func (w *walk) fail(reason string) {
	if w.reason == "" {
		w.reason = reason
	}
}

// subquery analyses a subquery inside an expression; it may name the
// columns of the query around it.
func (a *analyzer) subquery(e map[string]any, env *ctes, sc *scope) ([]Column, error) {
	raw, err := json.Marshal(e["subquery"])
	if err != nil {
		return nil, fmt.Errorf("lineage: reading a subquery: %w", err)
	}
	var s subquery
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("lineage: reading a subquery: %w", err)
	}
	return a.query(s.Node, env, sc)
}

// star expands *, t.*, their EXCLUDE, REPLACE and RENAME, and COLUMNS(*).
func (a *analyzer) star(e map[string]any, env *ctes, sc *scope) []Column {
	rel := str(e, "relation_name")
	label := "*"
	if rel != "" {
		label = rel + ".*"
	}
	if e["columns"] == true && e["expr"] != nil {
		return []Column{unknown(label, "COLUMNS(...) with a pattern or lambda is not analysed")}
	}
	excluded := func(table, col string) bool {
		for _, x := range strs(e, "exclude_list") {
			if strings.EqualFold(x, col) {
				return true
			}
		}
		for _, x := range list(e, "qualified_exclude_list") {
			m, _ := x.(map[string]any)
			if strings.EqualFold(str(m, "column"), col) && (str(m, "table") == "" || strings.EqualFold(str(m, "table"), table)) {
				return true
			}
		}
		return false
	}
	var out []Column
	seen := map[string]int{} // merged USING columns already emitted, by lower name
	for _, r := range sc.rels {
		if rel != "" && !strings.EqualFold(r.alias, rel) {
			continue
		}
		if r.unknownReason != "" {
			out = append(out, unknown(label, r.unknownReason))
			continue
		}
		for _, c := range r.cols {
			if excluded(r.alias, c.Name) {
				continue
			}
			low := strings.ToLower(c.Name)
			if rel == "" && sc.using[low] {
				if i, ok := seen[low]; ok {
					out[i] = merge(out[i].Name, out[i], c)
					continue
				}
				seen[low] = len(out)
			}
			out = append(out, c)
		}
	}
	if rel != "" && !slices.ContainsFunc(sc.rels, func(r *relation) bool { return strings.EqualFold(r.alias, rel) }) {
		return []Column{unknown(label, fmt.Sprintf("%s names no relation in FROM", rel))}
	}
	for _, x := range list(e, "replace_list") {
		m, _ := x.(map[string]any)
		col := str(m, "key")
		for i := range out {
			if strings.EqualFold(out[i].Name, col) {
				v, _ := m["value"].(map[string]any)
				out[i] = a.item(v, env, sc)
				out[i].Name = col
			}
		}
	}
	for _, x := range list(e, "rename_list") {
		m, _ := x.(map[string]any)
		key, _ := m["key"].(map[string]any)
		for i := range out {
			if strings.EqualFold(out[i].Name, str(key, "column")) {
				out[i].Name = str(m, "value")
			}
		}
	}
	return out
}

// resolve finds the column a reference names. A reference of several
// parts is tried as relation.column (the relation spelled with one, two or
// three parts, the rest being struct fields), then as a column and its
// struct fields.
func (a *analyzer) resolve(names []string, sc *scope) Column {
	if len(names) == 0 {
		return unknown("", "a column reference with no name")
	}
	for s := sc; s != nil; s = s.parent {
		for k := min(len(names)-1, 3); k >= 1; k-- {
			if c, ok := s.qualified(names[:k], names[k]); ok {
				return field(c, names[k+1:])
			}
		}
		c, found := s.unqualified(names[0])
		if found {
			return field(c, names[1:])
		}
	}
	return unknown("", fmt.Sprintf("column %s is in no relation in reach", strings.Join(names, ".")))
}

// field narrows a column to one of its struct fields: a part of its value.
func field(c Column, fields []string) Column {
	if len(fields) > 0 && c.Kind == Direct {
		c.Kind = Derived
	}
	return c
}

// qualified looks for col in the relation that qual names.
func (s *scope) qualified(qual []string, col string) (Column, bool) {
	for _, r := range s.rels {
		name := qual[len(qual)-1]
		if !strings.EqualFold(r.alias, name) {
			continue
		}
		if len(qual) >= 2 && !strings.EqualFold(r.schema, qual[len(qual)-2]) {
			continue
		}
		if r.unknownReason != "" {
			return unknown("", r.unknownReason), true
		}
		for _, c := range r.cols {
			if strings.EqualFold(c.Name, col) {
				return c, true
			}
		}
		return unknown("", fmt.Sprintf("relation %s has no column %s", r.alias, col)), true
	}
	return Column{}, false
}

// unqualified looks for a column by name alone in every relation of the
// scope, then among earlier select-list aliases. found is false when the
// name is not in this scope, so an enclosing one may have it.
func (s *scope) unqualified(col string) (c Column, found bool) {
	var hits []Column
	var holders, unknownRels []string
	for _, r := range s.rels {
		if r.unknownReason != "" {
			unknownRels = append(unknownRels, r.unknownReason)
			continue
		}
		for _, rc := range r.cols {
			if strings.EqualFold(rc.Name, col) {
				hits = append(hits, rc)
				holders = append(holders, r.alias)
			}
		}
	}
	switch {
	case len(unknownRels) > 0:
		// Even with a hit elsewhere, the column may be in the unknown relation.
		return unknown("", fmt.Sprintf("%s may come from a relation whose columns are not known: %s", col, strings.Join(unknownRels, "; "))), true
	case len(hits) == 1:
		return hits[0], true
	case len(hits) > 1 && s.using[strings.ToLower(col)]:
		c := hits[0]
		for _, h := range hits[1:] {
			c = merge(c.Name, c, h)
		}
		return c, true
	case len(hits) > 1:
		return unknown("", fmt.Sprintf("%s is ambiguous: it is in %s", col, strings.Join(holders, ", "))), true
	}
	for _, al := range slices.Backward(s.aliases) {
		if strings.EqualFold(al.Name, col) {
			return al, true
		}
	}
	return Column{}, false
}

// merge combines two lineages of one value (both sides of USING, the
// branches of a UNION): Unknown wins, then Derived.
func merge(name string, x, y Column) Column {
	out := Column{Name: name, Sources: addSources(slices.Clone(x.Sources), y.Sources)}
	switch {
	case x.Kind == Unknown || y.Kind == Unknown:
		out.Kind, out.Sources = Unknown, nil
		out.Reason = x.Reason
		if out.Reason == "" {
			out.Reason = y.Reason
		}
	case x.Kind == Derived || y.Kind == Derived:
		out.Kind = Derived
	default:
		out.Kind = Direct
	}
	return out
}

func addSources(to, from []Source) []Source {
	for _, s := range from {
		if !slices.Contains(to, s) {
			to = append(to, s)
		}
	}
	return to
}

// unexpanded returns why a query's columns are not all known: the reason
// of a * that could not be expanded, which stands for an unknown number of
// columns. It returns "" when every column is accounted for.
func unexpanded(cols []Column) string {
	for _, c := range cols {
		if c.Kind == Unknown && (c.Name == "*" || strings.HasSuffix(c.Name, ".*")) {
			return c.Reason
		}
	}
	return ""
}

func unknown(name, reason string) Column {
	return Column{Name: name, Kind: Unknown, Reason: reason}
}

// renamed applies a column alias list, t(a, b), to the first columns.
func renamed(cols []Column, aliases []string) []Column {
	if len(aliases) == 0 {
		return cols
	}
	cols = slices.Clone(cols)
	for i, a := range aliases {
		if i < len(cols) {
			cols[i].Name = a
		}
	}
	return cols
}

func equal(x, y []Column) bool {
	return slices.EqualFunc(x, y, func(a, b Column) bool {
		return a.Name == b.Name && a.Kind == b.Kind && a.Reason == b.Reason && slices.Equal(a.Sources, b.Sources)
	})
}

func qualified(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func strs(m map[string]any, key string) []string {
	var out []string
	for _, v := range list(m, key) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
