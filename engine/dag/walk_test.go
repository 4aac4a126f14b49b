package dag

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/quarrydev/quarry/internal/panics"
)

// walkLog records a walk. Its fields are written only by the completion
// callbacks and Skip, which run on the walking goroutine: the race
// detector proves they are never called concurrently.
type walkLog struct {
	ended   []string          // visits, in the order their ends were handed over
	skipped map[string]string // node -> cause
}

// visitor returns a Visitor that logs into l and fails the nodes in fail
// with their cause.
func (l *walkLog) visitor(fail map[string]string, work func(ctx context.Context, id string)) Visitor {
	l.skipped = map[string]string{}
	return Visitor{
		Visit: func(ctx context.Context, id string) func() Outcome {
			if work != nil {
				work(ctx, id)
			}
			return func() Outcome {
				l.ended = append(l.ended, id)
				return Failed(fail[id])
			}
		},
		Skip: func(id, cause string) { l.skipped[id] = cause },
	}
}

func TestWalkOrder(t *testing.T) {
	g := build("b d", "a d", "d e", "t1", "c", "t2")
	// tests ("t…") first, then by id; d waits for both its parents
	var l walkLog
	testsFirst := func(a, b string) bool {
		ta, tb := strings.HasPrefix(a, "t"), strings.HasPrefix(b, "t")
		if ta != tb {
			return ta
		}
		return a < b
	}
	r := Walker{Threads: 1, Less: testsFirst}.Walk(context.Background(), g, l.visitor(nil, nil))
	if want := []string{"t1", "t2", "a", "b", "c", "d", "e"}; !slices.Equal(l.ended, want) {
		t.Errorf("order %v, want %v", l.ended, want)
	}
	if r.Stopped || len(r.NotStarted) > 0 {
		t.Errorf("report %+v, want everything started", r)
	}
	// the zero Walker: one at a time, by id
	l = walkLog{}
	Walker{}.Walk(context.Background(), g, l.visitor(nil, nil))
	if want := []string{"a", "b", "c", "d", "e", "t1", "t2"}; !slices.Equal(l.ended, want) {
		t.Errorf("zero Walker: order %v, want %v", l.ended, want)
	}
}

// Completion callbacks run in the order visits end, and before anything
// waiting on the node starts.
func TestWalkEndsInFinishingOrder(t *testing.T) {
	g := build("slow after", "fast")
	var ended []string
	// slow's visit waits for fast's completion callback, not for fast's
	// visit: two visits that return at nearly the same time may hand their
	// ends over in either order, so only this makes the order certain.
	fastEnded := make(chan struct{})
	var sawSlowEnd bool
	v := Visitor{
		Visit: func(_ context.Context, id string) func() Outcome {
			switch id {
			case "slow":
				<-fastEnded
			case "after":
				// read without a lock: the race detector checks that slow's
				// callback happened before this visit started
				sawSlowEnd = slices.Contains(ended, "slow")
			}
			return func() Outcome {
				ended = append(ended, id)
				if id == "fast" {
					close(fastEnded)
				}
				return Failed("")
			}
		},
		Skip: func(id, cause string) { t.Errorf("%s skipped: %s", id, cause) },
	}
	Walker{Threads: 2}.Walk(context.Background(), g, v)
	if want := []string{"fast", "slow", "after"}; !slices.Equal(ended, want) {
		t.Errorf("ended %v, want %v", ended, want)
	}
	if !sawSlowEnd {
		t.Error("after started before slow's end was handed over")
	}
}

func TestWalkThreadBound(t *testing.T) {
	const threads, nodes = 3, 12
	g := New()
	for i := range nodes {
		g.AddNode(string(rune('a' + i)))
	}
	var cur, peak atomic.Int32
	started := make(chan string, nodes)
	release := make(chan struct{})
	work := func(_ context.Context, id string) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- id
		<-release
		cur.Add(-1)
	}
	var l walkLog
	done := make(chan Report)
	go func() { done <- Walker{Threads: threads}.Walk(context.Background(), g, l.visitor(nil, work)) }()
	for range threads {
		<-started
	}
	select {
	case id := <-started:
		t.Errorf("%s started while %d visits were running", id, threads)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-done
	if got := peak.Load(); got != threads {
		t.Errorf("peak concurrency %d, want %d", got, threads)
	}
	if len(l.ended) != nodes {
		t.Errorf("%d visits ended, want %d", len(l.ended), nodes)
	}
}

