package duckdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Publish swaps staged into live's place in one transaction: DuckDB's DDL
// is transactional, so readers see the old table until the commit and the
// new one after it.
func (w *Warehouse) Publish(ctx context.Context, staged, live warehouse.Relation) error {
	if staged.Schema != live.Schema {
		// RENAME TO takes a bare name: the table cannot change schema.
		return fmt.Errorf("publish %s: staged table %s must be in the same schema", w.RelationSQL(live), w.RelationSQL(staged))
	}
	err := w.inTx(ctx, w.db, func(tx *sql.Tx) error {
		if err := w.dropIn(ctx, tx, live); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "ALTER TABLE "+w.RelationSQL(staged)+" RENAME TO "+w.QuoteIdent(live.Name))
		return err
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", w.RelationSQL(live), err)
	}
	return nil
}

// Drop removes rel, whether it is a table or a view; a missing one is fine.
func (w *Warehouse) Drop(ctx context.Context, rel warehouse.Relation) error {
	err := w.inTx(ctx, w.db, func(tx *sql.Tx) error { return w.dropIn(ctx, tx, rel) })
	if err != nil {
		return fmt.Errorf("drop %s: %w", w.RelationSQL(rel), err)
	}
	return nil
}

// dropIn drops rel inside tx, with the statement its kind needs (DROP TABLE
// fails on a view and the other way round).
func (w *Warehouse) dropIn(ctx context.Context, tx *sql.Tx, rel warehouse.Relation) error {
	kind, err := w.lookup(ctx, tx, rel)
	if err != nil {
		return err
	}
	switch kind {
	case warehouse.KindView:
		_, err = tx.ExecContext(ctx, "DROP VIEW "+w.RelationSQL(rel))
	case warehouse.KindTable:
		_, err = tx.ExecContext(ctx, "DROP TABLE "+w.RelationSQL(rel))
	}
	return err
}
