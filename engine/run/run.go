package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Options shape a run.
type Options struct {
	FullRefresh bool
	Threads     int
	// StoreFailures keeps every failing test's rows in the tests schema.
	StoreFailures bool
	// HTTP is the client extractors use (recording or replaying when asked);
	// nil means a plain client. Replaying says no network is used.
	HTTP      *http.Client
	Replaying bool
	Recording bool
	// Endpoints are, in a replay, the extractors' endpoint variables as
	// recorded (extractors.Endpointed; absent: unset, the defaults). They
	// replace the environment's so the replay asks what was recorded.
	Endpoints map[string]string
	// SampleData marks replayed responses that were invented for offline
	// runs: landed rows say so in their _source.
	SampleData bool
	// Strict fails an extract node on any item-level failure.
	Strict bool
	// FailFast stops scheduling at the first error or error-severity test
	// failure: the nodes running finish, and every node not started is
	// skipped for it. The run is not interrupted: each node is reported.
	FailFast bool
	// Drain, when closed, stops scheduling new nodes; those already running
	// finish unless ctx is cancelled too.
	Drain <-chan struct{}
	// OnResult, when set, is told of every finished node (the tests run
	// inside an audited model each count as one) with how far the run has
	// come. It is called on Execute's goroutine, in finishing order and
	// never concurrently, before the nodes waiting on that one are started:
	// it should return quickly, and what it does (closing Drain, say) is
	// seen by the scheduler before anything else starts.
	OnResult func(*Result, Progress)
	// OnStart, when set, is told of every node as it starts running, on
	// the worker that runs it. Calls to OnStart and OnResult are never
	// concurrent with each other (the run serializes them), so one writer
	// may serve both; like OnResult it should return quickly. Skipped
	// nodes never start, and the tests run inside an audited table start
	// with it, unannounced.
	OnStart func(*project.Node)
	// WriteCompiled writes each executed model's and test's SQL under
	// target/compiled.
	WriteCompiled bool
	// Now is the data's clock: load times and freshness are measured with
	// it. A replay sets it to the recorded run's clock. Default time.Now.
	Now func() time.Time
	// RetentionStep is a test hook, for tests only: when set, retention's
	// compaction calls it after each statement of a table's transaction
	// (i counts from 0), and an error from it rolls the transaction back.
	// Tests use it to fail or kill the process mid-compaction.
	RetentionStep func(table string, i int) error
}

// execution is one run of a plan against a warehouse: what every node's
// runner is given.
type execution struct {
	p     *project.Project
	wh    warehouse.Warehouse
	opts  Options
	sched *schedule
	// notify serializes the callbacks of opts: OnStart is called on
	// workers, OnResult on Execute's goroutine.
	notify sync.Mutex
}

