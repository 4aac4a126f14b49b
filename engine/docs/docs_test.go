package docs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/docs"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/internal/gen"
)

// A shop: a seed, a source with a freshness check, two models, tests.
var shop = map[string]string{
	"seeds/customers.csv":   "id,name\n1,ann\n2,bob\n",
	"models/stg_orders.sql": `select id as order_id, customer_id, amount from {{ source "shop" "orders" }}`,
	"models/customer_totals.sql": `select c.id as customer_id, c.name, sum(o.amount) as total
from {{ ref "customers" }} c join {{ ref "stg_orders" }} o on o.customer_id = c.id group by 1, 2`,
	"models/schema.yml": `models:
  - name: customer_totals
    description: "Spend per customer </script><script>alert(1)</script>"
    columns:
      - name: customer_id
        description: The customer.
        tests: [unique, not_null]
      - name: total
        description: What they spent.
sources:
  - name: shop
    tables:
      - name: orders
        loaded_at_field: loaded_at
        freshness: {warn_after: {count: 1, period: day}}
        columns:
          - {name: id, data_type: INTEGER}
          - {name: customer_id, data_type: INTEGER}
          - {name: amount, data_type: "DECIMAL(10,2)"}
          - {name: loaded_at, data_type: TIMESTAMP}
`,
}

// loadShop loads the shop, analysed, with a last run's artifacts in its
// target/: stg_orders built, customer_totals built but its unique test
// failed, the source's freshness check warned.
func loadShop(t *testing.T) *project.Project {
	t.Helper()
	files := map[string]string{}
	for k, v := range shop {
		files[k] = v
	}
	p := projecttest.Load(t, files)
	if _, err := analyze.Run(context.Background(), p, analyze.Options{}); err != nil {
		t.Fatalf("analyse: %v", err)
	}
	ids := map[string]string{}
	for id, n := range p.Nodes {
		ids[n.Name] = id
	}
	var unique, notNull, fresh string
	for id, n := range p.Nodes {
		switch {
		case n.Test != nil && n.Test.Generic == "unique":
			unique = id
		case n.Test != nil && n.Test.Generic == "not_null":
			notNull = id
		case n.TestKind() == "freshness":
			fresh = id
		}
	}
	if unique == "" || notNull == "" || fresh == "" {
		t.Fatalf("the shop's tests are missing: %q %q %q", unique, notNull, fresh)
	}
	run := map[string]any{
		"metadata":     map[string]any{"command": "build", "generated_at": "2026-11-30T10:00:00Z"},
		"elapsed_time": 1.5,
		"results": []map[string]any{
			{"unique_id": "seed.t.customers", "status": "success", "execution_time": 0.01, "rows_affected": 2},
			{"unique_id": "model.t.stg_orders", "status": "success", "execution_time": 0.02},
			{"unique_id": "model.t.customer_totals", "status": "success", "execution_time": 0.03, "rows_affected": 2},
			{"unique_id": unique, "status": "fail", "execution_time": 0.01, "failures": 1, "message": "1 duplicate"},
			{"unique_id": notNull, "status": "pass", "execution_time": 0.01},
			{"unique_id": fresh, "status": "warn", "execution_time": 0.01, "message": "source shop.orders: newest loaded_at is 3 days old"},
		},
	}
	catalog := map[string]any{
		"nodes": map[string]any{
			"model.t.customer_totals": map[string]any{"kind": "table", "row_count": 2,
				"columns": []map[string]any{{"name": "customer_id", "type": "BIGINT"}, {"name": "name", "type": "VARCHAR"}, {"name": "total", "type": "DOUBLE"}}},
		},
		"sources": map[string]any{},
	}
	for name, v := range map[string]any{"run_results.json": run, "catalog.json": catalog} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		projecttest.WriteFile(t, filepath.Join(p.Dir, "target", name), string(b))
	}
	return p
}

func byID(t *testing.T, doc *docs.Document, id string) *docs.Node {
	t.Helper()
	n, ok := doc.Nodes[id]
	if !ok {
		t.Fatalf("no node %s in the document", id)
	}
	return n
}

