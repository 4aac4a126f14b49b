package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Status is the outcome of one node.
type Status string

const (
	StatusSuccess Status = "success" // a model or seed was built
	StatusError   Status = "error"   // it could not run, or its SQL failed
	StatusSkipped Status = "skipped" // an upstream failed, the run was interrupted, or an audited table was not published
	StatusPass    Status = "pass"    // a test found nothing wrong
	StatusWarn    Status = "warn"    // a test found failures within its warn threshold
	StatusFail    Status = "fail"    // a test found failures past its error threshold
)

// Result is what happened to one node in a run.
type Result struct {
	UniqueID     string
	Status       Status
	Message      string
	RowsAffected *int64
	Failures     *int64 // tests: the number of failing rows
	StartedAt    time.Time
	CompletedAt  time.Time
	Duration     time.Duration
	CompiledPath string
	// Sample holds the first failing rows of a test (at most 5).
	Sample *warehouse.Result
	// Threshold is the condition a failing or warning test met.
	Threshold Threshold
	// StoredIn names the table holding a test's failing rows, when kept.
	StoredIn string
	// Kept is set when an audited table was not published: it names the
	// live relation, which still holds its previous version.
	Kept string
	// Notes are lines an extractor printed: its mode, warnings, statistics.
	Notes []string

	node  *Node
	extra []*Result // tests run inside this node (write-audit-publish)
}

// Node returns the node the result is about.
func (r *Result) Node() *Node { return r.node }

// RunResult is a whole run: what ran, what failed, what was skipped.
type RunResult struct {
	Results     []*Result
	StartedAt   time.Time
	Elapsed     time.Duration
	Interrupted bool
}

// Failed reports whether any node errored or any error-severity test failed.
func (r *RunResult) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res *Result) bool {
		return res.Status == StatusError || res.Status == StatusFail
	})
}

// RunOptions shape an execution.
type RunOptions struct {
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
	// WriteCompiled writes each executed model's and test's SQL under
	// target/compiled.
	WriteCompiled bool
	// Now is the data's clock: load times and freshness are measured with
	// it. A replay sets it to the recorded run's clock. Default time.Now.
	Now func() time.Time
}

// executable reports whether a node does work when run (sources are only
// read, ephemeral models are inlined into others).
func executable(n *Node) bool {
	return n.Type == Seed || n.Type == Test || n.Type == Extract || (n.Type == Model && n.Config.Materialized != "ephemeral")
}

// audited reports whether a model is built beside its live table, tested
// there, and only then published.
func audited(n *Node) bool {
	return n.Type == Model && n.Config.Publish == "audited" && n.Config.Materialized == "table"
}

// schedule is the work of one run: the nodes to run and the order between
// them.
type schedule struct {
	graph  *dag.Graph         // nodes scheduled, each waiting on its parents
	inline map[string][]*Node // audited model -> tests run inside it
}

// plan decides what runs and in which order. Tests gate their model's
// children: a child waits for the tests of what it reads, so an error-
// severity failure stops bad data from flowing downstream. An audited
// table's tests run inside its node, against the unpublished copy.
func (p *Project) plan(ids []string) *schedule {
	s := &schedule{graph: dag.New(), inline: map[string][]*Node{}}
	set := map[string]bool{} // nodes scheduled
	for _, id := range ids {
		if n := p.Nodes[id]; n != nil && executable(n) {
			set[id] = true
		}
	}
	// Ephemeral models join as no-ops, so that an ordering through them
	// (a -> ephemeral -> b) is still respected.
	for id, n := range p.Nodes {
		if n.Type == Model && n.Config.Materialized == "ephemeral" {
			set[id] = true
		}
	}
	// Tests of an audited model run inside it, against its unpublished
	// copy, when everything else they read is upstream of it (so already
	// built when it runs). The others run as nodes of their own, after all
	// they read, against what is live.
	for _, id := range slices.Sorted(maps.Keys(set)) {
		n := p.Nodes[id]
		if n.Type != Test {
			continue
		}
		m := n.Attached()
		if n.TestKind() == TestSingular {
			// a singular test belongs to the audited model it reads, if one
			for _, parent := range p.Graph.Parents(id) {
				if set[parent] && audited(p.Nodes[parent]) {
					m = p.Nodes[parent]
					break
				}
			}
		}
		if m == nil || !set[m.UniqueID] || !audited(m) {
			continue
		}
		up := p.Graph.Ancestors(m.UniqueID)
		if !slices.ContainsFunc(p.Graph.Parents(id), func(q string) bool { return q != m.UniqueID && !up[q] }) {
			s.inline[m.UniqueID] = append(s.inline[m.UniqueID], n)
			delete(set, id)
		}
	}
	for id := range set {
		s.graph.AddNode(id)
	}
	// A source passes its extractor on: a model reading a source waits
	// for the extract node that lands it.
	var link func(id, via string)
	link = func(id, via string) {
		for _, parent := range p.Graph.Parents(via) {
			switch {
			case set[parent]:
				s.graph.AddEdge(parent, id)
			case p.Nodes[parent].Type == Source:
				link(id, parent)
			}
		}
	}
	for id := range set {
		link(id, id)
	}
	// A test gates the children of what it tests: they wait for it, so an
	// error-severity failure stops bad data from flowing downstream. A test
	// that reads several nodes (relationships, many singular tests) could
	// close a loop through another such test; those edges are added only
	// where they cannot.
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if p.Nodes[id].Type != Test {
			continue
		}
		parents := p.Graph.Parents(id)
		tested := parents
		if a := p.Nodes[id].Attached(); a != nil {
			tested = []string{a.UniqueID}
		}
		// A child of the only node a test reads cannot be upstream of the
		// test (that would be a cycle): only tests reading several nodes
		// need the ancestor walk.
		var ancestors map[string]bool
		if len(parents) > 1 {
			ancestors = p.Graph.Ancestors(id)
		}
		for _, t := range tested {
			for _, child := range p.Graph.Children(t) {
				if !set[child] || p.Nodes[child].Type == Test || ancestors[child] {
					continue
				}
				// the edge would close a loop through the schedule
				if len(parents) > 1 && s.graph.Descendants(child)[id] {
					continue
				}
				s.graph.AddEdge(id, child)
			}
		}
	}
	return s
}

