package engine

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
)

func (p *Project) addSeeds(files []string, diags *diag.List) {
	for _, rel := range files {
		name := strings.TrimSuffix(path.Base(rel), ".csv")
		n := &Node{UniqueID: "seed." + p.Name + "." + name, Name: name, Type: Seed, Path: rel,
			Config: Config{Materialized: "seed", Enabled: true}}
		if !readSeed(n, filepath.Join(p.Dir, rel), diags) {
			continue
		}
		p.addNode(n, diags)
	}
}

// readSeed parses a seed's CSV fully at load time, so a malformed file is
// reported with the other load errors, before anything runs.
func readSeed(n *Node, abs string, diags *diag.List) bool {
	f, err := os.Open(abs)
	if err != nil {
		diags.Add(n.Path, 0, 0, "%v", err)
		return false
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = false
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				diags.Add(n.Path, pe.Line, pe.Column, "unreadable CSV: %v: fix the quoting or the number of fields on this line", pe.Err)
			} else {
				diags.Add(n.Path, 0, 0, "unreadable CSV: %v", err)
			}
			return false
		}
		line, _ := r.FieldPos(0)
		if n.seedHeader == nil {
			// Excel's "CSV UTF-8" starts with a byte order mark; it is not
			// part of the first column's name.
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			n.seedHeader = rec
			continue
		}
		n.seedRows = append(n.seedRows, rec)
		n.seedLines = append(n.seedLines, line)
	}
	if len(n.seedHeader) == 0 {
		diags.Add(n.Path, 1, 1, "empty seed: the first line must name the columns")
		return false
	}
	seen := map[string]int{}
	ok := true
	for i, h := range n.seedHeader {
		h = strings.TrimSpace(h)
		n.seedHeader[i] = h
		if h == "" {
			diags.Add(n.Path, 1, 0, "column %d has no name in the header line", i+1)
			ok = false
		} else if j, dup := seen[strings.ToLower(h)]; dup {
			diags.Add(n.Path, 1, 0, "column %q appears twice in the header (columns %d and %d)", h, j+1, i+1)
			ok = false
		}
		seen[strings.ToLower(h)] = i
	}
	return ok
}

// checkSeedTypes reports pinned column types that name no column.
func (p *Project) checkSeedTypes(n *Node, file string, line, col int, diags *diag.List) {
	for c := range n.ColumnTypes {
		found := false
		for _, h := range n.seedHeader {
			if strings.EqualFold(h, c) {
				found = true
			}
		}
		if !found {
			diags.Add(file, line, col, "seed %s: column_types names %q, which is not a column of %s (columns: %s)",
				n.Name, c, n.Path, strings.Join(n.seedHeader, ", "))
		}
	}
}

// seedTable returns the columns and typed rows of a seed: types are pinned
// in YAML or inferred from every value in the column.
func seedTable(n *Node) ([]warehouse.Column, [][]any, error) {
	cols := make([]warehouse.Column, len(n.seedHeader))
	for i, h := range n.seedHeader {
		typ := ""
		for c, t := range n.ColumnTypes {
			if strings.EqualFold(c, h) {
				typ = t
			}
		}
		if typ == "" {
			typ = inferType(n.seedRows, i)
		}
		cols[i] = warehouse.Column{Name: h, Type: typ}
	}
	rows := make([][]any, len(n.seedRows))
	for r, rec := range n.seedRows {
		row := make([]any, len(cols))
		for i, c := range cols {
			v, err := convert(rec[i], c.Type)
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: column %s: %w", n.Path, n.seedLines[r], c.Name, err)
			}
			row[i] = v
		}
		rows[r] = row
	}
	return cols, rows, nil
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
func inferType(rows [][]string, col int) string {
	candidates := []string{"boolean", "bigint", "double", "date", "timestamp"}
	nonEmpty := 0
	for _, rec := range rows {
		v := rec[col]
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
// fields are NULL. Types outside the portable set are passed as text for
// the warehouse to cast (and to reject, naming the column).
func convert(v, typ string) (any, error) {
	if v == "" {
		return nil, nil
	}
	switch strings.ToLower(typ) {
	case "boolean", "bool":
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true or false)", v)
	case "bigint", "integer", "int":
		// strconv accepts Go syntax (digit separators, hex) that no CSV
		// reader treats as a number, so the shape is checked first.
		if !looseWhole.MatchString(v) {
			return nil, fmt.Errorf("%q is not a whole number", v)
		}
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", v)
		}
		return i, nil
	case "double", "float":
		if !looseDecimal.MatchString(v) || !strings.ContainsAny(v, "0123456789") {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", v)
		}
		return f, nil
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
