package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
)

// sampleAPI serves the sample recording's GitHub and pypistats answers,
// in their wire format, as often as they are asked for; a repository's
// stargazers_count grows by one each day of hour (the run clock's hours
// since the first load), so every repository changes twice in 72 hours.
func sampleAPI(t *testing.T, hour *atomic.Int64) *httptest.Server {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sample", "exchanges.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cassette struct {
		Interactions []struct {
			Request struct {
				URL string `yaml:"url"`
			} `yaml:"request"`
			Response struct {
				Body    string              `yaml:"body"`
				Headers map[string][]string `yaml:"headers"`
				Code    int                 `yaml:"code"`
			} `yaml:"response"`
		} `yaml:"interactions"`
	}
	if err := yaml.Unmarshal(b, &cassette); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		body    string
		headers map[string][]string
		code    int
	}
	byPath := map[string]answer{}
	for _, i := range cassette.Interactions {
		path := strings.SplitN(strings.TrimPrefix(strings.TrimPrefix(i.Request.URL, "https://api.github.com"), "https://pypistats.org"), "?", 2)[0]
		if prev, ok := byPath[path]; ok && prev.code == http.StatusOK {
			continue // a stats endpoint's 202 then 200: serve the 200
		}
		byPath[path] = answer{i.Response.Body, i.Response.Headers, i.Response.Code}
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body := a.body
		if parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(parts) == 3 && parts[0] == "repos" {
			var repo map[string]any
			if err := json.Unmarshal([]byte(body), &repo); err != nil {
				t.Errorf("%s: %v", r.URL.Path, err)
			}
			stars, _ := repo["stargazers_count"].(float64)
			repo["stargazers_count"] = stars + float64(hour.Load()/24)
			out, _ := json.Marshal(repo)
			body = string(out)
		}
		for k, v := range a.headers {
			switch strings.ToLower(k) {
			case "etag", "content-length":
				continue
			}
			for _, s := range v {
				w.Header().Add(k, strings.NewReplacer("https://api.github.com", srv.URL, "https://pypistats.org", srv.URL).Replace(s))
			}
		}
		w.WriteHeader(a.code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestChangeOnlyHourlyGitHubLoads builds techpulse from 72 hourly GitHub
// loads (the run clock an hour further each time) with change-only on and
// off: on stores three rows per repository, off 72, and the overview and
// the snapshots fact are the same.
func TestChangeOnlyHourlyGitHubLoads(t *testing.T) {
	if testing.Short() {
		t.Skip("144 whole loads of techpulse through the engine (about a minute); skipped with -short, run in CI")
	}
	var hour atomic.Int64
	api := sampleAPI(t, &hour)
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	results := map[bool][2]string{}
	for _, on := range []bool{true, false} {
		dir := t.TempDir()
		for _, part := range []string{"project.yaml", "models", "seeds", "tests", "macros"} {
			src := filepath.Join("..", "..", part)
			st, err := os.Stat(src)
			if os.IsNotExist(err) {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			if !st.IsDir() {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if !on {
					b = []byte(strings.Replace(string(b), "    concurrency: 4\n", "    concurrency: 4\n    change_only: false\n", 1))
				}
				if err := os.WriteFile(filepath.Join(dir, part), b, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := os.CopyFS(filepath.Join(dir, part), os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		}
		env := map[string]string{"GITHUB_API_URL": api.URL, "PYPISTATS_API_URL": api.URL + "/api"}
		p, err := project.Load(config.Options{Dir: dir, Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			Extractors: extractorRegistry()}, adapters())
		if err != nil {
			t.Fatal(err)
		}
		wh, err := duckdb.Open(context.Background(), "", 2)
		if err != nil {
			t.Fatal(err)
		}
		defer wh.Close()
		var clock time.Time
		build := func(sel, excl []string) {
			t.Helper()
			ids, _, err := selector.Select(p, sel, excl)
			if err != nil {
				t.Fatal(err)
			}
			res := run.Execute(context.Background(), p, wh, ids, run.Options{Now: func() time.Time { return clock }, Threads: 2})
			for _, r := range res.Results {
				// PyPI loads once, at hour 0: its freshness warns at the end.
				pypiStale := r.Status == run.StatusWarn && strings.Contains(r.UniqueID, "freshness_pypi")
				if r.Status != run.StatusSuccess && r.Status != run.StatusPass && !pypiStale {
					t.Errorf("change_only=%v, hour %d: %s %s %q", on, hour.Load(), r.UniqueID, r.Status, r.Message)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
		}
		for h := range int64(72) {
			hour.Store(h)
			clock = start.Add(time.Duration(h) * time.Hour)
			if h == 0 {
				build(nil, nil) // seeds, both extractors, everything
			} else {
				build([]string{"github"}, nil)
			}
		}
		build(nil, []string{"github", "pypi"})
		stored := queryText(t, wh, "select count(*), count(distinct repo_full_name) from raw.github_repositories")
		want := "720 10\n"
		if on {
			want = "30 10\n"
		}
		if stored != want {
			t.Errorf("change_only=%v: raw.github_repositories holds %q (rows, repositories), want %q", on, stored, want)
		}
		results[on] = [2]string{
			queryText(t, wh, "select * from public.mart_technology_overview order by technology_id"),
			queryText(t, wh, "select * from public.fct_github_repository_snapshots order by repo_full_name, snapshot_date"),
		}
	}
	for i, what := range []string{"mart_technology_overview", "fct_github_repository_snapshots"} {
		if results[true][i] != results[false][i] {
			t.Errorf("%s differs:\nchange-only:\n%s\nappend-only:\n%s", what, results[true][i], results[false][i])
		}
	}
	if n := strings.Count(results[true][1], "\n"); n != 30 {
		t.Errorf("%d snapshots, want 10 repositories × 3 days", n)
	}
}

func queryText(t *testing.T, wh warehouse.Warehouse, sql string) string {
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
