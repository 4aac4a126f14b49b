// Package warehousetest is the conformance suite of warehouse.Warehouse:
// the behaviours the interface promises (relations, loads, transactions,
// publish, quoting, portable types, statement refusal, incremental merges),
// written once and run by every implementation's tests. Where a dialect
// legitimately differs (how it folds names, what its catalog calls a type,
// what the Snowflake emulator cannot do) the difference is an Options field,
// not a second copy of the test.
package warehousetest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Options describe the warehouse under test. Every field is needed unless
// its comment says what its zero value means.
type Options struct {
	// Schema is the target's schema: where unqualified names resolve, and
	// where the suite puts most of its relations.
	Schema string
	// FoldsCase is set when unquoted names are folded to upper case
	// (Snowflake): then Lookup is case-sensitive for quoted names and
	// result columns come back upper-cased.
	FoldsCase bool
	// Int is how an integer literal reads back (DuckDB: int32, Snowflake:
	// int64). Counts and BIGINT columns read as int64 everywhere.
	Int func(int64) any
	// Series renders a SELECT of one column, i, counting 0 to n-1.
	Series func(n int) string
	// Timestamp is the type of a UTC wall clock, as CREATE TABLE spells it.
	Timestamp string
	// Scratch lists the relations quarry left behind in schema under its
	// scratch prefix (staging, temp and audit tables).
	Scratch func(ctx context.Context, w warehouse.Warehouse, schema string) ([]string, error)
	// OneConnection pins w's pool to one connection, so that whatever an
	// operation leaves behind on its session, the next one sees.
	OneConnection func(w warehouse.Warehouse)

	// Loads.

	// Decimal and TimestampTZ are types pinned verbatim: a DECIMAL(10,2)
	// and an instant with a zone.
	Decimal, TimestampTZ string
	// TypesQuery selects column name and type of every column of the
	// table the load test creates, in order (from the catalog); TypesWant
	// is its answer.
	TypesQuery string
	TypesWant  [][]any
	// BadLoadRows is how many rows the failing load sends (enough for
	// several chunks or batches), the bad value being at BadLoadRow.
	BadLoadRows, BadLoadRow int
	// BadLoadSays are further texts the failed load's error must hold.
	BadLoadSays []string
	// ValueErrors is set when a bad value is reported as a
	// *warehouse.ValueError naming its row and column.
	ValueErrors bool
	// AppendToViewSays is what the error of appending rows to a view
	// holds, beyond naming it; "" when the warehouse's own message says it.
	AppendToViewSays string

	// Relations.

	// CatalogTypes are Catalog's type names for a whole number computed
	// by a query, a bigint column, a varchar column and the Decimal
	// column, as the loads create them.
	CatalogTypes []string

	// QuotedNames are names to try, beyond the suite's own awkward ones,
	// as schema, table and column names (e.g. the dialect's keywords).
	QuotedNames []string
	// SchemaNameOK reports whether name can be a schema name here (the
	// emulator fails on some); nil means every name can.
	SchemaNameOK func(name string) bool
	// CatalogListsViews is set when INFORMATION_SCHEMA.TABLES lists views
	// (the Snowflake emulator's does not).
	CatalogListsViews bool
	// Workers and PerKind size the concurrency tests: how many goroutines,
	// and how many views and tables each test builds.
	Workers, PerKind int

	// Sizes.

	// Stored opens a fresh, empty warehouse like open whose tables are
	// kept where TableBytes measures them (DuckDB: a database file; an
	// in-memory one has no sizes); nil means open.
	Stored func(t *testing.T) warehouse.Warehouse
	// Settle makes what was just written count in TableBytes (DuckDB:
	// CHECKPOINT); nil when nothing is needed.
	Settle func(ctx context.Context, w warehouse.Warehouse) error
	// BytesGrow is set when TableBytes grows as rows are added (the
	// emulator answers 0 for every table).
	BytesGrow bool

	// Cancellation.

	// Long is a query that runs for several seconds.
	Long string
	// CancelWithin is how soon after a cancel the call must return.
	CancelWithin time.Duration
	// CancelError is a text an error may hold instead of wrapping
	// context.Canceled (DuckDB's "INTERRUPT"); "" when it must wrap it.
	CancelError string
	// CancelRunsOn is set when the database finishes a cancelled
	// statement anyway (the emulator ignores aborts): the session stays
	// busy for a while, and a cancelled CREATE TABLE may still create it.
	CancelRunsOn bool

	// Statements.

	// Sent returns every statement sent to the database so far, when the
	// test can see them; nil when it cannot.
	Sent func() []string
}

