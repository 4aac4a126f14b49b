// Package seed reads one seed file, a CSV, into a typed table: it decodes
// the file's bytes from their declared encoding, parses the CSV, checks the
// header, converts the values of pinned columns, infers the types of the
// others, and reports every problem by the file's line and column. It knows
// nothing of projects or nodes: finding seed files, their property-file
// entries and loading the rows into a warehouse belong to its callers.
package seed

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/english"
)

// Seed encodings. A spreadsheet exports CSV in the machine's legacy code
// page unless told otherwise; those bytes are not UTF-8, and DuckDB given
// them stores NULL. Such a file must be declared, so that it is decoded,
// or it is refused: its encoding is never guessed.
const (
	UTF8        = "utf-8"
	Latin1      = "latin-1"
	Windows1252 = "windows-1252"
)

// Encodings lists the accepted encodings and their aliases, for messages.
const Encodings = "utf-8, latin-1 (alias iso-8859-1), windows-1252 (alias cp1252)"

// encodingNames maps every accepted spelling (lower case) to its canonical
// name.
var encodingNames = map[string]string{
	"utf-8": UTF8, "utf8": UTF8,
	"latin-1": Latin1, "latin1": Latin1, "iso-8859-1": Latin1, "iso8859-1": Latin1,
	"windows-1252": Windows1252, "cp1252": Windows1252,
}

// LookupEncoding returns the canonical name of an encoding spelled name, in
// any case and with surrounding spaces, and whether it is one Read decodes.
func LookupEncoding(name string) (string, bool) {
	enc, ok := encodingNames[strings.ToLower(strings.TrimSpace(name))]
	return enc, ok
}

// Options says how to read a seed file.
type Options struct {
	Name         string            // the seed's name, for the hint on declaring its encoding
	Encoding     string            // canonical encoding (UTF8, Latin1, Windows1252); "" for UTF8
	EncodingFrom string            // where the encoding comes from, as messages say it
	ColumnTypes  map[string]string // pinned column types, by column name in any case
	TypesFile    string            // the property file that pinned them, for messages
}

// Table is a seed file read: its columns and typed rows, and where in the
// file each row and pinned value is, so that a value the warehouse refuses
// can be reported by its cell.
type Table struct {
	Path      string             // the file, as messages name it
	TypesFile string             // the property file that pinned column types
	Columns   []warehouse.Column // named by the header; typed as pinned or inferred
	Rows      [][]any            // typed values, nil for NULL
	Lines     []int              // the file line of each row
	Cells     [][]int            // the file column of each pinned value, by row; nil rows when none is pinned
}

// Names returns the column names, as the header line gives them (trimmed).
func (t *Table) Names() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// Read reads the seed file whose bytes are raw; path names it in
// diagnostics, added to diags. It returns the table and whether the whole
// file is sound. A file whose header is sound but whose rows are not gives
// the table with its columns named and no rows, so that the names can still
// be checked against what describes them; a file unreadable before that
// gives nil.
func Read(raw []byte, path string, opts Options, diags *diag.List) (*Table, bool) {
	enc, declared := opts.Encoding, opts.EncodingFrom
	if enc == "" {
		enc = UTF8
	}
	s := &reader{path: path, name: opts.Name, diags: diags}
	if !s.decode(raw, enc, declared) {
		return nil, false
	}
	if strings.TrimSpace(s.src) == "" {
		diags.Add(path, 1, 1, "the seed is empty: its first line must name the columns (e.g. id,name), then one row per line (or delete the file)")
		return nil, false
	}
	r := csv.NewReader(strings.NewReader(s.src))
	rec, err := r.Read()
	if err != nil {
		s.csvError(err)
		return nil, false
	}
	header, ok := s.header(r, rec)
	if !ok {
		return nil, false
	}
	t := &Table{Path: path, TypesFile: opts.TypesFile, Columns: make([]warehouse.Column, len(header))}
	for i, h := range header {
		t.Columns[i].Name = h
		for c, typ := range opts.ColumnTypes {
			if strings.EqualFold(c, h) {
				t.Columns[i].Type = typ
			}
		}
	}
	return t, s.rows(r, t)
}

