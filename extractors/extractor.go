// Package extractors defines how quarry collects data from outside systems:
// an Extractor turns input items (rows of a seed, e.g. one GitHub repository
// each) into rows for landing tables. The engine runs extractors as nodes of
// the DAG and appends what they return to the landing schema, adding
// _load_id, _loaded_at and _source to every row. Extractors know nothing
// about templates or models; implementations live in github/ and pypi/.
package extractors

import (
	"context"
	"net/http"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Table describes one landing table an extractor writes. Columns exclude
// the _load_id, _loaded_at and _source columns the landing adds.
type Table struct {
	Name    string
	Columns []warehouse.Column
	// Key names the column identifying a row across loads (a snapshot
	// table's entity, e.g. repo_full_name); "" when rows have no such
	// identity, and then change-only landing does not apply to the table.
	Key string
	// ChangeOnly is the table's default for change-only landing (see
	// SeenTable), which project.yaml's change_only: overrides.
	ChangeOnly bool
}

// LoadColumns are the columns the landing adds to every row, after the
// extractor's own: loads are append-only snapshots, told apart by load id
// and time.
func LoadColumns() []warehouse.Column {
	return []warehouse.Column{
		{Name: "_load_id", Type: "varchar"},
		{Name: "_loaded_at", Type: "timestamp"},
		{Name: "_source", Type: "varchar"},
	}
}

// ErrorsTable is the landing table of item-level extraction failures, in
// the schema of the extractors' landing tables.
const ErrorsTable = "_extract_errors"

// ErrorColumns are the columns of ErrorsTable.
func ErrorColumns() []warehouse.Column {
	return []warehouse.Column{
		{Name: "_load_id", Type: "varchar"},
		{Name: "extractor", Type: "varchar"},
		{Name: "item", Type: "varchar"},
		{Name: "error", Type: "varchar"},
		{Name: "failed_at", Type: "timestamp"},
	}
}

// SeenTable is the bookkeeping of change-only landing, in the schema of
// the extractors' landing tables. A change-only load stores a row only when
// its content (every column but the load metadata) differs from the row
// its key last pointed at, and records here, for every key it saw, the
// _load_id of the landed row holding the key's value (row_load_id), so a
// snapshot at the time of any load can still be rebuilt. The rows and
// their entries land in one transaction.
const SeenTable = "_load_keys_seen"

// SeenColumns are the columns of SeenTable: _load_id, _loaded_at and
// _source are the seeing load's, as a stored row's would be.
func SeenColumns() []warehouse.Column {
	return []warehouse.Column{
		{Name: "landing_table", Type: "varchar"},
		{Name: "key", Type: "varchar"},
		{Name: "row_load_id", Type: "varchar"},
		{Name: "content_hash", Type: "varchar"},
		{Name: "_load_id", Type: "varchar"},
		{Name: "_loaded_at", Type: "timestamp"},
		{Name: "_source", Type: "varchar"},
	}
}

// Item is one input row (a row of the extractor's input seed), by column
// name, as text. Key names the item in messages, e.g. "apache/airflow".
type Item struct {
	Key    string
	Fields map[string]string
}

// Env is what a run gives an extractor.
type Env struct {
	// LoadID identifies this load; every row landed carries it.
	LoadID string
	// Now is the run's clock; in a replay it is the recorded run's clock,
	// so a replay reproduces the recorded run.
	Now time.Time
	// HTTP is the client to use for every request: in --record and
	// --replay runs its transport records or serves the exchanges.
	HTTP *http.Client
	// Replaying is true when HTTP serves recorded exchanges: no network.
	Replaying bool
	// Getenv reads settings such as GITHUB_TOKEN from the environment.
	Getenv func(string) (string, bool)
	// Settings are the extractor's keys under extractors.NAME in
	// project.yaml, with ${VAR} references left to the extractor.
	Settings map[string]any
	// CacheDir is a directory the extractor may keep state in across runs
	// (e.g. ETags); it is created on demand.
	CacheDir string
	// Logf prints a notice for the user (modes, warnings, statistics).
	// Secrets must never be passed to it.
	Logf func(format string, args ...any)
	// Query runs a read-only query on the target, e.g. to find the last
	// day already landed; Landing names a landing table's relation in SQL.
	Query   func(ctx context.Context, sql string) (*warehouse.Result, error)
	Landing func(table string) string
	// Strict turns item-level failures into a node error (--strict).
	Strict bool
	// Budget is the extraction's total time budget (extractors.NAME.timeout
	// in project.yaml); the engine bounds Extract's context by it (see
	// WithBudget), so an extractor only has to tell the items the budget
	// cut off (OutOfBudget) from an interrupt. 0: no budget.
	Budget time.Duration
}

// Result is what one extraction produced.
type Result struct {
	// Rows holds, per landing table, rows whose values follow the table's
	// Columns order: nil, string, int64, float64, bool or time.Time.
	Rows map[string][][]any
	// Source is written to every row's _source column, e.g. "github-rest"
	// or "pypistats".
	Source string
	// Errors are item-level failures: they land in _extract_errors and show
	// as warnings; the node fails only if every item failed (or --strict).
	Errors []ItemError
	// Stats are short lines printed at the end of the node, e.g.
	// "requests=42 not_modified=3 rate_limit_remaining=4958".
	Stats []string
	// BigQuery is what the extraction's BigQuery queries scanned, for
	// extractors that query BigQuery; nil otherwise. The engine carries it
	// to run_results.json.
	BigQuery *BigQueryUsage
}

// BigQueryUsage is the bytes of every BigQuery query of one extraction.
type BigQueryUsage struct {
	// Queries counts the real query jobs; dry runs are free and not
	// counted.
	Queries int `json:"queries"`
	// BytesEstimated is the dry runs' estimate of the bytes the queries
	// would process: on a clustered table an upper bound.
	BytesEstimated int64 `json:"bytes_estimated"`
	// BytesProcessed and BytesBilled are what the jobs' statistics say
	// they processed and billed (billing rounds small queries up).
	BytesProcessed int64 `json:"bytes_processed"`
	BytesBilled    int64 `json:"bytes_billed"`
}

// ItemError is a failure that concerns one item only.
type ItemError struct {
	Item string
	Err  string
	// Partial is set when the item's other data landed and this error
	// concerns only part of it (e.g. its metadata but not its downloads):
	// it lands in _extract_errors and warns, but the item does not count
	// as failed.
	Partial bool
}

// Extractor collects data for landing tables.
type Extractor interface {
	// Name is the extractor's name in project.yaml (extractors: NAME).
	Name() string
	// Tables lists the landing tables the extractor writes.
	Tables() []Table
	// KeyColumn names the input column that identifies an item, e.g.
	// repo_full_name.
	KeyColumn() string
	// Extract collects the rows for items. It returns an error only when
	// nothing can be collected (bad credentials, no backend); failures of
	// single items go into Result.Errors.
	Extract(ctx context.Context, env Env, items []Item) (*Result, error)
}

// Factory makes an extractor; cmd/ registers one per extractor name.
type Factory func() Extractor

// Checker is implemented by extractors that can tell, without collecting
// anything, whether their settings and credentials are usable: quarry
// debug prints what they find. Findings never include a secret's value.
type Checker interface {
	Check(ctx context.Context, env Env) []Finding
}

// Finding is one line of a check.
type Finding struct {
	OK   bool   // false: something must be fixed before the extractor can run well
	Text string // e.g. "GITHUB_TOKEN is set: authenticated, 5,000 requests an hour"
}

// Setting is one key an extractor reads under extractors.NAME in
// project.yaml.
type Setting struct {
	Name string
	// Check reports what is wrong with a value as YAML decoded it (string,
	// int, float64, bool, []any, map[string]any or nil), with ${VAR}
	// references read from getenv; nil means usable. The message names the
	// setting and says what it takes.
	Check func(value any, getenv func(string) (string, bool)) error
}

// Configurable is implemented by extractors that read settings. The engine
// checks the extractor's block of project.yaml against them when the
// project loads: an unknown key or a refused value is an error there, with
// its line and column, before anything runs. Settings of an extractor that
// is not Configurable reach it unchecked.
type Configurable interface {
	Settings() []Setting
}

// Endpointed is implemented by extractors whose API addresses can be set
// in the environment (e.g. GITHUB_API_URL). A recording keeps their values
// and a replay uses those, whatever the replaying environment says, so a
// recording replays the requests it holds.
type Endpointed interface {
	// EndpointVars names the environment variables that choose the
	// extractor's API addresses.
	EndpointVars() []string
}
