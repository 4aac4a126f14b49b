package project

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/english"
)

// addSeeds registers every seed by name. Its CSV is read later, by
// readSeeds, once the property files have declared its encoding and column
// types; a seed whose file turns out to be broken stays registered, so that
// the models that ref it report nothing more than the seed's own error.
func (p *Project) addSeeds(files []string, diags *diag.List) {
	for _, rel := range files {
		name := strings.TrimSuffix(path.Base(rel), ".csv")
		n := &Node{UniqueID: "seed." + p.Name + "." + name, Name: name, Type: Seed, Path: rel,
			Config: Config{Materialized: "seed", Enabled: true}}
		p.addNode(n, diags)
	}
}

// Seed encodings. A spreadsheet exports CSV in the machine's legacy code
// page unless told otherwise; those bytes are not UTF-8, and DuckDB given
// them stores NULL. Such a file must be declared, so that it is decoded,
// or it is refused: its encoding is never guessed.
const (
	encUTF8        = "utf-8"
	encLatin1      = "latin-1"
	encWindows1252 = "windows-1252"
	// encBad stands for an encoding that was declared wrongly, and
	// reported: the seed is not read, rather than read in the wrong one.
	encBad = "?"
)

// encodingNames maps every accepted spelling (lower case) to its canonical
// name.
var encodingNames = map[string]string{
	"utf-8": encUTF8, "utf8": encUTF8,
	"latin-1": encLatin1, "latin1": encLatin1, "iso-8859-1": encLatin1, "iso8859-1": encLatin1,
	"windows-1252": encWindows1252, "cp1252": encWindows1252,
}

// seedKeys are the config keys a seed accepts: a model's, and its file's
// encoding.
var seedKeys = slices.Sorted(slices.Values(append(slices.Clone(modelKeys), "encoding")))

const acceptedEncodings = "utf-8, latin-1 (alias iso-8859-1), windows-1252 (alias cp1252)"

// parseEncoding validates an encoding: value written at file:line:col and
// returns its canonical name, or encBad after reporting it.
func parseEncoding(v *yaml.Node, file string, diags *diag.List) string {
	if v.Kind == yaml.ScalarNode {
		if enc, ok := encodingNames[strings.ToLower(strings.TrimSpace(v.Value))]; ok {
			return enc
		}
	}
	diags.Add(file, v.Line, v.Column, "unknown encoding %q: use one of %s", v.Value, acceptedEncodings)
	return encBad
}

// setSeedEncoding records the encoding declared for seed n at v: on its
// entry in a property file, or under its config:.
func setSeedEncoding(n *Node, v *yaml.Node, file string, diags *diag.List) {
	enc := parseEncoding(v, file, diags)
	if enc == encBad || n.seedEncoding == encBad {
		n.seedEncoding = encBad
		return
	}
	if n.seedEncoding != "" && n.seedEncoding != enc {
		diags.Add(file, v.Line, v.Column, "seed %s: encoding %s contradicts encoding %s declared at %s: keep one",
			n.Name, enc, n.seedEncoding, n.seedEncodingAt)
		return
	}
	n.seedEncoding = enc
	n.seedEncodingAt = fmt.Sprintf("%s:%d:%d", file, v.Line, v.Column)
}

// maxSeedProblems caps the problems reported per seed file: a column
// pinned to the wrong type fails on every row, and the first few say it.
const maxSeedProblems = 10

