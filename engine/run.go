package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Status is the outcome of one node.
type Status string

const (
	StatusSuccess Status = "success"
	StatusError   Status = "error"
	StatusSkipped Status = "skipped"
)

// Result is what happened to one node in a run.
type Result struct {
	UniqueID     string        `json:"unique_id"`
	Status       Status        `json:"status"`
	Message      string        `json:"message,omitempty"`
	RowsAffected *int64        `json:"rows_affected,omitempty"`
	StartedAt    time.Time     `json:"started_at"`
	CompletedAt  time.Time     `json:"completed_at"`
	Duration     time.Duration `json:"-"`
	CompiledPath string        `json:"compiled_path,omitempty"`

	node *Node
}

// RunResult is a whole run: what ran, what failed, what was skipped.
type RunResult struct {
	Results     []*Result
	StartedAt   time.Time
	Elapsed     time.Duration
	Interrupted bool
}

// Failed reports whether any node errored.
func (r *RunResult) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res *Result) bool { return res.Status == StatusError })
}

// RunOptions shape an execution.
type RunOptions struct {
	FullRefresh bool
	Threads     int
	// Drain, when closed, stops scheduling new nodes; those already running
	// finish unless ctx is cancelled too.
	Drain <-chan struct{}
	// Progress receives one line per finished node; nil discards them.
	Progress io.Writer
	// WriteCompiled writes each executed model's SQL under target/compiled.
	WriteCompiled bool
	Now           func() time.Time
}

// executable reports whether a node does work when run (sources are only
// read, ephemeral models are inlined into others).
func executable(n *Node) bool {
	return n.Type == Seed || (n.Type == Model && n.Config.Materialized != "ephemeral")
}

// Execute runs the selected nodes against wh in dependency order on
// opts.Threads workers. A node whose upstream failed is skipped.
func (p *Project) Execute(ctx context.Context, wh warehouse.Warehouse, ids []string, opts RunOptions) *RunResult {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	threads := max(opts.Threads, 1)
	// Ephemeral models join the schedule as no-ops, so that an ordering
	// through them (a -> ephemeral -> b) is still respected.
	set := map[string]bool{}
	for _, id := range ids {
		if n := p.Nodes[id]; n != nil && executable(n) {
			set[id] = true
		}
	}
	for id, n := range p.Nodes {
		if n.Type == Model && n.Config.Materialized == "ephemeral" {
			set[id] = true
		}
	}
	total := 0
	for id := range set {
		if executable(p.Nodes[id]) {
			total++
		}
	}
	run := &RunResult{StartedAt: now()}
	pr := &printer{w: opts.Progress, total: total, now: now}
	if total > 0 {
		schemas := map[string]bool{}
		for id := range set {
			if n := p.Nodes[id]; executable(n) {
				schemas[n.Relation.Schema] = true
			}
		}
		for _, s := range slices.Sorted(maps.Keys(schemas)) {
			if err := wh.EnsureSchema(ctx, s); err != nil {
				// Without its schema no node can run: report every one.
				for id := range set {
					if n := p.Nodes[id]; executable(n) {
						res := &Result{UniqueID: id, Status: StatusError, Message: fmt.Sprintf("create schema %s: %v", s, err), node: n, StartedAt: now(), CompletedAt: now()}
						run.Results = append(run.Results, res)
					}
				}
				run.Elapsed = now().Sub(run.StartedAt)
				return run
			}
		}
	}

	indeg := map[string]int{}
	blocked := map[string]string{} // node -> the upstream that failed
	for id := range set {
		for _, parent := range p.Graph.Parents(id) {
			if set[parent] {
				indeg[id]++
			}
		}
	}
	var ready []string
	for id := range set {
		if indeg[id] == 0 {
			ready = append(ready, id)
		}
	}
	slices.Sort(ready)
	done := make(chan *Result)
	running := 0
	drained := false
	finish := func(res *Result) {
		n := res.node
		if executable(n) {
			run.Results = append(run.Results, res)
			pr.line(res)
		}
		var cause string
		switch {
		case res.Status == StatusError:
			cause = n.Name
		case res.Status == StatusSkipped:
			cause = blocked[n.UniqueID]
		}
		for _, child := range p.Graph.Children(n.UniqueID) {
			if !set[child] {
				continue
			}
			if cause != "" && blocked[child] == "" {
				blocked[child] = cause
			}
			indeg[child]--
			if indeg[child] == 0 {
				ready = append(ready, child)
			}
		}
		slices.Sort(ready)
	}
	drain, cancelled := opts.Drain, ctx.Done()
	for {
		for !drained && running < threads && len(ready) > 0 {
			id := ready[0]
			ready = ready[1:]
			n := p.Nodes[id]
			if cause := blocked[id]; cause != "" {
				t := now()
				finish(&Result{UniqueID: id, Status: StatusSkipped, Message: "skipped: upstream " + cause + " failed", node: n, StartedAt: t, CompletedAt: t})
				continue
			}
			running++
			go func() { done <- p.runNode(ctx, wh, n, opts, now) }()
		}
		if running == 0 {
			break
		}
		select {
		case res := <-done:
			running--
			finish(res)
		case <-drain:
			drained, drain = true, nil
		case <-cancelled:
			drained, cancelled = true, nil
		}
	}
	// Whatever was never started (the run was interrupted) is reported too.
	reported := map[string]bool{}
	for _, r := range run.Results {
		reported[r.UniqueID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if n := p.Nodes[id]; executable(n) && !reported[id] {
			t := now()
			run.Results = append(run.Results, &Result{UniqueID: id, Status: StatusSkipped, Message: "skipped: the run was interrupted", node: n, StartedAt: t, CompletedAt: t})
		}
	}
	run.Interrupted = drained || ctx.Err() != nil
	run.Elapsed = now().Sub(run.StartedAt)
	return run
}

// runNode materializes one node and reports how it went.
func (p *Project) runNode(ctx context.Context, wh warehouse.Warehouse, n *Node, opts RunOptions, now func() time.Time) *Result {
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
	rows, err := p.materialize(ctx, wh, n, opts)
	if n.Type == Model {
		res.CompiledPath = CompiledPath(n)
	}
	if err != nil {
		res.Status = StatusError
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			res.Message = fmt.Sprintf("%s %s: cancelled", n.Type, n.Name)
		} else if n.Type == Model {
			res.Message = fmt.Sprintf("model %s (%s): %v", n.Name, res.CompiledPath, err)
		} else {
			res.Message = fmt.Sprintf("%s %s (%s): %v", n.Type, n.Name, n.Path, err)
		}
		return res
	}
	res.Status = StatusSuccess
	res.RowsAffected = rows
	return res
}

