package run

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// sampleRows is how many failing rows a failed test shows.
const sampleRows = 5

// testKind runs a data test: a query whose rows are failures, judged
// against its thresholds, or a source freshness check.
type testKind struct{}

// schemas is the tests schema when the failing rows are to be stored.
func (testKind) schemas(n *project.Node, opts *Options) []string {
	if opts.StoreFailures || n.Config.StoreFailures {
		return []string{n.Relation.Schema}
	}
	return nil
}

func (testKind) run(ctx context.Context, x *execution, n *project.Node, res *Result) {
	x.runTest(ctx, n, nil, res)
}

// runTest runs one test node into res. overrides points refs at other
// relations (an audited table's unpublished copy).
func (x *execution) runTest(ctx context.Context, n *project.Node, overrides map[string]warehouse.Relation, res *Result) {
	p, wh, opts := x.p, x.wh, x.opts
	res.CompiledPath = project.CompiledPath(n)
	sql := n.Compiled
	if overrides != nil {
		sql = p.CompileWith(n, n.Rendered, overrides)
	}
	if opts.WriteCompiled {
		written := x.writeSQL(res.CompiledPath, sql)
		defer func() {
			if err := written(); err != nil && res.Status != StatusError {
				res.Status, res.Message = StatusError, fmt.Sprintf("test %s: %v", n.Name, err)
			}
		}()
	}
	if n.Test.Kind == datatest.Freshness {
		runFreshness(ctx, wh, n, sql, opts.Now(), res)
		return
	}
	failures, err := countRows(ctx, wh, sql)
	if err != nil {
		res.Status = StatusError
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			res.Message = fmt.Sprintf("test %s: cancelled", n.Name)
		} else {
			res.Message = fmt.Sprintf("test %s (%s): %v", n.Name, res.CompiledPath, err)
		}
		return
	}
	res.Failures = &failures
	res.Status, res.Threshold = judge(n.Config, failures)
	if failures == 0 {
		return
	}
	if sample, err := wh.Query(ctx, "select * from (\n"+sql+"\n) as quarry_test", sampleRows); err == nil {
		res.Sample = sample
	}
	if opts.StoreFailures || n.Config.StoreFailures {
		if _, err := wh.CreateTable(ctx, n.Relation, sql); err != nil {
			res.Message = fmt.Sprintf("could not store the failing rows in %s.%s: %v", n.Relation.Schema, n.Relation.Name, err)
		} else {
			res.StoredIn = n.Relation.Schema + "." + n.Relation.Name
		}
	}
}

// judge turns a failure count into a status by the test's thresholds.
func judge(c config.Node, failures int64) (Status, datatest.Threshold) {
	v, th := datatest.Judge(c.Severity, c.WarnIf, c.ErrorIf, failures)
	return verdictStatus(v), th
}

// verdictStatus is the status a test's verdict gives its node.
func verdictStatus(v datatest.Verdict) Status {
	switch v {
	case datatest.Fail:
		return StatusFail
	case datatest.Warn:
		return StatusWarn
	}
	return StatusPass
}

func countRows(ctx context.Context, wh warehouse.Warehouse, sql string) (int64, error) {
	r, err := wh.Query(ctx, "select count(*) from (\n"+sql+"\n) as quarry_test", 1)
	if err != nil {
		return 0, err
	}
	if len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
		return 0, fmt.Errorf("count query returned %d rows", len(r.Rows))
	}
	return toInt64(r.Rows[0][0])
}

func toInt64(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case int32:
		return int64(v), nil
	case int:
		return int64(v), nil
	case uint64:
		return int64(v), nil
	case float64:
		return int64(v), nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	case fmt.Stringer: // big numbers and decimals
		return strconv.ParseInt(v.String(), 10, 64)
	}
	return 0, fmt.Errorf("unexpected count value %v (%T)", v, v)
}

// runFreshness checks how old a source's newest row is.
func runFreshness(ctx context.Context, wh warehouse.Warehouse, n *project.Node, sql string, now time.Time, res *Result) {
	t := n.Test
	r, err := wh.Query(ctx, sql, 1)
	if err != nil {
		res.Status, res.Message = StatusError, fmt.Sprintf("test %s (%s): %v", n.Name, res.CompiledPath, err)
		return
	}
	var latest time.Time
	if len(r.Rows) == 1 && len(r.Rows[0]) == 1 {
		latest, _ = r.Rows[0][0].(time.Time)
	}
	src := t.Attached.SourceName + "." + t.Attached.Name
	one, zero := int64(1), int64(0)
	if latest.IsZero() {
		res.Failures = &one
		res.Status = verdictStatus(datatest.JudgeNeverLoaded(n.Config.Severity, t.ErrorAfter))
		res.Message = fmt.Sprintf("source %s has no rows with %s set: nothing was ever loaded", src, t.Attached.LoadedAtField)
		return
	}
	age := now.Sub(latest.UTC()).Round(time.Second)
	res.Failures = &zero
	res.Status = verdictStatus(datatest.JudgeAge(n.Config.Severity, age, t.WarnAfter, t.ErrorAfter))
	if res.Status != StatusPass {
		res.Failures = &one
	}
	limits := fmt.Sprintf("warn after %s, error after %s", datatest.FormatAge(t.WarnAfter), datatest.FormatAge(t.ErrorAfter))
	res.Message = fmt.Sprintf("source %s: newest %s is %s, %s old (%s)", src, t.Attached.LoadedAtField,
		latest.UTC().Format(time.RFC3339), datatest.FormatAge(age), limits)
}
