package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/internal/english"
)

// extractKind collects data from outside systems and appends it to the
// extractor's landing tables, one snapshot per load.
type extractKind struct{}

// schemas are the schemas of the extractor's landing tables.
func (extractKind) schemas(n *project.Node, _ *Options) []string {
	var out []string
	for _, src := range n.Extraction.Tables {
		out = append(out, src.Relation.Schema)
	}
	return out
}

// prepare creates the landing tables before any node runs (see
// createLandingTables).
func (extractKind) prepare(ctx context.Context, x *execution, n *project.Node) error {
	if err := createLandingTables(ctx, x.wh, n.Extraction); err != nil {
		return &setupError{node: n.UniqueID, cause: "the landing tables of extract " + n.Name + " could not be created",
			err: fmt.Errorf("extract %s: %w", n.Name, err)}
	}
	return nil
}

func (extractKind) run(ctx context.Context, x *execution, n *project.Node, res *Result) {
	res.Status = StatusSuccess
	if err := x.runExtract(ctx, n, res); err != nil {
		res.Status = StatusError
		res.Message = fmt.Sprintf("extract %s: %v", n.Name, err)
		if ctx.Err() != nil {
			res.Message = fmt.Sprintf("extract %s: cancelled", n.Name)
		}
	}
}

// landing names the relation of one of the extractor's landing tables (or
// of _extract_errors, which sits beside them).
func landing(spec *project.ExtractSpec, table string) warehouse.Relation {
	if src, ok := spec.Tables[table]; ok {
		return src.Relation
	}
	schema := ""
	for _, src := range spec.Tables {
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
func createLandingTables(ctx context.Context, wh warehouse.Warehouse, spec *project.ExtractSpec) error {
	for _, t := range spec.Extractor.Tables() {
		if _, err := wh.LoadRows(ctx, landing(spec, t.Name), append(slices.Clone(t.Columns), extractors.LoadColumns()...), nil, false); err != nil {
			return fmt.Errorf("create landing table %s: %w", t.Name, err)
		}
	}
	if _, err := wh.LoadRows(ctx, landing(spec, extractors.ErrorsTable), extractors.ErrorColumns(), nil, false); err != nil {
		return fmt.Errorf("create %s: %w", extractors.ErrorsTable, err)
	}
	// The bookkeeping of change-only landing exists wherever a table could
	// be landed change-only, even while it is not, so that staging models
	// reading it keep working whatever change_only: says.
	if slices.ContainsFunc(spec.Extractor.Tables(), func(t extractors.Table) bool { return t.Key != "" }) {
		if _, err := wh.LoadRows(ctx, landing(spec, extractors.SeenTable), extractors.SeenColumns(), nil, false); err != nil {
			return fmt.Errorf("create %s: %w", extractors.SeenTable, err)
		}
	}
	return nil
}

// newLoadID names one load: sortable by time, unique by a random suffix.
func newLoadID(now time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// runExtract collects and lands one extractor's data. Each landing table
// is appended in one transaction, so a failure leaves none of this load's
// rows in it; nothing is ever truncated or updated. A change-only table's
// rows land in the same transaction as their seen entries (planChangeOnly).
func (x *execution) runExtract(ctx context.Context, n *project.Node, res *Result) error {
	p, wh, opts := x.p, x.wh, x.opts
	spec := n.Extraction
	if spec.Input == nil {
		return fmt.Errorf("no input")
	}
	items, err := extractItems(ctx, p, wh, spec)
	if err != nil {
		return err
	}
	relOf := func(table string) warehouse.Relation { return landing(spec, table) }
	tables := spec.Extractor.Tables()
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
	getenv := p.Env
	if opts.Replaying {
		getenv = replayEnv(p.Env, spec.Extractor, opts.Endpoints)
	}
	env := extractors.Env{
		LoadID: loadID, Now: now, HTTP: client, Replaying: opts.Replaying, Getenv: getenv,
		Settings: spec.Settings(), CacheDir: cacheDir,
		Logf: logf, Strict: opts.Strict, Budget: spec.Budget(),
		Query:   func(ctx context.Context, sql string) (*warehouse.Result, error) { return wh.Query(ctx, sql, 0) },
		Landing: func(table string) string { return p.Dialect.RelationSQL(relOf(table)) },
	}
	// The budget bounds the collection only: landing what was collected
	// uses ctx, so the rows and item errors of a load that ran out of time
	// still land together, under one load id.
	bctx, cancel := extractors.WithBudget(ctx, n.Name, spec.Budget())
	out, err := spec.Extractor.Extract(bctx, env, items)
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
	var landed, unchanged int64
	changeOnly := false
	for _, t := range tables {
		rows := out.Rows[t.Name]
		withMeta := make([][]any, len(rows))
		for i, r := range rows {
			if len(r) != len(t.Columns) {
				return fmt.Errorf("extractor %s returned a row of %d values for %s, which has %d columns", n.Name, len(r), t.Name, len(t.Columns))
			}
			withMeta[i] = append(slices.Clone(r), loadID, now, out.Source)
		}
		cols := append(slices.Clone(t.Columns), extractors.LoadColumns()...)
		if !spec.ChangeOnly(t.Name) {
			count, err := wh.LoadRows(ctx, relOf(t.Name), cols, withMeta, false)
			if err != nil {
				return fmt.Errorf("land %s (no rows of load %s were kept): %w", t.Name, loadID, err)
			}
			landed += count
			continue
		}
		changeOnly = true
		plan, err := planChangeOnly(ctx, wh, relOf(extractors.SeenTable), t, withMeta, loadID, now, out.Source)
		if err != nil {
			return fmt.Errorf("land %s (no rows of load %s were kept): %w", t.Name, loadID, err)
		}
		counts, err := wh.AppendRows(ctx, []warehouse.Append{
			{Rel: relOf(t.Name), Cols: cols, Rows: plan.stored},
			{Rel: relOf(extractors.SeenTable), Cols: extractors.SeenColumns(), Rows: plan.seen},
		})
		if err != nil {
			return fmt.Errorf("land %s change-only (no rows or seen keys of load %s were kept): %w", t.Name, loadID, err)
		}
		landed += counts[0]
		unchanged += plan.unchanged
	}
	if len(out.Errors) > 0 {
		rows := make([][]any, len(out.Errors))
		for i, e := range out.Errors {
			rows[i] = []any{loadID, n.Name, e.Item, e.Err, now}
		}
		if _, err := wh.LoadRows(ctx, relOf(extractors.ErrorsTable), extractors.ErrorColumns(), rows, false); err != nil {
			return fmt.Errorf("land %s: %w", extractors.ErrorsTable, err)
		}
		for _, e := range out.Errors {
			logf("%s: %s", e.Item, e.Err)
		}
	}
	res.RowsAffected = &landed
	res.BigQuery = out.BigQuery
	res.Message = fmt.Sprintf("load %s: %d rows from %d items", loadID, landed, len(items))
	if changeOnly {
		res.Message += fmt.Sprintf(", %d unchanged %s recorded as seen", unchanged, english.Plural(int(unchanged), "key", "keys"))
	}
	if len(out.Stats) > 0 {
		res.Message += " (" + strings.Join(out.Stats, "; ") + ")"
	}
	failed, partial := countFailed(out.Errors)
	errorsRel := p.Dialect.RelationSQL(relOf(extractors.ErrorsTable))
	switch {
	case len(items) > 0 && failed >= len(items):
		return fmt.Errorf("every item failed (%d of %d); see %s", failed, len(items), errorsRel)
	case len(out.Errors) > 0 && opts.Strict:
		return fmt.Errorf("%d of %d items failed and --strict is set; see %s", failed+partial, len(items), errorsRel)
	case len(out.Errors) > 0:
		res.Status = StatusWarn
		var parts []string
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d items failed", failed, len(items)))
		}
		if partial > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d items landed in part", partial, len(items)))
		}
		res.Message = fmt.Sprintf("%s; %s, see %s", res.Message, strings.Join(parts, ", "), errorsRel)
	}
	return x.retain(ctx, n, res)
}

// retain applies each landing table's retention after a load that did not
// fail, one transaction per table, and says in the node's message what it
// deleted. The newest load, this one, is never deleted.
func (x *execution) retain(ctx context.Context, n *project.Node, res *Result) error {
	var said []string
	for _, t := range n.Extraction.Extractor.Tables() {
		plan, err := PlanRetention(ctx, x.wh, n.Extraction, t.Name, x.opts.Now().UTC())
		if err != nil {
			return fmt.Errorf("the load landed, but %w", err)
		}
		if plan == nil || len(plan.Delete) == 0 {
			continue
		}
		rows, err := applyRetention(ctx, x.wh, plan, x.opts.RetentionStep)
		if err != nil {
			return fmt.Errorf("the load landed, but %w", err)
		}
		said = append(said, fmt.Sprintf("%s %d %s (%d %s)", t.Name, len(plan.Delete), english.Plural(len(plan.Delete), "load", "loads"),
			rows, english.Plural(int(rows), "row", "rows")))
	}
	if len(said) > 0 {
		deleted := "retention deleted " + strings.Join(said, ", ")
		res.Message += "; " + deleted
		res.Notes = append(res.Notes, deleted) // the console line shows notes, not the message
	}
	return nil
}

// countFailed counts the items with an error, as failed when one of their
// errors is whole and as landed in part when all are Partial (the rest of
// the item landed). An item is counted once however many errors it has.
func countFailed(errs []extractors.ItemError) (failed, partial int) {
	whole := map[string]bool{}
	for _, e := range errs {
		whole[e.Item] = whole[e.Item] || !e.Partial
	}
	for _, w := range whole {
		if w {
			failed++
		} else {
			partial++
		}
	}
	return failed, partial
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

// extractItems reads the extractor's input rows from the warehouse.
func extractItems(ctx context.Context, p *project.Project, wh warehouse.Warehouse, spec *project.ExtractSpec) ([]extractors.Item, error) {
	rel := p.Dialect.RelationSQL(spec.Input.Relation)
	r, err := wh.Query(ctx, "select * from "+rel, 0)
	if err != nil {
		return nil, fmt.Errorf("read the items from %s (load it with quarry seed or quarry build): %w", rel, err)
	}
	key := spec.Extractor.KeyColumn()
	keyIdx := slices.IndexFunc(r.Columns, func(c string) bool { return strings.EqualFold(c, key) })
	if keyIdx < 0 {
		return nil, fmt.Errorf("%s has no column %s, which extractor %s needs (columns: %s)", rel, key, spec.Name(), strings.Join(r.Columns, ", "))
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