func (p *Project) materialize(ctx context.Context, wh warehouse.Warehouse, n *Node, opts RunOptions) (*int64, error) {
	if n.Type == Seed {
		cols, rows, err := seedTable(n)
		if err != nil {
			return nil, err
		}
		count, err := wh.LoadRows(ctx, n.Relation, cols, rows, true)
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

// CompiledPath is where a model's compiled SQL is written, relative to the
// project: target/compiled/ mirrors models/.
func CompiledPath(n *Node) string { return "target/compiled/" + n.Path }

func (p *Project) writeCompiled(n *Node, opts RunOptions) error {
	if !opts.WriteCompiled {
		return nil
	}
	return p.WriteCompiled(n)
}

// WriteCompiled writes one model's compiled SQL under target/compiled.
func (p *Project) WriteCompiled(n *Node) error {
	dst := filepath.Join(p.Dir, filepath.FromSlash(CompiledPath(n)))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("write compiled SQL: %w", err)
	}
	if err := os.WriteFile(dst, []byte(n.Compiled+"\n"), 0o644); err != nil {
		return fmt.Errorf("write compiled SQL: %w", err)
	}
	return nil
}

// printer writes one progress line per finished node.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	count int
	now   func() time.Time
}

const lineWidth = 64

func (pr *printer) line(res *Result) {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.count++
	word := map[Status]string{StatusSuccess: "OK", StatusError: "ERROR", StatusSkipped: "SKIP"}[res.Status]
	label := Describe(res.node)
	dots := strings.Repeat(".", max(3, lineWidth-len(label)))
	detail := fmt.Sprintf("%.2fs", res.Duration.Seconds())
	if res.RowsAffected != nil && res.Status == StatusSuccess {
		detail = fmt.Sprintf("%d rows, %s", *res.RowsAffected, detail)
	}
	if res.Status == StatusSkipped {
		detail = strings.TrimPrefix(res.Message, "skipped: ")
	}
	fmt.Fprintf(pr.w, "%s  %d of %d %-4s %s %s [%s]\n", pr.now().Format("15:04:05"), pr.count, pr.total, word, label, dots, detail)
}

// Describe is how a node is named in progress lines: its materialization
// and relation.
func Describe(n *Node) string {
	rel := n.Relation.Schema + "." + n.Relation.Name
	switch n.Type {
	case Seed:
		return "seed " + rel
	case Model:
		return n.Config.Materialized + " " + rel
	}
	return string(n.Type) + " " + n.Name
}

// Summary is the closing line of a run.
func (r *RunResult) Summary() string {
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	return fmt.Sprintf("Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d",
		counts[StatusSuccess], 0, counts[StatusError], counts[StatusSkipped], len(r.Results))
}
