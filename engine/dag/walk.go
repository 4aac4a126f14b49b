package dag

import (
	"container/heap"
	"context"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/internal/panics"
)

// Walker visits a graph's nodes in dependency order, several at once: a
// node starts once all its parents have ended. A node downstream of one
// that failed is not visited but skipped, for the first cause that reached
// it. The zero value walks one node at a time, in id order.
type Walker struct {
	// Threads is how many visits may run at once (at least one).
	Threads int
	// Less orders the nodes that are ready at the same time: the smallest
	// starts first. It must be a strict total order on the ids, so that a
	// walk is the same on every run; nil orders by id.
	Less func(a, b string) bool
	// Drain, when closed, stops the walk from starting anything new: the
	// visits already running end, and the rest are reported not started.
	// Cancelling the walk's context does the same.
	Drain <-chan struct{}
}

// Visitor is what a walk does with each node.
type Visitor struct {
	// Visit does a node's work, on a goroutine of its own. The function it
	// returns is called on the walking goroutine once the visit is over,
	// serially, in the order visits end, and before any node waiting on
	// this one is started: it may record the node's result without locks,
	// and what it does (closing Drain, say) is seen before anything else
	// starts. It says how the node ended. A panic in Visit is raised again
	// on the walking goroutine, as a *panics.Error.
	Visit func(ctx context.Context, id string) (done func() Outcome)
	// Skip, when set, is called on the walking goroutine in place of Visit
	// for a node that an upstream failure blocks, with the first cause that
	// reached it. The node's descendants are skipped for the same cause.
	Skip func(id, cause string)
}

// Outcome is how a visited node ended, as the nodes downstream see it.
// The zero value is success: they may run.
type Outcome struct {
	// Cause, when not empty, says why every node downstream of this one
	// must be skipped (unless another cause reached it first).
	Cause string
	// Halt, when not empty, stops the whole walk (a fail-fast run): the
	// visits already running end, and every node not yet started is
	// skipped (Skip is called) for Halt, or for the cause that reached it
	// first when an upstream failure did. Unlike Drain, nothing is left
	// not started: each node is visited or skipped.
	Halt string
}

// Failed is the outcome of a node whose descendants must be skipped, for
// cause.
func Failed(cause string) Outcome { return Outcome{Cause: cause} }

// Report is what a walk did not do.
type Report struct {
	// Stopped is set when the walk saw Drain closed or its context
	// cancelled, and so started nothing more.
	Stopped bool
	// NotStarted lists, by id, the nodes neither visited nor skipped.
	// When the walk was not stopped, they are exactly the nodes on or
	// downstream of a cycle.
	NotStarted []NotStarted
}

// NotStarted is a node a walk never reached.
type NotStarted struct {
	ID string
	// Cause is why the node would have been skipped anyway: the first
	// failure upstream that reached it, or "" when none did.
	Cause string
}

// ended is a visit that is over, sent from its goroutine to the walker.
type ended struct {
	id       string
	done     func() Outcome
	panicked *panics.Error
}

// Walk visits every node of g (see Walker) and returns once no visit is
// running and nothing more can start. g must not change during the walk.
func (w Walker) Walk(ctx context.Context, g *Graph, v Visitor) Report {
	threads := max(w.Threads, 1)
	less := w.Less
	if less == nil {
		less = func(a, b string) bool { return a < b }
	}
	ready := &readyHeap{less: less}
	waiting := make(map[string]int, len(g.nodes)) // node -> parents not yet ended
	for id := range g.nodes {
		waiting[id] = len(g.parents[id])
		if waiting[id] == 0 {
			ready.ids = append(ready.ids, id)
		}
	}
	heap.Init(ready)
	blocked := map[string]string{} // node -> the first cause that reached it
	reached := make(map[string]bool, len(g.nodes))
	// Buffered so that a visit can always hand its end over, even when the
	// walking goroutine has stopped receiving (a panic raised from it).
	results := make(chan ended, threads)
	running := 0
	// finish records a node's end and readies the children it was the last
	// parent of.
	finish := func(id, cause string) {
		for _, child := range g.children[id] {
			if cause != "" && blocked[child] == "" {
				blocked[child] = cause
			}
			waiting[child]--
			if waiting[child] == 0 {
				heap.Push(ready, child)
			}
		}
	}
	drain, cancelled := w.Drain, ctx.Done()
	stopped := false
	halt := "" // once set, every node that becomes ready is skipped for it
	// stopping reports whether the walk was stopped, without waiting. It is
	// asked before each node starts, not only in the wait below: a visit
	// ending as the drain begins may be picked first there, readying its
	// children, and none of them may start once the drain began.
	stopping := func() bool {
		select {
		case <-drain:
			stopped, drain = true, nil
		case <-cancelled:
			stopped, cancelled = true, nil
		default:
		}
		return stopped
	}
	for {
		for running < threads && ready.Len() > 0 && !stopping() {
			id := heap.Pop(ready).(string)
			reached[id] = true
			if halt != "" && blocked[id] == "" {
				blocked[id] = halt
			}
			if cause := blocked[id]; cause != "" {
				if v.Skip != nil {
					v.Skip(id, cause)
				}
				finish(id, cause)
				continue
			}
			running++
			go func() {
				defer panics.Capture(func(e *panics.Error) { results <- ended{id: id, panicked: e} })
				results <- ended{id: id, done: v.Visit(ctx, id)}
			}()
		}
		if running == 0 {
			break
		}
		select {
		case e := <-results:
			running--
			if e.panicked != nil {
				panic(e.panicked) // a bug: whoever runs the walk reports it
			}
			var out Outcome
			if e.done != nil {
				out = e.done()
			}
			if halt == "" {
				halt = out.Halt
			}
			finish(e.id, out.Cause)
		case <-drain:
			stopped, drain = true, nil
		case <-cancelled:
			stopped, cancelled = true, nil
		}
	}
	r := Report{Stopped: stopped}
	for id := range g.nodes {
		if !reached[id] {
			r.NotStarted = append(r.NotStarted, NotStarted{ID: id, Cause: blocked[id]})
		}
	}
	slices.SortFunc(r.NotStarted, func(a, b NotStarted) int { return strings.Compare(a.ID, b.ID) })
	return r
}

// readyHeap is a min-heap of ids under less: the nodes ready to start.
type readyHeap struct {
	ids  []string
	less func(a, b string) bool
}

func (h *readyHeap) Len() int           { return len(h.ids) }
func (h *readyHeap) Less(i, j int) bool { return h.less(h.ids[i], h.ids[j]) }
func (h *readyHeap) Swap(i, j int)      { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *readyHeap) Push(x any)         { h.ids = append(h.ids, x.(string)) }
func (h *readyHeap) Pop() any {
	last := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return last
}
