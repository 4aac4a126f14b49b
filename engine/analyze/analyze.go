// Package analyze is quarry's SQL comprehension. Before anything runs, it
// binds the compiled SQL of every model and test against the columns of
// what it reads, in a shadow catalog: an in-memory DuckDB in which each
// upstream relation is an empty table of the right shape, filled in graph
// order (seeds, landing tables, sources, then each model from what its
// select produces). Unknown columns and relations, ambiguous references and
// type errors are found at load, positioned in the user's files, and every
// node's columns and types become known (project.Node.Analysis).
//
// It never reports a false error: SQL it cannot judge (an upstream whose
// columns are unknown, a function of another warehouse, a file it would
// have to read) leaves the node unchecked, with the reason.
package analyze

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// Options say what to analyse.
type Options struct {
	// Select names the nodes to analyse and report on, by unique id; the
	// nodes above them are analysed too, for their shapes, but their own
	// problems are not reported. Nil means every node.
	Select []string
	// Previous gives a relation's columns as the warehouse last had them
	// (target/catalog.json), for sources whose property file does not
	// type their columns; nil when there is no such record.
	Previous func(rel warehouse.Relation) ([]warehouse.Column, bool)
	// Cache, when not nil, gives the columns of statements whose inputs
	// have not changed since they were last described, and is updated
	// with what this run learns; the caller saves it.
	Cache *Cache

	onDescribe func(id string) // for tests: which statements were described
}

// Summary counts the models and tests analysed.
type Summary struct {
	Checked   int
	Unchecked []Unchecked // in unique id order
}

// Unchecked is a model or test whose SQL could not be judged, and why.
type Unchecked struct {
	ID, Reason string
}

// Run analyses p. Problems found are returned as a *diag.Error holding
// all of them; other errors mean the analyser itself could not run.
func Run(ctx context.Context, p *project.Project, opts Options) (Summary, error) {
	a := &analyser{p: p, opts: opts, report: map[string]bool{}, unknownRoot: map[string]string{}, pending: map[string]*project.Node{}}
	defer a.close()
	opts.Cache.prune(p)
	ids := opts.Select
	if ids == nil {
		ids = p.Graph.Nodes()
	}
	for _, id := range ids {
		a.report[id] = true
	}
	var sum Summary
	for _, n := range a.order(ids) {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		if err := a.node(ctx, n); err != nil {
			return Summary{}, err
		}
		if a.report[n.UniqueID] && (n.Type == project.Model || n.Type == project.Test) {
			if n.Analysis.Checked {
				sum.Checked++
			} else {
				sum.Unchecked = append(sum.Unchecked, Unchecked{ID: n.UniqueID, Reason: n.Analysis.Reason})
			}
		}
	}
	if err := a.lineage(ctx); err != nil {
		return Summary{}, err
	}
	for _, f := range a.fresh {
		if cols := f.n.Analysis.Columns; cols != nil {
			a.opts.Cache.store(f.n.UniqueID, f.key, cols, f.n.Analysis.Lineage)
		}
	}
	slices.SortFunc(sum.Unchecked, func(x, y Unchecked) int { return strings.Compare(x.ID, y.ID) })
	p.CheckColumns(func(n *project.Node) []string {
		if n.Analysis == nil || n.Analysis.Columns == nil {
			return nil
		}
		return names(n.Analysis.Columns)
	}, func(n *project.Node) bool { return a.report[n.UniqueID] }, &a.diags)
	return sum, a.diags.Err()
}

type analyser struct {
	p      *project.Project
	sh     *shadow // opened when first needed: a run that finds everything cached needs none
	opts   Options
	report map[string]bool // the selected nodes, whose problems are reported
	// unknownRoot says, for a node unchecked because something above it is
	// unknown, what that first unknown thing is.
	unknownRoot map[string]string
	relations   map[string]*project.Node // by lower-case schema.name, for lineage
	diags       diag.List
	// fresh are the models and tests described in this run, whose results
	// go into the cache once their lineage is known.
	fresh []freshEntry
	// pending holds the nodes whose columns came from the cache and whose
	// shadow tables are not created yet: only a node described again
	// needs them.
	pending map[string]*project.Node
}

type freshEntry struct {
	n   *project.Node
	key [sha256.Size]byte
}

// shadow returns the shadow catalog, opening it on first use.
func (a *analyser) shadow(ctx context.Context) (*shadow, error) {
	if a.sh == nil {
		sh, err := openShadow(ctx)
		if err != nil {
			return nil, err
		}
		a.sh = sh
	}
	return a.sh, nil
}

func (a *analyser) close() {
	if a.sh != nil {
		a.sh.Close()
	}
}

