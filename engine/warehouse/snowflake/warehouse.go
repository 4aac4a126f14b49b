// Package snowflake implements warehouse.Warehouse on Snowflake
// (github.com/snowflakedb/gosnowflake).
//
// Snowflake differs from DuckDB in ways that shape this package:
//
//   - Unquoted identifiers fold to upper case. Dialect.QuoteIdent leaves
//     plain lower-case names bare so they fold like a user's unquoted SQL,
//     and catalog lookups compare with the folded name.
//   - DDL is not transactional: every CREATE, DROP or ALTER commits on its
//     own (and commits any open transaction). Atomic replacement therefore
//     comes from single statements Snowflake makes atomic: CREATE OR
//     REPLACE, MERGE, and ALTER TABLE ... SWAP WITH. Only DML runs inside
//     explicit transactions.
//   - Tables quarry can rebuild at will are TRANSIENT unless the target says
//     transient: false; tables that accumulate history (the landings that
//     extractors append to) are permanent, so Time Travel and Fail-safe
//     protect them.
//   - Every statement carries a QUERY_TAG naming quarry and the node it runs
//     for, so that costs can be traced in QUERY_HISTORY.
package snowflake

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Warehouse is a Snowflake database opened by Open. It is safe for
// concurrent use: every operation takes its own session from the pool.
type Warehouse struct {
	Dialect

	db  *sql.DB
	cfg *Config

	// schemaMu serializes EnsureSchema, and schemas caches the schemas known
	// to exist, by folded name, so concurrent nodes create each once.
	schemaMu sync.Mutex
	schemas  map[string]bool
}

var _ warehouse.Warehouse = (*Warehouse)(nil)

// Open connects to Snowflake with the target's settings (see NewConfig) and
// checks the connection by logging in.
func Open(ctx context.Context, o Options) (*Warehouse, error) {
	cfg, err := NewConfig(o)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, cfg, o.Threads)
}

// OpenConfig connects with a configuration built by NewConfig. threads is the
// number of workers that will use the warehouse at once; the pool keeps
// that many sessions open between nodes.
func OpenConfig(ctx context.Context, cfg *Config, threads int) (*Warehouse, error) {
	// The connector takes the configuration as a struct: the password never
	// travels through a DSN string that an error could quote.
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, cfg.Driver))
	db.SetMaxIdleConns(max(threads, 1) + 1)
	w := &Warehouse{db: db, cfg: cfg, schemas: map[string]bool{}}
	// gosnowflake's login_timeout bounds only the sleeps between its
	// retries, not the attempts themselves (each may wait client_timeout,
	// 15 minutes by default), and its message quotes login_timeout whatever
	// the time spent. The login is bounded here by login_timeout as a
	// whole, and a failure reports the time actually waited.
	login := effectiveLoginTimeout(cfg.Driver)
	lctx, cancel := context.WithTimeout(ctx, login)
	defer cancel()
	start := time.Now()
	if err := db.PingContext(w.tag(lctx)); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to snowflake account %s as %s: %w", cfg.Driver.Account, cfg.Driver.User,
			loginFailure(ctx, lctx, err, time.Since(start), cfg.Driver))
	}
	return w, nil
}

// gosnowflake's defaults (unexported there) for the settings that bound a
// login.
const (
	driverLoginTimeout  = 300 * time.Second
	driverMaxRetryCount = 7
)

func effectiveLoginTimeout(d sf.Config) time.Duration {
	if d.LoginTimeout > 0 {
		return d.LoginTimeout
	}
	return driverLoginTimeout
}

// driverTimeout is gosnowflake's message when it stops retrying; "after"
// names login_timeout, not the time spent, so it is rewritten.
var driverTimeout = regexp.MustCompile(`timeout after \S+ and (\d+) attempts\.( HTTP Status: \d+\.)?( Hanging\?)?`)

// loginError is a failed login, described with the time it took.
type loginError struct {
	msg string
	err error
}

func (e *loginError) Error() string { return e.msg }
func (e *loginError) Unwrap() error { return e.err }

