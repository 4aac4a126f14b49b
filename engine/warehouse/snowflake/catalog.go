package snowflake

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Catalog implements warehouse.Warehouse with two queries on the database's
// INFORMATION_SCHEMA, whatever the number of relations: one for the columns
// of every table and view, one for what each relation is and its row count.
// (SHOW would need a statement per schema and returns no column types.)
//
// Schemas are folded as QuoteIdent renders them, so "analytics" finds
// ANALYTICS, the way Lookup compares names. Types are Snowflake's data_type,
// with precision and scale for NUMBER (NUMBER(38,0), NUMBER(10,2)), since
// they tell whole numbers from decimals. ROW_COUNT is Snowflake's own
// metadata, exact for tables and absent for views.
//
// The emulator's INFORMATION_SCHEMA.TABLES lists no views and its ROW_COUNT
// is DuckDB's estimated_size; INFORMATION_SCHEMA.VIEWS is read beside it, so
// views are told apart on both.
func (w *Warehouse) Catalog(ctx context.Context, schemas []string) ([]warehouse.RelationInfo, error) {
	ctx = w.tag(ctx)
	names := make([]string, 0, len(schemas))
	for _, s := range schemas {
		if s == "" {
			s = w.cfg.Driver.Schema
		}
		if s != "" {
			names = append(names, folded(s))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) == 0 {
		return nil, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ") + ")"
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}

	kinds := map[warehouse.Relation]warehouse.RelationInfo{}
	q := `SELECT table_schema, table_name, table_type, row_count FROM information_schema.tables WHERE table_schema IN ` + in + `
UNION ALL
SELECT table_schema, table_name, 'VIEW', NULL FROM information_schema.views WHERE table_schema IN ` + in
	rows, err := w.db.QueryContext(ctx, q, append(slices.Clone(args), args...)...)
	if err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var schema, name, typ string
		var count sql.NullString // NUMBERs arrive as text
		if err := rows.Scan(&schema, &name, &typ, &count); err != nil {
			return nil, fmt.Errorf("describe the catalog: %w", err)
		}
		rel := warehouse.Relation{Schema: schema, Name: name}
		info := warehouse.RelationInfo{Relation: rel, Kind: warehouse.KindTable}
		// TABLE_TYPE is BASE TABLE, VIEW, MATERIALIZED VIEW, EXTERNAL TABLE
		// and the like; as in Lookup, whatever is not a view is a table.
		if strings.Contains(strings.ToUpper(typ), "VIEW") || kinds[rel].Kind == warehouse.KindView {
			info.Kind = warehouse.KindView
		} else if n, err := strconv.ParseInt(count.String, 10, 64); count.Valid && err == nil {
			info.RowCount = &n
		}
		kinds[rel] = info
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	rows.Close()

	q = `SELECT table_schema, table_name, column_name, data_type, numeric_precision, numeric_scale
FROM information_schema.columns WHERE table_schema IN ` + in + `
ORDER BY table_schema, table_name, ordinal_position`
	rows, err = w.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	defer rows.Close()
	var infos []warehouse.RelationInfo
	for rows.Next() {
		var schema, name, column, typ string
		var precision, scale sql.NullString
		if err := rows.Scan(&schema, &name, &column, &typ, &precision, &scale); err != nil {
			return nil, fmt.Errorf("describe the catalog: %w", err)
		}
		typ = numberType(typ, precision, scale)
		rel := warehouse.Relation{Schema: schema, Name: name}
		if n := len(infos); n == 0 || infos[n-1].Relation != rel {
			info, ok := kinds[rel]
			if !ok {
				// Listed by COLUMNS but by neither TABLES nor VIEWS (created
				// between the two queries): its kind is unknown, so it is
				// left out rather than guessed.
				infos = append(infos, warehouse.RelationInfo{Relation: rel})
			} else {
				infos = append(infos, info)
			}
		}
		last := &infos[len(infos)-1]
		last.Columns = append(last.Columns, warehouse.ColumnInfo{Name: column, Type: typ})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe the catalog: %w", err)
	}
	return slices.DeleteFunc(infos, func(i warehouse.RelationInfo) bool { return i.Kind == warehouse.KindNone }), nil
}

// numberType spells NUMBER with its precision and scale, which tell whole
// numbers from decimals; other types as they are.
func numberType(typ string, precision, scale sql.NullString) string {
	if typ == "NUMBER" && precision.Valid && scale.Valid {
		return "NUMBER(" + precision.String + "," + scale.String + ")"
	}
	return typ
}

// Columns implements warehouse.Warehouse with one query on
// INFORMATION_SCHEMA.COLUMNS, names folded as Lookup folds them and types
// as Catalog spells them.
func (w *Warehouse) Columns(ctx context.Context, rel warehouse.Relation) ([]warehouse.ColumnInfo, error) {
	ctx = w.tag(ctx)
	schema := rel.Schema
	if schema == "" {
		schema = w.cfg.Driver.Schema
	}
	if schema == "" {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), errNoSchema)
	}
	const q = `SELECT column_name, data_type, numeric_precision, numeric_scale
FROM information_schema.columns WHERE table_schema = ? AND table_name = ?
ORDER BY ordinal_position`
	rows, err := w.db.QueryContext(ctx, q, folded(schema), folded(rel.Name))
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
	}
	defer rows.Close()
	var cols []warehouse.ColumnInfo
	for rows.Next() {
		var name, typ string
		var precision, scale sql.NullString // NUMBERs arrive as text
		if err := rows.Scan(&name, &typ, &precision, &scale); err != nil {
			return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
		}
		cols = append(cols, warehouse.ColumnInfo{Name: name, Type: numberType(typ, precision, scale)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("describe %s: %w", w.RelationSQL(rel), warehouse.ErrNotFound)
	}
	return cols, nil
}