// maxProblems caps the problems reported per seed file: a column pinned to
// the wrong type fails on every row, and the first few say it.
const maxProblems = 10

// reader reads one seed file, turning positions in the decoded text back
// into positions in the file and capping the problems it reports.
type reader struct {
	path     string // the file, as diagnostics name it
	name     string // the seed's name
	diags    *diag.List
	src      string // the file as UTF-8, without its byte order mark
	bom      int    // bytes of byte order mark removed from line 1
	perByte  bool   // the file has one byte per character (latin-1, windows-1252)
	lines    []int  // offsets in src where each line starts, computed on demand
	problems int
	moreAt   [2]int // the line and column of the first problem not shown
}

// pos converts a csv position (bytes of the decoded text) into a position
// in the file: bytes, as everywhere else in quarry, which for a
// single-byte encoding is the character count.
func (s *reader) pos(line, col int) (int, int) {
	if col < 1 {
		return line, col // the whole line
	}
	if s.perByte {
		text := s.line(line)
		col = utf8.RuneCountInString(text[:min(col-1, len(text))]) + 1
	}
	if line == 1 {
		col += s.bom
	}
	return line, col
}

// line returns the text of a line (1-based) of s.src, without its end.
func (s *reader) line(line int) string {
	if s.lines == nil {
		s.lines = []int{0}
		for i := range len(s.src) {
			if s.src[i] == '\n' {
				s.lines = append(s.lines, i+1)
			}
		}
	}
	if line < 1 || line > len(s.lines) {
		return ""
	}
	text, _, _ := strings.Cut(s.src[s.lines[line-1]:], "\n")
	return text
}

// problem reports a problem at a csv position, up to maxProblems.
func (s *reader) problem(line, col int, format string, args ...any) {
	s.problems++
	switch {
	case s.problems <= maxProblems:
		line, col = s.pos(line, col)
		s.diags.Add(s.path, line, col, format, args...)
	case s.problems == maxProblems+1:
		s.moreAt = [2]int{line, col}
	}
}

// flush reports, where the first of them is, how many problems were left
// out.
func (s *reader) flush() {
	if more := s.problems - maxProblems; more > 0 {
		line, col := s.pos(s.moreAt[0], s.moreAt[1])
		s.diags.Add(s.path, line, col, "%d more %s from here on, not shown: fix the ones above and run again", more, english.Plural(more, "problem", "problems"))
		s.problems = maxProblems // reported
	}
}

// decode checks the file's bytes against its encoding enc (declared says
// where that comes from) and leaves the text, as UTF-8, in s.src.
func (s *reader) decode(raw []byte, enc, declared string) bool {
	if bytes.HasPrefix(raw, []byte{0xff, 0xfe}) || bytes.HasPrefix(raw, []byte{0xfe, 0xff}) {
		s.diags.Add(s.path, 1, 1, "the file is UTF-16 (it starts with the byte order mark % X): save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)", raw[:2])
		return false
	}
	utf8BOM := []byte{0xef, 0xbb, 0xbf}
	if bytes.HasPrefix(raw, utf8BOM) {
		// Excel's "CSV UTF-8" starts with a byte order mark; it is not
		// part of the first column's name.
		if enc != UTF8 {
			s.diags.Add(s.path, 1, 1, "the file starts with a UTF-8 byte order mark, so it is UTF-8, not %s (%s): remove that encoding", enc, declared)
			return false
		}
		raw, s.bom = raw[len(utf8BOM):], len(utf8BOM)
	}
	switch enc {
	case Latin1, Windows1252:
		cm := charmap.ISO8859_1
		if enc == Windows1252 {
			cm = charmap.Windows1252
		}
		for i, b := range raw {
			r := cm.DecodeByte(b)
			switch {
			case r == utf8.RuneError:
				// Five bytes are unassigned in windows-1252.
				line, col := diag.LineCol(string(raw), i)
				s.diags.Add(s.path, line, col+s.bomOn(line), "byte 0x%02X is not a character in windows-1252: the file is in another encoding (try latin-1), or re-save it as UTF-8", b)
				return false
			case r >= 0x80 && r <= 0x9f:
				// Latin-1 maps 0x80-0x9F to control characters that no
				// text holds; a file that has them is windows-1252, where
				// they are letters and signs such as € and ’.
				line, col := diag.LineCol(string(raw), i)
				s.diags.Add(s.path, line, col+s.bomOn(line), "byte 0x%02X is a control character in latin-1 (%s), so the file is probably windows-1252, where it is %q: declare encoding: windows-1252 instead",
					b, declared, string(charmap.Windows1252.DecodeByte(b)))
				return false
			}
		}
		src, err := cm.NewDecoder().Bytes(raw)
		if err != nil {
			s.diags.Add(s.path, 0, 0, "decode as %s: %v", enc, err)
			return false
		}
		s.src, s.perByte = string(src), true
	default:
		if i := invalidUTF8(raw); i >= 0 {
			line, col := diag.LineCol(string(raw), i)
			s.diags.Add(s.path, line, col+s.bomOn(line), "byte 0x%02X is not valid UTF-8 (%s)%s: declare the file's encoding on the seed in a property file (seeds: - name: %s, encoding: latin-1 or windows-1252), or re-save the file as CSV UTF-8",
				raw[i], declared, legacyMeaning(raw[i]), s.name)
			return false
		}
		s.src = string(raw)
	}
	if i := strings.IndexByte(s.src, 0); i >= 0 {
		line, col := s.pos(diag.LineCol(s.src, i))
		s.diags.Add(s.path, line, col, "NUL byte: a CSV holds text, and this file does not look like text (UTF-16 or a spreadsheet file renamed .csv?): save it as CSV UTF-8")
		return false
	}
	return true
}