func TestWalkSkipsDescendantsWithTheFirstCause(t *testing.T) {
	// a and b both fail; c reads both, so a's cause (a ends first) wins,
	// and c's descendants inherit it
	g := build("a c", "b c", "c d", "d e", "a f", "g h")
	fail := map[string]string{"a": "a broke", "b": "b broke"}
	var l walkLog
	r := Walker{Threads: 1}.Walk(context.Background(), g, l.visitor(fail, nil))
	if want := []string{"a", "b", "g", "h"}; !slices.Equal(l.ended, want) {
		t.Errorf("visited %v, want %v", l.ended, want)
	}
	want := map[string]string{"c": "a broke", "d": "a broke", "e": "a broke", "f": "a broke"}
	if diff := cmp.Diff(want, l.skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if r.Stopped || len(r.NotStarted) > 0 {
		t.Errorf("report %+v, want everything reached", r)
	}
	// without a Skip callback the nodes are skipped all the same
	var ended []string
	Walker{}.Walk(context.Background(), g, Visitor{Visit: func(_ context.Context, id string) func() Outcome {
		return func() Outcome { ended = append(ended, id); return Failed(fail[id]) }
	}})
	if want := []string{"a", "b", "g", "h"}; !slices.Equal(ended, want) {
		t.Errorf("without Skip: visited %v, want %v", ended, want)
	}
}

// The drain begins in a node's completion callback, which readies its
// children: none of them may start.
func TestWalkDrainStartsNothingAfterIt(t *testing.T) {
	for _, failA := range []bool{false, true} {
		g := build("a b", "a c", "b d")
		drain := make(chan struct{})
		var ended []string
		var visited atomic.Int32
		r := Walker{Threads: 2, Drain: drain}.Walk(context.Background(), g, Visitor{
			Visit: func(_ context.Context, id string) func() Outcome {
				visited.Add(1)
				return func() Outcome {
					ended = append(ended, id)
					close(drain)
					if failA {
						return Failed("a broke")
					}
					return Outcome{}
				}
			},
			Skip: func(id, cause string) { t.Errorf("skipped %s (%s) after the drain", id, cause) },
		})
		if !slices.Equal(ended, []string{"a"}) || visited.Load() != 1 {
			t.Errorf("failA=%v: visited %v, want only a", failA, ended)
		}
		// b and c were reached by a's cause, if any; d by none
		cause := ""
		if failA {
			cause = "a broke"
		}
		want := Report{Stopped: true, NotStarted: []NotStarted{{"b", cause}, {"c", cause}, {"d", ""}}}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("failA=%v: report (-want +got):\n%s", failA, diff)
		}
	}
}

// A drain while nodes run lets them end, and starts nothing more.
func TestWalkDrainLetsRunningVisitsEnd(t *testing.T) {
	g := build("a b", "c")
	drain := make(chan struct{})
	running := make(chan struct{})
	release := make(chan struct{})
	var l walkLog
	done := make(chan Report)
	go func() {
		done <- Walker{Threads: 1, Drain: drain}.Walk(context.Background(), g, l.visitor(nil, func(context.Context, string) {
			close(running)
			<-release
		}))
	}()
	<-running
	close(drain)
	close(release)
	r := <-done
	if !slices.Equal(l.ended, []string{"a"}) {
		t.Errorf("visited %v, want only a", l.ended)
	}
	if want := (Report{Stopped: true, NotStarted: []NotStarted{{ID: "b"}, {ID: "c"}}}); !cmp.Equal(want, r) {
		t.Errorf("report %+v, want %+v", r, want)
	}
}

func TestWalkCancel(t *testing.T) {
	g := build("a b", "c")
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var l walkLog
		r := Walker{Threads: 2}.Walk(ctx, g, l.visitor(nil, nil))
		if len(l.ended) > 0 {
			t.Errorf("visited %v after the cancel", l.ended)
		}
		if want := (Report{Stopped: true, NotStarted: []NotStarted{{ID: "a"}, {ID: "b"}, {ID: "c"}}}); !cmp.Equal(want, r) {
			t.Errorf("report %+v, want %+v", r, want)
		}
	})
	t.Run("while running", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		running := make(chan struct{})
		var l walkLog
		done := make(chan Report)
		go func() {
			done <- Walker{Threads: 1}.Walk(ctx, g, l.visitor(map[string]string{"a": "a cancelled"}, func(ctx context.Context, id string) {
				close(running)
				<-ctx.Done() // the visit sees the walk's context
			}))
		}()
		<-running
		cancel()
		r := <-done
		if !slices.Equal(l.ended, []string{"a"}) {
			t.Errorf("visited %v, want only a", l.ended)
		}
		if want := (Report{Stopped: true, NotStarted: []NotStarted{{"b", "a cancelled"}, {ID: "c"}}}); !cmp.Equal(want, r) {
			t.Errorf("report %+v, want %+v", r, want)
		}
	})
}

