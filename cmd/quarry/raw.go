package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/growth"
	"github.com/quarrydev/quarry/internal/targets"
)

// rawSchemaVersion is the version of quarry raw -o json's document
// (docs/raw.md): it changes when a field changes meaning or goes away, not
// when one is added.
const rawSchemaVersion = 1

// rawHorizons are the days ahead quarry raw projects sizes to.
var rawHorizons = []int{30, 365}

func (a *app) rawCommand() *cobra.Command {
	var output string
	var window int
	var retention bool
	cmd := &cobra.Command{
		Use:   "raw",
		Short: "Report the landing tables: rows, loads, bytes, growth a day and projected size",
		Long: `raw reports every landing table of the project's extractors (the tables
they declare, _extract_errors, and any other table in their landing schemas,
as the warehouse lists them): its rows, its loads (distinct _load_id) and the
first and last load time, its bytes, how fast it grows and how big it will
be in 30 and 365 days at the current schedule. Nothing is changed.

Bytes are the warehouse's own figure, from its storage metadata, not a scan:
on Snowflake INFORMATION_SCHEMA.TABLES.BYTES (compressed, active data; Time
Travel and Fail-safe not included); on DuckDB the blocks of the database
file the table's checkpointed data uses, times the block size (256 KiB):
approximate, an upper bound, and none for an in-memory database.

Growth is measured over the last --window loads of each table: the loads a
day is the number of intervals between them over the time from the first to
the last; the rows a day are the rows of the loads after the first (as the
table holds them now) over that same time; the bytes a day are the rows a
day at the table's bytes per row now. The projections add that pace for 30
and 365 days to the table's size now. A table needs two loads at different
times to be measured; a table not extracted yet is listed as such.

--retention is retention's dry run: for each landing table with a
retention: policy in project.yaml, the loads it would delete now (judged
against the current time) and how many stored rows and seen entries go
with them. quarry extract and quarry build apply it after a successful load.`,
		Example: `  quarry raw
  quarry raw --target prod -o json
  quarry raw --window 48
  quarry raw --retention`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if output != "text" && output != "json" {
				return &exitError{code: exitLoad, err: fmt.Errorf("--output must be text or json, not %q", output)}
			}
			if window < 2 {
				return &exitError{code: exitLoad, err: fmt.Errorf("--window %d: growth is measured between loads, so give 2 or more", window)}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.raw(cmd.Context(), output, window, retention)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text (an aligned table) or json (docs/raw.md)")
	cmd.Flags().IntVar(&window, "window", 10, "how many of each table's most recent loads growth is measured over (2 or more)")
	cmd.Flags().BoolVar(&retention, "retention", false, "also list what each table's retention: policy would delete now (a dry run: nothing is deleted)")
	return cmd
}

// rawTable is one landing table in quarry raw's report; its JSON is the
// documented schema (docs/raw.md).
type rawTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Declared is set for the tables the extractors declare and their
	// _extract_errors (which they share: no Extractor).
	Declared  bool   `json:"declared"`
	Extractor string `json:"extractor,omitempty"`
	Exists    bool   `json:"exists"`
	Rows      *int64 `json:"rows"`
	// Loads is nil for a table without a _load_id column.
	Loads       *int64     `json:"loads"`
	FirstLoadAt *time.Time `json:"first_load_at"`
	LastLoadAt  *time.Time `json:"last_load_at"`
	Bytes       *int64     `json:"bytes"`
	Growth      *rawGrowth `json:"growth"`
	Note        string     `json:"note,omitempty"`

	// Retention is what the table's retention: would delete now; only
	// with --retention, for a table that has a policy.
	Retention *rawRetention `json:"retention,omitempty"`

	rel      warehouse.Relation // as the warehouse stores it
	columns  []warehouse.ColumnInfo
	loadList []growth.Load
	// seen is the change-only bookkeeping its loads may have recorded
	// entries in (a landing table with a key), and landing the name it
	// has there.
	seen    *warehouse.Relation
	landing string
	spec    *project.ExtractSpec
}

// rawRetention is quarry raw --retention's dry run of one table's policy.
type rawRetention struct {
	Policy      string       `json:"policy"`
	Loads       int          `json:"loads"`
	DeleteLoads []rawLoadRef `json:"delete_loads"`
	DeleteRows  int64        `json:"delete_rows"`
	DeleteSeen  int64        `json:"delete_seen_entries"`
}

type rawLoadRef struct {
	ID string    `json:"load_id"`
	At time.Time `json:"loaded_at"`
}

type rawGrowth struct {
	LoadsMeasured int           `json:"loads_measured"`
	SpanHours     float64       `json:"span_hours"`
	LoadsPerDay   float64       `json:"loads_per_day"`
	RowsPerDay    float64       `json:"rows_per_day"`
	BytesPerDay   *float64      `json:"bytes_per_day"`
	Projected     []rawForecast `json:"projected"`
}

type rawForecast struct {
	Days  int    `json:"days"`
	Rows  int64  `json:"rows"`
	Bytes *int64 `json:"bytes"`
}

type rawReport struct {
	SchemaVersion int        `json:"schema_version"`
	GeneratedAt   time.Time  `json:"generated_at"`
	Target        string     `json:"target"`
	Warehouse     string     `json:"warehouse"`
	Window        int        `json:"window"`
	Tables        []rawTable `json:"tables"`
}

func (a *app) raw(ctx context.Context, output string, window int, retention bool) error {
	p, err := a.load()
	if err != nil {
		return err
	}
	report := rawReport{SchemaVersion: rawSchemaVersion, GeneratedAt: time.Now().UTC(), Target: p.Target.Name,
		Warehouse: p.Target.Type, Window: window, Tables: declaredLandings(p)}
	if len(report.Tables) == 0 {
		msg := "No extractors in project.yaml, so no landing tables: declare one under extractors: (see README.md, Extractors)."
		if output == "json" {
			fmt.Fprintln(a.stderr, msg)
			return a.printRawJSON(report)
		}
		fmt.Fprintln(a.stdout, msg)
		return nil
	}

	if a.neverBuilt(p) {
		for i := range report.Tables {
			report.Tables[i].Note = "not extracted yet"
		}
		if output == "json" {
			return a.printRawJSON(report)
		}
		return a.printRawText(report)
	}
	wh, err := a.open(ctx, p)
	if err != nil {
		return err
	}
	defer wh.Close()
	if report.Tables, err = measureLandings(ctx, wh, report.Tables, window); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if retention {
		if err := planRetention(ctx, wh, report.Tables, report.GeneratedAt); err != nil {
			return &exitError{code: exitFailed, err: err}
		}
	}
	if output == "json" {
		return a.printRawJSON(report)
	}
	return a.printRawText(report)
}

// retentionDryRun is extract's and build's --dry-run: what the retention
// policies of the selected extractors' landing tables would delete if
// applied at now, to the loads there are now. Nothing is extracted, built,
// deleted or written.
func (a *app) retentionDryRun(ctx context.Context, p *project.Project, ids []string, now time.Time) error {
	selected := map[string]bool{}
	for _, id := range ids {
		if n := p.Nodes[id]; n.Type == project.Extract && n.Extraction != nil {
			selected[n.Extraction.Name()] = true
		}
	}
	var tables []rawTable
	policies := 0
	for _, t := range declaredLandings(p) {
		if t.spec != nil && selected[t.Extractor] {
			tables = append(tables, t)
			if _, ok := t.spec.Retention(t.landing); ok {
				policies++
			}
		}
	}
	const header = "Dry run: nothing was extracted, built or deleted."
	switch {
	case len(selected) == 0:
		fmt.Fprintln(a.stdout, header+" No extractor is selected, so no load would run and retention would delete nothing.")
		return nil
	case policies == 0:
		fmt.Fprintln(a.stdout, header+" No landing table of the selected extractors has a retention: policy, so every load is kept (README.md, Extractors: retention).")
		return nil
	}
	if a.neverBuilt(p) {
		fmt.Fprintln(a.stdout, header+" Nothing was extracted yet, so retention has nothing to delete.")
		return nil
	}
	wh, err := a.open(ctx, p)
	if err != nil {
		return err
	}
	defer wh.Close()
	report := rawReport{GeneratedAt: now.UTC(), Tables: tables}
	if err := planRetention(ctx, wh, report.Tables, report.GeneratedAt); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	fmt.Fprint(a.stdout, header)
	if !slices.ContainsFunc(report.Tables, func(t rawTable) bool { return t.Retention != nil }) {
		fmt.Fprintln(a.stdout, " The landing tables with a retention: policy hold no load yet, so retention has nothing to delete.")
		return nil
	}
	fmt.Fprintln(a.stdout)
	writeRetentionText(a.stdout, report)
	return nil
}

// neverBuilt reports whether the target's warehouse is a file that does not
// exist yet: a command that changes nothing says so rather than open (and
// so create) it.
func (a *app) neverBuilt(p *project.Project) bool {
	f := targets.WarehouseFile(p.Dir, p.Target, a.env)
	if f == "" {
		return false
	}
	_, err := os.Stat(f)
	return errors.Is(err, fs.ErrNotExist)
}

// planRetention fills in what each table's retention policy would delete
// at now, deleting nothing.
func planRetention(ctx context.Context, wh warehouse.Warehouse, tables []rawTable, now time.Time) error {
	for i := range tables {
		t := &tables[i]
		if t.spec == nil {
			continue
		}
		// nil for a table without a policy, or not created yet
		plan, err := run.PlanRetention(ctx, wh, t.spec, t.landing, now)
		if err != nil {
			return err
		}
		if plan == nil {
			continue
		}
		r := &rawRetention{Policy: plan.Policy.String(), Loads: plan.Loads, DeleteLoads: []rawLoadRef{}, DeleteRows: plan.Rows, DeleteSeen: plan.Seen}
		for _, l := range plan.Delete {
			r.DeleteLoads = append(r.DeleteLoads, rawLoadRef{ID: l.ID, At: l.At.UTC()})
		}
		t.Retention = r
	}
	return nil
}

// declaredLandings lists the landing tables the project's extractors
// declare, and _extract_errors in each of their schemas, sorted by schema
// and name.
func declaredLandings(p *project.Project) []rawTable {
	var out []rawTable
	seen := map[warehouse.Relation]bool{}
	add := func(rel warehouse.Relation, extractor string) *rawTable {
		if !seen[rel] {
			seen[rel] = true
			out = append(out, rawTable{Schema: rel.Schema, Name: rel.Name, Declared: true, Extractor: extractor, rel: rel})
			return &out[len(out)-1]
		}
		return nil
	}
	for _, n := range p.Nodes {
		if n.Type != project.Extract || n.Extraction == nil {
			continue
		}
		name := n.Extraction.Name()
		for _, t := range n.Extraction.Extractor.Tables() {
			if src, ok := n.Extraction.Tables[t.Name]; ok {
				if rt := add(src.Relation, name); rt != nil {
					rt.landing, rt.spec = t.Name, n.Extraction
					if t.Key != "" {
						rt.seen = &warehouse.Relation{Schema: src.Relation.Schema, Name: extractors.SeenTable}
					}
				}
				add(warehouse.Relation{Schema: src.Relation.Schema, Name: extractors.ErrorsTable}, "")
			}
		}
	}
	slices.SortFunc(out, func(a, b rawTable) int { return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Name, b.Name)) })
	return out
}