// legacyMeaning says what byte b of a file that is not UTF-8 would be in
// the legacy encodings, to help pick one.
func legacyMeaning(b byte) string {
	latin, win := charmap.ISO8859_1.DecodeByte(b), charmap.Windows1252.DecodeByte(b)
	switch {
	case b < 0x80:
		return "" // part of a sequence that is not UTF-8
	case latin == win:
		return fmt.Sprintf("; in latin-1 and windows-1252 it is %q", string(latin))
	case win == utf8.RuneError || unicode.IsControl(win):
		return ""
	}
	return fmt.Sprintf("; in windows-1252 it is %q", string(win))
}

// bomOn returns the columns a byte order mark takes on line.
func (s *reader) bomOn(line int) int {
	if line == 1 {
		return s.bom
	}
	return 0
}

// invalidUTF8 returns the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// csvError reports an error of the csv reader that ends the reading.
func (s *reader) csvError(err error) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		s.diags.Add(s.path, 0, 0, "unreadable CSV: %v", err)
		return
	}
	switch {
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		// The quote that opened the value is the likely culprit: the
		// last one on its line that starts a value.
		col := 0
		text := s.line(pe.StartLine)
		for i := range len(text) {
			if text[i] == '"' && (i == 0 || text[i-1] == ',') {
				col = i + 1
			}
		}
		s.problem(pe.StartLine, col, "unreadable CSV: the quoted value that starts here is not closed where it should be: it runs on to line %d (a quote inside a value must be doubled: \"say \"\"hi\"\"\")", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
		s.problem(pe.Line, pe.Column, "unreadable CSV: %v: a value holding a comma, a quote or a line break must be wrapped in double quotes, with each quote inside doubled (\"say \"\"hi\"\"\")", pe.Err)
	default:
		s.problem(pe.Line, pe.Column, "unreadable CSV: %v", pe.Err)
	}
	s.flush()
}

// header checks the column names, trimmed of spaces, and returns them.
func (s *reader) header(r *csv.Reader, rec []string) ([]string, bool) {
	ok := true
	seen := map[string]int{}
	header := make([]string, len(rec))
	for i, h := range rec {
		h = strings.TrimSpace(h)
		header[i] = h
		line, col := r.FieldPos(i)
		switch {
		case h == "":
			s.problem(line, col, "column %d has no name in the header line: name it, or remove the extra comma", i+1)
			ok = false
		case strings.ContainsAny(h, "\r\n"):
			s.problem(line, col, "column %d's name %q holds a line break: if the file's lines end in a lone CR (classic Mac), re-save it with LF or CRLF line endings; otherwise remove the line break from the name", i+1, h)
			ok = false
		default:
			// Warehouses match column names without regard to case.
			if j, dup := seen[strings.ToLower(h)]; dup {
				s.problem(line, col, "column %q appears twice in the header (columns %d and %d, %q): rename one", h, j+1, i+1, header[j])
				ok = false
			} else {
				seen[strings.ToLower(h)] = i
			}
		}
	}
	s.flush()
	return header, ok
}

