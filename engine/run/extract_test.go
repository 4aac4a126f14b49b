package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/extractors"
)

// fakeExtractor lands one row per item: the item's key and its length;
// items named in fail fail, and bad makes a row the warehouse rejects.
type fakeExtractor struct {
	fail map[string]bool
	bad  bool
	seen []string
	// partial items land their row and a Partial error beside it; usage
	// is handed back as the result's BigQuery usage.
	partial map[string]bool
	usage   *extractors.BigQueryUsage
}

func (f *fakeExtractor) Name() string      { return "fake" }
func (f *fakeExtractor) KeyColumn() string { return "repo" }
func (f *fakeExtractor) Tables() []extractors.Table {
	return []extractors.Table{{Name: "fake_repos", Columns: []warehouse.Column{
		{Name: "repo", Type: "varchar"}, {Name: "size", Type: "bigint"}, {Name: "description", Type: "varchar"},
	}}}
}
func (f *fakeExtractor) Extract(_ context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	res := &extractors.Result{Rows: map[string][][]any{}, Source: "fake-api", Stats: []string{"requests=" + fmt.Sprint(len(items))}}
	for _, it := range items {
		f.seen = append(f.seen, it.Key)
		if f.fail[it.Key] {
			res.Errors = append(res.Errors, extractors.ItemError{Item: it.Key, Err: "404 Not Found"})
			continue
		}
		var size any = int64(len(it.Key))
		if f.bad && it.Key == "b/b" {
			size = "not a number"
		}
		res.Rows["fake_repos"] = append(res.Rows["fake_repos"], []any{it.Key, size, `it's "quoted"` + "\nand multi-line ✓"})
		if f.partial[it.Key] {
			res.Errors = append(res.Errors, extractors.ItemError{Item: it.Key, Err: "its metadata failed", Partial: true})
		}
	}
	res.BigQuery = f.usage
	return res, nil
}

