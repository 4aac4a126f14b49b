package sqlscan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var (
	duckdb    = Syntax{NestedComments: true, DollarTags: true}
	snowflake = Syntax{BackslashEscapes: true, SlashComments: true}
)

// texts returns the text of each span.
func texts(sql string, spans []Span) []string {
	out := []string{}
	for _, sp := range spans {
		out = append(out, sql[sp.Start:sp.End])
	}
	return out
}

func TestStatements(t *testing.T) {
	for _, tc := range []struct {
		name   string
		syntax Syntax
		sql    string
		want   []string
	}{
		{"one", duckdb, "select 1", []string{"select 1"}},
		{"blank", duckdb, " \n\t", []string{}},
		{"only comments", duckdb, "-- a\n/* b */\n", []string{}},
		{"trailing semicolon", duckdb, "select 1;", []string{"select 1"}},
		{"trailing semicolon then comment", duckdb, "select 1; -- done\n", []string{"select 1"}},
		{"trailing semicolon then block comment", duckdb, "select 1 ;\n/* done; really */", []string{"select 1"}},
		{"empty statements", duckdb, ";; select 1 ;;\n;", []string{"select 1"}},
		{"two", duckdb, "select 1 as a; drop table public.customers", []string{"select 1 as a", "drop table public.customers"}},
		{"two after empty", duckdb, "select 1;;select 2;", []string{"select 1", "select 2"}},
		{"leading comment kept out", duckdb, "-- head\nselect 1 -- tail\n", []string{"select 1"}},
		{"comment inside kept", duckdb, "select /* ; */ 1", []string{"select /* ; */ 1"}},
		{"semicolon in string", duckdb, "select 'a;b' as x", []string{"select 'a;b' as x"}},
		{"doubled quote", duckdb, "select 'it''s; fine' as x", []string{"select 'it''s; fine' as x"}},
		{"empty string", duckdb, "select '' as x; select 2", []string{"select '' as x", "select 2"}},
		{"dash dash in string", duckdb, "select '--' as x; select 2", []string{"select '--' as x", "select 2"}},
		{"block opener in string", duckdb, "select '/*' as x; select 2", []string{"select '/*' as x", "select 2"}},
		{"quote in line comment", duckdb, "select 1 -- it's\n; select 2", []string{"select 1", "select 2"}},
		{"quote in block comment", duckdb, "select 1 /* it's */; select 2", []string{"select 1", "select 2"}},
		{"semicolon in identifier", duckdb, `select 1 as "a;""b"`, []string{`select 1 as "a;""b"`}},
		{"single quote in identifier", duckdb, `select 1 as "it's"; select 2`, []string{`select 1 as "it's"`, "select 2"}},
		{"backslash is plain in duckdb", duckdb, `select 'C:\' as p; select 2`, []string{`select 'C:\' as p`, "select 2"}},
		{"backslash escapes in snowflake", snowflake, `select 'it\'s; one' as p`, []string{`select 'it\'s; one' as p`}},
		{"escaped backslash in snowflake", snowflake, `select 'C:\\' as p; select 2`, []string{`select 'C:\\' as p`, "select 2"}},
		{"E string escapes in duckdb", duckdb, `select E'it\'s; one' as p`, []string{`select E'it\'s; one' as p`}},
		{"e string lower case", duckdb, `select e'\';' as p`, []string{`select e'\';' as p`}},
		{"identifier ending in e is no E string", duckdb, `select 'x' as tablE, 'a\'; select 2`, []string{`select 'x' as tablE, 'a\'`, "select 2"}},
		{"dollar quote", duckdb, "select $$a;b$$ as x", []string{"select $$a;b$$ as x"}},
		{"dollar quote snowflake", snowflake, "select $$it's; here$$ as x", []string{"select $$it's; here$$ as x"}},
		{"dollar quote with quote and comment", duckdb, "select $$ ' -- /* $$; select 2", []string{"select $$ ' -- /* $$", "select 2"}},
		{"tagged dollar quote", duckdb, "select $fn$ a; $$ b $fn$ as x", []string{"select $fn$ a; $$ b $fn$ as x"}},
		{"tag is not a quote in snowflake", snowflake, "select $fn$ a; b", []string{"select $fn$ a", "b"}},
		{"positional parameter", duckdb, "select $1; select $2", []string{"select $1", "select $2"}},
		{"dollar in identifier", duckdb, "select 1 as a$b; select 2 as c$$d", []string{"select 1 as a$b", "select 2 as c$$d"}},
		{"dollar number then quote", duckdb, "select $1$x", []string{"select $1$x"}},
		{"block comments nest in duckdb", duckdb, "select 1 /* a /* b */ ; */ ; select 2", []string{"select 1", "select 2"}},
		{"block comments do not nest in snowflake", snowflake, "select 1 /* a /* b */ ; select 2", []string{"select 1", "select 2"}},
		{"slash star slash ends no comment at its start", duckdb, "select 1 /*/ ; */ as x", []string{"select 1 /*/ ; */ as x"}},
		{"slash comments in snowflake", snowflake, "select 1 // it's\n; select 2", []string{"select 1", "select 2"}},
		{"slash is division in duckdb", duckdb, "select 7 // 2; select 2", []string{"select 7 // 2", "select 2"}},
		{"backtick quotes nothing", duckdb, "select `a;b`", []string{"select `a", "b`"}},
		{"line comment at end without newline", duckdb, "select 1 -- c", []string{"select 1"}},
		{"multibyte", duckdb, "select 'ü;' as ä; select '€'", []string{"select 'ü;' as ä", "select '€'"}},
		{"nul placeholders", duckdb, "select * from \x00r:a\x00; drop table \x00r:b\x00", []string{"select * from \x00r:a\x00", "drop table \x00r:b\x00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans, err := tc.syntax.Statements(tc.sql)
			if err != nil {
				t.Fatalf("Statements(%q): %v", tc.sql, err)
			}
			if got := texts(tc.sql, spans); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Statements(%q) = %q, want %q", tc.sql, got, tc.want)
			}
		})
	}
}

