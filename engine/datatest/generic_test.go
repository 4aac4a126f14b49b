package datatest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// lookups knows the relation "customers" with the column "id"; every
// attached relation has only "id".
var lookups = Lookups{
	Column: func(c string) error {
		if c != "id" {
			return errors.New("no column " + c)
		}
		return nil
	},
	Relation: func(name string) (func(string) error, error) {
		if name != "customers" {
			return nil, errors.New("no model " + name)
		}
		return func(c string) error {
			if c != "id" {
				return errors.New("no column " + c)
			}
			return nil
		}, nil
	},
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		test   string
		use    Use
		want   []string
		normal map[string]any // arguments after Check, when it accepts them
	}{
		{"unique", Use{Column: "id"}, nil, nil},
		{"unique", Use{Column: "name"}, []string{"no column name"}, nil},
		{"row_count", Use{Column: "id", Args: map[string]any{}}, []string{
			"it tests a whole model: declare it under the model's tests, not a column's"}, nil},
		{"relationships", Use{Column: "id", Args: map[string]any{"to": "ref('customers')", "field": "id"}}, nil,
			map[string]any{"to": "customers", "field": "id"}},
		// An unknown to: is reported alone; the field is not checked against nothing.
		{"relationships", Use{Column: "id", Args: map[string]any{"to": "custmers", "field": ""}}, []string{"to: no model custmers"}, nil},
		{"relationships", Use{Column: "id"}, []string{`missing argument "to"`, `missing argument "field"`}, nil},
		{"accepted_values", Use{Column: "id", Args: map[string]any{"values": []any{}, "quote": "yes"}}, []string{
			"values must be a non-empty list", "quote must be true or false"}, nil},
		{"row_count", Use{Args: map[string]any{"min": 1.5}}, []string{"min must be a whole number, not 1.5"}, nil},
		{"unique_combination", Use{Args: map[string]any{"columns": []any{"id", "day"}}}, []string{"columns: no column day"}, nil},
		{"unique_combination", Use{Args: map[string]any{"columns": []any{"id"}}}, nil, map[string]any{"columns": []string{"id"}}},
	} {
		b, ok := LookupBuiltin(tc.test)
		if !ok {
			t.Fatalf("LookupBuiltin(%q) found nothing", tc.test)
		}
		got := b.Check(tc.use, lookups)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %+v: problems %q, want %q", tc.test, tc.use, got, tc.want)
		}
		for k, v := range tc.normal {
			if g := tc.use.Args[k]; !equalArg(g, v) {
				t.Errorf("%s: after Check %s = %#v, want %#v", tc.test, k, g, v)
			}
		}
	}
}

func equalArg(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}

func TestSQL(t *testing.T) {
	quote := func(s string) string { return `"` + s + `"` }
	ref := func(name string) string { return "<" + name + ">" }
	b, _ := LookupBuiltin("relationships")
	got := b.SQL(Use{Column: "customer_id", Args: map[string]any{"to": "customers", "field": "id"}}, "<orders>", ref, quote)
	for _, want := range []string{`from <orders> as child`, `left join <customers> as parent on child."customer_id" = parent."id"`} {
		if !strings.Contains(got, want) {
			t.Errorf("relationships SQL lacks %q:\n%s", want, got)
		}
	}
	b, _ = LookupBuiltin("accepted_values")
	got = b.SQL(Use{Column: "status", Args: map[string]any{"values": []any{"open", "it's"}}}, "<orders>", ref, quote)
	if want := `"status" not in ('open', 'it''s')`; !strings.Contains(got, want) {
		t.Errorf("accepted_values SQL lacks %q:\n%s", want, got)
	}
	if got, want := FreshnessSQL("loaded_at", "<raw.events>", quote), `select max("loaded_at") as max_loaded_at from <raw.events>`; got != want {
		t.Errorf("FreshnessSQL = %q, want %q", got, want)
	}
	for _, name := range BuiltinNames() {
		if b, _ := LookupBuiltin(name); b.Name != name {
			t.Errorf("built-in %q calls itself %q", name, b.Name)
		}
	}
}
