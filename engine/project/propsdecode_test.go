package project

import (
	"reflect"
	"testing"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
)

// The hand decoder of property files fills the same structs yaml.v3's
// Decode does, and hands back to it what it does not decode.
func TestPropsDecoderMatchesYAML(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		handled   bool
	}{
		{"models", `
version: 2
models:
  - name: a
    description: "A, quoted"
    config: {materialized: table, tags: [x]}
    columns:
      - name: id
        description: ~
        data_type: bigint
        tests: [unique, {not_null: {severity: warn}}]
      - name: 42
        data_tests: []
    tests: ~
  - name: b
    columns: ~
    meta: {owner: me}
`, true},
		{"seeds", `
seeds:
  - name: s
    column_types: {id: integer, at: ~, 3: text}
    encoding: latin-1
    config: ~
  - name: t
    column_types: {}
`, true},
		{"sources", `
sources:
  - name: raw
    schema: landing
    tables:
      - name: events
        identifier: ev
        loaded_at_field: at
        freshness: {warn_after: {count: 1, period: day}}
        columns: [{name: id, data_type: "number(38,0)", tests: [unique]}]
      - name: t2
        description: 2024-01-02
        data_tests: [&x {relationships: {to: ref('a')}}, *x]
`, true},
		{"empty lists", "models: []\nseeds: ~\nsources: []\n", true},
		{"explicit tag", "models:\n  - name: !!str a\n", false},
		{"binary", "models:\n  - name: !!binary YQ==\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var diags diag.List
			root, ok := config.ParseYAML([]byte(tt.src), "p.yml", &diags)
			if !ok {
				t.Fatal(diags.Err())
			}
			checkMapping(root.Content[0], propsSchema, "p.yml", "", &diags)
			if err := diags.Err(); err != nil {
				t.Fatal(err)
			}
			var want, got propsFile
			if err := root.Decode(&want); err != nil {
				t.Fatal(err)
			}
			var d propsDecoder
			d.file(root.Content[0], &got)
			if d.failed == tt.handled {
				t.Fatalf("failed = %v, want %v", d.failed, !tt.handled)
			}
			if tt.handled && !reflect.DeepEqual(got, want) {
				t.Errorf("hand decoded:\n%+v\nyaml.v3:\n%+v", got, want)
			}
		})
	}
}