func TestUnterminated(t *testing.T) {
	for _, tc := range []struct {
		name   string
		syntax Syntax
		sql    string
		offset int
		what   string
	}{
		{"string", duckdb, "select 'abc; drop table x", 7, "string literal"},
		{"string ending in doubled quote", duckdb, "select 'it''", 7, "string literal"},
		{"backslash quote in snowflake", snowflake, `select 'C:\'; select 2`, 7, "string literal"},
		{"identifier", duckdb, `select 1 as "a; select 2`, 12, "quoted identifier"},
		{"block comment", duckdb, "select 1 /* ; select 2", 9, "block comment"},
		{"nested block comment", duckdb, "select 1 /* a /* b */ ; select 2", 9, "block comment"},
		{"dollar quote", duckdb, "select $$ a; b $", 7, "dollar-quoted string"},
		{"tagged dollar quote", duckdb, "select $t$ a; b $$", 7, "dollar-quoted string"},
		{"after a statement", duckdb, "select 1; select 'x", 17, "string literal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans, err := tc.syntax.Statements(tc.sql)
			var ue *UnterminatedError
			if !errors.As(err, &ue) {
				t.Fatalf("Statements(%q) error = %v, want an *UnterminatedError", tc.sql, err)
			}
			if ue.Offset != tc.offset || ue.What != tc.what {
				t.Errorf("got %s at %d, want %s at %d", ue.What, ue.Offset, tc.what, tc.offset)
			}
			// The statement holding the opener runs to the end: nothing
			// after an unclosed quote can be taken for a statement.
			if len(spans) == 0 || spans[len(spans)-1].End != len(tc.sql) {
				t.Errorf("spans = %v, want the last one to run to the end (%d)", spans, len(tc.sql))
			}
			if _, err := tc.syntax.Single(tc.sql); !errors.As(err, &ue) {
				t.Errorf("Single: error = %v, want an *UnterminatedError", err)
			}
		})
	}
}

