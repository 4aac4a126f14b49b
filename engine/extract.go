package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// Extract is the resource type of extractor nodes: they collect data from
// outside systems and append it to landing tables.
const Extract ResourceType = "extract"

// landingColumns are added to every landed row: loads are append-only
// snapshots, told apart by load id and time.
var landingColumns = []warehouse.Column{
	{Name: "_load_id", Type: "varchar"},
	{Name: "_loaded_at", Type: "timestamp"},
	{Name: "_source", Type: "varchar"},
}

// errorsTable is the landing table of item-level extraction failures.
const errorsTable = "_extract_errors"

var errorsColumns = []warehouse.Column{
	{Name: "_load_id", Type: "varchar"},
	{Name: "extractor", Type: "varchar"},
	{Name: "item", Type: "varchar"},
	{Name: "error", Type: "varchar"},
	{Name: "failed_at", Type: "timestamp"},
}

// extractorConfig is one entry of extractors: in project.yaml.
type extractorConfig struct {
	name     string
	input    string // the seed (or model) whose rows are the items
	source   string // the source whose tables it lands
	enabled  bool
	budget   time.Duration // total time of one extraction (timeout:)
	settings map[string]any
	// keys and values are the settings' YAML nodes, for positions.
	keys, values map[string]*yaml.Node
	line         int
	col          int
}

// engineKeys are the keys of an extractor's block the engine reads itself;
// the others are the extractor's settings.
var engineKeys = []string{"enabled", "input", "source", "timeout"}

func decodeExtractors(n *yaml.Node, diags *diag.List) []extractorConfig {
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "extractors must be a mapping of extractor names to settings")
		return nil
	}
	var out []extractorConfig
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ec := extractorConfig{name: k.Value, enabled: true, budget: extractors.DefaultBudget, settings: map[string]any{},
			keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, line: k.Line, col: k.Column}
		if v.Kind != yaml.MappingNode {
			diags.Add(ProjectFile, v.Line, v.Column, "extractors.%s must be a mapping with at least input and source", k.Value)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			kn, vn := v.Content[j], v.Content[j+1]
			key := kn.Value
			if first, dup := ec.keys[key]; dup {
				diags.Add(ProjectFile, kn.Line, kn.Column, "extractors.%s.%s is set twice (first on line %d); keep one", k.Value, key, first.Line)
				continue
			}
			ec.keys[key], ec.values[key] = kn, vn
			var val any
			if err := vn.Decode(&val); err != nil {
				diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.%s: %v", k.Value, key, err)
				continue
			}
			switch key {
			case "input", "source":
				s, ok := val.(string)
				if !ok || s == "" {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.%s must be a name", k.Value, key)
					continue
				}
				if key == "input" {
					ec.input = s
				} else {
					ec.source = s
				}
			case "enabled":
				b, ok := val.(bool)
				if !ok {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.enabled must be true or false", k.Value)
				}
				ec.enabled = b
			case "timeout":
				d, err := parseBudget(val)
				if err != nil {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.timeout %v", k.Value, err)
					continue
				}
				ec.budget = d
			default:
				ec.settings[key] = val
			}
		}
		for _, req := range []string{"input", "source"} {
			if _, ok := ec.keys[req]; !ok {
				diags.Add(ProjectFile, k.Line, k.Column, "extractors.%s needs %s: (%s)", k.Value, req,
					map[string]string{"input": "the seed listing the items to extract", "source": "the source whose tables it lands"}[req])
			}
		}
		out = append(out, ec)
	}
	return out
}

// parseBudget reads an extractor's timeout: a positive Go duration. A bare
// number is refused: seconds or minutes would be a guess.
func parseBudget(val any) (time.Duration, error) {
	const want = "must be a duration such as 5m or 90s (the extractor's total time budget)"
	s, ok := val.(string)
	switch {
	case !ok && isNumber(val):
		return 0, fmt.Errorf("%s, got %v (a number needs a unit)", want, val)
	case !ok:
		return 0, fmt.Errorf("%s, got %v", want, val)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s, got %q", want, s)
	}
	return d, nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, float64:
		return true
	}
	return false
}

