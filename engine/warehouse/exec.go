package warehouse

import (
	"context"
	"database/sql"
	"fmt"
)

// Execer is what runs a statement: a *sql.Tx, or a *sql.Conn inside a
// transaction the warehouse opened on it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ExecEach runs stmts one after the other on ex, as ExecTx does inside the
// transaction each warehouse opens: the rows each affected, step (when not
// nil) after each, and the first error naming which statement failed.
func ExecEach(ctx context.Context, ex Execer, stmts []string, step func(i int) error) ([]int64, error) {
	counts := make([]int64, len(stmts))
	for i, stmt := range stmts {
		res, err := ex.ExecContext(ctx, stmt)
		if err != nil {
			return nil, fmt.Errorf("statement %d of %d: %w", i+1, len(stmts), err)
		}
		if counts[i], err = res.RowsAffected(); err != nil {
			return nil, err
		}
		if step != nil {
			if err := step(i); err != nil {
				return nil, err
			}
		}
	}
	return counts, nil
}
