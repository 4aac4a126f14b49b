package run_test

import (
	"context"
	"errors"
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
	"github.com/quarrydev/quarry/extractors"
)

// slowExtractor collects a/a at once and waits for the end of its context
// on every other item; giveUp makes it fail the whole load when the budget
// runs out instead of reporting the items it did not finish.
type slowExtractor struct {
	giveUp bool
	budget time.Duration // as the engine passed it
}

func (s *slowExtractor) Name() string      { return "slow" }
func (s *slowExtractor) KeyColumn() string { return "repo" }
func (s *slowExtractor) Tables() []extractors.Table {
	return []extractors.Table{{Name: "slow_repos", Columns: []warehouse.Column{{Name: "repo", Type: "varchar"}}}}
}
func (s *slowExtractor) Settings() []extractors.Setting {
	return []extractors.Setting{{Name: "page_size", Check: func(v any, _ func(string) (string, bool)) error {
		if n, ok := v.(int); !ok || n < 1 {
			return fmt.Errorf("extractors.slow.page_size must be a whole number of at least 1, got %v", v)
		}
		return nil
	}}}
}
func (s *slowExtractor) Extract(ctx context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	s.budget = env.Budget
	res := &extractors.Result{Rows: map[string][][]any{}, Source: "slow-api"}
	for _, it := range items {
		if it.Key == "a/a" {
			res.Rows["slow_repos"] = append(res.Rows["slow_repos"], []any{it.Key})
			continue
		}
		<-ctx.Done()
		be := extractors.OutOfBudget(ctx)
		if be == nil {
			return nil, ctx.Err()
		}
		if s.giveUp {
			return nil, errors.New("gave up")
		}
		res.Errors = append(res.Errors, extractors.ItemError{Item: it.Key, Err: be.Error()})
	}
	return res, nil
}

// The timeout of an extractor's block bounds the extraction; what was
// collected before it ran out lands under one load id with an item error
// per item left, and an extractor that gives up instead lands nothing.
func TestExtractBudget(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: ex\nextractors:\n  slow: {input: repos, source: landing, timeout: 2s, page_size: 2}\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "seeds/repos.csv"), "repo\na/a\nb/b\nc/c\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/sources.yml"), "sources:\n  - name: landing\n    schema: raw\n    tables:\n      - name: slow_repos\n")
	slow := &slowExtractor{}
	registry := map[string]extractors.Factory{"slow": func() extractors.Extractor { return slow }}
	wh, err := duckdb.Open(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	runIt := func() *run.Result {
		t.Helper()
		p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
		if err != nil {
			t.Fatal(err)
		}
		ids, _, _ := selector.Select(p, nil, nil)
		start := time.Now()
		res := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 1})
		if el := time.Since(start); el > 15*time.Second {
			t.Errorf("the run took %s with a budget of 2s", el)
		}
		for _, r := range res.Results {
			if r.UniqueID == "extract.ex.slow" {
				return r
			}
		}
		t.Fatal("no result for the extract node")
		return nil
	}

	r := runIt()
	if slow.budget != 2*time.Second {
		t.Errorf("Env.Budget = %s, want 2s", slow.budget)
	}
	if r.Status != run.StatusWarn || !strings.Contains(r.Message, "2 of 3 items failed") {
		t.Errorf("budget ran out: %s %q", r.Status, r.Message)
	}
	if got := query(t, wh, "select count(*), count(distinct _load_id) from raw.slow_repos"); got != "1 1\n" {
		t.Errorf("landed: %q", got)
	}
	want := "not extracted: the extractor's time budget of 2s ran out; raise extractors.slow.timeout in project.yaml"
	if got := query(t, wh, "select item, error from raw._extract_errors order by item"); got != "b/b "+want+"\nc/c "+want+"\n" {
		t.Errorf("extract errors: %q", got)
	}
	if got := query(t, wh, "select count(distinct e._load_id) from raw._extract_errors e join raw.slow_repos r using (_load_id)"); got != "1\n" {
		t.Errorf("the rows and the errors of the load do not share its load id: %q", got)
	}

	slow.giveUp = true
	r = runIt()
	if r.Status != run.StatusError || !strings.Contains(r.Message, "the time budget of 2s ran out (raise extractors.slow.timeout in project.yaml): gave up") {
		t.Errorf("gave up: %s %q", r.Status, r.Message)
	}
	if got := query(t, wh, "select count(*) from raw.slow_repos"); got != "1\n" {
		t.Errorf("a load that gave up left rows: %q", got)
	}
}