// sameRelation compares a name as the project writes it with one as the
// warehouse stores it (Snowflake folds unquoted names to upper case).
func sameRelation(a, b warehouse.Relation) bool {
	return strings.EqualFold(a.Schema, b.Schema) && strings.EqualFold(a.Name, b.Name)
}

// measureLandings fills in what the warehouse holds for each declared
// table, and adds the other tables of the landing schemas: one catalog
// query, one query per existing table, one for the sizes.
func measureLandings(ctx context.Context, wh warehouse.Warehouse, tables []rawTable, window int) ([]rawTable, error) {
	var schemas []string
	for _, t := range tables {
		schemas = append(schemas, t.Schema)
	}
	infos, err := wh.Catalog(ctx, slices.Compact(schemas))
	if err != nil {
		return nil, fmt.Errorf("list the landing tables: %w", err)
	}
	for _, info := range infos {
		if info.Kind != warehouse.KindTable {
			continue
		}
		i := slices.IndexFunc(tables, func(t rawTable) bool { return sameRelation(t.rel, info.Relation) })
		if i < 0 {
			tables = append(tables, rawTable{Schema: info.Relation.Schema, Name: info.Relation.Name})
			i = len(tables) - 1
		}
		tables[i].Exists, tables[i].rel, tables[i].columns = true, info.Relation, info.Columns
	}
	slices.SortStableFunc(tables, func(a, b rawTable) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Schema), strings.ToLower(b.Schema)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})

	var existing []warehouse.Relation
	for i := range tables {
		t := &tables[i]
		if !t.Exists {
			t.Note = "not extracted yet"
			continue
		}
		if t.seen != nil {
			// The seen table as the warehouse stores it, if it exists.
			j := slices.IndexFunc(tables, func(o rawTable) bool { return o.Exists && sameRelation(o.rel, *t.seen) })
			if j < 0 {
				t.seen = nil
			} else {
				t.seen = &tables[j].rel
			}
		}
		if err := countLoads(ctx, wh, t); err != nil {
			return nil, err
		}
		existing = append(existing, t.rel)
	}
	sizes, err := wh.TableBytes(ctx, existing)
	if err != nil {
		return nil, fmt.Errorf("read the landing tables' sizes: %w", err)
	}
	for i := range tables {
		t := &tables[i]
		if n, ok := sizes[t.rel]; ok && t.Exists {
			t.Bytes = &n
		}
		if t.Exists {
			t.Growth, t.Note = measureGrowth(t, window)
		}
	}
	return tables, nil
}