// A panic in a visit is raised again on the walking goroutine, where the
// caller's recover sees it, with the stack it happened on.
func TestWalkRaisesAPanicOnTheWalker(t *testing.T) {
	g := build("a b", "c", "d")
	var mu sync.Mutex
	var visited []string
	defer func() {
		e, ok := recover().(*panics.Error)
		if !ok {
			t.Fatal("the walk did not raise a *panics.Error")
		}
		if e.Value != "boom" {
			t.Errorf("panic value %v, want boom", e.Value)
		}
		if f, ok := e.Frame(); !ok || !strings.Contains(f.Function, "TestWalkRaisesAPanicOnTheWalker") {
			t.Errorf("frame %+v, want the visit in this test", f)
		}
		mu.Lock()
		defer mu.Unlock()
		if slices.Contains(visited, "b") {
			t.Errorf("b was visited after a panicked: %v", visited)
		}
	}()
	Walker{Threads: 2}.Walk(context.Background(), g, Visitor{Visit: func(_ context.Context, id string) func() Outcome {
		mu.Lock()
		visited = append(visited, id)
		mu.Unlock()
		if id == "a" {
			panic("boom")
		}
		return nil
	}})
	t.Fatal("the walk returned after a visit panicked")
}

// Nodes on or below a cycle never become ready: the report names them and
// says that nothing stopped the walk, which tells a loop from a drain.
func TestWalkReportsALoop(t *testing.T) {
	g := build("a b", "b c", "c b", "c d", "x")
	var l walkLog
	r := Walker{Threads: 1}.Walk(context.Background(), g, l.visitor(map[string]string{"a": "a broke"}, nil))
	if !slices.Equal(l.ended, []string{"a", "x"}) {
		t.Errorf("visited %v, want a and x", l.ended)
	}
	want := Report{NotStarted: []NotStarted{{"b", "a broke"}, {ID: "c"}, {ID: "d"}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// A halting outcome (fail-fast) starts nothing more: with one thread, the
// nodes after the failed one are skipped for the halt, except those an
// upstream failure reached first, and every node is accounted for.
func TestWalkHaltSkipsEverythingNotStarted(t *testing.T) {
	g := build("a b", "c d", "e")
	var l walkLog
	l.skipped = map[string]string{}
	v := Visitor{
		Visit: func(_ context.Context, id string) func() Outcome {
			return func() Outcome {
				l.ended = append(l.ended, id)
				if id == "a" {
					return Outcome{Cause: "a broke", Halt: "fail-fast after a"}
				}
				return Outcome{}
			}
		},
		Skip: func(id, cause string) { l.skipped[id] = cause },
	}
	r := Walker{Threads: 1}.Walk(context.Background(), g, v)
	if want := []string{"a"}; !slices.Equal(l.ended, want) {
		t.Errorf("visited %v, want %v", l.ended, want)
	}
	want := map[string]string{"b": "a broke", "c": "fail-fast after a", "d": "fail-fast after a", "e": "fail-fast after a"}
	if diff := cmp.Diff(want, l.skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if r.Stopped || len(r.NotStarted) > 0 {
		t.Errorf("report %+v, want nothing left not started and no stop", r)
	}
}

// The visits running when a node halts the walk end and are reported; only
// what had not started is skipped. b is held until a's end has been handed
// over, so the order does not depend on timing.
func TestWalkHaltLetsRunningVisitsEnd(t *testing.T) {
	g := build("a", "b", "c")
	var l walkLog
	l.skipped = map[string]string{}
	aEnded := make(chan struct{})
	v := Visitor{
		Visit: func(_ context.Context, id string) func() Outcome {
			if id == "b" {
				<-aEnded
			}
			return func() Outcome {
				l.ended = append(l.ended, id)
				if id == "a" {
					close(aEnded)
					return Outcome{Cause: "a broke", Halt: "halted by a"}
				}
				return Outcome{}
			}
		},
		Skip: func(id, cause string) { l.skipped[id] = cause },
	}
	r := Walker{Threads: 2}.Walk(context.Background(), g, v)
	if want := []string{"a", "b"}; !slices.Equal(l.ended, want) {
		t.Errorf("ended %v, want %v", l.ended, want)
	}
	if want := map[string]string{"c": "halted by a"}; !cmp.Equal(want, l.skipped) {
		t.Errorf("skipped %v, want %v", l.skipped, want)
	}
	if r.Stopped || len(r.NotStarted) > 0 {
		t.Errorf("report %+v, want nothing left not started", r)
	}
}
