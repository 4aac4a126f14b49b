package seed

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

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
