package render

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
)

// execErr matches text/template's execution errors, which carry positions.
var execErr = regexp.MustCompile(`(?s)^template: (.*?):(\d+):(\d+): executing "[^"]*" at <.*?>: (?:error calling \w+: )?(.*)$`)

// parseErr matches text/template's parse errors, which carry a line.
var parseErr = regexp.MustCompile(`(?s)^template: (.*?):(\d+): (.*)$`)

// Diagnostic turns a text/template error into a diagnostic. src is the
// file's text, used to find a column when the error has none.
func Diagnostic(err error, fallbackPath string, sources map[string]string) diag.Diagnostic {
	if be, ok := asBudgetError(err); ok {
		if be.path == "" {
			return diag.Diagnostic{Path: fallbackPath, Msg: be.msg}
		}
		return diag.Diagnostic{Path: be.path, Line: be.line, Col: be.col, Msg: be.msg}
	}
	msg := err.Error()
	if m := execErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		// text/template counts columns from 0; editors count from 1.
		return diag.Diagnostic{Path: m[1], Line: line, Col: col + 1, Msg: m[4]}
	}
	if m := parseErr.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		text := m[3]
		col := guessColumn(sources[m[1]], line, text)
		return diag.Diagnostic{Path: m[1], Line: line, Col: col, Msg: "template syntax: " + text}
	}
	return diag.Diagnostic{Path: fallbackPath, Msg: msg}
}

// guessColumn finds where on line the quoted token of msg appears, or the
// first action on the line: parse errors only carry a line.
func guessColumn(src string, line int, msg string) int {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	l := lines[line-1]
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j > 0 {
			if k := strings.Index(l, msg[i+1:i+1+j]); k >= 0 {
				return k + 1
			}
		}
	}
	if k := strings.Index(l, "{{"); k >= 0 {
		return k + 1
	}
	return 1
}