// Run runs the suite; open returns a fresh, empty warehouse (closed by the
// caller's cleanup) whose target schema is opts.Schema.
func Run(t *testing.T, open func(t *testing.T) warehouse.Warehouse, opts Options) {
	s := &suite{open: open, o: opts}
	t.Run("Relations", s.relations)
	t.Run("Lookup", s.lookup)
	t.Run("Catalog", s.catalog)
	t.Run("TableBytes", s.tableBytes)
	t.Run("ReplaceViewWithTableAndBack", s.replaceViewWithTableAndBack)
	t.Run("CreateTableFailureKeepsPrevious", s.createTableFailureKeepsPrevious)
	t.Run("Incremental", s.incremental)
	t.Run("ExecAndQuery", s.execAndQuery)
	t.Run("ExecTx", s.execTx)
	t.Run("Publish", s.publish)
	t.Run("Drop", s.drop)
	t.Run("QuotedNames", s.quotedNames)
	t.Run("RefusesSeveralStatements", s.refusesSeveralStatements)
	t.Run("ConcurrentDDL", s.concurrentDDL)
	t.Run("ConcurrentReplace", s.concurrentReplace)
	t.Run("Cancel", s.cancel)
	t.Run("Load", s.load)
	t.Run("LoadSpecialFloats", s.loadSpecialFloats)
	t.Run("LoadCreatesAndReplacesView", s.loadCreatesAndReplacesView)
	t.Run("LoadFailureLeavesPrevious", s.loadFailureLeavesPrevious)
	t.Run("LoadCanceled", s.loadCanceled)
	t.Run("AppendRowsAtomic", s.appendRowsAtomic)
}

type suite struct {
	open func(t *testing.T) warehouse.Warehouse
	o    Options
}

// rel names a relation in the target schema.
func (s *suite) rel(name string) warehouse.Relation {
	return warehouse.Relation{Schema: s.o.Schema, Name: name}
}

// fold is how the warehouse names something created under name: a name
// QuoteIdent leaves bare is folded like unquoted SQL.
func (s *suite) fold(w warehouse.Warehouse, name string) string {
	if s.o.FoldsCase && w.QuoteIdent(name) == name {
		return strings.ToUpper(name)
	}
	return name
}

// ints renders integer literals the way they read back.
func (s *suite) ints(ns ...int64) []any {
	out := make([]any, len(ns))
	for i, n := range ns {
		out[i] = s.o.Int(n)
	}
	return out
}

// Rows runs query and returns all its rows, failing the test on error.
func Rows(t *testing.T, w warehouse.Warehouse, query string) [][]any {
	t.Helper()
	res, err := w.Query(context.Background(), query, 0)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows
}

// AssertRows checks that query returns exactly want.
func AssertRows(t *testing.T, w warehouse.Warehouse, query string, want [][]any) {
	t.Helper()
	if got := Rows(t, w, query); !reflect.DeepEqual(got, want) {
		t.Errorf("%s\ngot:  %#v\nwant: %#v", query, got, want)
	}
}

// AssertKind checks what Lookup reports rel to be.
func AssertKind(t *testing.T, w warehouse.Warehouse, rel warehouse.Relation, want warehouse.Kind) {
	t.Helper()
	got, err := w.Lookup(context.Background(), rel)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Lookup(%s) = %q, want %q", w.RelationSQL(rel), got, want)
	}
}

// assertNoScratch checks that no staging, temp or scratch relation is left
// over in schema.
func (s *suite) assertNoScratch(t *testing.T, w warehouse.Warehouse, schema string) {
	t.Helper()
	left, err := s.o.Scratch(context.Background(), w, schema)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("scratch relations left behind in %s: %v", schema, left)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRows(t *testing.T, want int64) func(int64, error) {
	return func(n int64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("rows = %d, want %d", n, want)
		}
	}
}
