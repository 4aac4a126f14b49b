package run

import (
	"context"
	"errors"
	"fmt"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// seedKind loads a seed's rows, read and typed when the project loaded,
// into its table, replacing what was there.
type seedKind struct{}

func (seedKind) schemas(n *project.Node, _ *Options) []string { return []string{n.Relation.Schema} }

func (seedKind) run(ctx context.Context, x *execution, n *project.Node, res *Result) {
	count, err := loadSeed(ctx, x.wh, n)
	if err != nil {
		res.Status = StatusError
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			res.Message = fmt.Sprintf("seed %s: cancelled", n.Name)
		} else {
			res.Message = fmt.Sprintf("seed %s (%s): %v", n.Name, n.Path, err)
		}
		return
	}
	res.Status = StatusSuccess
	res.RowsAffected = &count
}

func loadSeed(ctx context.Context, wh warehouse.Warehouse, n *project.Node) (int64, error) {
	t, err := project.SeedTable(n)
	if err != nil {
		return 0, err
	}
	count, err := wh.LoadRows(ctx, n.Relation, t.Columns, t.Rows, true)
	if ve := (*warehouse.ValueError)(nil); errors.As(err, &ve) {
		return 0, t.ValueError(ve)
	}
	return count, err
}
