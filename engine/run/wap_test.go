package run_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
)

// buildOnDuckDB loads dir and builds everything into wh.
func buildOnDuckDB(t *testing.T, dir string, wh warehouse.Warehouse, now time.Time) *run.Report {
	t.Helper()
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil)}, projecttest.Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	ids, _, err := selector.Select(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 2, Now: func() time.Time { return now }})
}

func query(t *testing.T, wh warehouse.Warehouse, sql string) string {
	t.Helper()
	r, err := wh.Query(context.Background(), sql, 0)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var b strings.Builder
	for _, row := range r.Rows {
		fmt.Fprintln(&b, row...)
	}
	return b.String()
}

func TestWriteAuditPublishKeepsLiveTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", "name: wap\nmodels:\n  marts: {materialized: table, schema: public}\ntargets:\n  dev: {type: duckdb}\n")
	write("seeds/orders.csv", "id,amount\n1,10\n2,20\n")
	write("models/marts/revenue.sql", "select id, amount * 2 as doubled from {{ ref \"orders\" }}")
	write("models/marts/downstream.sql", "select sum(doubled) as total from {{ ref \"revenue\" }}")
	write("models/props.yml", "models:\n  - name: revenue\n    columns:\n      - name: id\n        tests: [unique]\n")
	wh, err := duckdb.Open(context.Background(), filepath.Join(dir, "wap.duckdb"), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if res := buildOnDuckDB(t, dir, wh, now); res.Failed() {
		t.Fatalf("first build failed: %s", res.Summary())
	}
	const fingerprint = "select count(*), sum(hash(id, doubled)) from public.revenue"
	before := query(t, wh, fingerprint)

	// A duplicate key: the new revenue table must not replace the live one.
	write("seeds/orders.csv", "id,amount\n1,10\n2,20\n2,30\n")
	res := buildOnDuckDB(t, dir, wh, now)
	got := map[string]run.Status{}
	for _, r := range res.Results {
		got[r.UniqueID] = r.Status
	}
	want := map[string]run.Status{
		"seed.wap.orders": run.StatusSuccess, "test.wap.unique_revenue_id": run.StatusFail,
		// not published because its test failed: one failure, reported on the test
		"model.wap.revenue": run.StatusSkipped, "model.wap.downstream": run.StatusSkipped,
	}
	if !mapsEqual(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if after := query(t, wh, fingerprint); after != before {
		t.Errorf("live table changed: before %q after %q", before, after)
	}
	if kind, _ := wh.Lookup(context.Background(), warehouse.Relation{Schema: "public", Name: "revenue__quarry_audit"}); kind != warehouse.KindNone {
		t.Errorf("the rejected audit table was left behind (%s)", kind)
	}
	for _, r := range res.Results {
		if r.UniqueID == "model.wap.revenue" && (r.Kept != "public.revenue" || !strings.Contains(r.Message, "keeps its previous version")) {
			t.Errorf("model result should say the live table was kept: kept=%q message=%q", r.Kept, r.Message)
		}
		if r.UniqueID == "model.wap.downstream" && r.Message != "skipped: upstream test unique_revenue_id failed" {
			t.Errorf("downstream skipped with %q, want it to name the failed test", r.Message)
		}
	}
	if got := res.Summary(); got != "Done. PASS=1 WARN=0 ERROR=1 SKIP=2 TOTAL=4" || !res.Failed() {
		t.Errorf("summary %q (failed=%v)", got, res.Failed())
	}

	// Fixed data publishes.
	write("seeds/orders.csv", "id,amount\n1,10\n2,20\n3,30\n")
	if res := buildOnDuckDB(t, dir, wh, now); res.Failed() {
		t.Fatalf("fixed build failed: %s", res.Summary())
	}
	if got := query(t, wh, "select count(*) from public.revenue"); got != "3\n" {
		t.Errorf("published table has %q rows, want 3", got)
	}
}

func TestFreshnessAndThresholds(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", "name: fresh\ntargets:\n  dev: {type: duckdb}\n")
	write("seeds/loads.csv", "id,_loaded_at\n1,2026-11-20 00:00:00\n2,2026-11-25 00:00:00\n")
	write("seeds/dupes.csv", "k\n1\n1\n2\n2\n3\n3\n")
	write("models/props.yml", `sources:
  - name: raw
    schema: seeds
    tables:
      - name: loads
        loaded_at_field: _loaded_at
        freshness: {warn_after: 12h, error_after: 72h}
seeds:
  - name: dupes
    columns:
      - name: k
        tests:
          - unique: {warn_if: ">1", error_if: ">5"}
`)
	wh, err := duckdb.Open(context.Background(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	// The source is the seed's table; load it before testing it.
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil)}, projecttest.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	if res := run.Execute(context.Background(), p, wh, []string{"seed.fresh.loads"}, run.Options{}); res.Failed() {
		t.Fatal(res.Summary())
	}
	for _, tc := range []struct {
		now        time.Time
		freshness  run.Status
		failedRun  bool
		wantInText string
	}{
		{time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC), run.StatusPass, false, "6h old"},
		{time.Date(2026, 11, 26, 6, 30, 0, 0, time.UTC), run.StatusWarn, false, "1d6h30m old"},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), run.StatusFail, true, "6d old"},
	} {
		res := buildOnDuckDB(t, dir, wh, tc.now)
		for _, r := range res.Results {
			switch r.UniqueID {
			case "test.fresh.freshness_raw_loads":
				if r.Status != tc.freshness || !strings.Contains(r.Message, tc.wantInText) {
					t.Errorf("at %s: freshness %s %q, want %s containing %q", tc.now, r.Status, r.Message, tc.freshness, tc.wantInText)
				}
			case "test.fresh.unique_dupes_k":
				// 3 duplicated keys: over warn_if >1, under error_if >5.
				if r.Status != run.StatusWarn || *r.Failures != 3 {
					t.Errorf("thresholds: %s with %d failures, want warn with 3", r.Status, *r.Failures)
				}
			}
		}
		if res.Failed() != tc.failedRun {
			t.Errorf("at %s: run failed=%v, want %v (%s)", tc.now, res.Failed(), tc.failedRun, res.Summary())
		}
	}
}
