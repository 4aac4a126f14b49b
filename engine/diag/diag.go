// Package diag collects positioned problems found while loading and
// compiling a project, so that every problem is reported at once in the
// `path:line:col: message` form that editors and terminals understand.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Diagnostic is one problem at one place in one file.
type Diagnostic struct {
	Path string // relative to the project directory, slash-separated
	Line int    // 1-based; 0 when the problem concerns the whole file
	Col  int    // 1-based; 0 when unknown
	Msg  string
}

func (d Diagnostic) String() string {
	switch {
	case d.Path == "":
		return d.Msg
	case d.Line == 0:
		return fmt.Sprintf("%s: %s", d.Path, d.Msg)
	case d.Col == 0:
		return fmt.Sprintf("%s:%d: %s", d.Path, d.Line, d.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", d.Path, d.Line, d.Col, d.Msg)
}

// List gathers diagnostics from concurrent loaders. The zero value is ready.
type List struct {
	mu    sync.Mutex
	items []Diagnostic
}

// Add records a problem.
func (l *List) Add(path string, line, col int, format string, args ...any) {
	l.Append(Diagnostic{Path: path, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// Append records already built diagnostics.
func (l *List) Append(ds ...Diagnostic) {
	l.mu.Lock()
	l.items = append(l.items, ds...)
	l.mu.Unlock()
}

// Len reports how many problems were recorded.
func (l *List) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.items)
}

// Err returns nil when nothing was recorded, or an *Error holding every
// problem sorted by file and position so output is stable across runs.
func (l *List) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.items) == 0 {
		return nil
	}
	items := slices.Clone(l.items)
	slices.SortStableFunc(items, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	items = slices.Compact(items)
	return &Error{Diagnostics: items}
}

// Error is the error form of a non-empty List.
type Error struct {
	Diagnostics []Diagnostic
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diagnostics {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// LineCol converts a byte offset in src into a 1-based line and column
// (the column counts bytes, as Go's own tools do).
func LineCol(src string, offset int) (line, col int) {
	if offset > len(src) {
		offset = len(src)
	}
	before := src[:offset]
	line = strings.Count(before, "\n") + 1
	col = offset - strings.LastIndexByte(before, '\n')
	return line, col
}
