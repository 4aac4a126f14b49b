// Package warehouse defines what the engine needs from a database: a small
// dialect that renders names, and a handful of materialization primitives.
// Every dialect difference lives in an implementation package (duckdb/,
// snowflake/), never in the engine.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/sqlscan"
)

// Relation names a table or view. Database is empty for the target's own
// database; it is set only for a relation read from another one (a
// production relation a CI run defers to, on DuckDB an attached file).
type Relation struct {
	Database string
	Schema   string
	Name     string
}

// Kind is what a relation currently is in the warehouse.
type Kind string

const (
	KindNone  Kind = ""
	KindView  Kind = "view"
	KindTable Kind = "table"
)

// Column describes one column of a table that quarry loads itself (seeds,
// landings). Type is a portable SQL type name: varchar, bigint, double,
// boolean, date, timestamp, or a type the user pinned verbatim.
type Column struct {
	Name string
	Type string
}

// RelationInfo is what the warehouse's catalog says about one table or view.
type RelationInfo struct {
	Relation Relation // schema and name as the warehouse stores them
	Kind     Kind
	// Columns in the relation's order, each Type the warehouse's own type
	// name (e.g. DuckDB's BIGINT, Snowflake's NUMBER(38,0)).
	Columns []ColumnInfo
	// RowCount is the number of rows the catalog records for a table; nil
	// for views and where the warehouse does not keep one. How exact it is
	// depends on the warehouse (docs/artifacts.md).
	RowCount *int64
}

// ColumnInfo is one column of a relation in the warehouse's catalog.
type ColumnInfo struct {
	Name string
	Type string
}

// Result is a small, fully materialized query result.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Dialect renders SQL fragments for one database.
type Dialect interface {
	// Name is the target type, e.g. "duckdb".
	Name() string
	// QuoteIdent renders one identifier, quoting it only when needed, so
	// that unquoted names resolve the same way users type them.
	QuoteIdent(name string) string
	// RelationSQL renders a fully qualified relation name.
	RelationSQL(rel Relation) string
	// DateAdd renders the date expr moved by n units (day, week, month,
	// year), as a date; n is a SQL expression, e.g. "-29".
	DateAdd(unit, n, expr string) string
	// DateDiff renders the number of unit boundaries between start and end.
	DateDiff(unit, start, end string) string
	// Syntax is the dialect's lexical rules for quotes and comments, which
	// decide where a statement ends.
	Syntax() sqlscan.Syntax
}

// DateUnits are the units DateAdd and DateDiff accept.
var DateUnits = []string{"day", "week", "month", "year"}

// Warehouse is a live connection to a target. Implementations must be safe
// for concurrent use by the scheduler's worker threads.
type Warehouse interface {
	Dialect

	// EnsureSchema creates the schema if it does not exist.
	EnsureSchema(ctx context.Context, schema string) error
	// Lookup reports what rel currently is, KindNone when it does not exist.
	Lookup(ctx context.Context, rel Relation) (Kind, error)
	// Catalog describes every table and view in the given schemas (named
	// as the project names them; a schema that does not exist has none), in
	// a fixed number of queries however many relations there are. Names in
	// the answer are as the warehouse stores them (Snowflake folds unquoted
	// names to upper case); sorted by schema and name.
	Catalog(ctx context.Context, schemas []string) ([]RelationInfo, error)
	// Columns describes one table's or view's columns, in order, as
	// Catalog would (names as stored, the warehouse's type names), in one
	// query; ErrNotFound when rel does not exist.
	Columns(ctx context.Context, rel Relation) ([]ColumnInfo, error)
	// TableBytes reports the bytes each of tables occupies by the
	// warehouse's own storage metadata, without reading the tables, in a
	// fixed number of queries however many tables are asked about. Keys are
	// the relations as given. A relation that does not exist, a view, or a
	// table whose size the warehouse does not record has no entry. What the
	// figure counts, and how approximate it is, depends on the warehouse
	// (docs/raw.md, "Bytes, per warehouse").
	TableBytes(ctx context.Context, tables []Relation) (map[Relation]int64, error)

	// The methods below that take SQL from the caller (CreateView,
	// CreateTable, Incremental, Query) refuse, before sending anything, a
	// text holding other than exactly one statement: they embed it in a
	// larger statement, and a second one would run outside everything they
	// do around the first (DuckDB's driver runs every statement it is
	// given). A trailing semicolon is fine. Exec alone takes a script.

	// CreateView creates or replaces a view (replacing a table of the same
	// name if there is one).
	CreateView(ctx context.Context, rel Relation, selectSQL string) error
	// CreateTable atomically replaces rel with the result of selectSQL: if
	// the statement fails the previous relation is left exactly as it was.
	CreateTable(ctx context.Context, rel Relation, selectSQL string) (rows int64, err error)
	// Incremental adds the rows of selectSQL to an existing table, in one
	// transaction. With uniqueKey, rows whose key already exists are
	// replaced (delete+insert, i.e. an upsert); without it they are appended.
	Incremental(ctx context.Context, rel Relation, selectSQL string, uniqueKey []string) (rows int64, err error)
	// LoadRows writes rows into rel, creating the table with cols if it does
	// not exist. With replace, the table is atomically replaced; otherwise the
	// rows are appended. Either way a failure leaves no partial rows behind.
	// Values are nil, string, int64, float64, bool or time.Time.
	LoadRows(ctx context.Context, rel Relation, cols []Column, rows [][]any, replace bool) (int64, error)
	// AppendRows appends rows to several existing tables in one
	// transaction: every table gets its rows or none does (a change-only
	// landing stores rows and the keys it saw together). It returns the
	// rows inserted per append, in order. Values are as for LoadRows; a
	// table that does not exist is an error, and nothing is created.
	AppendRows(ctx context.Context, appends []Append) ([]int64, error)

	// Publish atomically replaces live with staged (a table built beside
	// it), so readers see either the old or the new version, never neither.
	// staged no longer exists afterwards.
	Publish(ctx context.Context, staged, live Relation) error
	// Drop removes a table or view if it exists.
	Drop(ctx context.Context, rel Relation) error

	// Exec runs a script: one or more statements that return no rows,
	// possibly with their own BEGIN and COMMIT. It is the one entry point
	// for several statements at once, for quarry's own scripts and an
	// operator's; a model's SQL never goes through it.
	Exec(ctx context.Context, sql string) error
	// ExecTx runs statements (one each, returning no rows) one after the
	// other in one transaction: all take effect or none does, whatever
	// fails or wherever the process dies. It returns the rows each
	// statement affected. step, when not nil, is called after each
	// statement with its index; an error from it rolls everything back.
	// (Retention's compaction uses it; step is its test hook.)
	ExecTx(ctx context.Context, stmts []string, step func(i int) error) ([]int64, error)
	// Query runs a statement and returns at most limit rows (all when limit
	// is 0).
	Query(ctx context.Context, sql string, limit int) (*Result, error)

	Close() error
}