// countLoads reads a table's rows and, when it has a _load_id column, its
// loads: their number, times and rows. A load's time is its _loaded_at
// (failed_at in _extract_errors, which has no _loaded_at). The loads of a
// landing table with change-only bookkeeping are also those that only
// recorded seen entries for it (they stored no row: nothing changed).
func countLoads(ctx context.Context, wh warehouse.Warehouse, t *rawTable) error {
	column := func(names ...string) string {
		for _, name := range names {
			if i := slices.IndexFunc(t.columns, func(c warehouse.ColumnInfo) bool { return strings.EqualFold(c.Name, name) }); i >= 0 {
				return wh.QuoteIdent(t.columns[i].Name)
			}
		}
		return ""
	}
	rel := wh.RelationSQL(t.rel)
	loadID, at := column("_load_id"), column("_loaded_at", "failed_at")
	if loadID == "" || at == "" {
		res, err := wh.Query(ctx, "SELECT count(*) FROM "+rel, 0)
		if err != nil {
			return fmt.Errorf("count the rows of %s: %w", rel, err)
		}
		n, err := asInt(res.Rows[0][0])
		if err != nil {
			return fmt.Errorf("count the rows of %s: %w", rel, err)
		}
		t.Rows = &n
		return nil
	}
	res, err := wh.Query(ctx, fmt.Sprintf("SELECT min(%s), count(*) FROM %s GROUP BY %s", at, rel, loadID), 0)
	if err != nil {
		return fmt.Errorf("count the loads of %s: %w", rel, err)
	}
	var rows int64
	for _, r := range res.Rows {
		n, err := asInt(r[1])
		if err != nil {
			return fmt.Errorf("count the loads of %s: %w", rel, err)
		}
		rows += n
		when, ok := r[0].(time.Time)
		if !ok {
			continue // a load with no time (NULL) counts, but cannot be placed
		}
		when = when.UTC()
		t.loadList = append(t.loadList, growth.Load{At: when, Rows: n})
		if t.FirstLoadAt == nil || when.Before(*t.FirstLoadAt) {
			t.FirstLoadAt = &when
		}
		if t.LastLoadAt == nil || when.After(*t.LastLoadAt) {
			t.LastLoadAt = &when
		}
	}
	loads := int64(len(res.Rows))
	if t.seen != nil {
		n, err := seeingLoads(ctx, wh, t, rel, loadID)
		if err != nil {
			return err
		}
		loads += n
	}
	t.Rows, t.Loads = &rows, &loads
	return nil
}

