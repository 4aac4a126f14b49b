package warehousetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// execTx runs statements in one transaction: a failure of the step hook
// after the second statement leaves the table as it was, and without it
// every statement takes effect, with its row count.
func (s *suite) execTx(t *testing.T) {
	w := s.open(t)
	ctx := context.Background()
	name := w.RelationSQL(s.rel("tx"))
	must(t, w.Exec(ctx, "CREATE TABLE "+name+" (i INTEGER)"))
	must(t, w.Exec(ctx, "INSERT INTO "+name+" SELECT i FROM ("+s.o.Series(10)+") s"))
	stmts := []string{
		"DELETE FROM " + name + " WHERE i < 3",
		"UPDATE " + name + " SET i = i + 100 WHERE i >= 8",
		"DELETE FROM " + name + " WHERE i = 5",
	}
	before := Rows(t, w, "SELECT count(*), sum(i) FROM "+name)
	boom := errors.New("killed between statements")
	_, err := w.ExecTx(ctx, stmts, func(i int) error {
		if i == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the step's error", err)
	}
	if after := Rows(t, w, "SELECT count(*), sum(i) FROM "+name); !reflect.DeepEqual(after, before) {
		t.Errorf("after a failed step: %v, want %v (nothing changed)", after, before)
	}
	counts, err := w.ExecTx(ctx, stmts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{3, 2, 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
	if n := len(Rows(t, w, "SELECT i FROM "+name)); n != 6 {
		t.Errorf("%d rows left, want 6", n)
	}
	if _, err := w.ExecTx(ctx, []string{"DELETE FROM " + name, "SELECT * FROM " + w.RelationSQL(s.rel("missing_table"))}, nil); err == nil {
		t.Error("a failing statement: no error")
	}
	if n := len(Rows(t, w, "SELECT i FROM "+name)); n != 6 {
		t.Errorf("after a failing statement %d rows are left, want 6", n)
	}
}