// seedReader reads one seed file, turning positions in the decoded text
// back into positions in the file and capping the problems it reports.
type seedReader struct {
	n        *Node
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
func (s *seedReader) pos(line, col int) (int, int) {
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
func (s *seedReader) line(line int) string {
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

// problem reports a problem at a csv position, up to maxSeedProblems.
func (s *seedReader) problem(line, col int, format string, args ...any) {
	s.problems++
	switch {
	case s.problems <= maxSeedProblems:
		line, col = s.pos(line, col)
		s.diags.Add(s.n.Path, line, col, format, args...)
	case s.problems == maxSeedProblems+1:
		s.moreAt = [2]int{line, col}
	}
}

// flush reports, where the first of them is, how many problems were left
// out.
func (s *seedReader) flush() {
	if more := s.problems - maxSeedProblems; more > 0 {
		line, col := s.pos(s.moreAt[0], s.moreAt[1])
		s.diags.Add(s.n.Path, line, col, "%d more %s from here on, not shown: fix the ones above and run again", more, english.Plural(more, "problem", "problems"))
		s.problems = maxSeedProblems // reported
	}
}

// readSeeds reads every seed's CSV, in parallel, after the property files
// have been applied. The whole file is parsed and every value converted at
// load time, so a broken seed is reported with the other load errors, by
// file, line and column, before anything runs.
func (p *Project) readSeeds(diags *diag.List) {
	var seeds []*Node
	for _, n := range p.byName {
		if n.Type == Seed {
			seeds = append(seeds, n)
		}
	}
	parallel(len(seeds), func(i int) {
		n := seeds[i]
		// declared says where the encoding comes from, for messages.
		enc, declared := encUTF8, "the default encoding"
		switch {
		case n.seedEncoding != "":
			enc, declared = n.seedEncoding, "the encoding declared at "+n.seedEncodingAt
		case p.seedEncoding != "":
			enc, declared = p.seedEncoding, "the project's default encoding (seeds: encoding in "+ProjectFile+")"
		}
		if enc == encBad {
			return
		}
		readSeed(n, filepath.Join(p.Dir, n.Path), enc, declared, diags)
		if n.seedHeader != nil {
			p.checkSeedTypes(n, diags)
		}
	})
}

// readSeed reads and checks one seed file in encoding enc, and types its
// values: n gets its header, columns and rows only if the file is sound.
func readSeed(n *Node, abs, enc, declared string, diags *diag.List) {
	raw, err := os.ReadFile(abs)
	if err != nil {
		diags.Add(n.Path, 0, 0, "%v", err)
		return
	}
	s := &seedReader{n: n, diags: diags}
	if !s.decode(raw, enc, declared) {
		return
	}
	if strings.TrimSpace(s.src) == "" {
		diags.Add(n.Path, 1, 1, "the seed is empty: its first line must name the columns (e.g. id,name), then one row per line (or delete the file)")
		return
	}
	r := csv.NewReader(strings.NewReader(s.src))
	rec, err := r.Read()
	if err != nil {
		s.csvError(err)
		return
	}
	header, ok := s.header(r, rec)
	if !ok {
		return
	}
	n.seedHeader = header
	s.rows(r, header)
}

// decode checks the file's bytes against its encoding enc (declared says
// where that comes from) and leaves the text, as UTF-8, in s.src.
func (s *seedReader) decode(raw []byte, enc, declared string) bool {
	n := s.n
	if bytes.HasPrefix(raw, []byte{0xff, 0xfe}) || bytes.HasPrefix(raw, []byte{0xfe, 0xff}) {
		s.diags.Add(n.Path, 1, 1, "the file is UTF-16 (it starts with the byte order mark % X): save it as CSV UTF-8 (in Excel: Save As, CSV UTF-8)", raw[:2])
		return false
	}
	utf8BOM := []byte{0xef, 0xbb, 0xbf}
	if bytes.HasPrefix(raw, utf8BOM) {
		// Excel's "CSV UTF-8" starts with a byte order mark; it is not
		// part of the first column's name.
		if enc != encUTF8 {
			s.diags.Add(n.Path, 1, 1, "the file starts with a UTF-8 byte order mark, so it is UTF-8, not %s (%s): remove that encoding", enc, declared)
			return false
		}
		raw, s.bom = raw[len(utf8BOM):], len(utf8BOM)
	}
	switch enc {
	case encLatin1, encWindows1252:
		cm := charmap.ISO8859_1
		if enc == encWindows1252 {
			cm = charmap.Windows1252
		}
		for i, b := range raw {
			r := cm.DecodeByte(b)
			switch {
			case r == utf8.RuneError:
				// Five bytes are unassigned in windows-1252.
				line, col := diag.LineCol(string(raw), i)
				s.diags.Add(n.Path, line, col+s.bomOn(line), "byte 0x%02X is not a character in windows-1252: the file is in another encoding (try latin-1), or re-save it as UTF-8", b)
				return false
			case r >= 0x80 && r <= 0x9f:
				// Latin-1 maps 0x80-0x9F to control characters that no
				// text holds; a file that has them is windows-1252, where
				// they are letters and signs such as € and ’.
				line, col := diag.LineCol(string(raw), i)
				s.diags.Add(n.Path, line, col+s.bomOn(line), "byte 0x%02X is a control character in latin-1 (%s), so the file is probably windows-1252, where it is %q: declare encoding: windows-1252 instead",
					b, declared, string(charmap.Windows1252.DecodeByte(b)))
				return false
			}
		}
		src, err := cm.NewDecoder().Bytes(raw)
		if err != nil {
			s.diags.Add(n.Path, 0, 0, "decode as %s: %v", enc, err)
			return false
		}
		s.src, s.perByte = string(src), true
	default:
		if i := invalidUTF8(raw); i >= 0 {
			line, col := diag.LineCol(string(raw), i)
			s.diags.Add(n.Path, line, col+s.bomOn(line), "byte 0x%02X is not valid UTF-8 (%s)%s: declare the file's encoding on the seed in a property file (seeds: - name: %s, encoding: latin-1 or windows-1252), or re-save the file as CSV UTF-8",
				raw[i], declared, legacyMeaning(raw[i]), n.Name)
			return false
		}
		s.src = string(raw)
	}
	if i := strings.IndexByte(s.src, 0); i >= 0 {
		line, col := s.pos(diag.LineCol(s.src, i))
		s.diags.Add(n.Path, line, col, "NUL byte: a CSV holds text, and this file does not look like text (UTF-16 or a spreadsheet file renamed .csv?): save it as CSV UTF-8")
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
func (s *seedReader) bomOn(line int) int {
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
func (s *seedReader) csvError(err error) {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		s.diags.Add(s.n.Path, 0, 0, "unreadable CSV: %v", err)
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
func (s *seedReader) header(r *csv.Reader, rec []string) ([]string, bool) {
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
// other columns' types from their values.
func (s *seedReader) rows(r *csv.Reader, header []string) {
	n := s.n
	cols := make([]warehouse.Column, len(header))
	for i, h := range header {
		cols[i].Name = h
		for c, t := range n.ColumnTypes {
			if strings.EqualFold(c, h) {
				cols[i].Type = t
			}
		}
	}
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
				len(rec), english.Plural(len(rec), "value", "values"), len(header), strings.Join(header, ", "))
			continue
		}
		if err != nil {
			s.csvError(err)
			return
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
					cols[i].Name, cols[i].Type, n.seedTypesFile, err)
			}
			row[i] = val
		}
		rows = append(rows, row)
		lines = append(lines, line)
		cells = append(cells, at)
	}
	if s.problems > 0 {
		s.flush()
		return
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
	if s.problems == 0 {
		n.seedCols, n.seedValues, n.seedLines, n.seedCells = cols, rows, lines, cells
	}
}

// checkSeedTypes reports, for each property file entry describing seed n,
// the column_types and columns that name no column of its header.
func (p *Project) checkSeedTypes(n *Node, diags *diag.List) {
	for _, e := range n.seedProps {
		for _, c := range slices.Sorted(maps.Keys(e.props.ColumnTypes)) {
			if !slices.ContainsFunc(n.seedHeader, func(h string) bool { return strings.EqualFold(h, c) }) {
				diags.Add(e.file, e.props.line, e.props.col, "seed %s: column_types names %q, which is not a column of %s (columns: %s)",
					n.Name, c, n.Path, strings.Join(n.seedHeader, ", "))
			}
		}
		for _, c := range e.props.Columns {
			if err := checkColumn(n, c.Name); err != nil {
				diags.Add(e.file, c.line, c.col, "%v", err)
			}
		}
	}
}

// SeedTable returns the columns and typed rows of a seed, read at load time.
func SeedTable(n *Node) ([]warehouse.Column, [][]any, error) {
	if n.seedCols == nil {
		return nil, nil, fmt.Errorf("seed %s was not read", n.Name)
	}
	return n.seedCols, n.seedValues, nil
}

// SeedValueError names, by file, line and column, a value the warehouse
// refused to convert to a pinned type that quarry does not check itself.
func SeedValueError(n *Node, ve *warehouse.ValueError) error {
	if ve.Row < 0 || ve.Row >= len(n.seedLines) {
		return ve
	}
	col := 0
	if i := slices.IndexFunc(n.seedCols, func(c warehouse.Column) bool { return c.Name == ve.Column }); i >= 0 && n.seedCells[ve.Row] != nil {
		col = n.seedCells[ve.Row][i]
	}
	pos := fmt.Sprintf("%s:%d", n.Path, n.seedLines[ve.Row])
	if col > 0 {
		pos += fmt.Sprintf(":%d", col)
	}
	// The first line of the warehouse's message; the rest quotes SQL of
	// quarry's own.
	why, _, _ := strings.Cut(ve.Err.Error(), "\n")
	return fmt.Errorf("%s: column %q is pinned as %s in %s, but the warehouse cannot convert %q to it (%s): correct the value, leave it empty for NULL, or change the column's type",
		pos, ve.Column, ve.Type, n.seedTypesFile, ve.Value, strings.TrimSpace(why))
}

// Numbers as CSV files write them (strconv alone would also take Go syntax:
// digit separators, hex). The loose shapes convert pinned columns; the
// strict ones, without leading zeros, decide inference.
var (
	wholeNumber   = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)$`)
	decimalNumber = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
	looseWhole    = regexp.MustCompile(`^[+-]?[0-9]+$`)
	looseDecimal  = regexp.MustCompile(`^[+-]?[0-9]*(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

// inferType picks the narrowest portable type every non-empty value fits.
func inferType(rows [][]any, col int) string {
	candidates := []string{"boolean", "bigint", "double", "date", "timestamp"}
	nonEmpty := 0
	for _, rec := range rows {
		v := rec[col].(string)
		if v == "" {
			continue
		}
		nonEmpty++
		candidates = filter(candidates, func(t string) bool { return inferable(v, t) })
		if len(candidates) == 0 {
			return "varchar"
		}
	}
	if nonEmpty == 0 {
		return "varchar"
	}
	return candidates[0]
}

// inferable reports whether v can make its column type t. It is stricter
// than convert: a leading zero (a zip code, an id like 007) keeps a column
// text unless the user pins a numeric type.
func inferable(v, t string) bool {
	switch t {
	case "bigint":
		if !wholeNumber.MatchString(v) {
			return false
		}
	case "double":
		if !decimalNumber.MatchString(v) {
			return false
		}
	}
	_, err := convert(v, t)
	return err == nil
}

func filter(s []string, keep func(string) bool) []string {
	out := s[:0:0]
	for _, e := range s {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// convert turns a CSV field into the Go value for a column type. Empty
// fields are NULL. The common numeric types of both warehouses are checked
// here, so that a bad value is reported by its cell at load time; other
// types are passed as text for the warehouse to cast (and to reject,
// naming the column).
func convert(v, typ string) (any, error) {
	if v == "" {
		return nil, nil
	}
	t := strings.ToLower(strings.TrimSpace(typ))
	// A precision, as in decimal(10,2) or number(38,0), does not change the
	// shape of a valid value; the warehouse rounds or rejects by it.
	base, _, _ := strings.Cut(t, "(")
	switch strings.TrimSpace(base) {
	case "boolean", "bool":
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true or false)", v)
	case "bigint", "integer", "int", "smallint", "tinyint", "int2", "int4", "int8", "byteint":
		// strconv accepts Go syntax (digit separators, hex) that no CSV
		// reader treats as a number, so the shape is checked first.
		if !looseWhole.MatchString(v) {
			return nil, fmt.Errorf("%q is not a whole number", v)
		}
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is out of range for a 64-bit whole number", v)
		}
		return i, nil
	case "double", "float", "float4", "float8", "real", "double precision":
		if !looseDecimal.MatchString(v) || !strings.ContainsAny(v, "0123456789") {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		return f, nil
	case "decimal", "numeric", "number":
		// Kept as text: the warehouse converts it exactly, where a float
		// would round.
		if !looseDecimal.MatchString(v) || !strings.ContainsAny(v, "0123456789") {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		return v, nil
	case "date":
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD)", v)
		}
		return t, nil
	case "timestamp":
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, v); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("%q is not a timestamp (YYYY-MM-DD HH:MM:SS or RFC 3339)", v)
	}
	return v, nil
}
