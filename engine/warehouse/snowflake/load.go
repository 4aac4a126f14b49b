package snowflake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	sf "github.com/snowflakedb/gosnowflake"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// maxBinds caps the values bound by one INSERT. gosnowflake sends an array
// binding of CLIENT_STAGE_ARRAY_BINDING_THRESHOLD values (65280 by default)
// or more through a temporary stage, which needs CREATE STAGE on the
// session's schema and a PUT per statement; below it the values travel in
// the request itself. A variable so that tests can make batches small.
var maxBinds = 65000

// LoadRows implements warehouse.Warehouse.
//
// Every value is rendered as text and bound, never spliced into the SQL,
// through gosnowflake's array binding: one INSERT ... VALUES (?, ...) per
// batch of rows, each placeholder bound to a column of the batch. Snowflake
// converts the text to each column's type the way a string literal would
// convert, so one code path serves every (Go type, column type) pair,
// including a string loaded into a DATE or NUMBER column the user pinned;
// a value that does not convert fails the statement with Snowflake's
// conversion error.
//
// Appending to an existing table runs every batch in one transaction. A
// replace, or an append to a table that does not exist yet, fills a staging
// table beside rel and then moves it into place (ALTER TABLE ... SWAP WITH
// when rel exists), so a failure leaves rel as it was and no partial table.
// A replaced table is rebuilt from its source each time (seeds), so it is
// transient unless the target says otherwise; a table appended to holds
// history that cannot be rebuilt (landings), so it is created permanent.
func (w *Warehouse) LoadRows(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column, rows [][]any, replace bool) (int64, error) {
	ctx = w.tag(ctx)
	n, err := w.loadRows(ctx, rel, cols, rows, replace)
	if err != nil {
		return 0, fmt.Errorf("load rows into %s: %w", w.RelationSQL(rel), err)
	}
	return n, nil
}

func (w *Warehouse) loadRows(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column, rows [][]any, replace bool) (int64, error) {
	if len(cols) == 0 {
		return 0, errors.New("no columns")
	}
	types := make([]string, len(cols))
	for i, c := range cols {
		types[i] = columnType(c.Type)
	}
	// Render everything before touching the database, so a value of an
	// unsupported Go type fails without any cleanup to do. Column-major,
	// as array binding wants it.
	text := make([][]any, len(cols))
	for i := range text {
		text[i] = make([]any, len(rows))
	}
	for r, row := range rows {
		if len(row) != len(cols) {
			return 0, fmt.Errorf("row %d has %d values, want %d", r+1, len(row), len(cols))
		}
		for i, v := range row {
			s, err := valueText(v, types[i])
			if err != nil {
				return 0, fmt.Errorf("row %d, column %s: %w", r+1, cols[i].Name, err)
			}
			text[i][r] = s
		}
	}

	kind, err := w.lookup(ctx, rel)
	if err != nil {
		return 0, err
	}
	target := w.RelationSQL(rel)
	if !replace {
		switch kind {
		case warehouse.KindView:
			return 0, fmt.Errorf("%s is a view, not a table", target)
		case warehouse.KindTable:
			var n int64
			err := w.inTx(ctx, func(conn *sql.Conn) error {
				var err error
				n, err = w.insert(ctx, conn, target, cols, text)
				return err
			})
			return n, err
		}
	}

	defs := make([]string, len(cols))
	for i, c := range cols {
		defs[i] = w.QuoteIdent(c.Name) + " " + types[i]
	}
	table := "TABLE" // history: permanent
	if replace {
		table = w.tableKeyword()
	}
	stage := w.RelationSQL(warehouse.Relation{Schema: rel.Schema, Name: tempName("stage")})
	if err := w.exec(ctx, "CREATE "+table+" "+stage+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return 0, err
	}
	// No transaction is needed while filling it: nothing else knows of it.
	n, err := w.insert(ctx, w.db, stage, cols, text)
	if err == nil {
		err = w.moveInto(ctx, stage, target, kind)
	}
	if err != nil {
		// Clean up even when ctx was canceled.
		_ = w.exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+stage)
		return 0, err
	}
	return n, nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insert appends the column-major text to table in batches of at most