// Append is one table's share of an AppendRows.
type Append struct {
	Rel  Relation
	Cols []Column
	Rows [][]any
}

// AppendFailed is err, the failure of an AppendRows, naming the tables the
// rows were for: the whole append rolled back, so each of them.
func AppendFailed(d Dialect, appends []Append, err error) error {
	names := make([]string, len(appends))
	for i, a := range appends {
		names[i] = d.RelationSQL(a.Rel)
	}
	return fmt.Errorf("append rows to %s: %w", strings.Join(names, ", "), err)
}

// ErrNotFound is returned by operations that need an existing relation.
var ErrNotFound = errors.New("relation does not exist")

// ValueError is returned by LoadRows when a value does not convert to its
// column's type, naming the value by its place in the rows given, so that
// the caller can name it by its place in the file it read.
type ValueError struct {
	Row    int // 0-based, in LoadRows' rows
	Column string
	Value  string // the value as text
	Type   string // the column's type, as created
	Err    error  // the warehouse's own error
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("row %d, column %s: %q does not convert to %s: %v", e.Row+1, e.Column, e.Value, e.Type, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

type nodeKey struct{}

// WithNode labels ctx with the node a statement runs for, so that a
// warehouse can tag its statements (e.g. Snowflake's QUERY_TAG).
func WithNode(ctx context.Context, uniqueID string) context.Context {
	return context.WithValue(ctx, nodeKey{}, uniqueID)
}

// NodeFrom returns the node label set by WithNode, or "".
func NodeFrom(ctx context.Context) string {
	s, _ := ctx.Value(nodeKey{}).(string)
	return s
}

// ColumnType renders a Column's type for CREATE TABLE: quarry's portable
// names (varchar, bigint, integer, double, boolean, date, timestamp) become
// upper-case SQL types, timestamp as the warehouse spells a UTC wall clock
// (DuckDB: TIMESTAMP, Snowflake: TIMESTAMP_NTZ); anything else is a type the
// user pinned and is passed through verbatim. No type means VARCHAR, which
// accepts every value.
func ColumnType(t, timestamp string) string {
	t = strings.TrimSpace(t)
	switch strings.ToLower(t) {
	case "", "varchar":
		return "VARCHAR"
	case "timestamp":
		return timestamp
	case "bigint", "integer", "double", "boolean", "date":
		return strings.ToUpper(t)
	}
	return t
}

// bareIdent matches the names a dialect may leave unquoted: plain lower
// case, the way people write names in SQL. DuckDB resolves such a name as
// written and Snowflake folds it to upper case, exactly as it folds a user's
// own unquoted SQL, so one name means one relation in both warehouses.
var bareIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// QuoteIdent renders an identifier the way both dialects do: bare when it is
// plain lower case and not one of reserved (sorted), otherwise
// double-quoted with embedded quotes doubled.
func QuoteIdent(name string, reserved []string) string {
	if bareIdent.MatchString(name) {
		if _, isKeyword := slices.BinarySearch(reserved, name); !isKeyword {
			return name
		}
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