// loginFailure describes a failed login: how long it waited and which
// setting ended it.
func loginFailure(ctx, lctx context.Context, err error, waited time.Duration, d sf.Config) error {
	if ctx.Err() != nil {
		return err // interrupted: not the settings' doing
	}
	if waited >= time.Second {
		waited = waited.Round(100 * time.Millisecond)
	} else {
		waited = waited.Round(time.Millisecond)
	}
	login := effectiveLoginTimeout(d)
	retries := d.MaxRetryCount
	if retries == 0 {
		retries = driverMaxRetryCount
	}
	cause := driverTimeout.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := driverTimeout.FindStringSubmatch(m)
		return "no success in " + sub[1] + " attempts." + sub[2]
	})
	if errors.Is(lctx.Err(), context.DeadlineExceeded) {
		msg := fmt.Sprintf("no login after %s: login_timeout (%s) ran out; check host, port and network, or raise login_timeout under the target (or SNOWFLAKE_LOGIN_TIMEOUT)",
			waited, login)
		if !errors.Is(err, context.DeadlineExceeded) {
			msg += ": " + cause // the last attempt's failure says more than the deadline
		}
		return &loginError{err: err, msg: msg}
	}
	var ne net.Error
	if !driverTimeout.MatchString(err.Error()) && !errors.As(err, &ne) {
		return err // an answer, such as wrong credentials: no retries involved
	}
	return &loginError{err: err, msg: fmt.Sprintf("gave up after %s (the driver retries up to max_retry_count=%d times within login_timeout=%s): %s",
		waited, retries, login, cause)}
}

// Close ends every session.
func (w *Warehouse) Close() error {
	if err := w.db.Close(); err != nil {
		return fmt.Errorf("close snowflake: %w", err)
	}
	return nil
}

// queryTag is the QUERY_TAG of every statement: JSON, so that QUERY_HISTORY
// can be grouped by node with Snowflake's JSON functions.
type queryTag struct {
	App  string `json:"app"`
	Node string `json:"node,omitempty"`
	Tag  string `json:"tag,omitempty"` // the target's query_tag setting
}

// tag returns ctx carrying the QUERY_TAG for the node ctx runs for.
// gosnowflake sends it as a parameter of each statement, so concurrent
// sessions never see each other's tags (as ALTER SESSION could make them).
func (w *Warehouse) tag(ctx context.Context) context.Context {
	b, err := json.Marshal(queryTag{App: "quarry", Node: warehouse.NodeFrom(ctx), Tag: w.cfg.QueryTag})
	if err != nil {
		return ctx // strings always marshal
	}
	return sf.WithQueryTag(ctx, string(b))
}

// EnsureSchema implements warehouse.Warehouse. Creation is serialized and
// cached, so concurrent nodes in one schema create it once.
func (w *Warehouse) EnsureSchema(ctx context.Context, schema string) error {
	if schema == "" {
		return nil
	}
	ctx = w.tag(ctx)
	key := folded(schema)
	w.schemaMu.Lock()
	defer w.schemaMu.Unlock()
	if w.schemas[key] {
		return nil
	}
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("create schema %s: %w", w.QuoteIdent(schema), err)
	}
	_, err = conn.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+w.QuoteIdent(schema))
	// Snowflake makes a schema it creates the session's current schema. The
	// session must not go back to the pool like that, or an unqualified
	// name would resolve differently depending on which session ran it.
	discard(conn)
	conn.Close()
	if err != nil {
		return fmt.Errorf("create schema %s: %w", w.QuoteIdent(schema), err)
	}
	w.schemas[key] = true
	return nil
}

// discard makes database/sql close conn's session when it is released,
// instead of pooling it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// Lookup implements warehouse.Warehouse.
func (w *Warehouse) Lookup(ctx context.Context, rel warehouse.Relation) (warehouse.Kind, error) {
	kind, err := w.lookup(w.tag(ctx), rel)
	if err != nil {
		return warehouse.KindNone, fmt.Errorf("lookup %s: %w", w.RelationSQL(rel), err)
	}
	return kind, nil
}

