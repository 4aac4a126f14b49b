package snowflake

import (
	"context"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
)

// TestLexicalRules checks Snowflake's lexical rules where they differ from
// the ones the conformance suite uses on both warehouses: a backslash
// escapes a quote and // starts a comment, so a terminating semicolon (with
// a comment after it) is fine, and a text ending in an escaped quote is
// unterminated, its "second statement" never sent.
func TestLexicalRules(t *testing.T) {
	w, e := openEmu(t)
	ctx := context.Background()
	table := warehouse.Relation{Schema: "tests", Name: "t"}
	if _, err := w.CreateTable(ctx, table, "SELECT 'it\\'s; one' AS s, $$a;b$$ AS d // done;\n; -- really"); err != nil {
		t.Fatal(err)
	}
	warehousetest.AssertRows(t, w, "SELECT s, d FROM tests.t;", [][]any{{"it's; one", "a;b"}})
	if _, err := w.Query(ctx, "SELECT 'C:\\'; DROP TABLE tests.t /* smuggled */", 0); err == nil || !strings.Contains(err.Error(), "unterminated string literal") {
		t.Errorf("unterminated: err = %v", err)
	}
	for _, s := range e.Statements() {
		if strings.Contains(s.SQL, "smuggled") {
			t.Errorf("sent to the warehouse: %s", s.SQL)
		}
	}
	warehousetest.AssertKind(t, w, table, warehouse.KindTable)
}
