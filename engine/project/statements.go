package project

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
	"github.com/quarrydev/quarry/engine/sqlscan"
)

// syntax is the lexical rules of the project's warehouse, which decide
// where a statement ends.
func (p *Project) syntax() sqlscan.Syntax {
	if p.Dialect == nil {
		return sqlscan.Syntax{} // no adapter: already reported, nothing will run
	}
	return p.Dialect.Syntax()
}

// checkStatements reports a model or singular test whose rendered SQL holds
// other than exactly one statement. quarry wraps that SQL in CREATE ... AS or
// a subquery, so a second statement would run outside write-audit-publish
// and every other guarantee, e.g. drop the live datamart, while the node
// reports success. A terminating semicolon is fine. The problem is reported
// where the offending text comes from: the model's file, or a macro's.
func (p *Project) checkStatements(n *Node, rendered string, diags *diag.List) {
	what, fix := "a model", "remove it or move it into its own model"
	if n.Type == Test {
		what, fix = "a singular test", "remove it: a test is one select of the rows that fail it"
	}
	// Placeholders are masked so that a quote in a node's name, which they
	// carry, is not taken for a string.
	spans, err := p.syntax().Statements(maskPlaceholders(rendered))
	var ue *sqlscan.UnterminatedError
	switch {
	case errors.As(err, &ue):
		path, line, col, via := p.locate(n, rendered, ue.Offset)
		diags.Add(path, line, col, "unterminated %s: nothing closes the %s here%s, so it would swallow the rest of the SQL; close it with %s",
			ue.What, opener(rendered[ue.Offset:]), via, ue.Closer)
	case err != nil:
		diags.Add(n.Path, 0, 0, "%v", err) // Statements returns no other error
	case len(spans) == 0:
		// The file itself is not empty (renderModels checks that first):
		// its template rendered nothing.
		diags.Add(n.Path, 1, 1, "the %s renders to no SQL (is everything inside an if that is false?): %s", n.Type, emptyFix(n))
	case len(spans) > 1:
		second := spans[1]
		path, line, col, via := p.locate(n, rendered, second.Start)
		diags.Add(path, line, col, "%s must hold exactly one statement: found a second one starting here (`%s`)%s; %s",
			what, sqlscan.Shorten(showPlaceholders(rendered[second.Start:second.End]), 40), via, fix)
	}
}

// opener is the quote or comment opener at the start of s, for messages.
func opener(s string) string {
	for _, o := range []string{"/*", "$$", "'", `"`} {
		if strings.HasPrefix(s, o) {
			return o
		}
	}
	if i := strings.IndexByte(s[1:], '$'); s[0] == '$' && i >= 0 {
		return s[:i+2] // $tag$
	}
	return s[:1]
}

// maskPlaceholders replaces every placeholder the template functions wrote
// (ref, source, this) with as many x's, so offsets stay the same.
func maskPlaceholders(s string) string {
	if !strings.Contains(s, phEnd) {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		j := strings.IndexByte(s[i+1:], 0)
		if j < 0 {
			break
		}
		for k := i; k <= i+1+j; k++ {
			b[k] = 'x'
		}
		i += 1 + j
	}
	return string(b)
}

// showPlaceholders turns placeholders back into the template calls that
// wrote them, for quoting rendered SQL in a message.
func showPlaceholders(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 || len(s) < i+3 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i+1:], 0)
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		token, arg := s[i:i+3], s[i+3:i+1+j]
		switch token {
		case phRef:
			fmt.Fprintf(&b, "{{ ref %q }}", arg)
		case phSource:
			src, table, _ := strings.Cut(arg, ".")
			fmt.Fprintf(&b, "{{ source %q %q }}", src, table)
		case phThis:
			b.WriteString("{{ this }}")
		}
		s = s[i+2+j:]
	}
}

// locate maps offset in n's rendered SQL back to a file position. The text starting there is looked up literally: in the
// node's own file first, then in the macro files. When neither holds it
// (an expression produced it), the position is the node's first macro call,
// or else the rendered line. via says where the text was rendered into
// when that is not the file pointed at.
func (p *Project) locate(n *Node, rendered string, offset int) (path string, line, col int, via string) {
	// The probe ends at the line's end, or at a placeholder, which the
	// source spells as a template call.
	probe := rendered[offset:]
	if i := strings.IndexAny(probe, "\r\n\x00"); i >= 0 {
		probe = probe[:i]
	}
	probe = strings.TrimRight(probe, " \t")
	if probe != "" {
		// The k-th occurrence in the rendered text is most likely the
		// k-th in the source, when the text is the source's own.
		k := strings.Count(rendered[:offset], probe)
		if i := nthIndex(n.Raw, probe, k); i >= 0 {
			line, col = diag.LineCol(n.Raw, i)
			return n.Path, line, col, ""
		}
		for _, rel := range slices.Sorted(maps.Keys(p.macroSrc)) {
			if i := strings.Index(p.macroSrc[rel], probe); i >= 0 {
				line, col = diag.LineCol(p.macroSrc[rel], i)
				return rel, line, col, fmt.Sprintf(", rendered into %s", n.Path)
			}
		}
	}
	if n.tmpl != nil && n.tmpl.Tree != nil {
		var call *parse.TemplateNode
		render.Walk(n.tmpl.Tree.Root, func(node parse.Node) bool {
			call, _ = node.(*parse.TemplateNode)
			return call == nil
		})
		if call != nil {
			line, col = render.Position(n.tmpl.Tree, call)
			return n.Path, line, col, fmt.Sprintf(", from the macro %q called here", call.Name)
		}
	}
	line, _ = diag.LineCol(rendered, offset)
	return n.Path, min(line, strings.Count(n.Raw, "\n")+1), 0, ""
}

// nthIndex returns the index of the k-th (from 0) occurrence of sub in s,
// or of the first when there are fewer, or -1 when there is none.
func nthIndex(s, sub string, k int) int {
	first := strings.Index(s, sub)
	at := first
	for ; k > 0 && at >= 0; k-- {
		next := strings.Index(s[at+1:], sub)
		if next < 0 {
			return first
		}
		at += 1 + next
	}
	return at
}