func (w *Warehouse) lookup(ctx context.Context, rel warehouse.Relation) (warehouse.Kind, error) {
	schema := rel.Schema
	if schema == "" {
		schema = w.cfg.Driver.Schema
	}
	if schema == "" {
		return warehouse.KindNone, errNoSchema
	}
	// SHOW rather than INFORMATION_SCHEMA: it needs no running warehouse,
	// answers from metadata at once, and lists views and tables alike. Its
	// LIKE is case-insensitive and '_' matches any one character, so the
	// pattern only narrows the listing: the exact, case-sensitive match on
	// the folded name is made below. Every character that would need
	// escaping inside the pattern is turned into '_' for that reason.
	pattern := strings.Map(func(r rune) rune {
		if r == '\'' || r == '\\' || r == '%' {
			return '_'
		}
		return r
	}, folded(rel.Name))
	q := fmt.Sprintf("SHOW TERSE OBJECTS LIKE '%s' IN SCHEMA %s", pattern, w.QuoteIdent(schema))
	rows, err := w.db.QueryContext(ctx, q)
	if err != nil {
		if notExist(err) {
			return warehouse.KindNone, nil // no schema, so no relation
		}
		return warehouse.KindNone, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return warehouse.KindNone, err
	}
	nameIdx, kindIdx := -1, -1
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "name":
			nameIdx = i
		case "kind":
			kindIdx = i
		}
	}
	if nameIdx < 0 || kindIdx < 0 {
		return warehouse.KindNone, fmt.Errorf("SHOW TERSE OBJECTS returned no name or kind column (columns: %s)", strings.Join(cols, ", "))
	}
	want := folded(rel.Name)
	found := warehouse.KindNone
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return warehouse.KindNone, err
		}
		if fmt.Sprint(vals[nameIdx]) != want {
			continue
		}
		// Kinds are TABLE, VIEW, MATERIALIZED_VIEW, EXTERNAL_TABLE and the
		// like: whatever is not a view is queried like a table.
		if strings.Contains(strings.ToUpper(fmt.Sprint(vals[kindIdx])), "VIEW") {
			found = warehouse.KindView
		} else {
			found = warehouse.KindTable
		}
	}
	return found, rows.Err()
}

// errNoSchema is returned when a relation names no schema and the target
// sets none either.
var errNoSchema = errors.New("the relation names no schema and the target sets none (set schema: or SNOWFLAKE_SCHEMA)")

// notExist reports whether err is Snowflake's "does not exist or not
// authorized" for an object or schema.
func notExist(err error) bool {
	var se *sf.SnowflakeError
	if !errors.As(err, &se) {
		return false
	}
	return se.Number == 2003 || se.Number == 2043
}

// tableKeyword is what CREATE uses for the tables quarry rebuilds.
func (w *Warehouse) tableKeyword() string {
	if w.cfg.Transient {
		return "TRANSIENT TABLE"
	}
	return "TABLE"
}

// CreateView implements warehouse.Warehouse.
func (w *Warehouse) CreateView(ctx context.Context, rel warehouse.Relation, selectSQL string) error {
	ctx = w.tag(ctx)
	name := w.RelationSQL(rel)
	if err := w.createView(ctx, rel, selectSQL); err != nil {
		return fmt.Errorf("create view %s: %w", name, err)
	}
	return nil
}

func (w *Warehouse) createView(ctx context.Context, rel warehouse.Relation, selectSQL string) error {
	name := w.RelationSQL(rel)
	sel, err := oneStatement(selectSQL)
	if err != nil {
		return err
	}
	kind, err := w.lookup(ctx, rel)
	if err != nil {
		return err
	}
	body := " AS\n" + sel + "\n"
	if kind != warehouse.KindTable {
		return w.exec(ctx, "CREATE OR REPLACE VIEW "+name+body)
	}
	// CREATE OR REPLACE VIEW refuses to replace a table, and the DROP
	// TABLE it needs commits at once. So the view is made first under a
	// scratch name, which also checks its SQL: a definition that fails
	// leaves the table untouched.
	scratch := w.RelationSQL(warehouse.Relation{Schema: rel.Schema, Name: tempName("view")})
	if err := w.exec(ctx, "CREATE VIEW "+scratch+body); err != nil {
		return err
	}
	err = w.exec(ctx, "DROP TABLE "+name)
	if err == nil {
		err = w.exec(ctx, "ALTER VIEW "+scratch+" RENAME TO "+name)
	}
	if err != nil {
		_ = w.exec(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+scratch)
	}
	return err
}

// CreateTable implements warehouse.Warehouse. CREATE OR REPLACE TABLE ... AS
// is atomic in Snowflake: when the select fails, the previous table stays
// exactly as it was.
func (w *Warehouse) CreateTable(ctx context.Context, rel warehouse.Relation, selectSQL string) (int64, error) {
	ctx = w.tag(ctx)
	name := w.RelationSQL(rel)
	rows, err := w.createTable(ctx, rel, selectSQL)
	if err != nil {
		return 0, fmt.Errorf("create table %s: %w", name, err)
	}
	return rows, nil
}

