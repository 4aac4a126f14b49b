package artifacts

import (
	"bufio"
	"encoding/json"
	"runtime"
	"strings"

	"github.com/quarrydev/quarry/internal/panics"
)

// objectStream writes a JSON document of nested objects one member at a
// time, each member as json.MarshalIndent (no prefix, two-space indent)
// writes it in place, so the whole is byte for byte what MarshalIndent
// writes for the equivalent value, without ever holding it in memory; or,
// compact, what json.Marshal writes. Members must come in the order
// MarshalIndent uses: struct fields in declaration order, map keys sorted.
type objectStream struct {
	w *bufio.Writer
	// compact leaves out the indentation: at 10,000 nodes, indenting a
	// manifest costs as much CPU as encoding it and adds a third to its size.
	compact bool
	open    []int // members written so far in each open object, outermost first
	err     error // the first encoding error; the writer keeps its own
}

// marshal encodes v as the stream writes it at depth open.
func (o *objectStream) marshal(v any, open int) ([]byte, error) {
	if o.compact {
		return json.Marshal(v)
	}
	return json.MarshalIndent(v, strings.Repeat("  ", open), "  ")
}

// begin opens an object, as member key of the open one if there is one
// (key is then ignored at the top).
func (o *objectStream) begin(key string) {
	o.key(key)
	o.w.WriteByte('{')
	o.open = append(o.open, 0)
}

// end closes the innermost open object.
func (o *objectStream) end() {
	last := len(o.open) - 1
	if o.open[last] > 0 && !o.compact {
		o.w.WriteString("\n" + strings.Repeat("  ", last))
	}
	o.w.WriteByte('}')
	o.open = o.open[:last]
}

// member writes key: v in the innermost open object.
func (o *objectStream) member(key string, v any) {
	o.key(key)
	o.value(v)
}

// value writes v at the current depth: as a member after key, or as the
// whole document.
func (o *objectStream) value(v any) {
	b, err := o.marshal(v, len(o.open))
	if err != nil {
		o.fail(err)
		return
	}
	o.w.Write(b)
}

// members writes n members in the innermost open object, member i being
// what member(i) returns. Encoding is most of a manifest's cost, so members
// are encoded on every core at once, a bounded window ahead of the one being
// written; they are written in order.
func (o *objectStream) members(n int, member func(i int) (string, any)) {
	type encoded struct {
		val      []byte
		key      string
		err      error
		panicked *panics.Error
	}
	depth := len(o.open)
	workers := runtime.GOMAXPROCS(0)
	// Each member's result comes through its own channel, queued in
	// order; the queue's capacity bounds how far encoding runs ahead.
	queue := make(chan chan encoded, 16*workers)
	go func() {
		defer close(queue)
		busy := make(chan struct{}, workers)
		for i := range n {
			done := make(chan encoded, 1)
			queue <- done
			busy <- struct{}{}
			go func() {
				defer func() { <-busy }()
				defer panics.Capture(func(e *panics.Error) { done <- encoded{panicked: e} })
				key, v := member(i)
				b, err := o.marshal(v, depth)
				done <- encoded{val: b, key: key, err: err}
			}()
		}
	}()
	var panicked *panics.Error
	for done := range queue {
		e := <-done
		if e.panicked != nil && panicked == nil {
			panicked = e.panicked
		}
		if e.err != nil {
			o.fail(e.err)
		}
		if e.err != nil || e.panicked != nil {
			continue // drain the queue, so that no encoder is left blocked
		}
		o.key(e.key)
		o.w.Write(e.val)
	}
	if panicked != nil {
		panic(panicked) // on the caller's goroutine, where quarry reports it
	}
}

func (o *objectStream) key(key string) {
	if len(o.open) == 0 {
		return
	}
	last := len(o.open) - 1
	if o.open[last] > 0 {
		o.w.WriteByte(',')
	}
	o.open[last]++
	if !o.compact {
		o.w.WriteString("\n" + strings.Repeat("  ", len(o.open)))
	}
	b, err := json.Marshal(key)
	if err != nil {
		o.fail(err)
		return
	}
	o.w.Write(b)
	if o.compact {
		o.w.WriteByte(':')
	} else {
		o.w.WriteString(": ")
	}
}

func (o *objectStream) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}