func TestExtractLandsAppendOnlySnapshots(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", `name: ex
extractors:
  fake: {input: repos, source: landing, page_size: 10}
targets:
  dev: {type: duckdb}
`)
	write("seeds/repos.csv", "technology_id,repo\nx,a/a\nx,b/b\ny,c/c\ny,c/c\n")
	write("models/sources.yml", "sources:\n  - name: landing\n    schema: raw\n    tables:\n      - name: fake_repos\n")
	write("models/latest.sql", "select repo, size from {{ source \"landing\" \"fake_repos\" }} where _load_id = (select max(_load_id) from {{ source \"landing\" \"fake_repos\" }})")
	fake := &fakeExtractor{fail: map[string]bool{}}
	registry := map[string]extractors.Factory{"fake": func() extractors.Extractor { return fake }}
	wh, err := duckdb.Open(context.Background(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	clock := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	build := func(opts run.Options) *run.Report {
		t.Helper()
		p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Graph.Parents("source.ex.landing.fake_repos"); len(got) != 1 || got[0] != "extract.ex.fake" {
			t.Fatalf("the source's parent is %v, want the extract node", got)
		}
		ids, _, _ := selector.Select(p, nil, nil)
		opts.Now = func() time.Time { return clock }
		opts.Threads = 2
		return run.Execute(context.Background(), p, wh, ids, opts)
	}
	status := func(res *run.Report, id string) *run.Result {
		for _, r := range res.Results {
			if r.UniqueID == id {
				return r
			}
		}
		t.Fatalf("no result for %s", id)
		return nil
	}

	res := build(run.Options{})
	if res.Failed() {
		for _, r := range res.Results {
			t.Log(r.UniqueID, r.Status, r.Message)
		}
		t.Fatalf("first build: %s", res.Summary())
	}
	if got := strings.Join(fake.seen, ","); got != "a/a,b/b,c/c" {
		t.Errorf("items %s, want each key once", got)
	}
	if got := query(t, wh, "select count(*), count(distinct _load_id), min(_source) from raw.fake_repos"); got != "3 1 fake-api\n" {
		t.Errorf("after one load: %q", got)
	}
	if got := query(t, wh, "select description from raw.fake_repos limit 1"); got != "it's \"quoted\"\nand multi-line ✓\n" {
		t.Errorf("text did not land verbatim: %q", got)
	}

	// A second load appends: history accumulates.
	clock = clock.Add(time.Hour)
	fake.fail["b/b"] = true
	res = build(run.Options{})
	if r := status(res, "extract.ex.fake"); r.Status != run.StatusWarn || !strings.Contains(r.Message, "1 of 3 items failed") {
		t.Errorf("one failed item: %s %q", r.Status, r.Message)
	}
	if res.Failed() {
		t.Errorf("an item failure must not fail the run: %s", res.Summary())
	}
	if got := query(t, wh, "select count(*), count(distinct _load_id), count(distinct _loaded_at) from raw.fake_repos"); got != "5 2 2\n" {
		t.Errorf("after two loads: %q", got)
	}
	if got := query(t, wh, "select extractor, item, error from raw._extract_errors"); got != "fake b/b 404 Not Found\n" {
		t.Errorf("extract errors: %q", got)
	}

	// --strict turns the same failure into an error, and skips downstream.
	res = build(run.Options{Strict: true})
	if r := status(res, "extract.ex.fake"); r.Status != run.StatusError || status(res, "model.ex.latest").Status != run.StatusSkipped {
		t.Errorf("strict: extract %s, model %s", r.Status, status(res, "model.ex.latest").Status)
	}

	// Every item failing is an error.
	fake.fail = map[string]bool{"a/a": true, "b/b": true, "c/c": true}
	if r := status(build(run.Options{}), "extract.ex.fake"); r.Status != run.StatusError || !strings.Contains(r.Message, "every item failed") {
		t.Errorf("all failed: %s %q", r.Status, r.Message)
	}

	// A load the warehouse rejects leaves none of its rows.
	fake.fail = map[string]bool{}
	fake.bad = true
	before := query(t, wh, "select count(*) from raw.fake_repos")
	if r := status(build(run.Options{}), "extract.ex.fake"); r.Status != run.StatusError {
		t.Errorf("bad row: %s %q", r.Status, r.Message)
	}
	if after := query(t, wh, "select count(*) from raw.fake_repos"); after != before {
		t.Errorf("a failed load left rows: %s -> %s", before, after)
	}
}

// An item whose error is Partial landed the rest of its data: with every
// item so, the node warns instead of failing, its rows land, the errors
// land in _extract_errors; the extractor's BigQuery usage reaches the
// node's result and run_results.json.
func TestExtractPartialItemsWarn(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", "name: ex\nextractors:\n  fake: {input: repos, source: landing}\ntargets:\n  dev: {type: duckdb}\n")
	write("seeds/repos.csv", "repo\na/a\nb/b\n")
	write("models/sources.yml", "sources:\n  - name: landing\n    schema: raw\n    tables:\n      - name: fake_repos\n")
	usage := &extractors.BigQueryUsage{Queries: 2, BytesEstimated: 3 << 30, BytesProcessed: 5 << 20, BytesBilled: 20 << 20}
	fake := &fakeExtractor{partial: map[string]bool{"a/a": true, "b/b": true}, usage: usage}
	registry := map[string]extractors.Factory{"fake": func() extractors.Extractor { return fake }}
	wh, err := duckdb.Open(context.Background(), "", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	ids, _, _ := selector.Select(p, nil, nil)
	clock := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	report := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 1, Now: func() time.Time { return clock }})
	var r *run.Result
	for _, res := range report.Results {
		if res.UniqueID == "extract.ex.fake" {
			r = res
		}
	}
	if r == nil {
		t.Fatal("no result for the extract node")
	}
	if r.Status != run.StatusWarn || !strings.Contains(r.Message, "2 of 2 items landed in part") || strings.Contains(r.Message, "failed") {
		t.Errorf("every item partial: %s %q, want warn, 2 of 2 items landed in part", r.Status, r.Message)
	}
	if got := query(t, wh, "select count(*) from raw.fake_repos"); got != "2\n" {
		t.Errorf("rows landed: %q, want 2", got)
	}
	if got := query(t, wh, "select count(*) from raw._extract_errors where error = 'its metadata failed'"); got != "2\n" {
		t.Errorf("partial errors in _extract_errors: %q, want 2", got)
	}
	if r.BigQuery != usage {
		t.Errorf("result's BigQuery usage = %+v, want the extractor's %+v", r.BigQuery, usage)
	}

	if err := artifacts.WriteRunResults(p, artifacts.Invocation{Command: "build", At: clock}, nil, report); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "target", "run_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rr struct {
		Results []struct {
			UniqueID        string          `json:"unique_id"`
			AdapterResponse json.RawMessage `json:"adapter_response"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &rr); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, res := range rr.Results {
		var b bytes.Buffer
		if len(res.AdapterResponse) > 0 {
			if err := json.Compact(&b, res.AdapterResponse); err != nil {
				t.Fatal(err)
			}
		}
		got[res.UniqueID] = b.String()
	}
	want := map[string]string{
		"extract.ex.fake": `{"bigquery":{"queries":2,"bytes_estimated":3221225472,"bytes_processed":5242880,"bytes_billed":20971520}}`,
		"seed.ex.repos":   "", // absent, not null
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("adapter_response per result (-want +got):\n%s", d)
	}
}

func TestExtractorConfigErrors(t *testing.T) {
	registry := map[string]extractors.Factory{"fake": func() extractors.Extractor { return &fakeExtractor{} }}
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: ex\nextractors:\n  fkae: {input: repos, source: landing}\n  fake: {input: repoz, source: nowhere}\n  other: {}\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "seeds/repos.csv"), "repo\na/a\n")
	_, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
	if err == nil {
		t.Fatal("loaded a project with bad extractors")
	}
	for _, want := range []string{
		`project.yaml:3:3: unknown extractor "fkae" (this quarry has: fake); did you mean "fake"?`,
		`project.yaml:4:3: extractors.fake: input "repoz" is not a seed or model; did you mean "repos"?`,
		`project.yaml:4:3: extractors.fake lands table fake_repos: declare it under sources: - name: nowhere`,
		`project.yaml:5:3: extractors.other needs input:`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
