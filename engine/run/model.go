package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/panics"
)

// modelKind builds a model as a view, a table or an incremental table; an
// audited table is built beside the live one, tested there, and published
// only when its tests pass (write-audit-publish).
type modelKind struct{}

func (modelKind) schemas(n *project.Node, _ *Options) []string { return []string{n.Relation.Schema} }

func (modelKind) run(ctx context.Context, x *execution, n *project.Node, res *Result) {
	res.CompiledPath = project.CompiledPath(n)
	var rows *int64
	var err error
	if audited(n) {
		rows, err = x.writeAuditPublish(ctx, n, x.sched.inline[n.UniqueID], res)
	} else {
		rows, err = x.materialize(ctx, n)
	}
	if err != nil {
		res.Status = StatusError
		switch {
		case errors.Is(err, context.Canceled) || ctx.Err() != nil:
			res.Message = fmt.Sprintf("model %s: cancelled", n.Name)
		case errors.Is(err, errNotPublished):
			// Its tests failed and are reported as such; publishing was
			// skipped because of them, which is not a second error.
			res.Status = StatusSkipped
			res.Message = fmt.Sprintf("skipped: %v", err)
		default:
			res.Message = fmt.Sprintf("model %s (%s): %v", n.Name, res.CompiledPath, err)
		}
		return
	}
	res.Status = StatusSuccess
	res.RowsAffected = rows
}

var errNotPublished = errors.New("not published")

// writeAuditPublish builds an audited table beside the live one, runs its
// tests against that copy, and swaps it in only when none failed. A failure
// leaves the live table exactly as it was.
func (x *execution) writeAuditPublish(ctx context.Context, n *project.Node, tests []*project.Node, res *Result) (*int64, error) {
	written := x.writeCompiled(n)
	wh := x.wh
	audit := auditRelation(n.Relation)
	count, err := wh.CreateTable(ctx, audit, n.Compiled)
	if werr := written(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		_ = wh.Drop(context.WithoutCancel(ctx), audit)
		return nil, fmt.Errorf("building the new version beside the live table (which keeps its previous version): %w", err)
	}
	if err := x.checkContract(ctx, n, audit); err != nil {
		_ = wh.Drop(context.WithoutCancel(ctx), audit)
		return nil, err
	}
	var failed []string
	for _, t := range tests {
		tr := &Result{UniqueID: t.UniqueID, node: t, StartedAt: time.Now()}
		x.runTest(warehouse.WithNode(ctx, t.UniqueID), t, map[string]warehouse.Relation{n.UniqueID: audit}, tr)
		tr.CompletedAt = time.Now()
		tr.Duration = tr.CompletedAt.Sub(tr.StartedAt)
		res.extra = append(res.extra, tr)
		if tr.Status == StatusFail || tr.Status == StatusError {
			failed = append(failed, t.Name)
		}
	}
	if len(failed) > 0 || ctx.Err() != nil {
		// The live table was never touched; drop the rejected copy even if
		// the run is being cancelled.
		_ = wh.Drop(context.WithoutCancel(ctx), audit)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		live := n.Relation.Schema + "." + n.Relation.Name
		res.Kept = live
		return nil, fmt.Errorf("%w: %s %s failed, so %s keeps its previous version",
			errNotPublished, english.Plural(len(failed), "test", "tests"), strings.Join(failed, ", "), live)
	}
	if err := wh.Publish(ctx, audit, n.Relation); err != nil {
		_ = wh.Drop(context.WithoutCancel(ctx), audit)
		return nil, fmt.Errorf("publish %s: %w", n.Relation.Name, err)
	}
	return &count, nil
}

// materialize builds a model that is not audited, in place.
func (x *execution) materialize(ctx context.Context, n *project.Node) (*int64, error) {
	wh := x.wh
	mat := n.Config.Materialized
	if mat == "incremental" {
		kind, err := wh.Lookup(ctx, n.Relation)
		if err != nil {
			return nil, err
		}
		if kind == warehouse.KindTable && !x.opts.FullRefresh {
			if err := x.p.Recompile(n, true); err != nil {
				return nil, err
			}
			if err := x.checkSelect(ctx, n); err != nil {
				return nil, err
			}
			written := x.writeCompiled(n)
			count, err := wh.Incremental(ctx, n.Relation, n.Compiled, n.Config.UniqueKey)
			if werr := written(); err == nil && werr != nil {
				return nil, werr
			}
			return &count, err
		}
		mat = "table"
	}
	written := x.writeCompiled(n)
	var count *int64
	var err error
	switch mat {
	case "view":
		if err = x.checkSelect(ctx, n); err == nil {
			err = wh.CreateView(ctx, n.Relation, n.Compiled)
		}
	case "table":
		var c int64
		if n.Config.Contract.Enforced {
			c, err = x.buildChecked(ctx, n)
		} else {
			c, err = wh.CreateTable(ctx, n.Relation, n.Compiled)
		}
		count = &c
	default:
		err = fmt.Errorf("cannot materialize %q", mat)
	}
	if werr := written(); err == nil && werr != nil {
		return nil, werr
	}
	return count, err
}

