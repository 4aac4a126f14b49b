package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// TableBytes implements warehouse.Warehouse from DuckDB's storage metadata:
// pragma_storage_info lists the blocks of the database file each column
// segment of a table lives in, and pragma_database_size the block size.
// A table's figure is the number of distinct blocks its checkpointed
// segments use, times the block size (256 KiB by default).
//
// It is approximate, and an upper bound: a block is counted whole though
// DuckDB packs the small segments of several tables (or columns) into one,
// so a small table reads as at least one block; rows written since the last
// checkpoint are not counted until DuckDB checkpoints (it does when quarry
// closes the database). An in-memory database has no file, and so no
// figures: the answer is empty.
//
// Three queries whatever the number of tables: the database's file and
// block size, which of tables exist, and one UNION of their storage.
func (w *Warehouse) TableBytes(ctx context.Context, tables []warehouse.Relation) (map[warehouse.Relation]int64, error) {
	out := map[warehouse.Relation]int64{}
	if len(tables) == 0 {
		return out, nil
	}
	var path sql.NullString
	var blockSize int64
	var current string // where an unqualified name resolves
	err := w.db.QueryRowContext(ctx, `SELECT d.path, s.block_size, current_schema() FROM duckdb_databases() d
JOIN pragma_database_size() s ON s.database_name = d.database_name
WHERE d.database_name = current_database()`).Scan(&path, &blockSize, &current)
	if err != nil {
		return nil, fmt.Errorf("read the database's size: %w", err)
	}
	if !path.Valid || blockSize <= 0 {
		return out, nil // in memory: no storage to measure
	}

	// The tables that exist, by their stored names (matched
	// case-insensitively, as DuckDB resolves names).
	stored := map[warehouse.Relation]warehouse.Relation{}
	rows, err := w.db.QueryContext(ctx, `SELECT schema_name, table_name FROM duckdb_tables()
WHERE database_name = current_database() AND NOT internal AND NOT temporary`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r warehouse.Relation
		if err := rows.Scan(&r.Schema, &r.Name); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		stored[lowerRel(r)] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	rows.Close()

	var parts []string
	var asked []warehouse.Relation
	for _, t := range tables {
		s := t
		if s.Schema == "" {
			s.Schema = current
		}
		r, ok := stored[lowerRel(s)]
		if !ok {
			continue
		}
		// pragma_storage_info takes the table's name as text, which it
		// parses as SQL: the quoted qualified name, as a string literal.
		name := strings.ReplaceAll(w.RelationSQL(r), `'`, `''`)
		parts = append(parts, fmt.Sprintf(
			"SELECT %d AS t, unnest(list_prepend(block_id, additional_block_ids)) AS block FROM pragma_storage_info('%s') WHERE persistent",
			len(asked), name))
		asked = append(asked, t)
		out[t] = 0 // a table with no checkpointed segment has none
	}
	if len(parts) == 0 {
		return out, nil
	}
	query := "SELECT t, count(DISTINCT block) FROM (" + strings.Join(parts, "\nUNION ALL ") + ") WHERE block >= 0 GROUP BY t"
	rows, err = w.db.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i, blocks int64
		if err := rows.Scan(&i, &blocks); err != nil {
			return nil, fmt.Errorf("read table sizes: %w", err)
		}
		out[asked[i]] = blocks * blockSize
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	return out, nil
}

func lowerRel(r warehouse.Relation) warehouse.Relation {
	return warehouse.Relation{Schema: strings.ToLower(r.Schema), Name: strings.ToLower(r.Name)}
}
