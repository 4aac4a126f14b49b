package github

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/extractors"
)

// A 200 whose body is not what the endpoint returns is an item error naming
// the request and what was wrong, never a row of NULLs or of zeros; the
// other repositories land as usual.
func TestWrongShapeIsItemError(t *testing.T) {
	t.Parallel()
	const repoPath = "/repos/dbt-labs/dbt-core"
	negative := func(field string) string {
		r := maps.Clone(threeRepos(t)[2].repo)
		r[field] = -5
		b, err := json.Marshal(r)
		must(err)
		return string(b)
	}
	for _, tc := range []struct {
		name, path, contentType, body string
		want                          []string
	}{
		{"repository null", "", "", "null", []string{"GET " + repoPath + " answered", "not a repository"}},
		{"repository {}", "", "", "{}", []string{"GET " + repoPath + " answered", "not a repository"}},
		{"repository empty", "", "", "", []string{"not a repository"}},
		{"repository without full_name", "", "", `{"id": 52284464}`, []string{"without full_name"}},
		{"repository without id", "", "", `{"full_name": "dbt-labs/dbt-core"}`, []string{"without a valid id"}},
		{"another repository", "", "", `{"id": 1, "full_name": "someone/else"}`, []string{"someone/else, not dbt-labs/dbt-core", "put someone/else in the seed"}},
		{"negative stars", "", "", negative("stargazers_count"), []string{"negative stargazers_count (-5)"}},
		{"html page", "", "text/html; charset=utf-8", "<!doctype html><title>Sign in</title>", []string{"not JSON (Content-Type text/html", "GITHUB_API_URL"}},
		{"html page as json", "", "", "<html><body>proxy</body></html>", []string{"not JSON"}},
		{"truncated", "", "", `{"id": 52284464, "full_na`, []string{"malformed JSON"}},
		{"pulls null", "/pulls", "", "null", []string{"GET " + repoPath + "/pulls answered 200 OK", "not a list of pull requests"}},
		{"pulls of objects without number", "/pulls", "", "[{}]", []string{"entry 0 is not one of the pull requests"}},
		{"contributors null", "/contributors", "", "null", []string{"contributors: GET " + repoPath + "/contributors", "not a list of contributors"}},
		{"contributors object", "/contributors", "", "{}", []string{"contributors: ", "malformed JSON"}},
		{"release {}", "/releases/latest", "", "{}", []string{"latest release: GET " + repoPath + "/releases/latest", "not a release"}},
		{"commit activity null", "/stats/commit_activity", "", "null", []string{"not a list of weeks"}},
		{"commit activity negative", "/stats/commit_activity", "", `[{"days":[0,0,0,0,0,0,0],"total":-3,"week":1700000000}]`, []string{"negative total (-3)"}},
		{"commit activity without week", "/stats/commit_activity", "", `[{"days":[0,0,0,0,0,0,0],"total":3}]`, []string{"week 0 has no date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, threeRepos(t)...)
			f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.URL.Path != repoPath+tc.path {
					return false
				}
				ct := tc.contentType
				if ct == "" {
					ct = "application/json; charset=utf-8"
				}
				w.Header().Set("Content-Type", ct)
				_, _ = w.Write([]byte(tc.body))
				return true
			}
			var l logs
			res, err := testExtractor().Extract(context.Background(), f.env(t, &l), threeItems())
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if len(res.Errors) != 1 || res.Errors[0].Item != "dbt-labs/dbt-core" {
				t.Fatalf("errors %+v, want one for dbt-labs/dbt-core", res.Errors)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Errors[0].Err, w) {
					t.Errorf("error %q does not say %q", res.Errors[0].Err, w)
				}
			}
			checkRows(t, res.Rows[TableName], wantRows()[:2])
		})
	}
}

// A repository without contributors or commit activity (GitHub answers 204
// No Content) is not a wrong shape: zero contributors, no activity.
func TestNoContentIsNotWrongShape(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch r.URL.Path {
		case "/repos/dbt-labs/dbt-core/contributors", "/repos/dbt-labs/dbt-core/stats/commit_activity":
			w.WriteHeader(http.StatusNoContent)
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), threeItems())
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	row := res.Rows[TableName][2]
	if row[colIndex("contributors")] != int64(0) || row[colIndex("commits_last_52_weeks")] != int64(0) {
		t.Errorf("row %v: want 0 contributors and 0 commits", row)
	}
}

// When the time budget runs out, the repository in flight and those not
// started are item errors saying so; what was collected before is kept.
func TestBudgetRunsOut(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/dbt-labs/dbt-core" {
			<-r.Context().Done() // never answers
			return true
		}
		return false
	}
	var l logs
	// The budget leaves the first repository time to land even on a busy
	// machine (CI runs this under -race beside other packages' tests).
	ctx, cancel := extractors.WithBudget(context.Background(), "github", 2*time.Second)
	defer cancel()
	start := time.Now()
	its := append(threeItems(), items("x", "apache/beam")...)
	res, err := testExtractor().Extract(ctx, f.env(t, &l, withSetting("concurrency", 1)), its)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("took %s with a budget of 2s", el)
	}
	want := "not extracted: the extractor's time budget of 2s ran out; raise extractors.github.timeout in project.yaml"
	if len(res.Errors) != 2 || res.Errors[0].Item != "dbt-labs/dbt-core" || res.Errors[1].Item != "apache/beam" ||
		res.Errors[0].Err != want || res.Errors[1].Err != want {
		t.Fatalf("errors %+v, want the budget's for dbt-labs/dbt-core and apache/beam", res.Errors)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:2])
	if f.repoCount("apache/beam") != 0 {
		t.Errorf("apache/beam was requested after the budget ran out")
	}
}

// An interrupt is not the budget: the node fails with the context's error.
func TestInterruptIsNotBudget(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	ctx, cancel := extractors.WithBudget(context.Background(), "github", time.Minute)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		cancel()
		<-r.Context().Done()
		return true
	}
	var l logs
	_, err := testExtractor().Extract(ctx, f.env(t, &l), threeItems())
	if err == nil || strings.Contains(err.Error(), "budget") {
		t.Fatalf("err %v, want the interrupt", err)
	}
}

// A primary rate limit that resets after the time budget runs out fails
// the repositories at once, not by sleeping the budget away.
func TestRateLimitBeyondBudget(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	reset := time.Now().Add(time.Minute)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		rateLimited(f, w, r, reset)
		return true
	}
	var l logs
	ctx, cancel := extractors.WithBudget(context.Background(), "github", 10*time.Second)
	defer cancel()
	start := time.Now()
	res, err := testExtractor().Extract(ctx, f.env(t, &l, withNow(time.Now())), threeItems())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %s: it slept instead of failing", el)
	}
	if len(res.Errors) != 3 || !strings.Contains(res.Errors[0].Err, "after the extractor's time budget runs out") ||
		!strings.Contains(res.Errors[0].Err, "raise extractors.github.timeout") {
		t.Fatalf("errors %+v", res.Errors)
	}
}