// Settings an extractor declares are checked when the project loads:
// unknown keys with the closest known one, refused values and a bad
// timeout, each at its line and column.
func TestExtractorSettingsChecked(t *testing.T) {
	registry := map[string]extractors.Factory{"slow": func() extractors.Extractor { return &slowExtractor{} }}
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), `name: ex
extractors:
  slow:
    input: repos
    source: landing
    page_sise: 2
    page_size: many
    timeout: 300
    enabled: true
targets:
  dev: {type: duckdb}
`)
	projecttest.WriteFile(t, filepath.Join(dir, "seeds/repos.csv"), "repo\na/a\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/sources.yml"), "sources:\n  - name: landing\n    schema: raw\n    tables:\n      - name: slow_repos\n")
	_, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
	if err == nil {
		t.Fatal("loaded a project with bad extractor settings")
	}
	for _, want := range []string{
		`project.yaml:6:5: unknown key "page_sise" in extractors.slow; did you mean "page_size"? (known keys: change_only, enabled, input, retention, source, timeout, and the slow extractor's page_size)`,
		`project.yaml:7:16: extractors.slow.page_size must be a whole number of at least 1, got many`,
		`project.yaml:8:14: extractors.slow.timeout must be a duration such as 5m or 90s (the extractor's total time budget), got 300 (a number needs a unit)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// endpointExtractor reads its API address from FAKE_API_URL and lands it.
type endpointExtractor struct{ slowExtractor }

func (e *endpointExtractor) EndpointVars() []string { return []string{"FAKE_API_URL"} }
func (e *endpointExtractor) Extract(_ context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	url, ok := env.Getenv("FAKE_API_URL")
	if !ok {
		url = "default"
	}
	other, _ := env.Getenv("OTHER")
	return &extractors.Result{Rows: map[string][][]any{"slow_repos": {{url + " " + other}}}}, nil
}

// A recording keeps the endpoint variables that are set; a replay gives
// the extractor the recorded ones (unset when not recorded) whatever the
// environment says, and leaves other variables alone.
func TestReplayEndpoints(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: ex\nextractors:\n  slow: {input: repos, source: landing}\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "seeds/repos.csv"), "repo\na/a\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/sources.yml"), "sources:\n  - name: landing\n    schema: raw\n    tables:\n      - name: slow_repos\n")
	registry := map[string]extractors.Factory{"slow": func() extractors.Extractor { return &endpointExtractor{} }}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(map[string]string{"FAKE_API_URL": "http://now", "OTHER": "o"}), Extractors: registry}, projecttest.Adapters())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Endpoints(); len(got) != 1 || got["FAKE_API_URL"] != "http://now" {
		t.Errorf("Endpoints() = %v", got)
	}
	wh, err := duckdb.Open(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	ids, _, _ := selector.Select(p, nil, nil)
	for _, tc := range []struct {
		opts run.Options
		want string
	}{
		{run.Options{}, "http://now o"},
		{run.Options{Replaying: true, Endpoints: map[string]string{"FAKE_API_URL": "http://then"}}, "http://then o"},
		{run.Options{Replaying: true}, "default o"}, // recorded before endpoints were kept
	} {
		tc.opts.Threads = 1
		if res := run.Execute(context.Background(), p, wh, ids, tc.opts); res.Failed() {
			t.Fatalf("%+v: %s", tc.opts, res.Summary())
		}
		if got := query(t, wh, "select repo from raw.slow_repos order by _loaded_at desc, _load_id desc limit 1"); got != tc.want+"\n" {
			t.Errorf("replaying=%v endpoints=%v: the extractor saw %q, want %q", tc.opts.Replaying, tc.opts.Endpoints, got, tc.want)
		}
		if err := wh.Exec(context.Background(), "delete from raw.slow_repos"); err != nil {
			t.Fatal(err)
		}
	}
}