func TestBuild(t *testing.T) {
	p := loadShop(t)
	doc, err := docs.Build(p, filepath.Join(p.Dir, "target"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Project != "t" || doc.LastRun == nil || doc.LastRun.Command != "build" || doc.LastRun.Statuses["success"] != 3 || doc.LastRun.Statuses["fail"] != 1 {
		t.Errorf("project %q, last run %+v", doc.Project, doc.LastRun)
	}
	if len(doc.Nodes) != len(p.Nodes) {
		t.Errorf("%d nodes in the document, the project has %d", len(doc.Nodes), len(p.Nodes))
	}

	ct := byID(t, doc, "model.t.customer_totals")
	if ct.Status != docs.StatusFailed || !strings.Contains(ct.Why, "unique") {
		t.Errorf("customer_totals: status %q (%q), want failed because its unique test failed", ct.Status, ct.Why)
	}
	if ct.RowCount == nil || *ct.RowCount != 2 || ct.Warehouse != "table" {
		t.Errorf("customer_totals: row count %v, kind %q; want 2 rows in a table", ct.RowCount, ct.Warehouse)
	}
	if ct.Raw == "" || ct.Compiled == "" || !strings.Contains(ct.Compiled, "customers") {
		t.Errorf("customer_totals: raw %q, compiled %q", ct.Raw, ct.Compiled)
	}
	var names []string
	for _, c := range ct.Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "customer_id,name,total" {
		t.Fatalf("customer_totals columns %s", got)
	}
	id, total := ct.Columns[0], ct.Columns[2]
	if id.Description != "The customer." || len(id.Tests) != 2 || id.Lineage == nil || id.Lineage.Kind != "direct" ||
		len(id.Lineage.Sources) != 1 || id.Lineage.Sources[0] != [2]string{"seed.t.customers", "id"} {
		t.Errorf("customer_id: %+v (lineage %+v)", id, id.Lineage)
	}
	if total.Lineage == nil || total.Lineage.Kind != "derived" || len(total.Lineage.Sources) != 1 ||
		total.Lineage.Sources[0] != [2]string{"model.t.stg_orders", "amount"} {
		t.Errorf("total's lineage: %+v", total.Lineage)
	}
	// The analyser says DECIMAL; the (made-up) warehouse said DOUBLE.
	if total.Warehouse != "DOUBLE" || !strings.HasPrefix(total.Type, "DECIMAL") {
		t.Errorf("total: type %q, warehouse type %q", total.Type, total.Warehouse)
	}

	if n := byID(t, doc, "model.t.stg_orders"); n.Status != docs.StatusOK || n.Result == nil || n.Result.Seconds != 0.02 {
		t.Errorf("stg_orders: status %q, result %+v", n.Status, n.Result)
	}
	src := byID(t, doc, "source.t.shop.orders")
	if src.Status != docs.StatusStale || src.Freshness == nil || src.Freshness.Status != "warn" || !strings.Contains(src.Why, "3 days") {
		t.Errorf("source: status %q (%q), freshness %+v; want stale", src.Status, src.Why, src.Freshness)
	}
	for _, n := range doc.Nodes {
		if n.Test != nil && n.Test.Generic == "unique" && n.Status != docs.StatusFailed {
			t.Errorf("the unique test: status %q, want failed", n.Status)
		}
	}
}

func TestBuildWithoutArtifacts(t *testing.T) {
	p := projecttest.Load(t, map[string]string{"models/a.sql": "select 1 as x"})
	doc, err := docs.Build(p, filepath.Join(p.Dir, "target"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if doc.LastRun != nil || doc.HasCatalog {
		t.Errorf("last run %+v, catalog %v: want neither", doc.LastRun, doc.HasCatalog)
	}
	if n := byID(t, doc, "model.t.a"); n.Status != docs.StatusNotRun {
		t.Errorf("a: status %q, want %q", n.Status, docs.StatusNotRun)
	}
}

// TestWriteEscapesData proves that a description cannot break out of the
// <script type="application/json"> block index.html carries the data in.
func TestWriteEscapesData(t *testing.T) {
	p := loadShop(t)
	doc, err := docs.Build(p, filepath.Join(p.Dir, "target"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(p.Dir, "target", "docs")
	if err := docs.Write(p, dir, doc); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page, []byte("<script>alert")) || bytes.Contains(page, []byte("</script><script>")) {
		t.Fatalf("the description's markup reached index.html unescaped")
	}
	const open = `<script type="application/json" id="quarry-data">`
	_, rest, ok := bytes.Cut(page, []byte(open))
	if !ok {
		t.Fatalf("index.html has no %s", open)
	}
	// The block ends at the first </script>, as the browser's parser
	// would have it: what is inside must be the whole document.
	data, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		t.Fatal("the data block is not closed")
	}
	var back docs.Document
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("the data block is not the JSON document: %v", err)
	}
	if got := byID(t, &back, "model.t.customer_totals").Description; got != "Spend per customer </script><script>alert(1)</script>" {
		t.Errorf("the description came back as %q", got)
	}
	tools, err := os.ReadFile(filepath.Join(dir, "docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tools, data) {
		t.Error("docs.json differs from the data in index.html")
	}
	for _, f := range []string{"app.js", "style.css", "vendor/dagre.min.js", "vendor/LICENSE-dagre"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("asset %s: %v", f, err)
		}
	}

	// Writing again replaces the site, leaving nothing of the old one.
	stray := filepath.Join(dir, "stray.txt")
	projecttest.WriteFile(t, stray, "x")
	if err := docs.Write(p, dir, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("a file of the old site survived: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(p.Dir, "target", ".docs-*"))
	if len(left) > 0 {
		t.Errorf("temporary folders left behind: %v", left)
	}
}

// TestWriteRefusesSecrets: a description quoting the value of a
// secret-looking environment variable keeps the site from being written.
func TestWriteRefusesSecrets(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models", "a.sql"), "select 1 as x")
	projecttest.WriteFile(t, filepath.Join(dir, "models", "a.yml"), "models:\n  - name: a\n    description: log in with s3cr3t-v4lue-123\n")
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.NoEnv, Environ: func() []string { return []string{"SHOP_PASSWORD=s3cr3t-v4lue-123"} }},
		projecttest.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := docs.Build(p, filepath.Join(dir, "target"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "target", "docs")
	err = docs.Write(p, out, doc)
	if err == nil || !strings.Contains(err.Error(), "SHOP_PASSWORD") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Write: %v; want a refusal naming SHOP_PASSWORD, not its value", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("target/docs was written: %v", err)
	}
}

// TestAssetsAskNoNetwork: the page must work offline and from file://, so
// no asset names an outside URL (the SVG namespace is a name, not a fetch).
func TestAssetsAskNoNetwork(t *testing.T) {
	p := projecttest.Load(t, map[string]string{"models/a.sql": "select 1 as x"})
	doc, err := docs.Build(p, filepath.Join(p.Dir, "target"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "docs")
	if err := docs.Write(p, dir, doc); err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	allowed := map[string]bool{"http://www.w3.org": true}
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range url.FindAll(b, -1) {
			if !allowed[string(m)] {
				t.Errorf("%s names %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Errorf("%d files written, want the page, its data and assets", files)
	}
}

// BenchmarkGenerate10k measures what docs generate adds to loading (and
// analysing) the generated 10,000-model project: building the document and
// writing the site.
func BenchmarkGenerate10k(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "project")
	if err := gen.Project(dir, gen.Options{Models: 10000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.NoEnv}, projecttest.Adapters())
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "docs")
	b.ReportAllocs()
	for b.Loop() {
		doc, err := docs.Build(p, filepath.Join(dir, "target"), time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := docs.Write(p, out, doc); err != nil {
			b.Fatal(err)
		}
	}
}
