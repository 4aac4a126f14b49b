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

// TableBytes implements warehouse.Warehouse with one query on
// INFORMATION_SCHEMA.TABLES, whose BYTES is Snowflake's own figure for a
// table: the compressed bytes a full scan would read, exact as of the last
// change. It leaves out what Time Travel and Fail-safe retain of changed or
// deleted data (TABLE_STORAGE_METRICS has those, and needs more privileges).
// Names are folded as Lookup folds them. The emulator answers 0 for every
// table.
func (w *Warehouse) TableBytes(ctx context.Context, tables []warehouse.Relation) (map[warehouse.Relation]int64, error) {
	ctx = w.tag(ctx)
	out := map[warehouse.Relation]int64{}
	byStored := map[warehouse.Relation][]warehouse.Relation{}
	var schemas []string
	for _, t := range tables {
		schema := t.Schema
		if schema == "" {
			schema = w.cfg.Driver.Schema
		}
		if schema == "" {
			continue // nowhere to look: unknown, like a missing table
		}
		key := warehouse.Relation{Schema: folded(schema), Name: folded(t.Name)}
		byStored[key] = append(byStored[key], t)
		schemas = append(schemas, key.Schema)
	}
	slices.Sort(schemas)
	schemas = slices.Compact(schemas)
	if len(schemas) == 0 {
		return out, nil
	}
	args := make([]any, len(schemas))
	for i, s := range schemas {
		args[i] = s
	}
	q := `SELECT table_schema, table_name, bytes FROM information_schema.tables
WHERE table_type NOT LIKE '%VIEW%' AND table_schema IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(schemas)), ", ") + ")"
	rows, err := w.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r warehouse.Relation
		var bytes sql.NullString // NUMBERs arrive as text
		if err := rows.Scan(&r.Schema, &r.Name, &bytes); err != nil {
			return nil, fmt.Errorf("read table sizes: %w", err)
		}
		n, err := strconv.ParseInt(bytes.String, 10, 64)
		if !bytes.Valid || err != nil {
			continue
		}
		for _, t := range byStored[r] {
			out[t] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	return out, nil
}