// Execute runs the selected nodes against wh in dependency order on
// opts.Threads workers. A node whose upstream failed is skipped.
func Execute(ctx context.Context, p *project.Project, wh warehouse.Warehouse, ids []string, opts Options) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// opts.Now is the data's clock (replayed in --replay runs); timings use
	// the real one.
	now := time.Now
	threads := max(opts.Threads, 1)
	s := plan(p, ids)
	x := &execution{p: p, wh: wh, opts: opts, sched: s}
	total := 0
	for _, id := range s.graph.Nodes() {
		if project.Executable(p.Nodes[id]) {
			total++
		}
	}
	for _, tests := range s.inline {
		total += len(tests)
	}
	run := &Report{StartedAt: now()}
	finished := 0
	report := func(res *Result) {
		run.Results = append(run.Results, res)
		finished++
		if opts.OnResult != nil {
			x.notify.Lock()
			opts.OnResult(res, Progress{Done: finished, Total: total})
			x.notify.Unlock()
		}
	}
	if err := x.prepare(ctx); err != nil {
		x.setupFailed(report, err, now)
		run.Interrupted = ctx.Err() != nil
		run.Elapsed = now().Sub(run.StartedAt)
		return run
	}

	skip := func(n *project.Node, cause string) *Result {
		t := now()
		return &Result{UniqueID: n.UniqueID, Status: StatusSkipped, Message: "skipped: " + cause, node: n, StartedAt: t, CompletedAt: t}
	}
	// why is what a finished node tells the nodes that wait on it: why they
	// must be skipped, or "" when they may run.
	why := func(res *Result) string {
		n := res.node
		switch res.Status {
		case StatusError:
			return "upstream " + string(n.Type) + " " + n.Name + " failed"
		case StatusFail:
			return "upstream test " + n.Name + " failed"
		}
		// An audited table is only published when the tests run inside it
		// pass: what reads it waits on those tests like on any other.
		for _, t := range res.extra {
			if t.Status == StatusError || t.Status == StatusFail {
				return "upstream test " + t.node.Name + " failed"
			}
		}
		if res.Status == StatusSkipped {
			return "upstream " + string(n.Type) + " " + n.Name + " was skipped"
		}
		return ""
	}
	// finish reports a node that ended, run or skipped for cause.
	finish := func(res *Result, cause string) {
		n := res.node
		// The tests run inside a node ran before it finished: they come
		// first. Those it never reached (its build failed, it was skipped,
		// the run was cancelled) are skipped for its reason, once, after it.
		for _, t := range res.extra {
			report(t)
		}
		if project.Executable(n) {
			report(res)
		}
		if len(s.inline[n.UniqueID]) > len(res.extra) {
			reason := cause
			if res.Status == StatusError && ctx.Err() != nil {
				reason = "the run was interrupted"
			}
			for _, t := range s.inline[n.UniqueID] {
				if !slices.ContainsFunc(res.extra, func(r *Result) bool { return r.UniqueID == t.UniqueID }) {
					report(skip(t, reason))
				}
			}
		}
	}
	// Tests first, so that they run right after what they test.
	walker := dag.Walker{Threads: threads, Drain: opts.Drain, Less: func(a, b string) bool {
		ta, tb := p.Nodes[a].Type == project.Test, p.Nodes[b].Type == project.Test
		if ta != tb {
			return ta
		}
		return a < b
	}}
	walked := walker.Walk(ctx, s.graph, dag.Visitor{
		Visit: func(ctx context.Context, id string) func() dag.Outcome {
			res := x.runNode(ctx, p.Nodes[id])
			return func() dag.Outcome {
				cause := why(res)
				finish(res, cause)
				out := dag.Failed(cause)
				if failed := firstFailure(res); opts.FailFast && failed != nil {
					n := failed.node
					out.Halt = "--fail-fast after " + string(n.Type) + " " + n.Name + " failed"
				}
				return out
			}
		},
		Skip: func(id, cause string) { finish(skip(p.Nodes[id], cause), cause) },
	})
	// Whatever was never started (the run was interrupted) is reported too,
	// for the reason it would have been skipped anyway when it had one.
	type unstarted struct {
		n     *project.Node
		cause string // why the scheduled node it belongs to was blocked
	}
	var never []unstarted
	for _, ns := range walked.NotStarted {
		never = append(never, unstarted{p.Nodes[ns.ID], ns.Cause})
		for _, t := range s.inline[ns.ID] {
			never = append(never, unstarted{t, ns.Cause})
		}
	}
	slices.SortFunc(never, func(a, b unstarted) int { return cmp.Compare(a.n.UniqueID, b.n.UniqueID) })
	for _, u := range never {
		if !project.Executable(u.n) {
			continue
		}
		r := skip(u.n, cmp.Or(u.cause, "the run was interrupted"))
		if !walked.Stopped && ctx.Err() == nil {
			// Nothing stopped the run, so the schedule itself held a loop:
			// say so rather than pass it off as an interruption. Every
			// node is reported above when the plan is sound; this is a
			// last resort.
			r.Status, r.Message = StatusError, "never scheduled: its dependencies formed a loop in quarry's plan (a quarry bug; please report it)"
		}
		report(r)
	}
	run.Interrupted = walked.Stopped || ctx.Err() != nil
	run.Elapsed = now().Sub(run.StartedAt)
	return run
}