// seeingLoads adds to t's loads those that recorded seen entries for it
// and stored no row in it, and returns how many there are.
func seeingLoads(ctx context.Context, wh warehouse.Warehouse, t *rawTable, rel, loadID string) (int64, error) {
	sql := fmt.Sprintf("SELECT min(s._loaded_at) FROM %s s WHERE s.landing_table = '%s' AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%s = s._load_id) GROUP BY s._load_id",
		wh.RelationSQL(*t.seen), strings.ReplaceAll(t.landing, "'", "''"), rel, loadID)
	res, err := wh.Query(ctx, sql, 0)
	if err != nil {
		return 0, fmt.Errorf("count the loads of %s from %s: %w", rel, wh.RelationSQL(*t.seen), err)
	}
	for _, r := range res.Rows {
		when, ok := r[0].(time.Time)
		if !ok {
			continue
		}
		when = when.UTC()
		t.loadList = append(t.loadList, growth.Load{At: when})
		if t.FirstLoadAt == nil || when.Before(*t.FirstLoadAt) {
			t.FirstLoadAt = &when
		}
		if t.LastLoadAt == nil || when.After(*t.LastLoadAt) {
			t.LastLoadAt = &when
		}
	}
	return int64(len(res.Rows)), nil
}

// measureGrowth is a table's pace over its last window loads, and its
// projected sizes; nil and why when there is none.
func measureGrowth(t *rawTable, window int) (*rawGrowth, string) {
	switch {
	case t.Loads == nil:
		return nil, "no _load_id column: loads and growth unknown"
	case *t.Loads == 0:
		return nil, "empty"
	}
	rate, ok := growth.Measure(t.loadList, window)
	if !ok {
		if len(t.loadList) < 2 {
			return nil, "one load: growth needs two"
		}
		return nil, "all loads at one time: growth needs loads at different times"
	}
	g := &rawGrowth{LoadsMeasured: rate.Loads, SpanHours: rate.Span.Hours(), LoadsPerDay: rate.LoadsPerDay, RowsPerDay: rate.RowsPerDay}
	if t.Bytes != nil {
		if perDay, ok := rate.BytesPerDay(*t.Bytes, *t.Rows); ok {
			g.BytesPerDay = &perDay
		}
	}
	for _, days := range rawHorizons {
		f := rawForecast{Days: days, Rows: growth.Project(*t.Rows, rate.RowsPerDay, days)}
		if g.BytesPerDay != nil {
			b := growth.Project(*t.Bytes, *g.BytesPerDay, days)
			f.Bytes = &b
		}
		g.Projected = append(g.Projected, f)
	}
	note := ""
	if t.Bytes == nil {
		note = "bytes unknown to the warehouse"
	}
	return g, note
}

