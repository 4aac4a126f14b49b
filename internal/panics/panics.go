// Package panics carries a panic from the goroutine where it happened to
// the command runner that reports it. Go ends the process, with a stack
// trace rather than a report, on a panic that no deferred recover of its
// own goroutine catches: every goroutine quarry starts hands its panic on.
package panics

import (
	"fmt"
	"runtime"
	"strings"
)

// Error is a panic with the stack it happened on.
type Error struct {
	Value any
	pcs   []uintptr
}

func (e *Error) Error() string { return fmt.Sprint(e.Value) }

// Recovered wraps r, a value recover returned, with the stack of the panic.
// Call it from the deferred function that recovered, while the panicking
// stack is still there. A panic already wrapped (handed on from another
// goroutine and raised again) keeps the stack where it first happened.
func Recovered(r any) *Error {
	if e, ok := r.(*Error); ok {
		return e
	}
	pcs := make([]uintptr, 64)
	return &Error{Value: r, pcs: pcs[:runtime.Callers(2, pcs)]}
}

// Capture, deferred at the top of a goroutine, recovers its panic and hands
// it to report: `defer panics.Capture(func(e *panics.Error) { ... })`.
// The receiver raises it again on its own goroutine, where the command
// runner's recover reports it.
func Capture(report func(*Error)) {
	if r := recover(); r != nil {
		report(Recovered(r))
	}
}

// Frame returns the first frame of quarry's own code below the panic: the
// runtime's frames, and the libraries' quarry called, are skipped.
func (e *Error) Frame() (runtime.Frame, bool) {
	frames := runtime.CallersFrames(e.pcs)
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			panicking = true
		case panicking && isQuarryFunc(f.Function):
			return f, true
		}
		if !more {
			return runtime.Frame{}, false
		}
	}
}

// isQuarryFunc tells quarry's functions from the runtime's and libraries':
// the command's are main.*, the others' carry the module path.
func isQuarryFunc(name string) bool {
	return strings.HasPrefix(name, "main.") || strings.HasPrefix(name, "github.com/quarrydev/quarry/")
}
