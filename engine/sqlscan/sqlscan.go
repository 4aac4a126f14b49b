// Package sqlscan finds where SQL statements begin and end without parsing
// them: it knows only the lexical rules that decide whether a semicolon ends
// a statement, namely quotes and comments. quarry sends a model's SQL to the
// warehouse inside a larger statement (CREATE ... AS, a subquery), so a text
// holding a second statement would smuggle it past everything quarry does
// around the first; this package is how the engine and the warehouses tell.
//
// The rules, checked against DuckDB itself (duckdb.TestSyntaxMatchesDuckDB)
// and against Snowflake's documentation:
//
//   - '...' strings, in which a quote written twice stands for one. In
//     Snowflake a backslash also escapes the next character ('it\'s'); in
//     DuckDB it does only in E'...' strings, as in PostgreSQL.
//   - "..." identifiers, with "" standing for one double quote. A backtick
//     quotes nothing in either warehouse (DuckDB reads it as an operator), so
//     it is an ordinary character here: a semicolon between backticks ends
//     a statement, as it does for the warehouse.
//   - -- comments to the end of the line; in Snowflake // ones too (in
//     DuckDB, // is integer division).
//   - /* ... */ comments. DuckDB nests them, as PostgreSQL does
//     (/* a /* b */ c */ is one comment); Snowflake does not (the first */
//     ends it).
//   - $$...$$ strings, with no escapes inside. DuckDB also accepts a tag,
//     $tag$...$tag$, as PostgreSQL does; Snowflake does not. A $ that follows
//     a letter, digit, _ or $ belongs to an identifier (a$b), and $1 or $name
//     (parameters, Snowflake variables) open nothing.
package sqlscan

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Syntax is what the scanner needs to know of a dialect's lexical rules.
// The zero value is standard SQL: no backslash escapes outside E'...'
// strings, no nested comments, $$ quotes without tags.
type Syntax struct {
	// BackslashEscapes makes a backslash escape the next character in every
	// '...' string, not only in E'...' ones (Snowflake).
	BackslashEscapes bool
	// NestedComments makes /* inside a block comment open a nested one,
	// which needs its own */ (DuckDB, PostgreSQL).
	NestedComments bool
	// DollarTags accepts $tag$...$tag$ quotes besides $$...$$ (DuckDB,
	// PostgreSQL).
	DollarTags bool
	// SlashComments makes // start a comment to the end of the line, as
	// -- does (Snowflake).
	SlashComments bool
}

// Span is the byte range [Start, End) of one statement in a text: from the
// first byte of its first token to the last byte of its last one, so it
// excludes the blanks and comments around it and its terminating semicolon.
type Span struct {
	Start, End int
}

// UnterminatedError reports a quote or comment that the text never closes:
// everything after its opener would belong to it.
type UnterminatedError struct {
	Offset int    // of the opener
	What   string // e.g. "string literal", "block comment"
	Closer string // what would close it
}

func (e *UnterminatedError) Error() string {
	return fmt.Sprintf("unterminated %s starting at byte %d: it needs a closing %s", e.What, e.Offset, e.Closer)
}

// MultipleError reports a text holding more than one statement where one
// was expected.
type MultipleError struct {
	Count  int    // statements found
	Offset int    // where the second one starts
	Second string // the start of the second one, shortened for messages
}

func (e *MultipleError) Error() string {
	return fmt.Sprintf("the SQL holds %d statements where exactly one is allowed; the second starts at byte %d (`%s`)", e.Count, e.Offset, e.Second)
}

// ErrEmpty is returned by Single for a text holding no statement at all,
// only blanks, comments and semicolons.
var ErrEmpty = errors.New("the SQL holds no statement, only blanks and comments")

// Statements returns the span of every non-empty statement in sql, in
// order. Semicolons with nothing but blanks and comments before them (a
// trailing ";", or ";;") end no statement. When a quote or comment is never
// closed it returns the spans found, the last one running to the end of sql,
// and an *UnterminatedError.
func (s Syntax) Statements(sql string) ([]Span, error) {
	sc := s.scan(sql)
	return sc.spans, sc.err
}

// Single returns sql ready to be embedded in a larger statement: the text
// of its one statement with the semicolons after it blanked out, trimmed,
// its comments kept. It returns a *MultipleError when sql holds more than
// one statement, ErrEmpty when it holds none, and an *UnterminatedError
// when a quote or comment is never closed.
func (s Syntax) Single(sql string) (string, error) {
	sc := s.scan(sql)
	switch {
	case sc.err != nil:
		return "", sc.err
	case len(sc.spans) == 0:
		return "", ErrEmpty
	case len(sc.spans) > 1:
		sp := sc.spans[1]
		return "", &MultipleError{Count: len(sc.spans), Offset: sp.Start, Second: Shorten(sql[sp.Start:sp.End], 40)}
	}
	// Blank rather than delete: the semicolon may sit between a token and
	// a comment, and must not glue them together.
	b := []byte(sql)
	for _, i := range sc.semis {
		b[i] = ' '
	}
	return strings.TrimSpace(string(b)), nil
}

