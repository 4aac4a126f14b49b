package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/quarrydev/quarry/internal/panics"
)

// Rendering limits. A template is a program: a careless one (a loop bound
// off by a few zeros, a macro that calls itself) must stop with an error
// naming where it is, not take the machine's memory or hang the load. Every
// render of a model, test or incremental recompile gets these budgets.
const (
	// MaxRenderBytes bounds the text one render may produce.
	MaxRenderBytes = 10 << 20
	// MaxRenderTime bounds the wall time of one render.
	MaxRenderTime = 10 * time.Second
	// MaxTemplateDepth bounds nested {{ template }} calls. text/template's
	// own limit (100000) lets a runaway recursion grow the stack by
	// gigabytes first, and unwinding the error through nested ranges costs
	// time quadratic in the depth (minutes at 100000); real macros nest a
	// handful deep.
	MaxTemplateDepth = 100
	// MaxGenerated bounds the elements until, untilStep and seq produce:
	// they allocate the whole list before anything is written.
	MaxGenerated = 1_000_000
)

// watchdogGrace is how long past MaxRenderTime a render that no loop or
// template call checks (one slow function call) may run before it is
// abandoned.
const watchdogGrace = 2 * time.Second

// Names of the functions that instrument adds to every template: budget
// checks where text/template offers no hook of its own.
const (
	FnLoop  = "quarry_loop"  // at the start of every range iteration
	FnEnter = "quarry_enter" // before every {{ template }} call
	FnLeave = "quarry_leave" // after it
)

// budgetError is a render stopped by a limit, positioned at the innermost
// loop or template call that was running (or at the call that asked for
// too much).
type budgetError struct {
	path      string
	line, col int
	msg       string
}

func (e *budgetError) Error() string { return e.msg }

// Budget is one render's account of its limits.
type Budget struct {
	deadline time.Time
	depth    int
	at       atomic.Pointer[string] // "path:line:col" of the last loop or call checked; read by the watchdog
	out      strings.Builder
}

// NewBudget starts the budget of one render.
func NewBudget(now time.Time) *Budget {
	return &Budget{deadline: now.Add(MaxRenderTime)}
}

// Write bounds the rendered text. text/template returns a writer's error
// as is, so the error carries the position of the last checkpoint.
func (b *Budget) Write(p []byte) (int, error) {
	if b.out.Len()+len(p) > MaxRenderBytes {
		return 0, b.errorf("rendered text exceeds %d MB: is a loop bound too large?", MaxRenderBytes>>20)
	}
	return b.out.Write(p)
}

func (b *Budget) errorf(format string, args ...any) *budgetError {
	e := &budgetError{msg: fmt.Sprintf(format, args...)}
	if at := b.at.Load(); at != nil {
		e.path, e.line, e.col = splitPosition(*at)
	}
	return e
}

// check is called at every checkpoint: a loop iteration or a template call.
func (b *Budget) check(at string) error {
	b.mark(at)
	if time.Now().After(b.deadline) {
		return b.errorf("rendering took longer than %s: is a loop or a recursion unbounded?", MaxRenderTime)
	}
	return nil
}

// mark records the checkpoint being passed. Loops pass the same one over
// and over: storing only changes keeps an iteration free of allocation.
func (b *Budget) mark(at string) {
	if p := b.at.Load(); p == nil || *p != at {
		s := at
		b.at.Store(&s)
	}
}

// AddFuncs adds to f those checkpoint functions, of the ones instrument
// calls, that are named in names.
func (b *Budget) AddFuncs(f template.FuncMap, names []string) {
	for _, name := range names {
		switch name {
		case FnLoop:
			f[FnLoop] = func(at string) (string, error) { return "", b.check(at) }
		case FnEnter:
			f[FnEnter] = func(at string) (string, error) {
				b.depth++
				if b.depth > MaxTemplateDepth {
					b.mark(at)
					return "", b.errorf("templates nested more than %d deep: does a macro call itself without end?", MaxTemplateDepth)
				}
				return "", b.check(at)
			}
		case FnLeave:
			f[FnLeave] = func() string { b.depth--; return "" }
		}
	}
}

// Execute runs t into the budget's writer. A render that outlives its time
// budget without reaching a checkpoint is abandoned: text/template cannot
// be cancelled, and the goroutine stops at its next checkpoint, if any.
func (b *Budget) Execute(t *template.Template, data any) (string, error) {
	done := make(chan error, 1)
	go func() {
		// Raised again below: the command runner reports a panic as a bug.
		defer panics.Capture(func(e *panics.Error) { done <- e })
		done <- t.Execute(b, data)
	}()
	timer := time.NewTimer(time.Until(b.deadline) + watchdogGrace)
	defer timer.Stop()
	select {
	case err := <-done:
		var pe *panics.Error
		if errors.As(err, &pe) {
			panic(pe)
		}
		if err != nil {
			return "", err
		}
		return b.out.String(), nil
	case <-timer.C:
		return "", b.errorf("rendering took longer than %s and was abandoned: is a function called with a huge argument?", MaxRenderTime)
	}
}