func TestSingle(t *testing.T) {
	for _, tc := range []struct {
		sql, want string
	}{
		{"select 1", "select 1"},
		{"  select 1;\n", "select 1"},
		{"select 1;;", "select 1"},
		{"-- head\nselect 1; -- done", "-- head\nselect 1  -- done"},
		{"select 1;/* done */", "select 1 /* done */"},
		{"select ';' as x;", "select ';' as x"},
	} {
		got, err := duckdb.Single(tc.sql)
		if err != nil || got != tc.want {
			t.Errorf("Single(%q) = %q, %v; want %q", tc.sql, got, err, tc.want)
		}
	}

	_, err := duckdb.Single("select 1 as a; drop table public.customers;")
	var me *MultipleError
	if !errors.As(err, &me) || me.Count != 2 || me.Offset != 15 || me.Second != "drop table public.customers" {
		t.Errorf("two statements: error = %#v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "the second starts at byte 15 (`drop table public.customers`)") {
		t.Errorf("message = %v", err)
	}
	for _, sql := range []string{"", " ; ", "-- nothing\n;"} {
		if _, err := duckdb.Single(sql); !errors.Is(err, ErrEmpty) {
			t.Errorf("Single(%q) error = %v, want ErrEmpty", sql, err)
		}
	}
}

func TestShorten(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"drop table x", 40, "drop table x"},
		{"  drop table x\n  cascade", 40, "drop table x ..."},
		{"delete from customers where true", 11, "delete from ..."},
		{"ääääää", 3, "äää ..."},
	} {
		if got := Shorten(tc.in, tc.max); got != tc.want {
			t.Errorf("Shorten(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// FuzzStatements checks the invariants that make the spans safe to rely on,
// for every syntax: scanning never panics; spans are in order, non-empty and
// inside the text; each span, scanned on its own, is one whole statement;
// and what lies between spans holds no statement (only blanks, comments and
// semicolons), so splitting loses no SQL.
func FuzzStatements(f *testing.F) {
	for _, s := range []string{
		"select 1", "select 1; select 2", "select 'a;b'", "select $$;$$", "select $t$;$t$",
		"/* a /* b */ c */ ;", "select 1 -- ;\n;", "select 1 // ;\n;", `select 'a\';'`, `select E'\';'`,
		`select "a;""b"`, ";;", "select 'unterminated", "$1; $$", "a$$b;",
	} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, sql string, flags uint8) {
		syn := Syntax{BackslashEscapes: flags&1 != 0, NestedComments: flags&2 != 0, DollarTags: flags&4 != 0, SlashComments: flags&8 != 0}
		spans, err := syn.Statements(sql)
		var ue *UnterminatedError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		if ue != nil && (ue.Offset < 0 || ue.Offset >= len(sql)) {
			t.Fatalf("unterminated offset %d outside the text (%d bytes)", ue.Offset, len(sql))
		}
		prev := 0
		for i, sp := range spans {
			if sp.Start < prev || sp.End <= sp.Start || sp.End > len(sql) {
				t.Fatalf("span %d = %v out of order or outside the text (%d bytes): %v", i, sp, len(sql), spans)
			}
			gap := sql[prev:sp.Start]
			if inner, err := syn.Statements(gap); err != nil || len(inner) > 0 {
				t.Fatalf("text %q before span %d holds statements %v (%v)", gap, i, inner, err)
			}
			if ue == nil || i < len(spans)-1 {
				text := sql[sp.Start:sp.End]
				inner, err := syn.Statements(text)
				if err != nil || len(inner) != 1 || inner[0] != (Span{0, len(text)}) {
					t.Fatalf("span %d %q rescanned = %v, %v; want itself", i, text, inner, err)
				}
			}
			prev = sp.End
		}
		if ue == nil {
			if inner, err := syn.Statements(sql[prev:]); err != nil || len(inner) > 0 {
				t.Fatalf("text %q after the last span holds statements %v (%v)", sql[prev:], inner, err)
			}
			if !strings.Contains(sql, ";") && len(spans) > 1 {
				t.Fatalf("%d statements without a semicolon: %v", len(spans), spans)
			}
		}
	})
}
