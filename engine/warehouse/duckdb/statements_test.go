package duckdb

import (
	"context"
	"errors"
	"strings"
	"testing"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/sqlscan"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// TestRefusesSeveralStatements checks the second line of defence: every
// entry point that embeds the caller's SQL refuses a text with a second
// statement before running anything, so the statement never runs.
func TestRefusesSeveralStatements(t *testing.T) {
	w := openMem(t)
	ctx := context.Background()
	keep := warehouse.Relation{Schema: "main", Name: "keep"}
	if _, err := w.CreateTable(ctx, keep, "select 1 as id union all select 2"); err != nil {
		t.Fatal(err)
	}
	inc := warehouse.Relation{Schema: "main", Name: "inc"}
	if _, err := w.CreateTable(ctx, inc, "select 1 as id"); err != nil {
		t.Fatal(err)
	}
	const smuggled = "select 3 as id; drop table main.keep"
	view := warehouse.Relation{Schema: "main", Name: "v"}
	for name, call := range map[string]func() error{
		"create view": func() error { return w.CreateView(ctx, view, smuggled) },
		"create table": func() error {
			_, err := w.CreateTable(ctx, warehouse.Relation{Schema: "main", Name: "t"}, smuggled)
			return err
		},
		"incremental": func() error { _, err := w.Incremental(ctx, inc, smuggled, []string{"id"}); return err },
		"query":       func() error { _, err := w.Query(ctx, smuggled, 0); return err },
	} {
		err := call()
		var me *sqlscan.MultipleError
		if !errors.As(err, &me) || !strings.HasPrefix(err.Error(), name) || !strings.Contains(err.Error(), "(`drop table main.keep`)") {
			t.Errorf("%s: err = %v, want a refusal naming the second statement", name, err)
		}
	}
	assertRows(t, w, "select id from main.keep order by id", [][]any{{int32(1)}, {int32(2)}})
	assertRows(t, w, "select id from main.inc", [][]any{{int32(1)}})
	assertKind(t, w, view, warehouse.KindNone)
	assertKind(t, w, warehouse.Relation{Schema: "main", Name: "t"}, warehouse.KindNone)

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
	if _, err := w.CreateTable(ctx, warehouse.Relation{Schema: "main", Name: "t"}, "select 'a;b' as s /* ; */, $$;$$ as d; -- done"); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "select s, d from main.t;", [][]any{{"a;b", ";"}})
	if err := w.CreateView(ctx, view, "select 1 as id -- no newline after me;"); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "select id from main.v", [][]any{{int32(1)}})
	if _, err := w.Incremental(ctx, inc, "select 2 as id;\n", []string{"id"}); err != nil {
		t.Fatal(err)
	}
	assertRows(t, w, "select id from main.inc order by id", [][]any{{int32(1)}, {int32(2)}})
}

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
