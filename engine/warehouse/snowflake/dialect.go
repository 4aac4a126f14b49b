package snowflake

import (
	"fmt"
	"strings"

	"github.com/quarrydev/quarry/engine/sqlscan"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Dialect renders Snowflake SQL fragments. It holds no state, so the engine
// can render names and compile models without a connection.
type Dialect struct{}

var _ warehouse.Dialect = Dialect{}

// keywords are Snowflake's reserved and limited keywords, lower case and
// sorted for binary search: the keyword table of
// https://docs.snowflake.com/en/sql-reference/reserved-keywords, plus ASC
// and DESC, which that page's introduction names as reserved. Such a name is
// quoted, and so keeps its lower case.
var keywords = []string{
	"account", "all", "alter", "and", "any", "as", "asc", "between", "by",
	"case", "cast", "check", "column", "connect", "connection", "constraint",
	"create", "cross", "current", "current_date", "current_time",
	"current_timestamp", "current_user", "database", "delete", "desc",
	"distinct", "drop", "else", "exists", "false", "following", "for", "from",
	"full", "grant", "group", "gscluster", "having", "ilike", "in",
	"increment", "inner", "insert", "intersect", "into", "is", "issue",
	"join", "lateral", "left", "like", "localtime", "localtimestamp", "minus",
	"natural", "not", "null", "of", "on", "or", "order", "organization",
	"qualify", "regexp", "revoke", "right", "rlike", "row", "rows", "sample",
	"schema", "select", "set", "some", "start", "table", "tablesample",
	"then", "to", "trigger", "true", "try_cast", "union", "unique", "update",
	"using", "values", "view", "when", "whenever", "where", "with",
}

// Name implements warehouse.Dialect.
func (Dialect) Name() string { return "snowflake" }

// QuoteIdent implements warehouse.Dialect. A plain lower-case name that is
// not a keyword is left bare, so it folds to upper case like a user's
// unquoted SQL; anything else is double-quoted, keeping its case, with
// embedded quotes doubled.
func (Dialect) QuoteIdent(name string) string { return warehouse.QuoteIdent(name, keywords) }

// folded is the name Snowflake stores for name as QuoteIdent renders it: upper
// case when bare, as written when quoted. Catalog lookups compare with it.
func folded(name string) string {
	if warehouse.QuoteIdent(name, keywords) == name { // left bare
		return strings.ToUpper(name)
	}
	return name
}

// RelationSQL implements warehouse.Dialect: schema.name, the database being
// the connection's; database.schema.name for a relation of another database
// (a production relation a CI run defers to); just name when the schema is
// empty (then the session's schema, the target's schema setting, applies).
func (d Dialect) RelationSQL(rel warehouse.Relation) string {
	if rel.Schema == "" {
		return d.QuoteIdent(rel.Name)
	}
	if rel.Database != "" {
		return d.QuoteIdent(rel.Database) + "." + d.QuoteIdent(rel.Schema) + "." + d.QuoteIdent(rel.Name)
	}
	return d.QuoteIdent(rel.Schema) + "." + d.QuoteIdent(rel.Name)
}

// DateAdd implements warehouse.Dialect. Snowflake's DATEADD keeps a date a
// date, but returns a timestamp for a timestamp; the cast makes the result a
// date either way, as in the duckdb dialect.
func (Dialect) DateAdd(unit, n, expr string) string {
	return fmt.Sprintf("cast(dateadd(%s, %s, %s) as date)", unit, n, expr)
}

// Syntax implements warehouse.Dialect. Snowflake escapes with backslashes in
// '...' strings, has // comments besides -- ones, and neither nests block
// comments nor tags $$ quotes.
func (Dialect) Syntax() sqlscan.Syntax {
	return sqlscan.Syntax{BackslashEscapes: true, SlashComments: true}
}

// DateDiff implements warehouse.Dialect: Snowflake's DATEDIFF counts the
// unit boundaries crossed, which is the portable meaning.
func (Dialect) DateDiff(unit, start, end string) string {
	return fmt.Sprintf("datediff(%s, %s, %s)", unit, start, end)
}
