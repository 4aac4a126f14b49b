package duckdb

import (
	"fmt"

	"github.com/quarrydev/quarry/engine/sqlscan"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Dialect renders DuckDB SQL fragments. It holds no state, so the engine can
// use it to render names without a live connection.
type Dialect struct{}

var _ warehouse.Dialect = Dialect{}

// keywords lists the DuckDB keywords that cannot be used as a bare table or
// column name: the "reserved" category plus the "type_function" category
// (join, left, like, ...), which the grammar also rejects in a table-name
// position even though duckdb_keywords() does not call them reserved.
// Sorted for binary search; TestKeywordsMatchDuckDB checks it against
// duckdb_keywords() so it cannot drift when the driver is upgraded.
var keywords = []string{
	"all", "analyse", "analyze", "and", "anti", "any", "array", "as", "asc",
	"asof", "asymmetric", "at", "authorization", "binary", "both", "by",
	"case", "cast", "check", "collate", "collation", "column", "columns",
	"concurrently", "constraint", "create", "cross", "default", "deferrable",
	"desc", "describe", "distinct", "do", "else", "end", "except", "false",
	"fetch", "for", "foreign", "freeze", "from", "full", "generated", "glob",
	"group", "having", "ilike", "in", "initially", "inner", "intersect",
	"into", "is", "isnull", "join", "lambda", "lateral", "leading", "left",
	"like", "limit", "map", "natural", "not", "notnull", "null", "offset",
	"on", "only", "or", "order", "outer", "overlaps", "pivot", "pivot_longer",
	"pivot_wider", "placing", "positional", "primary", "qualify",
	"references", "returning", "right", "select", "semi", "show", "similar",
	"some", "struct", "summarize", "symmetric", "table", "tablesample",
	"then", "to", "trailing", "true", "try_cast", "union", "unique", "unpack",
	"unpivot", "using", "variadic", "verbose", "when", "where", "window",
	"with",
}

// Name implements warehouse.Dialect.
func (Dialect) Name() string { return "duckdb" }

// QuoteIdent implements warehouse.Dialect. A name is left bare only when it
// is plain lower case and not a keyword; anything else is double-quoted with
// embedded quotes doubled.
func (Dialect) QuoteIdent(name string) string { return warehouse.QuoteIdent(name, keywords) }

// RelationSQL implements warehouse.Dialect: schema.name, or just name when
// the schema is empty (DuckDB then resolves it through the search path);
// database.schema.name for a relation in an attached database file.
func (d Dialect) RelationSQL(rel warehouse.Relation) string {
	if rel.Schema == "" {
		return d.QuoteIdent(rel.Name)
	}
	if rel.Database != "" {
		return d.QuoteIdent(rel.Database) + "." + d.QuoteIdent(rel.Schema) + "." + d.QuoteIdent(rel.Name)
	}
	return d.QuoteIdent(rel.Schema) + "." + d.QuoteIdent(rel.Name)
}

// DateAdd implements warehouse.Dialect with DuckDB's interval arithmetic.
// A date plus an interval is a timestamp in DuckDB (a date in Snowflake),
// so the result is cast back to a date.
func (Dialect) DateAdd(unit, n, expr string) string {
	return fmt.Sprintf("cast(date_add(%s, to_%ss(cast(%s as integer))) as date)", expr, unit, n)
}

// Syntax implements warehouse.Dialect. DuckDB's lexer comes from
// PostgreSQL's: block comments nest and dollar quotes may carry a tag;
// backslashes escape only in E'...' strings.
func (Dialect) Syntax() sqlscan.Syntax {
	return sqlscan.Syntax{NestedComments: true, DollarTags: true}
}

// DateDiff implements warehouse.Dialect.
func (Dialect) DateDiff(unit, start, end string) string {
	return fmt.Sprintf("date_diff('%s', %s, %s)", unit, start, end)
}
