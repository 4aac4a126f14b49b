package warehousetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/sqlscan"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// refusesSeveralStatements checks that every entry point embedding the
// caller's SQL refuses a second statement before sending anything.
func (s *suite) refusesSeveralStatements(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	keep, inc := s.rel("keep"), s.rel("inc")
	if _, err := w.CreateTable(ctx, keep, "select 1 as id union all select 2"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateTable(ctx, inc, "select 1 as id"); err != nil {
		t.Fatal(err)
	}
	drop := "drop table " + w.RelationSQL(keep)
	smuggled := "select 3 as id; " + drop + " /* smuggled */"
	view, table := s.rel("v"), s.rel("t")
	for name, call := range map[string]func() error{
		"create view":  func() error { return w.CreateView(ctx, view, smuggled) },
		"create table": func() error { _, err := w.CreateTable(ctx, table, smuggled); return err },
		"incremental":  func() error { _, err := w.Incremental(ctx, inc, smuggled, []string{"id"}); return err },
		"query":        func() error { _, err := w.Query(ctx, smuggled, 0); return err },
	} {
		err := call()
		var me *sqlscan.MultipleError
		if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), name) || !strings.Contains(err.Error(), "(`"+drop+"`)") {
			t.Errorf("%s: err = %v, want a refusal naming the second statement", name, err)
		}
	}
	if s.o.Sent != nil {
		for _, sql := range s.o.Sent() {
			if strings.Contains(sql, "smuggled") {
				t.Errorf("sent to the warehouse: %s", sql)
			}
		}
	}
	AssertRows(t, w, "select id from "+w.RelationSQL(keep)+" order by id", [][]any{s.ints(1), s.ints(2)})
	AssertRows(t, w, "select id from "+w.RelationSQL(inc), [][]any{s.ints(1)})
	AssertKind(t, w, view, warehouse.KindNone)
	AssertKind(t, w, table, warehouse.KindNone)

	// Unterminated quotes and empty text are refused too.
	if err := w.CreateView(ctx, view, "select 'x as id"); err == nil || !strings.Contains(err.Error(), "unterminated string literal") {
		t.Errorf("unterminated: err = %v", err)
	}
	if err := w.CreateView(ctx, view, "-- nothing\n;"); !errors.Is(err, sqlscan.ErrEmpty) {
		t.Errorf("empty: err = %v", err)
	}

	// A terminating semicolon, even followed by a comment, is fine, and
	// semicolons inside strings, comments and dollar quotes are no
	// statements.
	if _, err := w.CreateTable(ctx, table, "select 'a;b' as s /* ; */, $$;$$ as d; -- done"); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "select s, d from "+w.RelationSQL(table)+";", [][]any{{"a;b", ";"}})
	if err := w.CreateView(ctx, view, "select 1 as id -- no newline after me;"); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "select id from "+w.RelationSQL(view), [][]any{s.ints(1)})
	if _, err := w.Incremental(ctx, inc, "select 2 as id;\n", []string{"id"}); err != nil {
		t.Fatal(err)
	}
	AssertRows(t, w, "select id from "+w.RelationSQL(inc)+" order by id", [][]any{s.ints(1), s.ints(2)})
}

// cancel checks that a cancelled context stops a long statement at once,
// and that the warehouse is usable afterwards.
func (s *suite) cancel(t *testing.T) {
	run := map[string]func(w warehouse.Warehouse, ctx context.Context) error{
		"query": func(w warehouse.Warehouse, ctx context.Context) error {
			_, err := w.Query(ctx, s.o.Long, 0)
			return err
		},
		"exec": func(w warehouse.Warehouse, ctx context.Context) error {
			return w.Exec(ctx, "CREATE TABLE "+w.RelationSQL(s.rel("big"))+" AS "+s.o.Long)
		},
		"table": func(w warehouse.Warehouse, ctx context.Context) error {
			_, err := w.CreateTable(ctx, s.rel("big"), s.o.Long)
			return err
		},
	}
	for name, fn := range run {
		t.Run(name, func(t *testing.T) {
			w := s.open(t)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			err := fn(w, ctx)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("want error after cancel")
			}
			if elapsed > s.o.CancelWithin {
				t.Errorf("took %v after cancel", elapsed)
			}
			if !errors.Is(err, context.Canceled) && (s.o.CancelError == "" || !strings.Contains(err.Error(), s.o.CancelError)) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
			// The warehouse is still usable afterwards. Where the database
			// runs the cancelled statement to its end, its session stays
			// busy ("connection is busy with another call") until then.
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := w.Query(context.Background(), "SELECT 1", 0)
				if err == nil {
					break
				}
				if !s.o.CancelRunsOn || time.Now().After(deadline) || !strings.Contains(err.Error(), "busy") {
					t.Fatalf("after cancel: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			AssertRows(t, w, "SELECT 1", [][]any{s.ints(1)})
			// A cancelled statement leaves no table, unless the database
			// finished it anyway.
			if !s.o.CancelRunsOn {
				AssertKind(t, w, s.rel("big"), warehouse.KindNone)
			}
		})
	}
}