// Shorten returns the first line of stmt, cut to at most max runes with
// "..." marking what was left out, for quoting in a message.
func Shorten(stmt string, max int) string {
	line, _, more := strings.Cut(strings.TrimSpace(stmt), "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > max {
		line = string([]rune(line)[:max])
		more = true
	}
	if more {
		line = strings.TrimSpace(line) + " ..."
	}
	return line
}

// scanner holds the result of one pass over a text.
type scanner struct {
	spans []Span
	semis []int // offsets of the semicolons outside quotes and comments
	err   error
}

func (s Syntax) scan(sql string) *scanner {
	sc := &scanner{}
	start, end := -1, -1 // the current statement's first and last token
	token := func(from, to int) {
		if start < 0 {
			start = from
		}
		end = to
	}
	// fail ends the scan at an opener never closed: the statement it is in
	// runs to the end of the text (a comment alone starts none).
	fail := func(at int, what, closer string, isToken bool) *scanner {
		if start < 0 && isToken {
			start = at
		}
		if start >= 0 {
			sc.spans = append(sc.spans, Span{start, len(sql)})
		}
		sc.err = &UnterminatedError{Offset: at, What: what, Closer: closer}
		return sc
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case isBlank(c):
			i++
		case c == ';':
			if start >= 0 {
				sc.spans = append(sc.spans, Span{start, end})
				start = -1
			}
			sc.semis = append(sc.semis, i)
			i++
		case c == '-' && strings.HasPrefix(sql[i:], "--"),
			c == '/' && s.SlashComments && strings.HasPrefix(sql[i:], "//"):
			nl := strings.IndexByte(sql[i:], '\n')
			if nl < 0 {
				i = len(sql)
			} else {
				i += nl + 1
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			j, ok := s.blockComment(sql, i)
			if !ok {
				return fail(i, "block comment", "*/", false)
			}
			i = j
		case c == '\'':
			escapes := s.BackslashEscapes || isEscapePrefix(sql, i)
			j, ok := quoted(sql, i, '\'', escapes)
			if !ok {
				return fail(i, "string literal", "'", true)
			}
			token(i, j)
			i = j
		case c == '"':
			j, ok := quoted(sql, i, '"', false)
			if !ok {
				return fail(i, "quoted identifier", `"`, true)
			}
			token(i, j)
			i = j
		case c == '$':
			tag, ok := s.dollarTag(sql, i)
			if !ok {
				token(i, i+1)
				i++
				break
			}
			k := strings.Index(sql[i+len(tag):], tag)
			if k < 0 {
				return fail(i, "dollar-quoted string", tag, true)
			}
			j := i + len(tag) + k + len(tag)
			token(i, j)
			i = j
		default:
			token(i, i+1)
			i++
		}
	}
	if start >= 0 {
		sc.spans = append(sc.spans, Span{start, end})
	}
	return sc
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isIdentChar reports whether c can continue an unquoted identifier; bytes
// of multi-byte UTF-8 characters count as letters.
func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isEscapePrefix reports whether the quote at sql[q] opens an E'...' string:
// an E that is a word of its own, not the end of an identifier like "tablE".
func isEscapePrefix(sql string, q int) bool {
	return q >= 1 && (sql[q-1] == 'E' || sql[q-1] == 'e') && (q == 1 || !isIdentChar(sql[q-2]))
}

// quoted returns the offset just past the quote that closes the one at
// sql[i], a doubled quote standing for itself.
func quoted(sql string, i int, q byte, backslash bool) (int, bool) {
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++ // the escaped byte, whatever it is
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return 0, false
}

// blockComment returns the offset just past the comment opened at sql[i].
func (s Syntax) blockComment(sql string, i int) (int, bool) {
	depth := 0
	for j := i; j+1 < len(sql); {
		switch {
		case sql[j] == '/' && sql[j+1] == '*' && (depth == 0 || s.NestedComments):
			depth++
			j += 2
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j += 2
			if depth == 0 {
				return j, true
			}
		default:
			j++
		}
	}
	return 0, false
}

// dollarTag returns the opening delimiter of a dollar-quoted string at
// sql[i] ("$$" or "$tag$"), or false when that $ opens none.
func (s Syntax) dollarTag(sql string, i int) (string, bool) {
	if i > 0 && isIdentChar(sql[i-1]) {
		return "", false // inside an identifier such as a$b
	}
	rest := sql[i+1:]
	if strings.HasPrefix(rest, "$") {
		return "$$", true
	}
	if !s.DollarTags || rest == "" || !isIdentChar(rest[0]) || '0' <= rest[0] && rest[0] <= '9' || rest[0] == '$' {
		return "", false // $1, $name: a parameter or variable
	}
	for j := 1; j < len(rest); j++ {
		switch c := rest[j]; {
		case c == '$':
			return sql[i : i+j+2], true
		case !isIdentChar(c):
			return "", false
		}
	}
	return "", false
}
