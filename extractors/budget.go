package extractors

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultBudget is an extractor's total time budget when its block in
// project.yaml sets no timeout: long enough for a few hundred items, short
// enough that a service answering errors to everything cannot hold a build
// for long.
const DefaultBudget = 5 * time.Minute

// BudgetError is the cause of an extraction context that ended because the
// extractor's time budget (extractors.NAME.timeout) ran out. Its text is
// the item error of every item not extracted.
type BudgetError struct {
	Extractor string
	Budget    time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("not extracted: the extractor's time budget of %s ran out; raise extractors.%s.timeout in project.yaml",
		e.Budget, e.Extractor)
}

// WithBudget returns ctx bounded by the extractor's time budget: when it
// runs out, the context ends with a *BudgetError as its cause (see
// OutOfBudget). A budget of 0 or less means none.
func WithBudget(ctx context.Context, extractor string, budget time.Duration) (context.Context, context.CancelFunc) {
	if budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, budget, &BudgetError{Extractor: extractor, Budget: budget})
}

// OutOfBudget returns the *BudgetError when ctx ended because the time
// budget ran out, and nil while it runs or when it ended for another reason
// (an interrupt): extractors turn the items they did not finish into item
// errors in the first case and stop in the second.
func OutOfBudget(ctx context.Context) *BudgetError {
	if ctx.Err() == nil {
		return nil
	}
	var be *BudgetError
	if errors.As(context.Cause(ctx), &be) {
		return be
	}
	return nil
}