func (w *Warehouse) createTable(ctx context.Context, rel warehouse.Relation, selectSQL string) (int64, error) {
	name := w.RelationSQL(rel)
	sel, err := oneStatement(selectSQL)
	if err != nil {
		return 0, err
	}
	kind, err := w.lookup(ctx, rel)
	if err != nil {
		return 0, err
	}
	body := " AS\n" + sel + "\n"
	if kind == warehouse.KindView {
		// CREATE OR REPLACE TABLE refuses to replace a view: build the
		// table beside it, then drop the view and move the table in, so a
		// failing select leaves the view untouched.
		scratch := w.RelationSQL(warehouse.Relation{Schema: rel.Schema, Name: tempName("table")})
		if err := w.exec(ctx, "CREATE "+w.tableKeyword()+" "+scratch+body); err != nil {
			return 0, err
		}
		err := w.exec(ctx, "DROP VIEW "+name)
		if err == nil {
			err = w.exec(ctx, "ALTER TABLE "+scratch+" RENAME TO "+name)
		}
		if err != nil {
			_ = w.exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+scratch)
			return 0, err
		}
	} else if err := w.exec(ctx, "CREATE OR REPLACE "+w.tableKeyword()+" "+name+body); err != nil {
		return 0, err
	}
	// CREATE TABLE ... AS reports no row count; COUNT(*) of a table is
	// answered from metadata.
	return w.count(ctx, name)
}

func (w *Warehouse) count(ctx context.Context, name string) (int64, error) {
	var s string
	if err := w.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+name).Scan(&s); err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

// Incremental implements warehouse.Warehouse: a MERGE on the unique key, or
// an INSERT without one, matching columns by name. Either is one DML
// statement, which Snowflake runs as one transaction of its own
// (autocommit): it applies all its rows or none, so no BEGIN and COMMIT
// are sent around it.
//
// Unlike the duckdb warehouse's delete+insert, MERGE refuses new rows that
// repeat a key among themselves (Snowflake's ERROR_ON_NONDETERMINISTIC_MERGE):
// a model's new rows must be unique on its unique_key.
func (w *Warehouse) Incremental(ctx context.Context, rel warehouse.Relation, selectSQL string, uniqueKey []string) (int64, error) {
	ctx = w.tag(ctx)
	name := w.RelationSQL(rel)
	rows, err := w.incremental(ctx, rel, selectSQL, uniqueKey)
	if err != nil {
		return 0, fmt.Errorf("incremental %s: %w", name, err)
	}
	return rows, nil
}

func (w *Warehouse) incremental(ctx context.Context, rel warehouse.Relation, selectSQL string, uniqueKey []string) (int64, error) {
	name := w.RelationSQL(rel)
	sel, err := oneStatement(selectSQL)
	if err != nil {
		return 0, err
	}
	kind, err := w.lookup(ctx, rel)
	if err != nil {
		return 0, err
	}
	switch kind {
	case warehouse.KindNone:
		return 0, warehouse.ErrNotFound
	case warehouse.KindView:
		return 0, fmt.Errorf("%s is a view, not a table", name)
	}
	cols, err := w.describe(ctx, sel)
	if err != nil {
		return 0, err
	}
	// Column names as Snowflake reports them (folded already), so quoted.
	quoted := make([]string, len(cols))
	newCols := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteExact(c)
		newCols[i] = "quarry_new." + quoted[i]
	}
	source := "(\n" + sel + "\n) AS quarry_new"
	var stmt string
	if len(uniqueKey) == 0 {
		stmt = fmt.Sprintf("INSERT INTO %s (%s)\nSELECT %s FROM %s", name, strings.Join(quoted, ", "), strings.Join(newCols, ", "), source)
	} else {
		isKey := map[string]bool{}
		on := make([]string, len(uniqueKey))
		for i, k := range uniqueKey {
			isKey[folded(k)] = true
			q := w.QuoteIdent(k)
			on[i] = "quarry_old." + q + " = quarry_new." + q
		}
		var set []string
		for i, c := range cols {
			if !isKey[c] {
				set = append(set, quoted[i]+" = "+newCols[i])
			}
		}
		stmt = fmt.Sprintf("MERGE INTO %s AS quarry_old\nUSING %s\nON %s\n", name, source, strings.Join(on, " AND "))
		if len(set) > 0 {
			stmt += "WHEN MATCHED THEN UPDATE SET " + strings.Join(set, ", ") + "\n"
		}
		stmt += fmt.Sprintf("WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)", strings.Join(quoted, ", "), strings.Join(newCols, ", "))
	}
	res, err := w.db.ExecContext(ctx, stmt)
	if err != nil {
		return 0, err
	}
	// A MERGE reports rows inserted and rows updated; gosnowflake sums them.
	return res.RowsAffected()
}