// maxBinds values, and returns how many rows it inserted.
func (w *Warehouse) insert(ctx context.Context, ex execer, table string, cols []warehouse.Column, text [][]any) (int64, error) {
	total := len(text[0])
	perBatch := max(1, maxBinds/len(cols))
	var n int64
	for start := 0; start < total; start += perBatch {
		end := min(start+perBatch, total)
		var names, marks []string
		var args []any
		for i, c := range cols {
			batch := text[i][start:end]
			// A column that is NULL throughout the batch is left out (it
			// defaults to NULL): gosnowflake can give an all-NULL array no
			// type and binds it as NUMBER, which Snowflake converts but the
			// fakesnow emulator cannot. The first column stays in when all
			// are NULL, as an INSERT needs one.
			if allNull(batch) && !(i == 0 && allColumnsNull(text, start, end)) {
				continue
			}
			names = append(names, w.QuoteIdent(c.Name))
			marks = append(marks, "?")
			args = append(args, sf.Array(batch))
		}
		stmt := "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
		res, err := ex.ExecContext(ctx, stmt, args...)
		if err != nil {
			return 0, fmt.Errorf("rows %d to %d: %w", start+1, end, err)
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += affected
	}
	return n, nil
}

func allNull(vals []any) bool {
	for _, v := range vals {
		if v != nil {
			return false
		}
	}
	return true
}

func allColumnsNull(text [][]any, start, end int) bool {
	for _, col := range text {
		if !allNull(col[start:end]) {
			return false
		}
	}
	return true
}

// columnType renders a column type; see warehouse.ColumnType.
func columnType(t string) string { return warehouse.ColumnType(t, "TIMESTAMP_NTZ") }

// valueText renders v as text that Snowflake converts to colType giving
// back the same value. Times are rendered in UTC, as the duckdb warehouse
// does: a DATE column gets the UTC calendar date, TIMESTAMP_NTZ the UTC wall
// clock, and any other column the instant with an explicit +00:00 offset,
// which keeps TIMESTAMP_TZ and TIMESTAMP_LTZ independent of the session's
// time zone.
func valueText(v any, colType string) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		// Snowflake spells the special values 'inf', '-inf' and 'NaN'.
		switch {
		case math.IsInf(v, 1):
			return "inf", nil
		case math.IsInf(v, -1):
			return "-inf", nil
		case math.IsNaN(v):
			return "NaN", nil
		}
		return strconv.FormatFloat(v, 'g', -1, 64), nil // shortest round trip
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		t := strings.ToUpper(colType)
		switch {
		case t == "DATE":
			return v.UTC().Format(time.DateOnly), nil
		case strings.HasPrefix(t, "TIMESTAMP_NTZ"), strings.HasPrefix(t, "DATETIME"):
			return v.UTC().Format("2006-01-02 15:04:05.999999999"), nil
		}
		return v.UTC().Format("2006-01-02 15:04:05.999999999") + "+00:00", nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

// AppendRows implements warehouse.Warehouse: every append's INSERTs (bound
// as LoadRows binds them) run in one transaction, so a failure in any of
// the tables leaves all of them as they were.
func (w *Warehouse) AppendRows(ctx context.Context, appends []warehouse.Append) ([]int64, error) {
	ctx = w.tag(ctx)
	n, err := w.appendRows(ctx, appends)
	if err != nil {
		return nil, warehouse.AppendFailed(w, appends, err)
	}
	return n, nil
}

func (w *Warehouse) appendRows(ctx context.Context, appends []warehouse.Append) ([]int64, error) {
	texts := make([][][]any, len(appends))
	for a, ap := range appends {
		target := w.RelationSQL(ap.Rel)
		if len(ap.Cols) == 0 {
			return nil, fmt.Errorf("%s: no columns", target)
		}
		texts[a] = make([][]any, len(ap.Cols))
		for i := range texts[a] {
			texts[a][i] = make([]any, len(ap.Rows))
		}
		for r, row := range ap.Rows {
			if len(row) != len(ap.Cols) {
				return nil, fmt.Errorf("%s: row %d has %d values, want %d", target, r+1, len(row), len(ap.Cols))
			}
			for i, v := range row {
				s, err := valueText(v, columnType(ap.Cols[i].Type))
				if err != nil {
					return nil, fmt.Errorf("%s: row %d, column %s: %w", target, r+1, ap.Cols[i].Name, err)
				}
				texts[a][i][r] = s
			}
		}
		// Checked before the transaction: an INSERT into a view would
		// fail anyway, and a missing table must not be created here.
		kind, err := w.lookup(ctx, ap.Rel)
		if err != nil {
			return nil, err
		}
		if kind != warehouse.KindTable {
			return nil, fmt.Errorf("%s is not a table", target)
		}
	}
	counts := make([]int64, len(appends))
	err := w.inTx(ctx, func(conn *sql.Conn) error {
		for a, ap := range appends {
			if len(ap.Rows) == 0 {
				continue
			}
			n, err := w.insert(ctx, conn, w.RelationSQL(ap.Rel), ap.Cols, texts[a])
			if err != nil {
				return fmt.Errorf("%s: %w", w.RelationSQL(ap.Rel), err)
			}
			counts[a] = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}
