package pypi

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	qconfig "github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	engine "github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/extractors"
)

// Through the engine: when the metadata query fails, the extract node is
// WARN (not ERROR), pypi_downloads_daily holds the downloads, the
// metadata failure is in _extract_errors, and the node's result carries
// the bytes of the queries that ran.
func TestEngineMetadataFailureIsWarn(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	f.failMeta = true
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", "name: tp\nextractors:\n  pypi: {input: pypi_packages, source: pypi, backend: bigquery, lookback_days: 3}\ntargets:\n  dev: {type: duckdb}\n")
	write("seeds/pypi_packages.csv", "technology_id,package\nairflow,apache-airflow\npandas,pandas\n")
	write("models/sources.yml", "sources:\n  - name: pypi\n    schema: raw\n    tables:\n      - name: pypi_downloads_daily\n      - name: pypi_packages\n")
	env := projecttest.Env(map[string]string{"GOOGLE_CLOUD_PROJECT": f.project, "BIGQUERY_API_ENDPOINT": f.srv.URL})
	registry := map[string]extractors.Factory{Name: Factory}
	p, err := project.Load(qconfig.Options{Dir: dir, Env: env, Extractors: registry}, projecttest.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := duckdb.Open(context.Background(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	ids, _, _ := selector.Select(p, nil, nil)
	report := engine.Execute(context.Background(), p, wh, ids, engine.Options{Threads: 1, Now: func() time.Time { return testNow }})
	var r *engine.Result
	for _, res := range report.Results {
		if res.UniqueID == "extract.tp.pypi" {
			r = res
		}
	}
	if r == nil {
		t.Fatal("no result for extract.tp.pypi")
	}
	if r.Status != engine.StatusWarn || !strings.Contains(r.Message, "2 of 2 items landed in part") {
		t.Errorf("extract node: %s %q, want warn with 2 of 2 items landed in part", r.Status, r.Message)
	}
	count := func(sql string) string {
		t.Helper()
		res, err := wh.Query(context.Background(), sql, 0)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return fmt.Sprint(res.Rows)
	}
	if got := count("select count(*) from raw.pypi_downloads_daily"); got != "[[5]]" {
		t.Errorf("pypi_downloads_daily rows: %s, want 5", got)
	}
	if got := count("select count(*) from raw._extract_errors where error like '%metadata query%'"); got != "[[2]]" {
		t.Errorf("metadata errors in _extract_errors: %s, want 2", got)
	}
	// Downloads: 3 days x 1 MiB; the failed metadata job reports nothing.
	if u := r.BigQuery; u == nil || u.Queries != 2 || u.BytesProcessed != 3<<20 || u.BytesEstimated != 3<<20+f.metaBytes {
		t.Errorf("BigQuery usage = %+v, want 2 queries, 3 MiB processed, 6 MiB estimated", u)
	}
}
