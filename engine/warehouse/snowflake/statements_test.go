package snowflake

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/sqlscan"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// TestRefusesSeveralStatements checks that every entry point embedding the
// caller's SQL refuses a second statement before sending anything: the
// emulator must never see the smuggled one.
func TestRefusesSeveralStatements(t *testing.T) {
	w, e := openEmu(t)
	ctx := context.Background()
	keep := warehouse.Relation{Schema: "tests", Name: "keep"}
	if _, err := w.CreateTable(ctx, keep, "SELECT 1 AS id"); err != nil {
		t.Fatal(err)
	}
	const smuggled = "SELECT 3 AS id; DROP TABLE tests.keep /* smuggled */"
	view := warehouse.Relation{Schema: "tests", Name: "v"}
	table := warehouse.Relation{Schema: "tests", Name: "t"}
	for name, call := range map[string]func() error{
		"create view":  func() error { return w.CreateView(ctx, view, smuggled) },
		"create table": func() error { _, err := w.CreateTable(ctx, table, smuggled); return err },
		"incremental":  func() error { _, err := w.Incremental(ctx, keep, smuggled, []string{"id"}); return err },
		"query":        func() error { _, err := w.Query(ctx, smuggled, 0); return err },
	} {
		err := call()
		var me *sqlscan.MultipleError
		if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), name) || !strings.Contains(err.Error(), "(`DROP TABLE tests.keep`)") {
			t.Errorf("%s: err = %v, want a refusal naming the second statement", name, err)
		}
	}
	for _, s := range e.Statements() {
		if strings.Contains(s.SQL, "smuggled") {
			t.Errorf("sent to the warehouse: %s", s.SQL)
		}
	}
	assertRows(t, w, "SELECT id FROM tests.keep", [][]any{{int64(1)}})
	assertKind(t, w, view, warehouse.KindNone)
	assertKind(t, w, table, warehouse.KindNone)

	// Snowflake's lexical rules: a backslash escapes a quote, // starts a
	// comment, and a terminating semicolon (with a comment after it) is
	// fine.
	if _, err := w.CreateTable(ctx, table, "SELECT 'it\\'s; one' AS s, $$a;b$$ AS d // done;\n; -- really"); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "SELECT s, d FROM tests.t;", [][]any{{"it's; one", "a;b"}})
	if _, err := w.Query(ctx, "SELECT 'C:\\'; DROP TABLE tests.t", 0); err == nil || !strings.Contains(err.Error(), "unterminated string literal") {
		t.Errorf("unterminated: err = %v", err)
	}
}
