package duckdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// LoadRows implements warehouse.Warehouse.
//
// Approach: every value is rendered as text and appended with the DuckDB
// Appender into a connection-local, all-VARCHAR temp table whose columns
// carry the target's column names. One transaction then moves the rows into
// place with a plain CAST(col AS type) per column. This gives a single code
// path for every (Go type, column type) pair, including a string loaded into
// a DATE or DECIMAL column the user pinned, and DuckDB itself does the
// conversion with its normal rules. A value that does not convert fails the
// whole statement with DuckDB's conversion error, which names the offending
// value and "source column <name>"; nothing is silently turned into NULL as
// TRY_CAST would.
//
// With replace, the typed rows go into a fresh staging table in rel's schema
// and, in the same transaction, the old relation is dropped and the staging
// table renamed into place. Without replace, the table is created if missing
// and the rows inserted BY NAME in one transaction. Either way a failure
// rolls everything back, and the temp table is always dropped.
func (w *Warehouse) LoadRows(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column, rows [][]any, replace bool) (int64, error) {
	name := w.RelationSQL(rel)
	n, err := w.loadRows(ctx, rel, cols, rows, replace)
	if err != nil {
		return 0, fmt.Errorf("load rows into %s: %w", name, err)
	}
	return n, nil
}

func (w *Warehouse) loadRows(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column, rows [][]any, replace bool) (n int64, err error) {
	if len(cols) == 0 {
		return 0, errors.New("no columns")
	}
	types := make([]string, len(cols))
	for i, c := range cols {
		types[i] = columnType(c.Type)
	}
	// Render everything before touching the database, so a value of an
	// unsupported Go type fails without any cleanup to do.
	text := make([][]driver.Value, len(rows))
	for r, row := range rows {
		if len(row) != len(cols) {
			return 0, fmt.Errorf("row %d has %d values, want %d", r+1, len(row), len(cols))
		}
		text[r] = make([]driver.Value, len(cols))
		for i, v := range row {
			s, err := valueText(v, types[i])
			if err != nil {
				return 0, fmt.Errorf("row %d, column %s: %w", r+1, cols[i].Name, err)
			}
			text[r][i] = s
		}
	}

	// A dedicated connection: the temp table is only visible on it, and the
	// appender needs its driver connection.
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()

	raw := tempName("load")
	rawDefs := make([]string, len(cols))
	for i, c := range cols {
		rawDefs[i] = w.QuoteIdent(c.Name) + " VARCHAR"
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE "+w.QuoteIdent(raw)+" ("+strings.Join(rawDefs, ", ")+")"); err != nil {
		return 0, err
	}
	defer func() {
		// Clean up even when ctx was canceled. If the drop fails, discard
		// the connection instead of returning it to the pool: closing a
		// DuckDB connection drops its temp tables.
		cleanup := context.WithoutCancel(ctx)
		if _, dropErr := conn.ExecContext(cleanup, "DROP TABLE IF EXISTS temp.main."+w.QuoteIdent(raw)); dropErr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()

	if len(text) > 0 {
		if err := w.appendText(ctx, conn, raw, text); err != nil {
			return 0, err
		}
	}

	casts := make([]string, len(cols))
	defs := make([]string, len(cols))
	for i, c := range cols {
		q := w.QuoteIdent(c.Name)
		casts[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, types[i], q)
		defs[i] = q + " " + types[i]
	}
	selectTyped := "SELECT " + strings.Join(casts, ", ") + " FROM temp.main." + w.QuoteIdent(raw)
	target := w.RelationSQL(rel)

	err = w.inTx(ctx, conn, func(tx *sql.Tx) error {
		if !replace {
			if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+target+" ("+strings.Join(defs, ", ")+")"); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "INSERT INTO "+target+" BY NAME "+selectTyped)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		}

		stage := w.RelationSQL(warehouse.Relation{Schema: rel.Schema, Name: tempName("stage")})
		if _, err := tx.ExecContext(ctx, "CREATE TABLE "+stage+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "INSERT INTO "+stage+" "+selectTyped)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		kind, err := w.lookup(ctx, tx, rel)
		if err != nil {
			return err
		}
		switch kind {
		case warehouse.KindTable:
			_, err = tx.ExecContext(ctx, "DROP TABLE "+target)
		case warehouse.KindView:
			_, err = tx.ExecContext(ctx, "DROP VIEW "+target)
		}
		if err != nil {
			return err
		}
		// RENAME TO takes a bare name: the table stays in its schema.
		_, err = tx.ExecContext(ctx, "ALTER TABLE "+stage+" RENAME TO "+w.QuoteIdent(rel.Name))
		return err
	})
	if err != nil {
		if ve := w.findBadValue(ctx, conn, raw, cols, types, err); ve != nil {
			return 0, ve
		}
		return 0, err
	}
	return n, nil
}

// findBadValue looks, after the typed insert failed with loadErr, for the
// first value in the temp table raw that does not convert to its column's
// type, and returns it as a *warehouse.ValueError; nil when every value
// converts (the insert failed for another reason). DuckDB's own message
// names the value and the column but not the row, and a caller that read
// the rows from a file wants to name the line.
func (w *Warehouse) findBadValue(ctx context.Context, conn *sql.Conn, raw string, cols []warehouse.Column, types []string, loadErr error) *warehouse.ValueError {
	if ctx.Err() != nil {
		return nil
	}
	var found *warehouse.ValueError
	for i, c := range cols {
		q := w.QuoteIdent(c.Name)
		// rowid is the order the appender added the rows in.
		query := fmt.Sprintf("SELECT rowid, %s FROM temp.main.%s WHERE %s IS NOT NULL AND TRY_CAST(%s AS %s) IS NULL ORDER BY rowid LIMIT 1",
			q, w.QuoteIdent(raw), q, q, types[i])
		var row int64
		var value string
		switch err := conn.QueryRowContext(ctx, query).Scan(&row, &value); {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return nil // the original error says more than this one
		}
		if found == nil || int(row) < found.Row {
			found = &warehouse.ValueError{Row: int(row), Column: c.Name, Value: value, Type: types[i], Err: loadErr}
		}
	}
	return found
}

