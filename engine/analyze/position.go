package analyze

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
)

// problem reports a statement that does not bind, when n is one of the
// nodes being reported on. A generic test's SQL is quarry's, so the problem
// is put where the test is declared; a model's or singular test's is put
// where the compiled line comes from in the file the user wrote, or else in
// the compiled file, saying so.
func (a *analyser) problem(n *project.Node, line, col int, msg string) {
	if !a.report[n.UniqueID] {
		return
	}
	if n.Type == project.Test && n.Test.Kind != datatest.Singular {
		file, l, c := a.p.TestPosition(n)
		a.diags.Add(file, l, c, "test %s: %s", n.Name, msg)
		return
	}
	if line == 0 {
		a.diags.Add(n.Path, 0, 0, "%s", msg)
		return
	}
	if l, c, ok := inSource(n.Raw, n.Compiled, line, col); ok {
		a.diags.Add(n.Path, l, c, "%s", msg)
		return
	}
	compiled := project.CompiledPath(n)
	note := fmt.Sprintf(" (in the compiled SQL: this line is not written as such in %s)", n.Path)
	if err := a.p.WriteSQL(compiled, n.Compiled); err != nil {
		note = fmt.Sprintf(" (in the compiled SQL of %s, which could not be written: %v)", n.Path, err)
	}
	a.diags.Add(compiled, line, col, "%s%s", msg, note)
}

// inSource maps a position in the compiled SQL to the template it came
// from, where the compiled line is the template's text: either literally,
// or with its template actions ({{ ref "x" }}) replaced by what they
// rendered. The k-th such line in the compiled SQL is taken to be the k-th
// in the template. A position inside what an action rendered is put at the
// action.
func inSource(raw, compiled string, line, col int) (int, int, bool) {
	clines := strings.Split(compiled, "\n")
	if line < 1 || line > len(clines) {
		return 0, 0, false
	}
	target := strings.TrimRight(clines[line-1], "\r")
	if strings.TrimSpace(target) == "" {
		return 0, 0, false
	}
	rlines := strings.Split(raw, "\n")
	var matches []int
	patterns := make([]*linePattern, len(rlines))
	for i, l := range rlines {
		patterns[i] = newLinePattern(strings.TrimRight(l, "\r"))
		if patterns[i].match(target) != nil {
			matches = append(matches, i)
		}
	}
	if len(matches) == 0 {
		return 0, 0, false
	}
	k := 0
	for _, l := range clines[:line-1] {
		if patterns[matches[0]].match(strings.TrimRight(l, "\r")) != nil {
			k++
		}
	}
	at := matches[min(k, len(matches)-1)]
	if col == 0 {
		return at + 1, 0, true
	}
	return at + 1, patterns[at].column(target, col), true
}

// linePattern is one template line as a pattern over the lines it can
// render: its literal pieces as they are, its actions as anything.
type linePattern struct {
	re     *regexp.Regexp
	pieces []piece
}

// piece is a literal run of the template line, or an action, at its byte
// offset in the line.
type piece struct {
	action bool
	offset int
}

var actionRe = regexp.MustCompile(`\{\{.*?\}\}`)

func newLinePattern(line string) *linePattern {
	lp := &linePattern{}
	var b strings.Builder
	b.WriteString(`^\s*`)
	last := 0
	for _, m := range actionRe.FindAllStringIndex(line, -1) {
		lp.literal(&b, line, last, m[0])
		lp.pieces = append(lp.pieces, piece{action: true, offset: m[0]})
		b.WriteString(`(.*?)`)
		last = m[1]
	}
	lp.literal(&b, line, last, len(line))
	b.WriteString(`\s*$`)
	lp.re = regexp.MustCompile(b.String())
	return lp
}

func (lp *linePattern) literal(b *strings.Builder, line string, from, to int) {
	text := strings.TrimSpace(line[from:to])
	if text == "" {
		b.WriteString(`()`)
		lp.pieces = append(lp.pieces, piece{offset: from})
		return
	}
	// Trim markers ({{- -}}) may take the whitespace around actions.
	b.WriteString(`\s*(` + regexp.QuoteMeta(text) + `)\s*`)
	lp.pieces = append(lp.pieces, piece{offset: from + strings.Index(line[from:to], text)})
}

func (lp *linePattern) match(s string) []int {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return lp.re.FindStringSubmatchIndex(s)
}

// column maps a 1-based column of s, a line lp matches, to the template
// line: inside a literal piece exactly, inside an action's output at the
// action.
func (lp *linePattern) column(s string, col int) int {
	m := lp.match(s)
	at := col - 1
	for i, p := range lp.pieces {
		start, end := m[2+2*i], m[3+2*i]
		if at < start || at >= end && i < len(lp.pieces)-1 {
			continue
		}
		if p.action {
			return p.offset + 1
		}
		return p.offset + at - start + 1
	}
	return 1
}