// asInt reads a count as the warehouses return it.
func asInt(v any) (int64, error) {
	switch n := v.(type) {
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case int:
		return int64(n), nil
	}
	return 0, fmt.Errorf("a count of %v (%T), not a whole number", v, v)
}

func (a *app) printRawJSON(r rawReport) error {
	if r.Tables == nil {
		r.Tables = []rawTable{}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("print the report: %w", err)}
	}
	if _, err := fmt.Fprintln(a.stdout, string(b)); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("print the report: %w", err)}
	}
	return nil
}

func (a *app) printRawText(r rawReport) error {
	out := bufio.NewWriter(a.stdout)
	writeRawText(out, r)
	if err := out.Flush(); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("print the report: %w", err)}
	}
	return nil
}

func writeRawText(w io.Writer, r rawReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tLOADS\tFIRST LOAD\tLAST LOAD\tBYTES\tLOADS/DAY\tROWS/DAY\tBYTES/DAY\tIN 30 DAYS\tIN 365 DAYS\tNOTE")
	for _, t := range r.Tables {
		cells := []string{t.Schema + "." + t.Name, intCell(t.Rows), intCell(t.Loads), timeCell(t.FirstLoadAt), timeCell(t.LastLoadAt), bytesCell(t.Bytes)}
		if g := t.Growth; g != nil {
			cells = append(cells, fmt.Sprintf("%.1f", g.LoadsPerDay), fmt.Sprintf("%.0f", g.RowsPerDay), bytesPerDayCell(g.BytesPerDay))
			for _, f := range g.Projected {
				cells = append(cells, forecastCell(f))
			}
		} else {
			cells = append(cells, "-", "-", "-", "-", "-")
		}
		fmt.Fprintln(tw, strings.Join(append(cells, t.Note), "\t"))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nGrowth over each table's last %d loads at most; bytes are the warehouse's estimate (quarry raw --help says how both are measured).\n", r.Window)
	writeRetentionText(w, r)
}

// writeRetentionText lists, per table with a retention policy, the loads
// it would delete now: quarry raw --retention.
func writeRetentionText(w io.Writer, r rawReport) {
	first := true
	for _, t := range r.Tables {
		rt := t.Retention
		if rt == nil {
			continue
		}
		if first {
			fmt.Fprintf(w, "\nRetention at %s (a dry run: nothing was deleted; quarry extract and build apply it after a successful load):\n", r.GeneratedAt.Format("2006-01-02 15:04Z"))
			first = false
		}
		fmt.Fprintf(w, "%s.%s %s: %d %s, would delete %d (%d %s, %d seen %s)\n", t.Schema, t.Name, rt.Policy, rt.Loads, english.Plural(rt.Loads, "load", "loads"),
			len(rt.DeleteLoads), rt.DeleteRows, english.Plural(int(rt.DeleteRows), "row", "rows"), rt.DeleteSeen, english.Plural(int(rt.DeleteSeen), "entry", "entries"))
		for _, l := range rt.DeleteLoads {
			fmt.Fprintf(w, "  %s  %s\n", l.ID, l.At.Format("2006-01-02 15:04Z"))
		}
	}
}

func intCell(n *int64) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}

func timeCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04Z")
}

func bytesCell(n *int64) string {
	if n == nil {
		return "-"
	}
	return humanBytes(float64(*n))
}

func bytesPerDayCell(n *float64) string {
	if n == nil {
		return "-"
	}
	return humanBytes(*n)
}

func forecastCell(f rawForecast) string {
	s := fmt.Sprintf("%d rows", f.Rows)
	if f.Bytes != nil {
		s += ", " + humanBytes(float64(*f.Bytes))
	}
	return s
}

// humanBytes renders a size in binary units, e.g. 1.5 MiB.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
