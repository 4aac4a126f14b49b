package datatest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/internal/names"
)

// Builtin is one built-in generic test: whether it tests a column or a
// whole model, and the arguments it takes.
type Builtin struct {
	Name     string
	column   bool     // declared under a column
	model    bool     // declared under a model
	required []string // arguments
	optional []string
}

var builtins = map[string]Builtin{
	"not_null":           {Name: "not_null", column: true},
	"unique":             {Name: "unique", column: true},
	"accepted_values":    {Name: "accepted_values", column: true, required: []string{"values"}, optional: []string{"quote"}},
	"relationships":      {Name: "relationships", column: true, required: []string{"to", "field"}},
	"expression_is_true": {Name: "expression_is_true", column: true, model: true, required: []string{"expression"}},
	"row_count":          {Name: "row_count", model: true, optional: []string{"min", "max"}},
	"unique_combination": {Name: "unique_combination", model: true, required: []string{"columns"}},
}

// LookupBuiltin returns the built-in generic test called name.
func LookupBuiltin(name string) (Builtin, bool) {
	b, ok := builtins[name]
	return b, ok
}

// BuiltinNames lists the built-in generic tests, sorted.
func BuiltinNames() []string { return slices.Sorted(maps.Keys(builtins)) }

// Args lists the arguments b takes, required ones first.
func (b Builtin) Args() []string { return append(slices.Clone(b.required), b.optional...) }

// Takes reports whether b takes an argument called arg.
func (b Builtin) Takes(arg string) bool {
	return slices.Contains(b.required, arg) || slices.Contains(b.optional, arg)
}

// Use is one declaration of a generic test: the column it is declared
// under ("" for a whole model) and its arguments.
type Use struct {
	Column string
	Args   map[string]any
}

// Lookups answer what only the loaded project knows about the relations a
// test names.
type Lookups struct {
	// Column reports a column the attached relation certainly lacks; nil
	// when it has it or that cannot be known before running.
	Column func(column string) error
	// Relation finds the model or seed a relationships test points to and
	// returns the Column check of that relation.
	Relation func(name string) (column func(string) error, err error)
}

// Check validates a use of b: where it is declared, its arguments, and the
// columns they name as far as look knows them. It returns the problems in
// the order they are found, and normalises u.Args on the way: a
// relationships test's to: becomes a bare name (dbt writes ref('name')),
// unique_combination's columns a []string.
func (b Builtin) Check(u Use, look Lookups) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if u.Column != "" && !b.column {
		fail("it tests a whole model: declare it under the model's tests, not a column's")
	}
	if u.Column == "" && !b.model {
		fail("it tests a column: declare it under columns: - name: COLUMN, tests: [...]")
	}
	for _, r := range b.required {
		if _, has := u.Args[r]; !has {
			fail("missing argument %q", r)
		}
	}
	if len(problems) > 0 {
		return problems
	}
	if u.Column != "" {
		if err := look.Column(u.Column); err != nil {
			fail("%v", err)
		}
	}
	switch b.Name {
	case "accepted_values":
		if vals, isList := u.Args["values"].([]any); !isList || len(vals) == 0 {
			fail("values must be a non-empty list")
		}
		if q, has := u.Args["quote"]; has {
			if _, isBool := q.(bool); !isBool {
				fail("quote must be true or false")
			}
		}
	case "relationships":
		to := strings.TrimSpace(fmt.Sprint(u.Args["to"]))
		to = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(to, "ref("), "ref ("), ")")
		to = strings.Trim(to, `'" `)
		targetColumn, err := look.Relation(to)
		if err != nil {
			fail("to: %v", err)
			break
		}
		u.Args["to"] = to
		field, _ := u.Args["field"].(string)
		if field == "" {
			fail("field must be a column name")
		} else if err := targetColumn(field); err != nil {
			fail("field: %v", err)
		}
	case "expression_is_true":
		if s, _ := u.Args["expression"].(string); strings.TrimSpace(s) == "" {
			fail("expression must be a SQL boolean expression")
		}
	case "row_count":
		if _, has := u.Args["min"]; !has {
			if _, has := u.Args["max"]; !has {
				fail("give min, max or both")
			}
		}
		for _, k := range []string{"min", "max"} {
			if v, has := u.Args[k]; has {
				if _, isInt := v.(int); !isInt {
					fail("%s must be a whole number, not %v", k, v)
				}
			}
		}
	case "unique_combination":
		cols, err := names.List(u.Args["columns"])
		if err != nil || len(cols) == 0 {
			fail("columns must be a list of column names")
			break
		}
		for _, c := range cols {
			if err := look.Column(c); err != nil {
				fail("columns: %v", err)
			}
		}
		u.Args["columns"] = cols
	}
	return problems
}

// SQL is the query selecting the failing rows of a use of b that Check
// accepted. rel is the attached relation and ref(name) another model as the
// compiler wants them written; quote quotes an identifier in the target's
// dialect.
func (b Builtin) SQL(u Use, rel string, ref, quote func(string) string) string {
	c := quote(u.Column)
	switch b.Name {
	case "not_null":
		return fmt.Sprintf("select *\nfrom %s\nwhere %s is null", rel, c)
	case "unique":
		return fmt.Sprintf("select %s as unique_field, count(*) as n_records\nfrom %s\nwhere %s is not null\ngroup by %s\nhaving count(*) > 1", c, rel, c, c)
	case "accepted_values":
		quoteValues := true
		if qv, ok := u.Args["quote"].(bool); ok {
			quoteValues = qv
		}
		var vals []string
		for _, v := range u.Args["values"].([]any) {
			if quoteValues {
				vals = append(vals, "'"+strings.ReplaceAll(fmt.Sprint(v), "'", "''")+"'")
			} else {
				vals = append(vals, fmt.Sprint(v))
			}
		}
		return fmt.Sprintf("select %s as value_field, count(*) as n_records\nfrom %s\nwhere %s is not null and %s not in (%s)\ngroup by %s",
			c, rel, c, c, strings.Join(vals, ", "), c)
	case "relationships":
		to := ref(u.Args["to"].(string))
		f := quote(u.Args["field"].(string))
		return fmt.Sprintf("select child.%s as from_field\nfrom %s as child\nleft join %s as parent on child.%s = parent.%s\nwhere child.%s is not null and parent.%s is null",
			c, rel, to, c, f, c, f)
	case "expression_is_true":
		expr := u.Args["expression"].(string)
		if u.Column != "" {
			expr = c + " " + expr
		}
		return fmt.Sprintf("select *\nfrom %s\nwhere not (%s)", rel, expr)
	case "row_count":
		var conds []string
		if v, ok := u.Args["min"].(int); ok {
			conds = append(conds, fmt.Sprintf("count(*) < %d", v))
		}
		if v, ok := u.Args["max"].(int); ok {
			conds = append(conds, fmt.Sprintf("count(*) > %d", v))
		}
		return fmt.Sprintf("select count(*) as row_count\nfrom %s\nhaving %s", rel, strings.Join(conds, " or "))
	case "unique_combination":
		var cols []string
		for _, col := range u.Args["columns"].([]string) {
			cols = append(cols, quote(col))
		}
		list := strings.Join(cols, ", ")
		return fmt.Sprintf("select %s, count(*) as n_records\nfrom %s\ngroup by %s\nhaving count(*) > 1", list, rel, list)
	}
	return ""
}

// FreshnessSQL is the query of a freshness test: the newest loadedAt of
// rel. quote quotes an identifier in the target's dialect.
func FreshnessSQL(loadedAt, rel string, quote func(string) string) string {
	return fmt.Sprintf("select max(%s) as max_loaded_at from %s", quote(loadedAt), rel)
}