// create makes rel an empty table of cols in the shadow catalog.
func (a *analyser) create(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column) error {
	sh, err := a.shadow(ctx)
	if err != nil {
		return err
	}
	return sh.create(ctx, rel, cols)
}

// materialize creates the shadow tables of the pending nodes that n reads,
// directly or through an ephemeral model inlined into its SQL.
func (a *analyser) materialize(ctx context.Context, n *project.Node) error {
	for _, id := range n.DependsOn {
		up := a.p.Nodes[id]
		if up.Type == project.Model && up.Config.Materialized == "ephemeral" {
			if err := a.materialize(ctx, up); err != nil {
				return err
			}
			continue
		}
		if err := a.materializeOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func (a *analyser) materializeOne(ctx context.Context, id string) error {
	up, ok := a.pending[id]
	if !ok {
		return nil
	}
	delete(a.pending, id)
	if err := a.create(ctx, up.Relation, up.Analysis.Columns); err != nil {
		return fmt.Errorf("create the analysed shape of %s %s: %w", up.Type, up.Name, err)
	}
	return nil
}

// materializeAll creates every pending shadow table, in unique id order,
// so that a statement is bound against the same catalog as in a run
// without the cache.
func (a *analyser) materializeAll(ctx context.Context) error {
	for _, id := range slices.Sorted(maps.Keys(a.pending)) {
		if err := a.materializeOne(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// order returns ids and every node above them, parents first; ties are
// broken by unique id so the analysis, and its messages, are stable.
func (a *analyser) order(ids []string) []*project.Node {
	seen := map[string]bool{}
	var out []*project.Node
	var visit func(id string)
	visit = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		for _, parent := range a.p.Graph.Parents(id) {
			visit(parent)
		}
		if n, ok := a.p.Nodes[id]; ok {
			out = append(out, n)
		}
	}
	for _, id := range slices.Sorted(slices.Values(ids)) {
		visit(id)
	}
	return out
}

// node learns n's columns and, for SQL, checks it; a relation's shape then
// goes into the shadow catalog for the nodes below.
func (a *analyser) node(ctx context.Context, n *project.Node) error {
	res := &project.Analysis{}
	n.Analysis = res
	switch n.Type {
	case project.Seed:
		res.Columns, res.Reason = seedColumns(n)
	case project.Source:
		res.Columns, res.Reason = a.sourceColumns(n)
	case project.Extract:
		return nil // it lands its tables; their sources carry the shapes
	case project.Model, project.Test:
		key := a.cacheKey(n)
		cached, err := a.statement(ctx, n, res, key)
		if err != nil {
			return err
		}
		if res.Columns == nil {
			// Its entry, if any, stays: it is right for the inputs it was
			// made from, and they may come back (a typo fixed).
			return nil
		}
		if !cached {
			a.fresh = append(a.fresh, freshEntry{n, key})
		}
		if n.Type == project.Test || n.Config.Materialized == "ephemeral" {
			return nil // a test has no relation; an ephemeral model is inlined where it is used
		}
		if dup := duplicate(res.Columns); dup != "" {
			a.problem(n, 0, 0, fmt.Sprintf("%s %s produces two columns named %q: the warehouse cannot build that; alias one of them", n.Type, n.Name, dup))
			res.Columns, res.Reason = nil, fmt.Sprintf("it produces two columns named %q", dup)
			return nil
		}
		a.contract(n)
		if cached {
			// Its table was created once from these very columns; it is
			// created again only if a node described below reads it.
			a.pending[n.UniqueID] = n
			return nil
		}
	}
	if res.Columns == nil {
		return nil
	}
	if err := a.create(ctx, n.Relation, res.Columns); err != nil {
		res.Columns, res.Reason = nil, fmt.Sprintf("its columns could not be represented for analysis: %v", firstLine(err.Error()))
	}
	return nil
}

func seedColumns(n *project.Node) ([]warehouse.Column, string) {
	t, err := project.SeedTable(n)
	if err != nil {
		return nil, err.Error()
	}
	return slices.Clone(t.Columns), ""
}

// sourceColumns are a source's columns: its extractor's landing table, or
// the columns its property file declares with their data_type, or the
// warehouse's as the last build recorded them.
func (a *analyser) sourceColumns(n *project.Node) ([]warehouse.Column, string) {
	for _, id := range n.DependsOn {
		spec := a.p.Nodes[id].Extraction
		if spec == nil {
			continue
		}
		for _, t := range spec.Extractor.Tables() {
			if src, ok := spec.Tables[t.Name]; ok && src == n {
				return append(slices.Clone(t.Columns), extractors.LoadColumns()...), ""
			}
		}
	}
	if strings.EqualFold(n.Relation.Name, extractors.ErrorsTable) && a.landsIn(n.Relation.Schema) {
		return extractors.ErrorColumns(), ""
	}
	if strings.EqualFold(n.Relation.Name, extractors.SeenTable) && a.landsIn(n.Relation.Schema) {
		return extractors.SeenColumns(), ""
	}
	if len(n.Columns) > 0 && !slices.ContainsFunc(n.Columns, func(c project.ColumnDoc) bool { return c.DataType == "" }) {
		cols := make([]warehouse.Column, len(n.Columns))
		for i, c := range n.Columns {
			cols[i] = warehouse.Column{Name: c.Name, Type: c.DataType}
		}
		return cols, ""
	}
	if a.opts.Previous != nil {
		if cols, ok := a.opts.Previous(n.Relation); ok {
			return cols, ""
		}
	}
	return nil, fmt.Sprintf("declare them in %s with data_type, or build once so target/catalog.json records them", n.Path)
}

// landsIn reports whether an extractor lands its tables in schema, and so
// keeps its errors table there.
func (a *analyser) landsIn(schema string) bool {
	for _, m := range a.p.Nodes {
		if m.Extraction == nil {
			continue
		}
		for _, src := range m.Extraction.Tables {
			if strings.EqualFold(src.Relation.Schema, schema) {
				return true
			}
		}
	}
	return false
}

// statement binds a model's or test's compiled SQL, or takes its columns
// from the cache when key matches, and says which. Its error means the
// analyser could not go on.
func (a *analyser) statement(ctx context.Context, n *project.Node, res *project.Analysis, key [32]byte) (cached bool, err error) {
	for _, id := range n.DependsOn {
		up := a.p.Nodes[id]
		if up.Type == project.Extract || up.Analysis.Columns != nil {
			continue
		}
		// Name the first unknown relation up the graph, not the chain.
		if root, ok := a.unknownRoot[id]; ok {
			res.Reason = root
		} else {
			res.Reason = fmt.Sprintf("the columns of %s are unknown: %s", label(up), up.Analysis.Reason)
		}
		a.unknownRoot[n.UniqueID] = res.Reason
		return false, nil
	}
	if e, ok := a.opts.Cache.lookup(n.UniqueID, key); ok {
		res.Columns, res.Checked, res.Lineage = slices.Clone(e.Columns), true, e.Lineage
		return true, nil
	}
	if err := a.materialize(ctx, n); err != nil {
		return false, err
	}
	sh, err := a.shadow(ctx)
	if err != nil {
		return false, err
	}
	if a.opts.onDescribe != nil {
		a.opts.onDescribe(n.UniqueID)
	}
	cols, err := sh.describe(ctx, n.Compiled)
	if _, ok := err.(*bindError); ok && len(a.pending) > 0 {
		// It may read a relation without ref, which only the full catalog
		// has: judge it against the same catalog as an uncached run would.
		if err := a.materializeAll(ctx); err != nil {
			return false, err
		}
		cols, err = sh.describe(ctx, n.Compiled)
	}
	if err == nil {
		res.Columns, res.Checked = cols, true
		return false, nil
	}
	be, ok := err.(*bindError)
	if !ok {
		res.Reason = err.Error()
		return false, nil
	}
	if reason, unchecked := a.judge(n, be); unchecked {
		res.Reason = reason
		return false, nil
	}
	res.Checked = true // checked, and found wrong
	res.Reason = "its SQL does not bind"
	a.problem(n, be.Line, be.Col, be.Message)
	return false, nil
}

// judge decides whether a statement that did not bind is wrong, or only
// beyond what the analyser can judge. On a DuckDB target the analyser is
// the warehouse's own binder, so whatever it refuses the build would too;
// on another warehouse only what means the same everywhere is an error: a
// column or relation that does not exist, or an ambiguous reference.
func (a *analyser) judge(n *project.Node, be *bindError) (reason string, unchecked bool) {
	duck := a.p.Dialect != nil && a.p.Dialect.Name() == "duckdb"
	first := firstLine(be.Message)
	switch be.Class {
	case "Binder Error":
		// A qualified column (t.x) means the same in every warehouse; an
		// unqualified name DuckDB does not find may be a keyword of the
		// other warehouse's (Snowflake's DATEDIFF(day, ...)).
		if duck || strings.Contains(first, "does not have a column named") {
			return "", false
		}
		if col, ok := missingColumn(first); ok && !datePart[strings.ToLower(col)] {
			return "", false
		}
	case "Catalog Error":
		if rel, missing := missingTable(first); missing {
			if written := identAt(n.Compiled, be.Line, be.Col); written != "" {
				rel = written
			}
			return a.judgeRelation(n, be, rel)
		}
		if duck {
			return "", false
		}
		if fn, ok := missingFunction(first); ok {
			return fmt.Sprintf("it calls %s, which the analyser (DuckDB) does not have; %s may", fn, a.p.Dialect.Name()), true
		}
	case "Parser Error":
		if duck {
			return "", false
		}
		return fmt.Sprintf("the analyser (DuckDB) cannot parse this %s SQL: %s", a.p.Dialect.Name(), first), true
	}
	return fmt.Sprintf("the analyser could not judge it: %s: %s", be.Class, first), true
}

// judgeRelation decides about a relation the shadow catalog lacks. Inside
// one of the project's schemas it is a mistake (nothing builds it); outside
// them it may well exist in the warehouse, unknown to the project.
func (a *analyser) judgeRelation(n *project.Node, be *bindError, name string) (string, bool) {
	schema, _, qualified := strings.Cut(name, ".")
	if qualified && slices.ContainsFunc(a.p.Schemas(), func(s string) bool { return strings.EqualFold(s, schema) }) {
		var known []string
		for _, m := range a.p.Nodes {
			if m.Relation.Name != "" && m.Type != project.Test && strings.EqualFold(m.Relation.Schema, schema) {
				known = append(known, m.Relation.Schema+"."+m.Relation.Name)
			}
		}
		slices.Sort(known)
		be.Message = fmt.Sprintf("relation %s does not exist: no model, seed or source of the project builds it, though schema %s is the project's; name relations with ref or source%s",
			name, schema, diag.DidYouMean(name, known))
		return "", false
	}
	return fmt.Sprintf("it reads %s, which no model, seed or source declares: declare it as a source (with data_type on its columns) so it can be checked", name), true
}

// missingColumn reads the column out of DuckDB's `Referenced column "x"
// not found in FROM clause`.
func missingColumn(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "Referenced column ")
	if !ok {
		return "", false
	}
	name, _, found := strings.Cut(rest, " not found")
	return strings.Trim(name, `"`), found
}

// datePart holds Snowflake's date and time part keywords, which its SQL
// writes bare where DuckDB would read a column.
var datePart = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`year y yy yyy yyyy yr years yrs quarter q qtr qtrs quarters month mm mon mons months
		week w wk weekofyear woy wy weekiso week_iso weekofyeariso weekofyear_iso day d dd days dayofmonth
		dayofweek weekday dow dw dayofweekiso weekday_iso dow_iso dw_iso dayofyear yearday doy dy
		hour h hh hr hours hrs minute m mi min minutes mins second s sec seconds secs
		millisecond ms msec milliseconds microsecond us usec microseconds nanosecond ns nsec nanosec nsecond nanoseconds
		epoch_second epoch epoch_seconds epoch_millisecond epoch_microsecond epoch_nanosecond timezone_hour tzh timezone_minute tzm`) {
		datePart[p] = true
	}
}

// missingFunction reads the function out of DuckDB's "Scalar Function
// with name x does not exist" (or Table, Aggregate, ... Function).
func missingFunction(msg string) (string, bool) {
	_, rest, ok := strings.Cut(msg, "Function with name ")
	if !ok {
		return "", false
	}
	name, _, found := strings.Cut(rest, " does not exist")
	return strings.Trim(name, `"`), found
}

// missingTable reads the relation out of DuckDB's "Table with name X does
// not exist" (X is "schema.name" or a bare name).
func missingTable(msg string) (string, bool) {
	const prefix = "Table with name "
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, "does not exist") {
		return "", false
	}
	rest := msg[len(prefix):]
	name, _, _ := strings.Cut(rest, " does not exist")
	return strings.Trim(name, `"`), true
}