// buildChecked builds a table under contract beside the live one, as
// write-audit-publish does, and publishes it only when its columns keep
// the contract, so a broken build leaves the previous table in place.
func (x *execution) buildChecked(ctx context.Context, n *project.Node) (int64, error) {
	staged := auditRelation(n.Relation)
	count, err := x.wh.CreateTable(ctx, staged, n.Compiled)
	if err == nil {
		err = x.checkContract(ctx, n, staged)
	}
	if err == nil {
		err = x.wh.Publish(ctx, staged, n.Relation)
	}
	if err != nil {
		_ = x.wh.Drop(context.WithoutCancel(ctx), staged)
		return 0, err
	}
	return count, nil
}

// checkSelect checks, for a model under contract that is not built as a
// new table (a view; rows added to an incremental table), the columns of
// its select before anything live changes: it is created as a view beside
// the live relation, described, and dropped.
func (x *execution) checkSelect(ctx context.Context, n *project.Node) error {
	if !n.Config.Contract.Enforced {
		return nil
	}
	staged := auditRelation(n.Relation)
	if err := x.wh.CreateView(ctx, staged, n.Compiled); err != nil {
		return err
	}
	err := x.checkContract(ctx, n, staged)
	if derr := x.wh.Drop(context.WithoutCancel(ctx), staged); err == nil && derr != nil {
		err = derr
	}
	return err
}

// checkContract compares the columns of rel, as the warehouse built it,
// with n's enforced contract; nil when n has none.
func (x *execution) checkContract(ctx context.Context, n *project.Node, rel warehouse.Relation) error {
	if !n.Config.Contract.Enforced {
		return nil
	}
	infos, err := x.wh.Columns(ctx, rel)
	if err != nil {
		return fmt.Errorf("checking its contract: %w", err)
	}
	cols := make([]warehouse.Column, len(infos))
	for i, c := range infos {
		cols[i] = warehouse.Column{Name: c.Name, Type: c.Type}
	}
	mismatches := n.ContractMismatches(cols)
	if len(mismatches) == 0 {
		return nil
	}
	msgs := make([]string, len(mismatches))
	for i, m := range mismatches {
		msgs[i] = m.Message("the built relation")
	}
	return fmt.Errorf("breaks its contract, so %s.%s keeps its previous version: %s",
		n.Relation.Schema, n.Relation.Name, strings.Join(msgs, "; "))
}

// auditRelation is where an audited table is built before it is published.
func auditRelation(rel warehouse.Relation) warehouse.Relation {
	return warehouse.Relation{Schema: rel.Schema, Name: rel.Name + "__quarry_audit"}
}

// writeCompiled starts writing n's compiled SQL under target/compiled
// while the warehouse builds it, and returns a wait for the write's error.
func (x *execution) writeCompiled(n *project.Node) (wait func() error) {
	if !x.opts.WriteCompiled {
		return func() error { return nil }
	}
	return x.writeSQL(project.CompiledPath(n), n.Compiled)
}

// writeSQL writes sql to rel (under the project) on its own goroutine and
// returns a wait for its error. On a slow disk creating a file costs as much
// as a small CREATE: overlapped with the warehouse's work, it stays off the
// node's critical path instead of adding to it.
func (x *execution) writeSQL(rel, sql string) (wait func() error) {
	done := make(chan error, 1)
	var panicked *panics.Error
	go func() {
		defer panics.Capture(func(e *panics.Error) { panicked = e; done <- nil })
		done <- x.p.WriteSQL(rel, sql)
	}()
	return func() error {
		err := <-done
		if panicked != nil {
			panic(panicked) // raised on the node's goroutine, which hands it on
		}
		return err
	}
}