// appendText appends rows to the temp table raw through the DuckDB Appender.
func (w *Warehouse) appendText(ctx context.Context, conn *sql.Conn, raw string, rows [][]driver.Value) error {
	return conn.Raw(func(dc any) error {
		driverConn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		app, err := duckdb.NewAppender(driverConn, "temp", "main", raw)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if err := app.AppendRow(row...); err != nil {
				// Close clears the buffered rows; the temp table is
				// dropped by the caller anyway.
				return errors.Join(err, app.Close())
			}
		}
		return app.CloseWithCancel(ctx)
	})
}

// columnType renders a column type; see warehouse.ColumnType.
func columnType(t string) string { return warehouse.ColumnType(t, "TIMESTAMP") }

// valueText renders v as text that DuckDB's CAST to colType parses back to
// the same value. Times are rendered in UTC, the same convention duckdb-go
// uses when it appends a time.Time: a TIMESTAMP column holds the UTC wall
// clock, a DATE column the UTC calendar date, and the explicit +00 offset
// makes a TIMESTAMPTZ column independent of the session time zone.
func valueText(v any, colType string) (driver.Value, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		// Shortest round-tripping form; NaN, +Inf and -Inf parse too.
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		if strings.EqualFold(colType, "DATE") {
			return v.UTC().Format(time.DateOnly), nil
		}
		return v.UTC().Format("2006-01-02 15:04:05.999999999") + "+00", nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

// tempName returns a fresh name for a scratch table. It is random rather
// than a counter because several Warehouse values (even several processes)
// can share one database file.
func tempName(purpose string) string {
	return "__quarry_" + purpose + "_" + strings.ToLower(rand.Text())
}

// AppendRows implements warehouse.Warehouse. Each append's rows go, as
// text, into a temp table of their own exactly as LoadRows does; one
// transaction then inserts them all into their tables with the same casts,
// so a value that does not convert, in any of the tables, rolls back every
// insert.
func (w *Warehouse) AppendRows(ctx context.Context, appends []warehouse.Append) ([]int64, error) {
	n, err := w.appendRows(ctx, appends)
	if err != nil {
		return nil, warehouse.AppendFailed(w, appends, err)
	}
	return n, nil
}

func (w *Warehouse) appendRows(ctx context.Context, appends []warehouse.Append) ([]int64, error) {
	// Render everything before touching the database.
	texts := make([][][]driver.Value, len(appends))
	typesOf := make([][]string, len(appends))
	for a, ap := range appends {
		if len(ap.Cols) == 0 {
			return nil, fmt.Errorf("%s: no columns", w.RelationSQL(ap.Rel))
		}
		typesOf[a] = make([]string, len(ap.Cols))
		for i, c := range ap.Cols {
			typesOf[a][i] = columnType(c.Type)
		}
		texts[a] = make([][]driver.Value, len(ap.Rows))
		for r, row := range ap.Rows {
			if len(row) != len(ap.Cols) {
				return nil, fmt.Errorf("%s: row %d has %d values, want %d", w.RelationSQL(ap.Rel), r+1, len(row), len(ap.Cols))
			}
			texts[a][r] = make([]driver.Value, len(ap.Cols))
			for i, v := range row {
				s, err := valueText(v, typesOf[a][i])
				if err != nil {
					return nil, fmt.Errorf("%s: row %d, column %s: %w", w.RelationSQL(ap.Rel), r+1, ap.Cols[i].Name, err)
				}
				texts[a][r][i] = s
			}
		}
	}

	conn, err := w.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	raws := make([]string, len(appends))
	defer func() {
		cleanup := context.WithoutCancel(ctx)
		for _, raw := range raws {
			if raw == "" {
				continue
			}
			if _, dropErr := conn.ExecContext(cleanup, "DROP TABLE IF EXISTS temp.main."+w.QuoteIdent(raw)); dropErr != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}
	}()
	for a, ap := range appends {
		raw := tempName("load")
		defs := make([]string, len(ap.Cols))
		for i, c := range ap.Cols {
			defs[i] = w.QuoteIdent(c.Name) + " VARCHAR"
		}
		if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE "+w.QuoteIdent(raw)+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return nil, err
		}
		raws[a] = raw
		if len(texts[a]) > 0 {
			if err := w.appendText(ctx, conn, raw, texts[a]); err != nil {
				return nil, err
			}
		}
	}

	counts := make([]int64, len(appends))
	err = w.inTx(ctx, conn, func(tx *sql.Tx) error {
		for a, ap := range appends {
			casts := make([]string, len(ap.Cols))
			for i, c := range ap.Cols {
				q := w.QuoteIdent(c.Name)
				casts[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, typesOf[a][i], q)
			}
			res, err := tx.ExecContext(ctx, "INSERT INTO "+w.RelationSQL(ap.Rel)+" BY NAME SELECT "+strings.Join(casts, ", ")+" FROM temp.main."+w.QuoteIdent(raws[a]))
			if err != nil {
				return fmt.Errorf("%s: %w", w.RelationSQL(ap.Rel), err)
			}
			if counts[a], err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}
