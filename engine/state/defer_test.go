package state_test

import (
	"context"
	"maps"
	"testing"

	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/state"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// TestDeferrals holds dbt's rule: what the selected nodes read (through
// ephemeral models), not selected and missing from the target, is read from
// the state's relation; what exists in the target, what is selected, and
// what the state does not know are read as they are.
func TestDeferrals(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"seeds/s.csv":      "id\n1\n",
		"models/a.sql":     `select id from {{ ref "s" }}`,
		"models/e.sql":     `{{ config "materialized" "ephemeral" }}select id from {{ ref "a" }}`,
		"models/b.sql":     `select e.id from {{ ref "e" }} e join {{ source "ext" "t" }} x on x.id = e.id`,
		"models/c.sql":     `select id from {{ ref "b" }}`,
		"models/new.sql":   `select id from {{ ref "a" }}`,
		"models/reads.sql": `select id from {{ ref "new" }}`,
		"models/src.yml":   "sources:\n  - name: ext\n    tables: [{name: t}]\n",
	})
	rel := func(schema, name string) state.Node {
		return state.Node{Database: "prod", Schema: schema, Identifier: name}
	}
	st := &state.State{Dir: "prod-target", Manifest: &state.Manifest{
		Nodes: map[string]state.Node{
			"model.t.a": rel("main", "a"), "model.t.b": rel("main", "b"), "seed.t.s": rel("main", "s"),
		},
		Sources: map[string]state.Node{"source.t.ext.t": rel("ext", "t")},
	}}
	for _, tc := range []struct {
		name     string
		selected []string
		exists   map[string]bool // relation names the target has
		want     map[string]warehouse.Relation
	}{
		{"through an ephemeral, and a source", []string{"model.t.b", "model.t.c"}, nil, map[string]warehouse.Relation{
			"model.t.a":      {Database: "prod", Schema: "main", Name: "a"},
			"source.t.ext.t": {Database: "prod", Schema: "ext", Name: "t"},
		}},
		{"built in the target: read there", []string{"model.t.b"}, map[string]bool{"a": true}, map[string]warehouse.Relation{
			"source.t.ext.t": {Database: "prod", Schema: "ext", Name: "t"},
		}},
		{"selected: built by this run", []string{"model.t.a", "model.t.b"}, nil, map[string]warehouse.Relation{
			"seed.t.s":       {Database: "prod", Schema: "main", Name: "s"},
			"source.t.ext.t": {Database: "prod", Schema: "ext", Name: "t"},
		}},
		{"unknown to the state: left as it is", []string{"model.t.reads"}, nil, map[string]warehouse.Relation{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(_ context.Context, r warehouse.Relation) (warehouse.Kind, error) {
				if tc.exists[r.Name] {
					return warehouse.KindTable, nil
				}
				return warehouse.KindNone, nil
			}
			got, err := st.Deferrals(context.Background(), p, tc.selected, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("Deferrals(%v) = %v, want %v", tc.selected, got, tc.want)
			}
		})
	}
}

// TestDeferRecompiles: once deferred, compiled SQL names the state's
// relation, database and all, and the manifest can say so.
func TestDeferRecompiles(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"seeds/s.csv":  "id\n1\n",
		"models/a.sql": `select id from {{ ref "s" }}`,
	})
	a := p.Nodes["model.t.a"]
	if a.Compiled != "select id from seeds.s" {
		t.Fatalf("before Defer: %q", a.Compiled)
	}
	to := warehouse.Relation{Database: "prod", Schema: "seeds", Name: "s"}
	if err := p.Defer(map[string]warehouse.Relation{"seed.t.s": to}); err != nil {
		t.Fatal(err)
	}
	if a.Compiled != "select id from prod.seeds.s" {
		t.Errorf("after Defer: %q", a.Compiled)
	}
	if got, ok := p.DeferredTo("seed.t.s"); !ok || got != to {
		t.Errorf("DeferredTo = %v, %v", got, ok)
	}
}