// firstFailure is the result that makes res a failure (res itself, or a
// test run inside it), or nil when it did not fail.
func firstFailure(res *Result) *Result {
	for _, r := range append([]*Result{res}, res.extra...) {
		if r.Status == StatusError || r.Status == StatusFail {
			return r
		}
	}
	return nil
}

// setupFailed reports a run that could not start because a schema or a
// landing table could not be created: the node that needed it first
// carries the error, once, and every other node is skipped for it.
func (x *execution) setupFailed(report func(*Result), err error, now func() time.Time) {
	p, s := x.p, x.sched
	culprit, cause := "", "the warehouse could not be prepared"
	var se *setupError
	if errors.As(err, &se) {
		culprit, cause = se.node, se.cause
	}
	var nodes []*project.Node
	for _, id := range s.graph.Nodes() {
		if n := p.Nodes[id]; project.Executable(n) {
			nodes = append(nodes, n)
		}
		nodes = append(nodes, s.inline[id]...)
	}
	slices.SortFunc(nodes, func(a, b *project.Node) int { return cmp.Compare(a.UniqueID, b.UniqueID) })
	// the error first, then what it stopped
	if i := slices.IndexFunc(nodes, func(n *project.Node) bool { return n.UniqueID == culprit }); i > 0 {
		n := nodes[i]
		nodes = slices.Insert(slices.Delete(nodes, i, i+1), 0, n)
	}
	for i, n := range nodes {
		t := now()
		res := &Result{UniqueID: n.UniqueID, Status: StatusSkipped, Message: "skipped: " + cause, node: n, StartedAt: t, CompletedAt: t}
		if i == 0 {
			res.Status, res.Message = StatusError, err.Error()
		}
		report(res)
	}
}

// prepare creates, once and before anything runs, every schema the run
// writes to, then what each node needs in place before any node starts (an
// extractor's landing tables): concurrent CREATE statements for one object
// conflict. Its error is a *setupError naming the node to charge it to.
func (x *execution) prepare(ctx context.Context) error {
	first := map[string]string{} // schema -> the first node (by id) writing to it
	need := func(n *project.Node) {
		for _, schema := range kindOf(n).schemas(n, &x.opts) {
			if cur, ok := first[schema]; !ok || n.UniqueID < cur {
				first[schema] = n.UniqueID
			}
		}
	}
	for _, id := range x.sched.graph.Nodes() {
		if n := x.p.Nodes[id]; project.Executable(n) {
			need(n)
		}
	}
	for _, tests := range x.sched.inline {
		for _, t := range tests {
			need(t)
		}
	}
	for _, schema := range slices.Sorted(maps.Keys(first)) {
		if err := x.wh.EnsureSchema(ctx, schema); err != nil {
			return &setupError{node: first[schema], cause: "schema " + schema + " could not be created",
				err: fmt.Errorf("create schema %s: %w", schema, err)}
		}
	}
	for _, id := range x.sched.graph.Nodes() {
		n := x.p.Nodes[id]
		if !project.Executable(n) {
			continue
		}
		if pr, ok := kindOf(n).(preparer); ok {
			if err := pr.prepare(ctx, x, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// runNode runs one node (and, for an audited table, the tests run inside
// it) and reports how it went.
func (x *execution) runNode(ctx context.Context, n *project.Node) *Result {
	now := time.Now // timings are real even when the data clock is replayed
	res := &Result{UniqueID: n.UniqueID, node: n, StartedAt: now()}
	defer func() {
		res.CompletedAt = now()
		res.Duration = res.CompletedAt.Sub(res.StartedAt)
	}()
	if !project.Executable(n) {
		res.Status = StatusSuccess
		return res
	}
	if x.opts.OnStart != nil {
		x.notify.Lock()
		x.opts.OnStart(n)
		x.notify.Unlock()
	}
	kindOf(n).run(warehouse.WithNode(ctx, n.UniqueID), x, n, res)
	return res
}

// setupError is a failure to prepare the warehouse before any node runs.
type setupError struct {
	node  string // the node the error is reported on
	cause string // why every other node is skipped
	err   error
}

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }
