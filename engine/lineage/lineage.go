// Package lineage reads the column-level lineage of one SELECT statement
// from DuckDB's own parse tree: which upstream columns each output column
// comes from, and whether it passes them through (Direct) or computes over
// them (Derived). The tree is the JSON that DuckDB's json_serialize_sql
// returns (see TreeQuery); this package only reads that JSON, so it needs
// no database and parses no SQL itself.
//
// Choices that a reader of the results should know:
//
//   - CASE: the columns of the WHEN conditions are sources of the value, as
//     in most dbt column-lineage tools: they decide which branch is taken,
//     so a change to them changes the output. An aggregate's FILTER clause
//     counts the same way.
//   - Ordering is not a source: the PARTITION BY and ORDER BY of a window,
//     and the ORDER BY inside an aggregate, shape which rows are combined
//     but are not the combined value; the function's arguments are.
//   - WHERE, JOIN ON, GROUP BY and HAVING are never sources of a column.
//   - A scalar subquery is its one column: (select name from c where ...)
//     is Direct from c.name; inside a larger expression it is Derived like
//     any operand. IN (subquery) reads the subquery's column; EXISTS reads
//     no value.
//   - A column named in USING (or shared by a NATURAL join) comes from both
//     sides: it has a source on each.
//   - Unknown is never a guess: a column that may come from a relation the
//     catalog does not know, or that names more than one relation, is
//     Unknown with a Reason, even when a guess would usually be right.
//   - A `*` over a relation whose columns are not known cannot be expanded:
//     it yields one Unknown column named "*" (or "t.*") in its place, so
//     the result then has fewer entries than the statement's output.
//   - Sources are listed once each, in an order fixed by the tree's shape
//     (so the same statement always gives the same list).
//   - Name is the output name when the statement spells it (an alias, a
//     referenced or expanded column). DuckDB names an unaliased expression
//     after its own rendering of it, which this package does not imitate:
//     Name is then "", and a caller wanting it takes it by position from
//     DESCRIBE of the bound statement.
package lineage

import (
	"encoding/json"
	"fmt"
)

// TreeQuery is the statement that turns SQL (its one parameter) into the
// tree Analyze reads. DuckDB wants the argument typed VARCHAR, and returns
// the JSON type, which database/sql drivers would otherwise decode.
const TreeQuery = "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)"

// TreesQuery is TreeQuery for many statements at once (its parameter a
// list of texts): one list of trees, in the same order. Each query costs
// about as much as the parsing it does, so parsing many at a time is what
// makes lineage cheap.
const TreesQuery = "SELECT list_transform(CAST(? AS VARCHAR[]), s -> CAST(json_serialize_sql(s) AS VARCHAR))"

// Kind says how an output column comes from its sources.
type Kind string

const (
	// Direct: passed through or renamed, same value.
	Direct Kind = "direct"
	// Derived: an expression over the sources (function, cast, case,
	// aggregate, window, arithmetic, literal).
	Derived Kind = "derived"
	// Unknown: the analysis cannot tell; Column.Reason says why.
	Unknown Kind = "unknown"
)

// Source is one upstream column: Relation is the key the Catalog returned.
type Source struct {
	Relation string `json:"relation"`
	Column   string `json:"column"`
}

// Column is the lineage of one output column.
type Column struct {
	Name    string   `json:"name"`
	Kind    Kind     `json:"kind"`
	Sources []Source `json:"sources,omitempty"`
	Reason  string   `json:"reason,omitempty"` // why Unknown
}

// Catalog resolves a relation as the SQL names it (schema may be "") to a
// key (e.g. "staging.stg_x") and its columns in order; ok=false when unknown.
type Catalog func(schema, name string) (key string, columns []string, ok bool)

// Analyze returns one Column per output column of the statement, in output
// order. tree is what TreeQuery returns for the statement. It is an error
// when the tree holds a parse error, is not one SELECT statement, or has a
// shape this package does not know.
func Analyze(tree []byte, cat Catalog) ([]Column, error) {
	var t struct {
		Error        bool   `json:"error"`
		ErrorType    string `json:"error_type"`
		ErrorMessage string `json:"error_message"`
		Statements   []struct {
			Node *queryNode `json:"node"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(tree, &t); err != nil {
		return nil, fmt.Errorf("lineage: reading the parse tree: %w", err)
	}
	if t.Error {
		if t.ErrorType == "not implemented" {
			// DuckDB serialises only SELECT statements and says so this way.
			return nil, fmt.Errorf("lineage: not a SELECT statement (DuckDB: %s)", t.ErrorMessage)
		}
		return nil, fmt.Errorf("lineage: DuckDB could not parse the statement: %s error: %s", t.ErrorType, t.ErrorMessage)
	}
	if len(t.Statements) != 1 {
		return nil, fmt.Errorf("lineage: want one SELECT statement, the tree holds %d", len(t.Statements))
	}
	if t.Statements[0].Node == nil {
		return nil, fmt.Errorf("lineage: the statement is not a SELECT")
	}
	a := &analyzer{cat: cat}
	return a.query(t.Statements[0].Node, nil, nil)
}

// The parts of DuckDB's tree this package reads. Expressions stay generic
// (map[string]any): they come in many shapes, and most are only searched
// for the column references inside them.
type (
	queryNode struct {
		Type   string `json:"type"`
		CTEMap struct {
			Map []struct {
				Key   string `json:"key"`
				Value struct {
					Aliases []string `json:"aliases"`
					Query   struct {
						Node *queryNode `json:"node"`
					} `json:"query"`
				} `json:"value"`
			} `json:"map"`
		} `json:"cte_map"`
		SelectList []map[string]any `json:"select_list"`
		FromTable  *tableRef        `json:"from_table"`
		SetopType  string           `json:"setop_type"`
		Left       *queryNode       `json:"left"`
		Right      *queryNode       `json:"right"`
		CTEName    string           `json:"cte_name"`
	}
	tableRef struct {
		Type            string    `json:"type"`
		Alias           string    `json:"alias"`
		CatalogName     string    `json:"catalog_name"`
		SchemaName      string    `json:"schema_name"`
		TableName       string    `json:"table_name"`
		ColumnNameAlias []string  `json:"column_name_alias"`
		Left            *tableRef `json:"left"`
		Right           *tableRef `json:"right"`
		RefType         string    `json:"ref_type"`
		UsingColumns    []string  `json:"using_columns"`
		Subquery        *subquery `json:"subquery"`
		Values          [][]any   `json:"values"`
		Function        struct {
			FunctionName string `json:"function_name"`
		} `json:"function"`
	}
	subquery struct {
		Node *queryNode `json:"node"`
	}
)