// checkSettings checks an extractor's settings against the ones it
// declares (extractors.Configurable): an unknown key is an error at the key,
// with the closest known one; a value the extractor refuses, at the value.
func (p *Project) checkSettings(ec extractorConfig, ex extractors.Extractor, diags *diag.List) {
	c, ok := ex.(extractors.Configurable)
	if !ok {
		return // it reads its settings itself
	}
	checks := map[string]extractors.Setting{}
	for _, s := range c.Settings() {
		checks[s.Name] = s
	}
	known := slices.Sorted(maps.Keys(checks))
	for _, key := range slices.Sorted(maps.Keys(ec.settings)) {
		s, ok := checks[key]
		if !ok {
			kn := ec.keys[key]
			msg := fmt.Sprintf("unknown key %q in extractors.%s", key, ec.name)
			if sug := suggest(key, append(slices.Clone(known), engineKeys...)); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			if len(known) > 0 {
				msg += fmt.Sprintf(" (known keys: %s, and the %s extractor's %s)", strings.Join(engineKeys, ", "), ec.name, strings.Join(known, ", "))
			} else {
				msg += fmt.Sprintf(" (known keys: %s; the %s extractor has no settings of its own)", strings.Join(engineKeys, ", "), ec.name)
			}
			diags.Add(ProjectFile, kn.Line, kn.Column, "%s", msg)
			continue
		}
		if s.Check == nil {
			continue
		}
		if err := s.Check(ec.settings[key], p.env); err != nil {
			vn := ec.values[key]
			diags.Add(ProjectFile, vn.Line, vn.Column, "%v", err)
		}
	}
}

