package run

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/retention"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// RetentionPlan is what retention deletes, or would delete, from one
// landing table (retention: in project.yaml, engine/retention).
type RetentionPlan struct {
	Extractor string
	Table     string // as the extractor names it
	Relation  warehouse.Relation
	Policy    retention.Policy
	// Loads counts the table's loads: for a table with change-only
	// bookkeeping, the loads that recorded seen entries for it and those
	// of its rows that recorded none (older history, change-only off).
	Loads int
	// Delete lists the loads the policy deletes, oldest first.
	Delete []retention.Load
	// Rows counts the stored rows deleted: those of the deleted loads,
	// less those a kept seen entry still points at (they stay, under the
	// earliest kept load pointing at them). Seen counts the seen entries
	// of the deleted loads.
	Rows, Seen int64

	stmts []string
	// rowStmts are the indexes of the statements deleting stored rows.
	rowStmts []int
}

// retentionChunk bounds the load ids one statement lists: a year of
// hourly loads is thousands, more than a warehouse's IN list may hold.
const retentionChunk = 500

// PlanRetention reads a landing table's loads and decides, by its policy
// and the clock now, which go. It returns nil when the table has no
// policy, or no table yet (nothing was extracted). Nothing is changed.
func PlanRetention(ctx context.Context, wh warehouse.Warehouse, spec *project.ExtractSpec, table string, now time.Time) (*RetentionPlan, error) {
	policy, ok := spec.Retention(table)
	if !ok {
		return nil, nil
	}
	i := slices.IndexFunc(spec.Extractor.Tables(), func(t extractors.Table) bool { return t.Name == table })
	if i < 0 {
		return nil, fmt.Errorf("extractor %s has no landing table %s", spec.Name(), table)
	}
	t := spec.Extractor.Tables()[i]
	rel := landing(spec, table)
	if kind, err := wh.Lookup(ctx, rel); err != nil {
		return nil, fmt.Errorf("retention of %s: %w", table, err)
	} else if kind == warehouse.KindNone {
		return nil, nil
	}
	plan := &RetentionPlan{Extractor: spec.Name(), Table: table, Relation: rel, Policy: policy}
	q := wh.QuoteIdent
	T := wh.RelationSQL(rel)
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	// A table with a key may have seen entries, whether or not it is
	// change-only today: staging reads them, so retention must too.
	seenTable := ""
	if slices.ContainsFunc(spec.Extractor.Tables(), func(t extractors.Table) bool { return t.Key != "" }) {
		seenRel := landing(spec, extractors.SeenTable)
		if kind, err := wh.Lookup(ctx, seenRel); err != nil {
			return nil, fmt.Errorf("retention of %s: %w", table, err)
		} else if kind != warehouse.KindNone {
			seenTable = wh.RelationSQL(seenRel)
		}
	}
	seen := "" // the seen table, when this table may have entries in it
	if t.Key != "" {
		seen = seenTable
	}

	// Each load: its time, its stored rows, its seen entries.
	type loadInfo struct {
		at         time.Time
		rows, seen int64
	}
	loads := map[string]*loadInfo{}
	read := func(sql string, into func(l *loadInfo, n int64)) error {
		res, err := wh.Query(ctx, sql, 0)
		if err != nil {
			return fmt.Errorf("retention of %s: read its loads: %w", table, err)
		}
		for _, r := range res.Rows {
			id, _ := r[0].(string)
			at, ok := r[1].(time.Time)
			if id == "" || !ok {
				continue // no load id or time: not a load retention can judge
			}
			l := loads[id]
			if l == nil {
				l = &loadInfo{at: at}
				loads[id] = l
			}
			if at.After(l.at) {
				l.at = at
			}
			n, err := toInt64(r[2])
			if err != nil {
				return fmt.Errorf("retention of %s: %w", table, err)
			}
			into(l, n)
		}
		return nil
	}
	if err := read(fmt.Sprintf("select _load_id, max(_loaded_at), count(*) from %s group by _load_id", T),
		func(l *loadInfo, n int64) { l.rows = n }); err != nil {
		return nil, err
	}
	if seen != "" {
		if err := read(fmt.Sprintf("select _load_id, max(_loaded_at), count(*) from %s where landing_table = %s group by _load_id", seen, lit(table)),
			func(l *loadInfo, n int64) { l.seen = n }); err != nil {
			return nil, err
		}
	}
	// A load is one that stored rows (a snapshot of its own, when it
	// recorded no seen entries) or recorded seen entries, or both.
	var all []retention.Load
	for id, l := range loads {
		all = append(all, retention.Load{ID: id, At: l.at})
	}
	plan.Loads = len(all)
	_, drop := policy.Decide(all, now)
	slices.SortFunc(drop, func(a, b retention.Load) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	plan.Delete = drop
	if len(drop) == 0 {
		return plan, nil
	}

	// Stored rows of deleted loads that kept seen entries point at stay.
	kept := int64(0)
	if seen != "" {
		deleted := map[string]bool{}
		for _, l := range drop {
			deleted[l.ID] = true
		}
		res, err := wh.Query(ctx, fmt.Sprintf("select distinct row_load_id, %s, _load_id from %s where landing_table = %s and row_load_id <> _load_id",
			q("key"), seen, lit(table)), 0)
		if err != nil {
			return nil, fmt.Errorf("retention of %s: read its seen entries: %w", table, err)
		}
		pointed := map[[2]string]bool{}
		for _, r := range res.Rows {
			rowLoad, _ := r[0].(string)
			key, _ := r[1].(string)
			by, _ := r[2].(string)
			if deleted[rowLoad] && !deleted[by] {
				pointed[[2]string{rowLoad, key}] = true
			}
		}
		kept = int64(len(pointed))
	}
	for _, l := range drop {
		plan.Rows += loads[l.ID].rows
		plan.Seen += loads[l.ID].seen
	}
	plan.Rows -= kept

	// The statements, in the order they must run: the seen entries of the
	// deleted loads go first, so that the entries left are the kept ones;
	// a stored row they still point at moves to the earliest of them (its
	// load id, time and source, as if that load had stored it) and they
	// point at it there; then the rows of the deleted loads left go, and
	// the item errors of loads no landing table of the extractor holds.
	errorsRel := wh.RelationSQL(landing(spec, extractors.ErrorsTable))
	for ids := range slices.Chunk(drop, retentionChunk) {
		var in []string
		for _, l := range ids {
			in = append(in, lit(l.ID))
		}
		list := "(" + strings.Join(in, ", ") + ")"
		if seen != "" {
			plan.stmts = append(plan.stmts, fmt.Sprintf("delete from %s where landing_table = %s and _load_id in %s", seen, lit(table), list))
			pointers := fmt.Sprintf("(select row_load_id, %[1]s, _load_id, _loaded_at, _source from %[2]s where landing_table = %[3]s and row_load_id in %[4]s "+
				"qualify row_number() over (partition by row_load_id, %[1]s order by _loaded_at, _load_id) = 1) as m", q("key"), seen, lit(table), list)
			plan.stmts = append(plan.stmts,
				fmt.Sprintf("update %s as r set _load_id = m._load_id, _loaded_at = m._loaded_at, _source = m._source from %s where r._load_id = m.row_load_id and r.%s = m.%s",
					T, pointers, q(t.Key), q("key")),
				fmt.Sprintf("update %s as s set row_load_id = m._load_id from %s where s.landing_table = %s and s.row_load_id = m.row_load_id and s.%s = m.%s",
					seen, pointers, lit(table), q("key"), q("key")))
		}
		plan.rowStmts = append(plan.rowStmts, len(plan.stmts))
		plan.stmts = append(plan.stmts, fmt.Sprintf("delete from %s where _load_id in %s", T, list))
		var elsewhere []string
		for _, other := range spec.Extractor.Tables() {
			if other.Name != table {
				elsewhere = append(elsewhere, fmt.Sprintf("select _load_id from %s", wh.RelationSQL(landing(spec, other.Name))))
			}
		}
		if seenTable != "" {
			elsewhere = append(elsewhere, fmt.Sprintf("select _load_id from %s", seenTable))
		}
		stmt := fmt.Sprintf("delete from %s where extractor = %s and _load_id in %s", errorsRel, lit(spec.Name()), list)
		if len(elsewhere) > 0 {
			stmt += fmt.Sprintf(" and _load_id not in (select _load_id from (%s) as x where _load_id is not null)", strings.Join(elsewhere, " union all "))
		}
		plan.stmts = append(plan.stmts, stmt)
	}
	return plan, nil
}

// applyRetention runs a plan's statements in one transaction, so a failure
// or a killed process leaves the table as it was and the next run decides
// again. step, when set, is the test hook called after each statement. It
// returns the stored rows deleted.
func applyRetention(ctx context.Context, wh warehouse.Warehouse, plan *RetentionPlan, step func(table string, i int) error) (int64, error) {
	if len(plan.stmts) == 0 {
		return 0, nil
	}
	var hook func(int) error
	if step != nil {
		hook = func(i int) error { return step(plan.Table, i) }
	}
	counts, err := wh.ExecTx(ctx, plan.stmts, hook)
	if err != nil {
		return 0, fmt.Errorf("retention of %s (nothing was deleted): %w", plan.Table, err)
	}
	var rows int64
	for _, i := range plan.rowStmts {
		rows += counts[i]
	}
	return rows, nil
}