func splitPosition(at string) (path string, line, col int) {
	rest, c, _ := cutLast(at)
	path, l, _ := cutLast(rest)
	line, _ = strconv.Atoi(l)
	col, _ = strconv.Atoi(c)
	return path, line, col
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// instrument adds budget checkpoints to a parsed template: a FnLoop call at
// the start of every range body, and FnEnter/FnLeave around every
// {{ template }} call, each carrying its own position in the file.
func instrument(tree *parse.Tree) {
	var walk func(l *parse.ListNode)
	walk = func(l *parse.ListNode) {
		if l == nil {
			return
		}
		nodes := make([]parse.Node, 0, len(l.Nodes))
		for _, n := range l.Nodes {
			switch n := n.(type) {
			case *parse.IfNode:
				walk(n.List)
				walk(n.ElseList)
			case *parse.WithNode:
				walk(n.List)
				walk(n.ElseList)
			case *parse.RangeNode:
				walk(n.List)
				walk(n.ElseList)
				n.List.Nodes = append([]parse.Node{checkpoint(tree, n, FnLoop, true)}, n.List.Nodes...)
			case *parse.TemplateNode:
				nodes = append(nodes, checkpoint(tree, n, FnEnter, true), n, checkpoint(tree, n, FnLeave, false))
				continue
			}
			nodes = append(nodes, n)
		}
		l.Nodes = nodes
	}
	walk(tree.Root)
}

// checkpoint builds the action {{ fn "path:line:col" }} (or {{ fn }}) at
// n's position.
func checkpoint(tree *parse.Tree, n parse.Node, fn string, withPos bool) *parse.ActionNode {
	id := parse.NewIdentifier(fn).SetTree(tree).SetPos(n.Position())
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Position(), Args: []parse.Node{id}}
	if withPos {
		line, col := Position(tree, n)
		at := fmt.Sprintf("%s:%d:%d", tree.ParseName, line, col)
		cmd.Args = append(cmd.Args, &parse.StringNode{NodeType: parse.NodeString, Pos: n.Position(), Quoted: strconv.Quote(at), Text: at})
	}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Position(), Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: n.Position(), Pipe: pipe}
}

// checkedGenerators replaces sprig's functions that allocate in proportion
// to an argument with versions that refuse absurd sizes before allocating.
// until, untilStep and seq are rewritten rather than wrapped: sprig's loop
// never ends when the step overflows past the end (untilStep near MaxInt).
func checkedGenerators(f template.FuncMap) {
	repeat := f["repeat"].(func(int, string) string)
	indent := f["indent"].(func(int, string) string)
	nindent := f["nindent"].(func(int, string) string)
	f["until"] = func(n int) ([]int, error) {
		step := 1
		if n < 0 {
			step = -1
		}
		return boundedUntilStep("until", 0, n, step)
	}
	f["untilStep"] = func(start, stop, step int) ([]int, error) {
		return boundedUntilStep("untilStep", start, stop, step)
	}
	f["seq"] = boundedSeq
	tooBig := func(fn string, n int64) error {
		return fmt.Errorf("%s would produce %d bytes, more than the %d MB a render may produce", fn, n, MaxRenderBytes>>20)
	}
	f["repeat"] = func(count int, s string) (string, error) {
		if count > MaxRenderBytes || int64(count)*int64(len(s)) > MaxRenderBytes {
			return "", tooBig("repeat", int64(count)*int64(max(len(s), 1)))
		}
		return repeat(count, s), nil
	}
	indentSize := func(spaces int, s string) int64 {
		return int64(spaces)*int64(strings.Count(s, "\n")+1) + int64(len(s))
	}
	f["indent"] = func(spaces int, s string) (string, error) {
		if spaces > MaxRenderBytes || indentSize(spaces, s) > MaxRenderBytes {
			return "", tooBig("indent", indentSize(min(spaces, MaxRenderBytes+1), s))
		}
		return indent(spaces, s), nil
	}
	f["nindent"] = func(spaces int, s string) (string, error) {
		if spaces > MaxRenderBytes || indentSize(spaces, s) > MaxRenderBytes {
			return "", tooBig("nindent", indentSize(min(spaces, MaxRenderBytes+1), s))
		}
		return nindent(spaces, s), nil
	}
}

// boundedUntilStep is sprig's untilStep (start, start+step, ... up to stop,
// excluded), refusing more than MaxGenerated elements.
func boundedUntilStep(fn string, start, stop, step int) ([]int, error) {
	n := spanLen(start, stop, step)
	if n > MaxGenerated {
		return nil, fmt.Errorf("%s would produce %d elements, more than the %d a template may generate", fn, n, MaxGenerated)
	}
	v := make([]int, n)
	for k := range v {
		v[k] = start + k*step // between start and stop: cannot overflow
	}
	return v, nil
}

// spanLen is how many elements untilStep(start, stop, step) has, computed
// without overflow.
func spanLen(start, stop, step int) uint64 {
	switch {
	case step > 0 && stop > start:
		return (uint64(stop)-uint64(start)-1)/uint64(step) + 1
	case step < 0 && stop < start:
		return (uint64(start)-uint64(stop)-1)/(uint64(-(step+1))+1) + 1
	}
	return 0
}

// boundedSeq is sprig's seq (like the Unix command: seq END, seq START END,
// seq START STEP END, ends included), refusing more than MaxGenerated
// numbers.
func boundedSeq(params ...int) (string, error) {
	var start, step, end int
	switch len(params) {
	case 1:
		start, step, end = 1, 1, params[0]
	case 2:
		start, step, end = params[0], 1, params[1]
	case 3:
		start, step, end = params[0], params[1], params[2]
	default:
		return "", nil
	}
	past := 1 // stop one past the end, in the direction of travel
	if end < start {
		past = -1
		switch {
		case len(params) < 3:
			step = -1
		case step > 0:
			return "", nil
		}
	}
	v, err := boundedUntilStep("seq", start, end+past, step)
	if err != nil {
		return "", err
	}
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = strconv.Itoa(n)
	}
	return strings.Join(out, " "), nil
}

// asBudgetError reports whether err is a render stopped by a limit.
func asBudgetError(err error) (*budgetError, bool) {
	var be *budgetError
	ok := errors.As(err, &be)
	return be, ok
}
