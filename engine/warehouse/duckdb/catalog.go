package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Catalog implements warehouse.Warehouse with one query over DuckDB's own
// catalog functions: duckdb_columns() lists the columns of tables and views
// alike, in order, with DuckDB's type names; duckdb_views() tells views
// apart; duckdb_tables().estimated_size is the row count.
//
// estimated_size is not always exact: it is the number of rows the table's
// storage holds, which counts rows deleted since they were written (DuckDB
// reclaims them only when whole row groups empty), so a table that has had
// rows deleted or replaced (an incremental model with a unique_key) reads
// high. For a table built by CREATE TABLE AS or loaded by quarry, and
// appended to since, it is exact. Counting every table exactly would cost a
// scan per table; the catalog is meant to be cheap at 10,000 relations.
//
// Schemas are matched case-insensitively, as DuckDB resolves names; only the
// current database is listed (not temp, system or attached catalogs).
func (w *Warehouse) Catalog(ctx context.Context, schemas []string) ([]warehouse.RelationInfo, error) {
	if len(schemas) == 0 {
		return nil, nil
	}
	args := make([]any, len(schemas))
	marks := make([]string, len(schemas))
	for i, s := range schemas {
		args[i] = s
		marks[i] = "lower(coalesce(nullif(?, ''), current_schema()))"
	}
	query := `SELECT c.schema_name, c.table_name, c.column_name, c.data_type,
       v.view_name IS NOT NULL AS is_view, t.estimated_size
FROM duckdb_columns() c
LEFT JOIN duckdb_tables() t
  ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name
LEFT JOIN duckdb_views() v
  ON v.database_name = c.database_name AND v.schema_name = c.schema_name AND v.view_name = c.table_name
WHERE c.database_name = current_database() AND NOT c.internal
  AND lower(c.schema_name) IN (` + strings.Join(marks, ", ") + `)
ORDER BY c.schema_name, c.table_name, c.column_index`
	rows, err := w.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	defer rows.Close()
	var infos []warehouse.RelationInfo
	for rows.Next() {
		var (
			schema, table, column, typ string
			isView                     bool
			size                       sql.NullInt64
		)
		if err := rows.Scan(&schema, &table, &column, &typ, &isView, &size); err != nil {
			return nil, fmt.Errorf("describe the catalog: %w", err)
		}
		rel := warehouse.Relation{Schema: schema, Name: table}
		if n := len(infos); n == 0 || infos[n-1].Relation != rel {
			info := warehouse.RelationInfo{Relation: rel, Kind: warehouse.KindTable}
			if isView {
				info.Kind = warehouse.KindView
			} else if size.Valid {
				info.RowCount = &size.Int64
			}
			infos = append(infos, info)
		}
		last := &infos[len(infos)-1]
		last.Columns = append(last.Columns, warehouse.ColumnInfo{Name: column, Type: typ})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	return infos, nil
}

// Columns implements warehouse.Warehouse, from duckdb_columns() as Catalog
// reads it, names matched case-insensitively as DuckDB resolves them.
func (w *Warehouse) Columns(ctx context.Context, rel warehouse.Relation) ([]warehouse.ColumnInfo, error) {
	const query = `SELECT column_name, data_type FROM duckdb_columns()
WHERE database_name = current_database() AND NOT internal
  AND lower(schema_name) = lower(coalesce(nullif(?, ''), current_schema()))
  AND lower(table_name) = lower(?)
ORDER BY column_index`
	rows, err := w.db.QueryContext(ctx, query, rel.Schema, rel.Name)
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
	}
	defer rows.Close()
	var cols []warehouse.ColumnInfo
	for rows.Next() {
		var c warehouse.ColumnInfo
		if err := rows.Scan(&c.Name, &c.Type); err != nil {
			return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), warehouse.ErrNotFound)
	}
	return cols, nil
}
