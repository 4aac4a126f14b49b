package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/english"
)

// runNode runs one node (and, for an audited table, its tests) and reports
// how it went.
func (p *Project) runNode(ctx context.Context, wh warehouse.Warehouse, n *Node, inline []*Node, opts RunOptions) *Result {
	now := time.Now // timings are real even when the data clock is replayed
	res := &Result{UniqueID: n.UniqueID, node: n, StartedAt: now()}
	defer func() {
		res.CompletedAt = now()
		res.Duration = res.CompletedAt.Sub(res.StartedAt)
	}()
	if !executable(n) {
		res.Status = StatusSuccess
		return res
	}
	ctx = warehouse.WithNode(ctx, n.UniqueID)
	if n.Type == Test {
		p.runTest(ctx, wh, n, nil, opts, res)
		return res
	}
	if n.Type == Extract {
		res.Status = StatusSuccess
		if err := p.runExtract(ctx, wh, n, opts, res); err != nil {
			res.Status = StatusError
			res.Message = fmt.Sprintf("extract %s: %v", n.Name, err)
			if ctx.Err() != nil {
				res.Message = fmt.Sprintf("extract %s: cancelled", n.Name)
			}
		}
		return res
	}
	if n.Type == Model {
		res.CompiledPath = CompiledPath(n)
	}
	var rows *int64
	var err error
	if audited(n) {
		rows, err = p.writeAuditPublish(ctx, wh, n, inline, opts, res)
	} else {
		rows, err = p.materialize(ctx, wh, n, opts)
	}
	if err != nil {
		res.Status = StatusError
		switch {
		case errors.Is(err, context.Canceled) || ctx.Err() != nil:
			res.Message = fmt.Sprintf("%s %s: cancelled", n.Type, n.Name)
		case errors.Is(err, errNotPublished):
			// Its tests failed and are reported as such; publishing was
			// skipped because of them, which is not a second error.
			res.Status = StatusSkipped
			res.Message = fmt.Sprintf("skipped: %v", err)
		case n.Type == Model:
			res.Message = fmt.Sprintf("model %s (%s): %v", n.Name, res.CompiledPath, err)
		default:
			res.Message = fmt.Sprintf("%s %s (%s): %v", n.Type, n.Name, n.Path, err)
		}
		return res
	}
	res.Status = StatusSuccess
	res.RowsAffected = rows
	return res
}

var errNotPublished = errors.New("not published")

// writeAuditPublish builds an audited table beside the live one, runs its
// tests against that copy, and swaps it in only when none failed. A failure
// leaves the live table exactly as it was.
func (p *Project) writeAuditPublish(ctx context.Context, wh warehouse.Warehouse, n *Node, tests []*Node, opts RunOptions, res *Result) (*int64, error) {
	if err := p.writeCompiled(n, opts); err != nil {
		return nil, err
	}
	audit := auditRelation(n.Relation)
	count, err := wh.CreateTable(ctx, audit, n.Compiled)
	if err != nil {
		_ = wh.Drop(context.WithoutCancel(ctx), audit)
		return nil, fmt.Errorf("building the new version beside the live table (which keeps its previous version): %w", err)
	}
	var failed []string
	for _, t := range tests {
		tr := &Result{UniqueID: t.UniqueID, node: t, StartedAt: time.Now()}
		p.runTest(warehouse.WithNode(ctx, t.UniqueID), wh, t, map[string]warehouse.Relation{n.UniqueID: audit}, opts, tr)
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

func (p *Project) materialize(ctx context.Context, wh warehouse.Warehouse, n *Node, opts RunOptions) (*int64, error) {
	if n.Type == Seed {
		cols, rows, err := seedTable(n)
		if err != nil {
			return nil, err
		}
		count, err := wh.LoadRows(ctx, n.Relation, cols, rows, true)
		if ve := (*warehouse.ValueError)(nil); errors.As(err, &ve) {
			return nil, seedValueError(n, ve)
		}
		return &count, err
	}
	mat := n.Config.Materialized
	if mat == "incremental" {
		kind, err := wh.Lookup(ctx, n.Relation)
		if err != nil {
			return nil, err
		}
		if kind == warehouse.KindTable && !opts.FullRefresh {
			if err := p.Recompile(n, true); err != nil {
				return nil, err
			}
			if err := p.writeCompiled(n, opts); err != nil {
				return nil, err
			}
			count, err := wh.Incremental(ctx, n.Relation, n.Compiled, n.Config.UniqueKey)
			return &count, err
		}
		mat = "table"
	}
	if err := p.writeCompiled(n, opts); err != nil {
		return nil, err
	}
	switch mat {
	case "view":
		return nil, wh.CreateView(ctx, n.Relation, n.Compiled)
	case "table":
		count, err := wh.CreateTable(ctx, n.Relation, n.Compiled)
		return &count, err
	}
	return nil, fmt.Errorf("cannot materialize %q", mat)
}

// CompiledPath is where a node's compiled SQL is written, relative to the
// project: target/compiled/ mirrors models/, and tests go under
// target/compiled/tests/ by name.
func CompiledPath(n *Node) string {
	if n.Type == Test {
		return "target/compiled/tests/" + n.Name + ".sql"
	}
	return "target/compiled/" + n.Path
}

func (p *Project) writeCompiled(n *Node, opts RunOptions) error {
	if !opts.WriteCompiled {
		return nil
	}
	return p.WriteCompiled(n)
}

// WriteCompiled writes one node's compiled SQL under target/compiled.
func (p *Project) WriteCompiled(n *Node) error {
	return p.writeSQL(CompiledPath(n), n.Compiled)
}

func (p *Project) writeSQL(rel, sql string) error {
	// The compile refuses such SQL already; this is the last line of
	// defence for everything written under target/compiled.
	if err := p.refuseSecretValue(sql, "the compiled SQL"); err != nil {
		return fmt.Errorf("not writing %s: %w", rel, err)
	}
	dst := filepath.Join(p.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write compiled SQL: %w", err)
	}
	if err := os.WriteFile(dst, []byte(sql+"\n"), 0o644); err != nil {
		return fmt.Errorf("write compiled SQL: %w", err)
	}
	return nil
}