// rows reads the data rows, converting each value of a pinned column as it
// goes (so that a bad value is reported where it is), then infers the
// other columns' types from their values. It fills t's rows, and types its
// columns, only if every row is sound.
func (s *reader) rows(r *csv.Reader, t *Table) bool {
	cols := slices.Clone(t.Columns)
	var rows [][]any
	var lines []int
	// Where each value of a pinned column is: the warehouse may yet reject
	// one of a type that is not checked here, and the message names it.
	var cells [][]int
	pinned := slices.ContainsFunc(cols, func(c warehouse.Column) bool { return c.Type != "" })
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			s.problem(pe.StartLine, 1, "this row has %d %s, the header has %d (%s): add or remove values (a value holding a comma must be in double quotes)",
				len(rec), english.Plural(len(rec), "value", "values"), len(cols), strings.Join(t.Names(), ", "))
			continue
		}
		if err != nil {
			s.csvError(err)
			return false
		}
		line, _ := r.FieldPos(0)
		row := make([]any, len(rec))
		var at []int
		if pinned {
			at = make([]int, len(rec))
		}
		for i, v := range rec {
			if cols[i].Type == "" {
				row[i] = v // typed below, once the column's values are known
				continue
			}
			l, c := r.FieldPos(i)
			_, at[i] = s.pos(l, c)
			val, err := convert(v, cols[i].Type)
			if err != nil {
				s.problem(l, c, "column %q is pinned as %s in %s, but %v: correct the value, leave it empty for NULL, or change the column's type",
					cols[i].Name, cols[i].Type, t.TypesFile, err)
			}
			row[i] = val
		}
		rows = append(rows, row)
		lines = append(lines, line)
		cells = append(cells, at)
	}
	if s.problems > 0 {
		s.flush()
		return false
	}
	for i := range cols {
		if cols[i].Type != "" {
			continue
		}
		cols[i].Type = inferType(rows, i)
		for r, row := range rows {
			v, err := convert(row[i].(string), cols[i].Type)
			if err != nil {
				// inferType only picks a type every value converts to.
				s.problem(lines[r], 0, "column %q: %v (inferred as %s): this is a bug in quarry's type inference", cols[i].Name, err, cols[i].Type)
			}
			row[i] = v
		}
	}
	s.flush()
	if s.problems > 0 {
		return false
	}
	t.Columns, t.Rows, t.Lines, t.Cells = cols, rows, lines, cells
	return true
}

// ValueError names, by file, line and column, a value the warehouse refused
// to convert to a pinned type that Read does not check itself; an error
// that names no row of t is returned as it is.
func (t *Table) ValueError(ve *warehouse.ValueError) error {
	if ve.Row < 0 || ve.Row >= len(t.Lines) {
		return ve
	}
	col := 0
	if i := slices.IndexFunc(t.Columns, func(c warehouse.Column) bool { return c.Name == ve.Column }); i >= 0 && t.Cells[ve.Row] != nil {
		col = t.Cells[ve.Row][i]
	}
	pos := fmt.Sprintf("%s:%d", t.Path, t.Lines[ve.Row])
	if col > 0 {
		pos += fmt.Sprintf(":%d", col)
	}
	// The first line of the warehouse's message; the rest quotes SQL of
	// quarry's own.
	why, _, _ := strings.Cut(ve.Err.Error(), "\n")
	return fmt.Errorf("%s: column %q is pinned as %s in %s, but the warehouse cannot convert %q to it (%s): correct the value, leave it empty for NULL, or change the column's type",
		pos, ve.Column, ve.Type, t.TypesFile, ve.Value, strings.TrimSpace(why))
}
