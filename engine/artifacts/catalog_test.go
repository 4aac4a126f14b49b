package artifacts_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/warehouse"
)

func loadCatalogProject(t *testing.T, environ ...string) *project.Project {
	t.Helper()
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb, schema: main}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), `{{ config "materialized" "table" }}select 1 as x`+"\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/eph.sql"), `{{ config "materialized" "ephemeral" }}select 1 as y`+"\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/b.sql"), `select * from {{ ref "eph" }}`+"\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/c.sql"), "select 2 as z\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/sources.yml"), "sources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n")
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Environ: func() []string { return environ }}, projecttest.Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

// The catalog lists the nodes with relations the warehouse has, found
// whatever the case of their stored names, and lists the rest as missing;
// ephemeral models have no relation at all.
func TestWriteCatalog(t *testing.T) {
	p := loadCatalogProject(t)
	if got, want := artifacts.CatalogSchemas(p), []string{"main", "raw"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CatalogSchemas = %v, want %v", got, want)
	}
	ten := int64(10)
	infos := []warehouse.RelationInfo{
		{Relation: warehouse.Relation{Schema: "main", Name: "a"}, Kind: warehouse.KindTable, RowCount: &ten,
			Columns: []warehouse.ColumnInfo{{Name: "x", Type: "INTEGER"}, {Name: "w", Type: "VARCHAR"}}},
		{Relation: warehouse.Relation{Schema: "main", Name: "b"}, Kind: warehouse.KindView,
			Columns: []warehouse.ColumnInfo{{Name: "y", Type: "INTEGER"}}},
		{Relation: warehouse.Relation{Schema: "RAW", Name: "EVENTS"}, Kind: warehouse.KindTable,
			Columns: []warehouse.ColumnInfo{{Name: "ID", Type: "NUMBER(38,0)"}}},
		{Relation: warehouse.Relation{Schema: "main", Name: "unrelated"}, Kind: warehouse.KindTable},
	}
	if err := artifacts.WriteCatalog(p, artifacts.Invocation{Command: "build", At: time.Now()}, infos); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(p.Dir, "target", "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metadata struct {
			Command string `json:"command"`
		} `json:"metadata"`
		Nodes   map[string]map[string]any `json:"nodes"`
		Sources map[string]map[string]any `json:"sources"`
		Missing []string                  `json:"missing"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Metadata.Command != "build" {
		t.Errorf("metadata.command = %q", doc.Metadata.Command)
	}
	a := doc.Nodes["model.t.a"]
	wantA := map[string]any{
		"unique_id": "model.t.a", "resource_type": "model", "relation": "main.a", "schema": "main", "identifier": "a",
		"kind": "table", "row_count": 10.0,
		"columns": []any{
			map[string]any{"name": "x", "type": "INTEGER", "index": 1.0},
			map[string]any{"name": "w", "type": "VARCHAR", "index": 2.0},
		},
	}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("nodes[model.t.a] =\n%v\nwant\n%v", a, wantA)
	}
	if b := doc.Nodes["model.t.b"]; b["kind"] != "view" || b["row_count"] != nil {
		t.Errorf("nodes[model.t.b] = %v, want a view with no row_count", b)
	}
	if len(doc.Nodes) != 2 {
		t.Errorf("nodes: %d, want a and b (eph is ephemeral, c is missing)", len(doc.Nodes))
	}
	if ev := doc.Sources["source.t.raw.events"]; ev["identifier"] != "EVENTS" || ev["relation"] != "raw.events" {
		t.Errorf("sources[source.t.raw.events] = %v, want the stored name EVENTS for raw.events", ev)
	}
	if want := []string{"model.t.c"}; !reflect.DeepEqual(doc.Missing, want) {
		t.Errorf("missing = %v, want %v", doc.Missing, want)
	}
}

// Column names come from the warehouse, and go through the same secret
// guard as every artifact.
func TestWriteCatalogRefusesASecretValue(t *testing.T) {
	p := loadCatalogProject(t, "API_TOKEN=s3cr3t-v4lue")
	infos := []warehouse.RelationInfo{{Relation: warehouse.Relation{Schema: "main", Name: "a"}, Kind: warehouse.KindTable,
		Columns: []warehouse.ColumnInfo{{Name: "s3cr3t-v4lue", Type: "INTEGER"}}}}
	err := artifacts.WriteCatalog(p, artifacts.Invocation{Command: "build", At: time.Now()}, infos)
	if err == nil || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Fatalf("WriteCatalog returned %v, want a refusal naming API_TOKEN", err)
	}
	if _, err := os.Stat(filepath.Join(p.Dir, "target", "catalog.json")); err == nil {
		t.Error("target/catalog.json was written")
	}
}
