package snowflake

import (
	"context"
	"fmt"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// Publish implements warehouse.Warehouse with ALTER TABLE live SWAP WITH
// staged: Snowflake exchanges the two tables in one atomic metadata
// operation, so readers see the old table or the new one, never neither.
// The old version, now under staged's name, is then dropped. When live does
// not exist yet, staged is renamed into place; when it is a view, the view
// is dropped first (the one case with a moment where neither exists, since
// Snowflake's DDL cannot be grouped in a transaction).
func (w *Warehouse) Publish(ctx context.Context, staged, live warehouse.Relation) error {
	ctx = w.tag(ctx)
	kind, err := w.lookup(ctx, live)
	if err == nil {
		err = w.moveInto(ctx, w.RelationSQL(staged), w.RelationSQL(live), kind)
	}
	if err != nil {
		return fmt.Errorf("publish %s: %w", w.RelationSQL(live), err)
	}
	return nil
}

// moveInto replaces live, currently of the given kind, with the table
// staged, which no longer exists afterwards.
func (w *Warehouse) moveInto(ctx context.Context, staged, live string, kind warehouse.Kind) error {
	switch kind {
	case warehouse.KindTable:
		if err := w.exec(ctx, "ALTER TABLE "+live+" SWAP WITH "+staged); err != nil {
			return err
		}
		// staged now holds the previous version.
		if err := w.exec(ctx, "DROP TABLE "+staged); err != nil {
			return fmt.Errorf("the new version is live, but dropping the previous one (now %s) failed: %w", staged, err)
		}
		return nil
	case warehouse.KindView:
		if err := w.exec(ctx, "DROP VIEW "+live); err != nil {
			return err
		}
	}
	// RENAME TO takes the qualified name, so the table lands in live's
	// schema even when staged was built elsewhere.
	return w.exec(ctx, "ALTER TABLE "+staged+" RENAME TO "+live)
}

// Drop implements warehouse.Warehouse: it removes rel, whether a table or a
// view (DROP TABLE fails on a view and the other way round); a missing one
// is fine.
func (w *Warehouse) Drop(ctx context.Context, rel warehouse.Relation) error {
	ctx = w.tag(ctx)
	name := w.RelationSQL(rel)
	kind, err := w.lookup(ctx, rel)
	switch {
	case err != nil:
	case kind == warehouse.KindView:
		err = w.exec(ctx, "DROP VIEW "+name)
	case kind == warehouse.KindTable:
		err = w.exec(ctx, "DROP TABLE "+name)
	}
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}
