package project

import (
	"testing"

	"github.com/quarrydev/quarry/internal/panics"
)

// A panic in one of parallel's workers is raised again on the caller's
// goroutine, where the command runner's recover can report it: left on the
// worker, it would end the process with a stack trace.
func TestParallelRaisesAPanicOnTheCaller(t *testing.T) {
	defer func() {
		r := recover()
		e, ok := r.(*panics.Error)
		if !ok {
			t.Fatalf("recovered %#v, want a *panics.Error", r)
		}
		if e.Value != "boom" {
			t.Errorf("panic value %v, want boom", e.Value)
		}
		f, ok := e.Frame()
		if !ok || f.Function != "github.com/quarrydev/quarry/engine/project.TestParallelRaisesAPanicOnTheCaller.func2" {
			t.Errorf("frame %+v, want the worker's function in this test", f)
		}
	}()
	parallel(8, func(i int) {
		if i == 5 {
			panic("boom")
		}
	})
	t.Fatal("parallel returned after a worker panicked")
}