// identAt reads the (possibly dotted and quoted) name starting at line and
// col of stmt, as the SQL wrote it, quotes removed; "" when there is none.
func identAt(stmt string, line, col int) string {
	lines := strings.Split(stmt, "\n")
	if line < 1 || line > len(lines) || col < 1 || col > len(lines[line-1]) {
		return ""
	}
	text := lines[line-1][col-1:]
	end := strings.IndexFunc(text, func(r rune) bool {
		return !(r == '_' || r == '.' || r == '"' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127)
	})
	if end >= 0 {
		text = text[:end]
	}
	return strings.ReplaceAll(text, `"`, "")
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return strings.TrimRight(first, "!")
}

// label names a node in messages: "model x", "source pypi.downloads".
func label(n *project.Node) string {
	if n.Type == project.Source {
		return fmt.Sprintf("source %s.%s", n.SourceName, n.Name)
	}
	return fmt.Sprintf("%s %s", n.Type, n.Name)
}

func names(cols []warehouse.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// duplicate returns a column name that cols holds twice, ignoring case as
// both warehouses do; "" when there is none.
func duplicate(cols []warehouse.Column) string {
	seen := map[string]bool{}
	for _, c := range cols {
		key := strings.ToLower(c.Name)
		if seen[key] {
			return c.Name
		}
		seen[key] = true
	}
	return ""
}
