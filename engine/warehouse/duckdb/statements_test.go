package duckdb

import (
	"context"
	"errors"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/sqlscan"
)

// TestSyntaxMatchesDuckDB checks the scanner's rules (Dialect.Syntax)
// against DuckDB's own parser: for each text, whether it holds exactly one
// statement must be what DuckDB's statement extraction says.
func TestSyntaxMatchesDuckDB(t *testing.T) {
	w := openMem(t)
	conn, err := w.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	syntax := Dialect{}.Syntax()
	for _, text := range []string{
		"select 1",
		"select 1;",
		"select 1; -- done",
		"select 1 ;; ",
		"select 1; select 2",
		"select 'a;b'",
		"select 'it''s; one'",
		`select 'C:\'; select 2`,
		`select E'it\'s; one'`,
		`select e'\\'; select 2`,
		"select 1 as tablE, 'x\\'; select 2",
		`select 1 as "a;""b"`,
		"select $$a;b$$",
		"select $t$ a; $$ b $t$",
		"select $t$ a $T$; select 2 $t$",
		"select 1 /* a /* b */ ; */",
		"select 1 /* a */ ; /* b */ select 2",
		"select 1 /*/ ; */",
		"select 1 -- it's\n; select 2",
		"select 7 // 2; select 2",
		"select 1 as a$b; select 2",
		"select '--'; select 2",
		"select '/*'; select 2",
	} {
		spans, scanErr := syntax.Statements(text)
		var count int
		err := conn.Raw(func(dc any) error {
			_, err := dc.(*duckdb.Conn).Prepare(text)
			return err
		})
		switch {
		case err == nil:
			count = 1
		case strings.Contains(err.Error(), "multi-statement"):
			count = 2 // DuckDB's "missing context for multi-statement query"
		default:
			t.Errorf("%q: DuckDB: %v", text, err)
			continue
		}
		if scanErr != nil || (len(spans) == 1) != (count == 1) {
			t.Errorf("%q: scanner found %d statements (%v), DuckDB %s", text, len(spans), scanErr, map[bool]string{true: "one", false: "several"}[count == 1])
		}
	}
	// Texts DuckDB cannot even split, the scanner reports unterminated.
	for _, text := range []string{"select 'x", "select 1 /* a /* b */", `select "x`, "select $$x", `select E'\'`} {
		_, scanErr := syntax.Statements(text)
		var ue *sqlscan.UnterminatedError
		perr := conn.Raw(func(dc any) error { _, err := dc.(*duckdb.Conn).Prepare(text); return err })
		if perr == nil || !errors.As(scanErr, &ue) {
			t.Errorf("%q: DuckDB: %v; scanner: %v", text, perr, scanErr)
		}
	}
}
