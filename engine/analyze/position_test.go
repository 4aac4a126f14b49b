package analyze

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

func TestInSource(t *testing.T) {
	raw := "-- totals\nselect id,\n    nmae\nfrom {{ ref \"customers\" }} c\nwhere {{ ref \"x\" }}.id > 1 and nmae <> ''\n    nmae\n"
	compiled := "-- totals\nselect id,\n    nmae\nfrom seeds.customers c\nwhere main.x.id > 1 and nmae <> ''\n    nmae\n"
	for _, tt := range []struct {
		name              string
		line, col         int
		wantLine, wantCol int
		wantOK            bool
	}{
		{"literal line", 3, 5, 3, 5, true},
		{"the second of two equal lines", 6, 5, 6, 5, true},
		{"after an action", 4, 22, 4, 28, true},
		{"inside an action's output", 4, 8, 4, 6, true},
		{"literal after an action, later on the line", 5, 25, 5, 32, true},
		{"no column", 3, 0, 3, 0, true},
		{"blank line", 7, 1, 0, 0, false},
		{"beyond the end", 9, 1, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, c, ok := inSource(raw, compiled, tt.line, tt.col)
			if l != tt.wantLine || c != tt.wantCol || ok != tt.wantOK {
				t.Errorf("inSource(%d, %d) = %d, %d, %v; want %d, %d, %v", tt.line, tt.col, l, c, ok, tt.wantLine, tt.wantCol, tt.wantOK)
			}
		})
	}
	// A line the template does not hold as such (a macro wrote it).
	if _, _, ok := inSource("select {{ template \"cols\" }}\n", "select a,\n  b\n", 2, 3); ok {
		t.Error("a line written by a macro was mapped into the template")
	}
}

func TestBindErrorPosition(t *testing.T) {
	ctx := context.Background()
	sh, err := openShadow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if err := sh.create(ctx, warehouse.Relation{Schema: "s", Name: "t"}, []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "varchar"}}); err != nil {
		t.Fatal(err)
	}
	long := "select " + strings.Repeat("id, ", 60) + "nme, " + strings.Repeat("name, ", 40) + "id from s.t"
	for _, tt := range []struct {
		stmt           string
		class, message string
		line, col      int
	}{
		{"select id,\n  nme\nfrom s.t", "Binder Error", `Referenced column "nme" not found in FROM clause (candidate bindings: "name")`, 2, 3},
		{long, "Binder Error", `Referenced column "nme" not found`, 1, strings.Index(long, "nme") + 1},
		{"select * from s.nope", "Catalog Error", "Table with name nope does not exist", 1, 15},
		{"select id + true from s.t", "Binder Error", "No function matches the given name and argument types '+(BIGINT, BOOLEAN)'", 1, 11},
	} {
		_, err := sh.describe(ctx, tt.stmt)
		var be *bindError
		if !errors.As(err, &be) {
			t.Fatalf("describe(%q) = %v, want a bind error", tt.stmt, err)
		}
		if be.Class != tt.class || !strings.HasPrefix(be.Message, tt.message) || be.Line != tt.line || be.Col != tt.col {
			t.Errorf("describe(%q) = %s %q at %d:%d; want %s %q... at %d:%d", tt.stmt, be.Class, be.Message, be.Line, be.Col, tt.class, tt.message, tt.line, tt.col)
		}
		if strings.Count(be.Message, ";") > 5 {
			t.Errorf("candidate list not cut: %q", be.Message)
		}
	}
	cols, err := sh.describe(ctx, "select id, count(*) as n from s.t group by id")
	if err != nil || len(cols) != 2 || cols[0] != (warehouse.Column{Name: "id", Type: "BIGINT"}) || cols[1].Name != "n" {
		t.Errorf("describe of a good statement = %v, %v", cols, err)
	}
}

func TestShadowType(t *testing.T) {
	for in, want := range map[string]string{
		"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "TEXT": "VARCHAR", "NUMBER(38,0)": "DECIMAL(38,0)",
		"number": "DECIMAL(38,0)", "TIMESTAMP_NTZ": "TIMESTAMP", "TIMESTAMP_TZ": "TIMESTAMPTZ", "FLOAT": "DOUBLE",
		"VARIANT": "JSON", "DECIMAL(18,3)": "DECIMAL(18,3)", "STRUCT(a INTEGER)": "STRUCT(a INTEGER)",
	} {
		if got := shadowType(in); got != want {
			t.Errorf("shadowType(%q) = %q, want %q", in, got, want)
		}
	}
}

// The columns read off a prepared statement are spelt as DESCRIBE spells
// them, for every type (nested ones come from DESCRIBE itself).
func TestPreparedColumnsMatchDescribe(t *testing.T) {
	ctx := context.Background()
	sh, err := openShadow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	stmt := `select true as b, 1::tinyint as ti, 1::smallint as si, 1 as i, 1::bigint as bi, 1::hugeint as hi,
	1::utinyint as uti, 1::usmallint as usi, 1::uinteger as ui, 1::ubigint as ubi, 1::uhugeint as uhi,
	1::float as f, 1::double as d, 1.5 as dec, 1::decimal(18,3) as dec18, current_date as dt, '10:00'::time as tm,
	now()::timestamp as ts, now()::timestamp_s as tss, now()::timestamp_ms as tsms, now()::timestamp_ns as tsns,
	now() as tstz, '10:00+01'::timetz as tmtz, interval 1 day as iv, 'x' as v, 'x'::blob as bl, uuid() as u,
	'101'::bit as bt, count(*) as n`
	nested := `select [1, 2] as l, {'a': 1} as st, map {'a': 1} as m, '{}'::json as j, 1 as i`
	for _, stmt := range []string{stmt, nested} {
		got, err := sh.describe(ctx, stmt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := sh.describeQuery(ctx, stmt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("prepared: %v\ndescribe: %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("column %d: prepared %v, describe %v", i, got[i], want[i])
			}
		}
	}
}