// describe returns the column names sel, one statement, produces, without
// running it.
func (w *Warehouse) describe(ctx context.Context, sel string) ([]string, error) {
	rows, err := w.db.QueryContext(sf.WithDescribeOnly(ctx), sel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// quoteExact quotes a name exactly as Snowflake stores it.
func quoteExact(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Exec implements warehouse.Warehouse. sql may hold several statements,
// including its own BEGIN and COMMIT.
func (w *Warehouse) Exec(ctx context.Context, sql string) error {
	ctx = w.tag(ctx)
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	defer conn.Close()
	multi, err := sf.WithMultiStatement(ctx, 0) // 0: any number of statements
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	_, err = conn.ExecContext(multi, sql)
	// The session goes back to the pool, so it must not carry a
	// transaction that sql opened and did not finish: the next operation
	// on it would silently run inside that transaction.
	leftOpen := rollbackOpenTx(ctx, conn)
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if leftOpen {
		return errors.New("exec: statements left a transaction open; it was rolled back")
	}
	return nil
}

// rollbackOpenTx rolls back a transaction left open on conn and reports
// whether there was one. When that cannot be told, the session is closed
// rather than reused, which ends its transaction.
func rollbackOpenTx(ctx context.Context, conn *sql.Conn) bool {
	ctx = context.WithoutCancel(ctx)
	var id sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_TRANSACTION()").Scan(&id); err != nil {
		discard(conn)
		return false
	}
	if !id.Valid {
		return false
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		discard(conn)
	}
	return true
}

// Query implements warehouse.Warehouse. Values are what gosnowflake
// produces (string, float64, bool, time.Time, []byte), except that whole
// NUMBERs come back as int64 when they fit: gosnowflake returns every
// NUMBER as its decimal text. Other NUMBERs stay exact decimal text.
func (w *Warehouse) Query(ctx context.Context, sql string, limit int) (*warehouse.Result, error) {
	ctx = w.tag(ctx)
	sql, err := oneStatement(sql)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	rows, err := w.db.QueryContext(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	res := &warehouse.Result{Columns: make([]string, len(types)), Rows: [][]any{}}
	whole := make([]bool, len(types))
	for i, t := range types {
		res.Columns[i] = t.Name()
		_, scale, ok := t.DecimalSize()
		whole[i] = t.DatabaseTypeName() == "FIXED" && ok && scale == 0
	}
	for (limit <= 0 || len(res.Rows) < limit) && rows.Next() {
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		for i, v := range vals {
			if s, ok := v.(string); ok && whole[i] {
				if n, err := strconv.ParseInt(s, 10, 64); err == nil {
					vals[i] = n
				}
			}
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return res, nil
}

// exec runs one statement on any session.
func (w *Warehouse) exec(ctx context.Context, stmt string) error {
	_, err := w.db.ExecContext(ctx, stmt)
	return err
}

// inTx runs fn in a transaction on one session, committing when it returns
// nil and rolling back otherwise. BEGIN, COMMIT and ROLLBACK are sent as
// statements (not through database/sql's Tx, whose Commit takes no
// context) so that they carry the query tag too. fn must run DML only:
// DDL would commit the transaction halfway.
func (w *Warehouse) inTx(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		discard(conn)
		return err
	}
	if err := fn(conn); err != nil {
		if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
			discard(conn) // closing the session ends the transaction
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		discard(conn)
		return err
	}
	return nil
}

// oneStatement returns the caller's sql ready to be embedded in a larger
// statement, without its terminating semicolon, or an error when it holds
// other than exactly one statement. gosnowflake refuses several statements
// unless asked for them, but the check is made here, before anything is
// sent, so that a bad text fails the same way, with the same message, on
// both warehouses, and before any lookup or scratch object. Callers append
// a newline after it, so a trailing line comment cannot swallow what
// follows.
func oneStatement(sql string) (string, error) {
	return Dialect{}.Syntax().Single(sql)
}

// tempName returns a fresh name for a scratch table or view, lower case so
// that it is rendered bare. It is random because several runs can share a
// schema.
func tempName(purpose string) string {
	return "__quarry_" + purpose + "_" + strings.ToLower(rand.Text())
}

// ExecTx implements warehouse.Warehouse: the statements run between BEGIN
// and COMMIT on one session; a session that ends without COMMIT (a killed
// process) leaves nothing of them.
func (w *Warehouse) ExecTx(ctx context.Context, stmts []string, step func(i int) error) ([]int64, error) {
	ctx = w.tag(ctx)
	var counts []int64
	err := w.inTx(ctx, func(conn *sql.Conn) error {
		var err error
		counts, err = warehouse.ExecEach(ctx, conn, stmts, step)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("exec in a transaction: %w", err)
	}
	return counts, nil
}