// addExtractors makes a node of each configured extractor: input seed ->
// extract -> the source tables it lands, so models reading those sources
// run after it.
func (p *Project) addExtractors(configs []extractorConfig, registry map[string]extractors.Factory, diags *diag.List) {
	for _, ec := range configs {
		factory, ok := registry[ec.name]
		if !ok {
			names := slices.Sorted(maps.Keys(registry))
			msg := fmt.Sprintf("unknown extractor %q (this quarry has: %s)", ec.name, strings.Join(names, ", "))
			if s := suggest(ec.name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			diags.Add(ProjectFile, ec.line, ec.col, "%s", msg)
			continue
		}
		ex := factory()
		p.checkSettings(ec, ex, diags) // disabled or not: it may be enabled tomorrow
		if !ec.enabled {
			continue
		}
		n := &Node{UniqueID: "extract." + p.Name + "." + ec.name, Name: ec.name, Type: Extract, Path: ProjectFile,
			Config: Config{Enabled: true}, extract: &extractSpec{ex: ex, cfg: ec, tables: map[string]*Node{}}}
		input, ok := p.byName[ec.input]
		if !ok && ec.input != "" {
			msg := fmt.Sprintf("extractors.%s: input %q is not a seed or model", ec.name, ec.input)
			if s := suggest(ec.input, slices.Sorted(maps.Keys(p.byName))); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			diags.Add(ProjectFile, ec.line, ec.col, "%s", msg)
		} else if ok {
			n.extract.input = input
			n.refs = []string{input.Name}
		}
		for _, t := range ex.Tables() {
			src, found := p.landingSource(ec.source, t.Name)
			if !found {
				diags.Add(ProjectFile, ec.line, ec.col,
					"extractors.%s lands table %s: declare it under sources: - name: %s, tables: - name: %s (schema: raw) in a property file",
					ec.name, t.Name, ec.source, t.Name)
				continue
			}
			n.extract.tables[t.Name] = src
		}
		p.Nodes[n.UniqueID] = n
		p.extracts = append(p.extracts, n)
	}
}

// landingSource finds the table of source src that a landing table named
// table is, by identifier.
func (p *Project) landingSource(src, table string) (*Node, bool) {
	for _, n := range p.sources {
		if n.SourceName == src && strings.EqualFold(n.Relation.Name, table) {
			return n, true
		}
	}
	return nil, false
}

// extractSpec is what an extract node runs.
type extractSpec struct {
	ex     extractors.Extractor
	cfg    extractorConfig
	input  *Node
	tables map[string]*Node // landing table -> its source node
}

// landing names the relation of one of the extractor's landing tables (or
// of _extract_errors, which sits beside them).
func (spec *extractSpec) landing(table string) warehouse.Relation {
	if src, ok := spec.tables[table]; ok {
		return src.Relation
	}
	schema := ""
	for _, src := range spec.tables {
		schema = src.Relation.Schema
	}
	return warehouse.Relation{Schema: schema, Name: table}
}

// createLandingTables creates an extractor's landing tables and
// _extract_errors, empty, if they do not exist: extractors can then query
// what was landed before (incremental windows) even on a first run. The
// engine does it for every extractor before any node runs, one after the
// other, since extractors share _extract_errors and two concurrent creations
// of one table conflict.
func createLandingTables(ctx context.Context, wh warehouse.Warehouse, spec *extractSpec) error {
	for _, t := range spec.ex.Tables() {
		if _, err := wh.LoadRows(ctx, spec.landing(t.Name), append(slices.Clone(t.Columns), landingColumns...), nil, false); err != nil {
			return fmt.Errorf("create landing table %s: %w", t.Name, err)
		}
	}
	if _, err := wh.LoadRows(ctx, spec.landing(errorsTable), errorsColumns, nil, false); err != nil {
		return fmt.Errorf("create %s: %w", errorsTable, err)
	}
	return nil
}

// linkExtracts adds the graph edges of extract nodes.
func (p *Project) linkExtracts() {
	for _, n := range p.extracts {
		if in := n.extract.input; in != nil {
			p.Graph.AddEdge(in.UniqueID, n.UniqueID)
			n.DependsOn = []string{in.UniqueID}
		}
		for _, src := range n.extract.tables {
			p.Graph.AddEdge(n.UniqueID, src.UniqueID)
			src.DependsOn = append(src.DependsOn, n.UniqueID)
		}
	}
}

// newLoadID names one load: sortable by time, unique by a random suffix.
func newLoadID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// runExtract collects and lands one extractor's data. Each landing table
// is appended in one transaction, so a failure leaves none of this load's
// rows in it; nothing is ever truncated or updated.
func (p *Project) runExtract(ctx context.Context, wh warehouse.Warehouse, n *Node, opts RunOptions, res *Result) error {
	spec := n.extract
	if spec.input == nil {
		return fmt.Errorf("no input")
	}
	items, err := p.extractItems(ctx, wh, spec)
	if err != nil {
		return err
	}
	relOf := spec.landing
	tables := spec.ex.Tables()
	loadID := newLoadID(opts.Now())
	now := opts.Now().UTC()
	var notesMu sync.Mutex // extractors log from their worker goroutines
	logf := func(format string, args ...any) {
		notesMu.Lock()
		defer notesMu.Unlock()
		res.Notes = append(res.Notes, fmt.Sprintf(format, args...))
	}
	client := opts.HTTP
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	cacheDir := filepath.Join(p.Dir, ".quarry", "cache", n.Name)
	if opts.Replaying || opts.Recording {
		// A recording must hold full answers and a replay must ask exactly
		// what the recording asked: no state (ETags) from earlier live runs
		// may change the requests.
		tmp, err := os.MkdirTemp("", "quarry-replay-cache-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cacheDir = tmp
	}
	getenv := p.env
	if opts.Replaying {
		getenv = replayEnv(p.env, spec.ex, opts.Endpoints)
	}
	env := extractors.Env{
		LoadID: loadID, Now: now, HTTP: client, Replaying: opts.Replaying, Getenv: getenv,
		Settings: spec.cfg.settings, CacheDir: cacheDir,
		Logf: logf, Strict: opts.Strict, Budget: spec.cfg.budget,
		Query:   func(ctx context.Context, sql string) (*warehouse.Result, error) { return wh.Query(ctx, sql, 0) },
		Landing: func(table string) string { return p.dialect.RelationSQL(relOf(table)) },
	}
	// The budget bounds the collection only: landing what was collected
	// uses ctx, so the rows and item errors of a load that ran out of time
	// still land together, under one load id.
	bctx, cancel := extractors.WithBudget(ctx, n.Name, spec.cfg.budget)
	out, err := spec.ex.Extract(bctx, env, items)
	cancel()
	if err != nil {
		if be := extractors.OutOfBudget(bctx); be != nil && ctx.Err() == nil {
			// An extractor that gave up on the whole load when time ran
			// out: nothing of it is landed.
			return fmt.Errorf("extractor %s: the time budget of %s ran out (raise extractors.%s.timeout in project.yaml): %w", n.Name, be.Budget, n.Name, err)
		}
		return err
	}
	if out == nil {
		return fmt.Errorf("extractor %s returned no result and no error", n.Name)
	}
	for name := range out.Rows {
		if !slices.ContainsFunc(tables, func(t extractors.Table) bool { return t.Name == name }) {
			// Rows the landing would silently leave behind.
			return fmt.Errorf("extractor %s returned rows for %s, which is not one of its tables", n.Name, name)
		}
	}
	if opts.SampleData {
		// Invented responses must never pass for measurements downstream.
		out.Source += " (sample)"
	}
	var landed int64
	for _, t := range tables {
		rows := out.Rows[t.Name]
		withMeta := make([][]any, len(rows))
		for i, r := range rows {
			if len(r) != len(t.Columns) {
				return fmt.Errorf("extractor %s returned a row of %d values for %s, which has %d columns", n.Name, len(r), t.Name, len(t.Columns))
			}
			withMeta[i] = append(slices.Clone(r), loadID, now, out.Source)
		}
		count, err := wh.LoadRows(ctx, relOf(t.Name), append(slices.Clone(t.Columns), landingColumns...), withMeta, false)
		if err != nil {
			return fmt.Errorf("land %s (no rows of load %s were kept): %w", t.Name, loadID, err)
		}
		landed += count
	}
	if len(out.Errors) > 0 {
		rows := make([][]any, len(out.Errors))
		for i, e := range out.Errors {
			rows[i] = []any{loadID, n.Name, e.Item, e.Err, now}
		}
		if _, err := wh.LoadRows(ctx, relOf(errorsTable), errorsColumns, rows, false); err != nil {
			return fmt.Errorf("land %s: %w", errorsTable, err)
		}
		for _, e := range out.Errors {
			logf("%s: %s", e.Item, e.Err)
		}
	}
	res.RowsAffected = &landed
	res.Message = fmt.Sprintf("load %s: %d rows from %d items", loadID, landed, len(items))
	if len(out.Stats) > 0 {
		res.Message += " (" + strings.Join(out.Stats, "; ") + ")"
	}
	switch {
	case len(items) > 0 && len(out.Errors) >= len(items):
		return fmt.Errorf("every item failed (%d of %d); see %s", len(out.Errors), len(items), p.dialect.RelationSQL(relOf(errorsTable)))
	case len(out.Errors) > 0 && opts.Strict:
		return fmt.Errorf("%d of %d items failed and --strict is set; see %s", len(out.Errors), len(items), p.dialect.RelationSQL(relOf(errorsTable)))
	case len(out.Errors) > 0:
		res.Status = StatusWarn
		res.Message = fmt.Sprintf("%s; %d of %d items failed, see %s", res.Message, len(out.Errors), len(items), p.dialect.RelationSQL(relOf(errorsTable)))
	}
	return nil
}

// replayEnv is the environment of an extractor in a replay: its endpoint
// variables (extractors.Endpointed) are the recorded ones, whatever env
// says; a variable the recording does not hold was unset when recording.
func replayEnv(env func(string) (string, bool), ex extractors.Extractor, recorded map[string]string) func(string) (string, bool) {
	e, ok := ex.(extractors.Endpointed)
	if !ok {
		return env
	}
	names := e.EndpointVars()
	return func(name string) (string, bool) {
		if slices.Contains(names, name) {
			v, ok := recorded[name]
			return v, ok
		}
		return env(name)
	}
}

// Endpoints returns the values of the extractors' endpoint variables
// (extractors.Endpointed) that are set: a recording keeps them, so that its
// replay asks the addresses it recorded.
func (p *Project) Endpoints() map[string]string {
	out := map[string]string{}
	for _, n := range p.extracts {
		e, ok := n.extract.ex.(extractors.Endpointed)
		if !ok {
			continue
		}
		for _, name := range e.EndpointVars() {
			if v, ok := p.env(name); ok && strings.TrimSpace(v) != "" {
				out[name] = v
			}
		}
	}
	return out
}

// extractItems reads the extractor's input rows from the warehouse.
func (p *Project) extractItems(ctx context.Context, wh warehouse.Warehouse, spec *extractSpec) ([]extractors.Item, error) {
	rel := p.dialect.RelationSQL(spec.input.Relation)
	r, err := wh.Query(ctx, "select * from "+rel, 0)
	if err != nil {
		return nil, fmt.Errorf("read the items from %s (load it with quarry seed or quarry build): %w", rel, err)
	}
	key := spec.ex.KeyColumn()
	keyIdx := slices.IndexFunc(r.Columns, func(c string) bool { return strings.EqualFold(c, key) })
	if keyIdx < 0 {
		return nil, fmt.Errorf("%s has no column %s, which extractor %s needs (columns: %s)", rel, key, spec.cfg.name, strings.Join(r.Columns, ", "))
	}
	seen := map[string]bool{}
	var items []extractors.Item
	for _, row := range r.Rows {
		fields := map[string]string{}
		for i, c := range r.Columns {
			if row[i] != nil {
				fields[strings.ToLower(c)] = fmt.Sprint(row[i])
			}
		}
		k := fields[strings.ToLower(key)]
		if k == "" || seen[k] {
			continue // a blank or repeated key would only fetch the same data again
		}
		seen[k] = true
		items = append(items, extractors.Item{Key: k, Fields: fields})
	}
	return items, nil
}

// ExtractorCheck is what one extractor said about its settings and
// credentials.
type ExtractorCheck struct {
	Name     string
	Findings []extractors.Finding
}

// CheckExtractors asks each extractor that can (extractors.Checker) whether
// its settings and credentials are usable, without collecting anything.
func (p *Project) CheckExtractors(ctx context.Context, client *http.Client) []ExtractorCheck {
	var out []ExtractorCheck
	for _, n := range p.extracts {
		c := ExtractorCheck{Name: n.Name}
		if checker, ok := n.extract.ex.(extractors.Checker); ok {
			env := extractors.Env{Getenv: p.env, Settings: n.extract.cfg.settings, HTTP: client, Now: time.Now().UTC()}
			c.Findings = checker.Check(ctx, env)
		} else {
			c.Findings = []extractors.Finding{{OK: true, Text: "nothing to check"}}
		}
		out = append(out, c)
	}
	return out
}