// Execute runs the selected nodes against wh in dependency order on
// opts.Threads workers. A node whose upstream failed is skipped.
func (p *Project) Execute(ctx context.Context, wh warehouse.Warehouse, ids []string, opts RunOptions) *RunResult {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// opts.Now is the data's clock (replayed in --replay runs); timings use
	// the real one.
	now := time.Now
	threads := max(opts.Threads, 1)
	s := p.plan(ids)
	total := 0
	for _, id := range s.graph.Nodes() {
		if executable(p.Nodes[id]) {
			total++
		}
	}
	for _, tests := range s.inline {
		total += len(tests)
	}
	run := &RunResult{StartedAt: now()}
	finished := 0
	report := func(res *Result) {
		run.Results = append(run.Results, res)
		finished++
		if opts.OnResult != nil {
			opts.OnResult(res, Progress{Done: finished, Total: total})
		}
	}
	if err := p.ensureSchemas(ctx, wh, s, opts); err != nil {
		p.setupFailed(report, s, err, now)
		run.Interrupted = ctx.Err() != nil
		run.Elapsed = now().Sub(run.StartedAt)
		return run
	}

	skip := func(n *Node, cause string) *Result {
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
		if executable(n) {
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
		ta, tb := p.Nodes[a].Type == Test, p.Nodes[b].Type == Test
		if ta != tb {
			return ta
		}
		return a < b
	}}
	walked := walker.Walk(ctx, s.graph, dag.Visitor{
		Visit: func(ctx context.Context, id string) func() dag.Outcome {
			res := p.runNode(ctx, wh, p.Nodes[id], s.inline[id], opts)
			return func() dag.Outcome {
				cause := why(res)
				finish(res, cause)
				return dag.Failed(cause)
			}
		},
		Skip: func(id, cause string) { finish(skip(p.Nodes[id], cause), cause) },
	})
	// Whatever was never started (the run was interrupted) is reported too,
	// for the reason it would have been skipped anyway when it had one.
	type unstarted struct {
		n     *Node
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
		if !executable(u.n) {
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

// setupFailed reports a run that could not start because a schema or a
// landing table could not be created: the node that needed it first
// carries the error, once, and every other node is skipped for it.
func (p *Project) setupFailed(report func(*Result), s *schedule, err error, now func() time.Time) {
	culprit, cause := "", "the warehouse could not be prepared"
	var se *setupError
	if errors.As(err, &se) {
		culprit, cause = se.node, se.cause
	}
	var nodes []*Node
	for _, id := range s.graph.Nodes() {
		if n := p.Nodes[id]; executable(n) {
			nodes = append(nodes, n)
		}
		nodes = append(nodes, s.inline[id]...)
	}
	slices.SortFunc(nodes, func(a, b *Node) int { return cmp.Compare(a.UniqueID, b.UniqueID) })
	// the error first, then what it stopped
	if i := slices.IndexFunc(nodes, func(n *Node) bool { return n.UniqueID == culprit }); i > 0 {
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

// ensureSchemas creates, once and before anything runs, every schema the
// run writes to and the extractors' landing tables: concurrent CREATE
// statements for one object conflict. Its error is a *setupError naming
// the node to charge it to.
func (p *Project) ensureSchemas(ctx context.Context, wh warehouse.Warehouse, s *schedule, opts RunOptions) error {
	first := map[string]string{} // schema -> the first node (by id) writing to it
	need := func(schema, id string) {
		if cur, ok := first[schema]; !ok || id < cur {
			first[schema] = id
		}
	}
	for _, id := range s.graph.Nodes() {
		n := p.Nodes[id]
		switch {
		case n.Type == Test:
			if opts.StoreFailures || n.Config.StoreFailures {
				need(n.Relation.Schema, id)
			}
		case n.Type == Extract:
			for _, src := range n.extract.tables {
				need(src.Relation.Schema, id)
			}
		case executable(n):
			need(n.Relation.Schema, id)
		}
	}
	for _, tests := range s.inline {
		for _, t := range tests {
			if opts.StoreFailures || t.Config.StoreFailures {
				need(t.Relation.Schema, t.UniqueID)
			}
		}
	}
	for _, schema := range slices.Sorted(maps.Keys(first)) {
		if err := wh.EnsureSchema(ctx, schema); err != nil {
			return &setupError{node: first[schema], cause: "schema " + schema + " could not be created",
				err: fmt.Errorf("create schema %s: %w", schema, err)}
		}
	}
	for _, id := range s.graph.Nodes() {
		if n := p.Nodes[id]; n.Type == Extract {
			if err := createLandingTables(ctx, wh, n.extract); err != nil {
				return &setupError{node: id, cause: "the landing tables of extract " + n.Name + " could not be created",
					err: fmt.Errorf("extract %s: %w", n.Name, err)}
			}
		}
	}
	return nil
}

// setupError is a failure to prepare the warehouse before any node runs.
type setupError struct {
	node  string // the node the error is reported on
	cause string // why every other node is skipped
	err   error
}

func (e *setupError) Error() string { return e.err.Error() }
func (e *setupError) Unwrap() error { return e.err }
