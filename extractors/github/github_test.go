package github

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/quarrydev/quarry/extractors"
)

const trickyDescription = "dbt \"core\": SQL's friend\nsecond line\twith a tab, naïve café ✓ 🚀 <b>&amp;</b> \\ back\\slash"

// threeRepos is the happy path: one repository with everything, the
// octokit fixture repository as recorded (nulls, no release, one
// contributor), and one archived repository with a tricky description.
func threeRepos(t testing.TB) []*fakeRepo {
	loadFixtures(t)
	airflow := newFakeRepo("apache/airflow", 33884891, map[string]any{
		"stargazers_count":  36123,
		"watchers_count":    36123, // GitHub's legacy alias of stars: must not land as watchers
		"forks_count":       14045,
		"subscribers_count": 761,
		"open_issues_count": 1234,
		"created_at":        "2015-04-13T18:04:58Z",
		"pushed_at":         "2024-06-12T09:30:00Z",
		"default_branch":    "main",
		"language":          "Python",
		"license": map[string]any{
			"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0",
			"url": "https://api.github.com/licenses/apache-2.0", "node_id": "MDc6TGljZW5zZTI=",
		},
		"topics":      []string{"airflow", "apache", "python", "workflow"},
		"archived":    false,
		"size":        350123,
		"description": "Apache Airflow - A platform to programmatically author, schedule, and monitor workflows",
	})
	airflow.pulls = 137
	airflow.contributors = 3210
	airflow.release = release("2.9.2", "2024-06-10T14:00:00Z")
	// Weeks 1..52 commits; the newest week (52 commits) is in progress.
	airflow.weeks = weeks(time.Date(2024, 6, 9, 0, 0, 0, 0, time.UTC), func(i int) int { return i + 1 })

	hello := newFakeRepo("octokit-fixture-org/hello-world", 103703892, nil)
	hello.contributors = 1

	dbt := newFakeRepo("dbt-labs/dbt-core", 52284464, map[string]any{
		"stargazers_count":  9500,
		"forks_count":       1600,
		"subscribers_count": 140,
		"open_issues_count": 800,
		"created_at":        "2016-03-10T02:38:00Z",
		"pushed_at":         "2024-05-31T23:59:59Z",
		"default_branch":    "main",
		"language":          "Python",
		"license": map[string]any{
			"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": nil, "node_id": "MDc6TGljZW5zZTA=",
		},
		"topics":      []string{},
		"archived":    true,
		"size":        61000,
		"description": trickyDescription,
	})
	dbt.pulls = 1
	dbt.contributors = 0
	dbt.release = release("v1.8.0", "2024-05-09T15:30:00Z")
	// All 52 weeks complete: the newest started 2024-06-02.
	dbt.weeks = weeks(time.Date(2024, 6, 2, 0, 0, 0, 0, time.UTC), func(int) int { return 10 })
	return []*fakeRepo{airflow, hello, dbt}
}

func threeItems() []extractors.Item {
	return items("airflow", "apache/airflow", "octokit", "octokit-fixture-org/hello-world", "dbt", "dbt-labs/dbt-core")
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// wantRows are the rows of threeRepos, by column name.
func wantRows() []map[string]any {
	return []map[string]any{
		{
			"technology_id": "airflow", "repo_full_name": "apache/airflow", "github_id": int64(33884891),
			"stars": int64(36123), "forks": int64(14045), "watchers": int64(761), "open_issues_and_prs": int64(1234),
			"open_pull_requests": int64(137), "contributors": int64(3210),
			"latest_release_tag": "2.9.2", "latest_release_published_at": ts("2024-06-10T14:00:00Z"),
			// complete weeks carry 1..51 commits: the last four 48+49+50+51
			"commits_last_4_weeks": int64(198), "commits_last_52_weeks": int64(51 * 52 / 2),
			"created_at": ts("2015-04-13T18:04:58Z"), "pushed_at": ts("2024-06-12T09:30:00Z"),
			"default_branch": "main", "language": "Python", "license": "Apache-2.0",
			"topics": `["airflow","apache","python","workflow"]`, "archived": false, "size_kb": int64(350123),
			"description": "Apache Airflow - A platform to programmatically author, schedule, and monitor workflows",
		},
		{
			"technology_id": "octokit", "repo_full_name": "octokit-fixture-org/hello-world", "github_id": int64(103703892),
			"stars": int64(0), "forks": int64(0), "watchers": int64(1), "open_issues_and_prs": int64(0),
			"open_pull_requests": int64(0), "contributors": int64(1),
			"latest_release_tag": nil, "latest_release_published_at": nil,
			"commits_last_4_weeks": int64(0), "commits_last_52_weeks": int64(0),
			"created_at": ts("2017-09-15T21:43:08Z"), "pushed_at": ts("2017-11-03T20:11:46Z"),
			"default_branch": "master", "language": nil, "license": nil,
			"topics": `["fixtures","hello","hello-world"]`, "archived": false, "size_kb": int64(0),
			"description": nil,
		},
		{
			"technology_id": "dbt", "repo_full_name": "dbt-labs/dbt-core", "github_id": int64(52284464),
			"stars": int64(9500), "forks": int64(1600), "watchers": int64(140), "open_issues_and_prs": int64(800),
			"open_pull_requests": int64(1), "contributors": int64(0),
			"latest_release_tag": "v1.8.0", "latest_release_published_at": ts("2024-05-09T15:30:00Z"),
			"commits_last_4_weeks": int64(40), "commits_last_52_weeks": int64(520),
			"created_at": ts("2016-03-10T02:38:00Z"), "pushed_at": ts("2024-05-31T23:59:59Z"),
			"default_branch": "main", "language": "Python", "license": "NOASSERTION",
			"topics": `[]`, "archived": true, "size_kb": int64(61000),
			"description": trickyDescription,
		},
	}
}

// checkRows compares every column of got with want, by name, with types.
func checkRows(t *testing.T, got [][]any, want []map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %v", len(got), len(want), got)
	}
	for i, row := range got {
		if len(row) != len(columns) {
			t.Fatalf("row %d has %d values, want %d", i, len(row), len(columns))
		}
		if len(want[i]) != len(columns) {
			t.Fatalf("test bug: want row %d names %d columns, the table has %d", i, len(want[i]), len(columns))
		}
		for j, c := range columns {
			w, ok := want[i][c.Name]
			if !ok {
				t.Fatalf("test bug: want row %d has no %s", i, c.Name)
			}
			g := row[j]
			if gt, ok := g.(time.Time); ok {
				if gt.Location() != time.UTC {
					t.Errorf("row %d %s: time %v is not UTC", i, c.Name, gt)
				}
				if wt, ok := w.(time.Time); !ok || !gt.Equal(wt) {
					t.Errorf("row %d %s = %v, want %v", i, c.Name, g, w)
				}
				continue
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d %s = %#v (%T), want %#v (%T)", i, c.Name, g, g, w, w)
			}
		}
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	e := New()
	if e.Name() != "github" || e.KeyColumn() != "repo_full_name" {
		t.Fatalf("Name %q KeyColumn %q", e.Name(), e.KeyColumn())
	}
	tabs := e.Tables()
	if len(tabs) != 1 || tabs[0].Name != "github_repositories" {
		t.Fatalf("tables %+v", tabs)
	}
	want := "technology_id:varchar repo_full_name:varchar github_id:bigint stars:bigint forks:bigint watchers:bigint " +
		"open_issues_and_prs:bigint open_pull_requests:bigint contributors:bigint latest_release_tag:varchar " +
		"latest_release_published_at:timestamp commits_last_4_weeks:bigint commits_last_52_weeks:bigint " +
		"created_at:timestamp pushed_at:timestamp default_branch:varchar language:varchar license:varchar " +
		"topics:varchar archived:boolean size_kb:bigint description:varchar"
	var got []string
	for _, c := range tabs[0].Columns {
		got = append(got, c.Name+":"+c.Type)
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("columns\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	tabs[0].Columns[0].Name = "mutated"
	if e.Tables()[0].Columns[0].Name != "technology_id" {
		t.Fatal("Tables exposes the package's column slice")
	}
}

// The happy path over three repositories: every column of every row, the
// source, and the statistics.
func TestHappyPath(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withToken("tok")), threeItems())
	if err != nil {
		t.Fatalf("Extract: %v\nlogs:\n%s", err, &l)
	}
	if len(res.Errors) != 0 {
		t.Fatalf("item errors: %+v", res.Errors)
	}
	if res.Source != "github-rest" {
		t.Errorf("Source = %q", res.Source)
	}
	if len(res.Rows) != 1 {
		t.Errorf("rows for tables %v, want only github_repositories", res.Rows)
	}
	checkRows(t, res.Rows["github_repositories"], wantRows())
	if want := "requests=15 not_modified=0 rate_limit_remaining=4985"; len(res.Stats) != 1 || res.Stats[0] != want {
		t.Errorf("Stats = %q, want [%q]", res.Stats, want)
	}
	if !strings.Contains(l.String(), "15 requests, 0 not modified (304), rate limit remaining 4985 of 5000") {
		t.Errorf("no summary in the log:\n%s", &l)
	}
	// The description travels verbatim through JSON, quotes, newline, tab
	// and all; check the raw bytes too.
	if got := res.Rows["github_repositories"][2][len(columns)-1]; got != trickyDescription {
		t.Errorf("description %q", got)
	}
	// Requests carry GitHub's expected headers.
	h := f.headersFor("/repos/apache/airflow")
	if !strings.HasPrefix(h.Get("User-Agent"), "quarry") || h.Get("X-GitHub-Api-Version") == "" || !strings.Contains(h.Get("Accept"), "github") {
		t.Errorf("request headers %v", h)
	}
}

// Pull requests and contributors are counted from the Link header's last
// page, with one request each, asking for exactly what the count needs.
func TestCountsFromLinkLastPage(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	repos[0].pulls, repos[0].contributors = 98765, 4321
	f := newFake(t, repos[0])
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	row := res.Rows[TableName][0]
	if row[colIndex("open_pull_requests")] != int64(98765) || row[colIndex("contributors")] != int64(4321) {
		t.Fatalf("open_pull_requests %v contributors %v", row[colIndex("open_pull_requests")], row[colIndex("contributors")])
	}
	for path, want := range map[string]map[string]string{
		"/repos/apache/airflow/pulls":        {"state": "open", "per_page": "1"},
		"/repos/apache/airflow/contributors": {"anon": "true", "per_page": "1"},
	} {
		qs := f.queriesFor(path)
		if len(qs) != 1 {
			t.Fatalf("%s requested %d times, want once", path, len(qs))
		}
		for k, v := range want {
			if !strings.Contains("&"+qs[0]+"&", "&"+k+"="+v+"&") {
				t.Errorf("%s?%s lacks %s=%s", path, qs[0], k, v)
			}
		}
	}
}

// Without a Link header (everything on one page) the items returned are
// the count: 0 or 1.
func TestCountsWithoutLink(t *testing.T) {
	t.Parallel()
	loadFixtures(t)
	zero := newFakeRepo("o/zero", 1, nil)
	one := newFakeRepo("o/one", 2, nil)
	one.pulls, one.contributors = 1, 1
	f := newFake(t, zero, one)
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("a", "o/zero", "b", "o/one"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	rows := res.Rows[TableName]
	for i, want := range []int64{0, 1} {
		if got := rows[i][colIndex("open_pull_requests")]; got != want {
			t.Errorf("row %d open_pull_requests %v, want %d", i, got, want)
		}
		if got := rows[i][colIndex("contributors")]; got != want {
			t.Errorf("row %d contributors %v, want %d", i, got, want)
		}
	}
}

// A repository without releases: GitHub's 404 for releases/latest is a
// null, not an error.
func TestReleaseNotFoundIsNull(t *testing.T) {
	t.Parallel()
	loadFixtures(t)
	f := newFake(t, newFakeRepo("o/norelease", 1, nil))
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("x", "o/norelease"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if f.count("/repos/o/norelease/releases/latest") != 1 {
		t.Fatal("releases/latest was not asked")
	}
	row := res.Rows[TableName][0]
	if row[colIndex("latest_release_tag")] != nil || row[colIndex("latest_release_published_at")] != nil {
		t.Fatalf("release columns %v %v, want nulls", row[colIndex("latest_release_tag")], row[colIndex("latest_release_published_at")])
	}
}

// GitHub answers 202 while it computes statistics: asked again, it answers.
func TestStats202ThenOK(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/apache/airflow/stats/commit_activity" && n <= 2 {
			f.json(w, r, http.StatusAccepted, map[string]any{}, nil)
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if n := f.count("/repos/apache/airflow/stats/commit_activity"); n != 3 {
		t.Errorf("commit_activity asked %d times, want 3 (202, 202, 200)", n)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:1])
}

// 202 forever: bounded retries, then nulls and a warning, not an error.
func TestStats202ForeverIsNullWithWarning(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/stats/commit_activity") {
			f.json(w, r, http.StatusAccepted, map[string]any{}, nil)
			return true
		}
		return false
	}
	var l logs
	e := testExtractor()
	res, err := e.Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if n := f.count("/repos/apache/airflow/stats/commit_activity"); n != e.statsTries {
		t.Errorf("commit_activity asked %d times, want %d", n, e.statsTries)
	}
	want := wantRows()[:1]
	want[0]["commits_last_4_weeks"], want[0]["commits_last_52_weeks"] = nil, nil
	checkRows(t, res.Rows[TableName], want)
	if !strings.Contains(l.String(), "apache/airflow: GitHub was still computing commit activity") {
		t.Errorf("no warning in the log:\n%s", &l)
	}
}

// A 500 is retried and the retry's answer lands.
func Test500ThenSuccess(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/apache/airflow/pulls" && n == 1 {
			f.error(w, r, http.StatusInternalServerError, "Server Error", "")
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if n := f.count("/repos/apache/airflow/pulls"); n != 2 {
		t.Errorf("pulls asked %d times, want 2", n)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:1])
	if !strings.HasPrefix(res.Stats[0], "requests=6 ") {
		t.Errorf("Stats %q: the retry is a request", res.Stats)
	}
}

// 5xx forever: a bounded number of tries, then an item error; the other
// repositories land.
func Test500ForeverIsItemError(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/octokit-fixture-org/hello-world" {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>Unicorn!</html>"))
			return true
		}
		return false
	}
	var l logs
	e := testExtractor()
	res, err := e.Extract(context.Background(), f.env(t, &l), threeItems())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if n := f.count("/repos/octokit-fixture-org/hello-world"); n != e.httpTries {
		t.Errorf("asked %d times, want %d", n, e.httpTries)
	}
	if len(res.Errors) != 1 || res.Errors[0].Item != "octokit-fixture-org/hello-world" ||
		!strings.Contains(res.Errors[0].Err, "502 Bad Gateway") || !strings.Contains(res.Errors[0].Err, "gave up after 4 attempts") {
		t.Fatalf("errors %+v", res.Errors)
	}
	want := wantRows()
	checkRows(t, res.Rows[TableName], []map[string]any{want[0], want[2]})
	if f.repoCount("octokit-fixture-org/hello-world") != e.httpTries {
		t.Errorf("after the repository failed, %d requests for it, want none beyond the retries", f.repoCount("octokit-fixture-org/hello-world")-e.httpTries)
	}
}

// A server slower than the request timeout: each attempt times out, is
// retried, and the repository ends as an item error.
func TestTimeoutRetriedThenItemError(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0], repos[1])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/apache/airflow/contributors" {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return true
		}
		return false
	}
	var l logs
	e := testExtractor()
	start := time.Now()
	res, err := e.Extract(context.Background(), f.env(t, &l, withSetting("request_timeout", "40ms")), items("airflow", "apache/airflow", "octokit", "octokit-fixture-org/hello-world"))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("took %s: the timeout did not cut the slow answers", el)
	}
	if n := f.count("/repos/apache/airflow/contributors"); n != e.httpTries {
		t.Errorf("contributors asked %d times, want %d", n, e.httpTries)
	}
	if len(res.Errors) != 1 || res.Errors[0].Item != "apache/airflow" ||
		!strings.Contains(res.Errors[0].Err, "contributors: ") || !regexp.MustCompile(`no answer after \d+ms \(request_timeout 40ms\) \(gave up after 4 attempts\)`).MatchString(res.Errors[0].Err) {
		t.Fatalf("errors %+v", res.Errors)
	}
	checkRows(t, res.Rows[TableName], wantRows()[1:2])
}

// A missing repository (404) and a blocked one (451) are item errors; the
// others land, and a failed repository costs one request.
func TestRepoNotFoundIsItemError(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/blocked/repo" {
			f.error(w, r, http.StatusUnavailableForLegalReasons, "Repository access blocked", "https://docs.github.com/rest")
			return true
		}
		return false
	}
	var l logs
	its := append(threeItems(), items("gone", "apache/no-such-repo", "blocked", "blocked/repo", "bad", "not a repo")...)
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), its)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	checkRows(t, res.Rows[TableName], wantRows())
	if len(res.Errors) != 3 {
		t.Fatalf("errors %+v", res.Errors)
	}
	for i, want := range []struct{ item, text string }{
		{"apache/no-such-repo", "repository: GET /repos/apache/no-such-repo: 404 Not Found"},
		{"blocked/repo", "451 Repository access blocked"},
		{"not a repo", "not a GitHub repository name of the form owner/name"},
	} {
		if res.Errors[i].Item != want.item || !strings.Contains(res.Errors[i].Err, want.text) {
			t.Errorf("error %d = %+v, want item %s with %q", i, res.Errors[i], want.item, want.text)
		}
	}
	if f.repoCount("apache/no-such-repo") != 1 || f.repoCount("blocked/repo") != 1 {
		t.Errorf("failed repositories cost %d and %d requests, want 1 each", f.repoCount("apache/no-such-repo"), f.repoCount("blocked/repo"))
	}
}

// Every item failing is still a Result, with all the errors: the engine
// decides what that means.
func TestAllItemsFailReturnsResult(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withSetting("concurrency", 1)), items("a", "o/a", "b", "o/b"))
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(res.Errors) != 2 || len(res.Rows[TableName]) != 0 || res.Source != Source {
		t.Fatalf("result %+v", res)
	}
}

// Bad credentials fail the whole extraction, saying to check GITHUB_TOKEN.
func TestBadCredentialsFailsNode(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		f.error(w, r, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return true
	}
	var l logs
	_, err := testExtractor().Extract(context.Background(), f.env(t, &l, withToken("ghp_expired")), threeItems())
	if err == nil || !strings.Contains(err.Error(), "check GITHUB_TOKEN") || !strings.Contains(err.Error(), "Bad credentials") {
		t.Fatalf("err = %v, want one about GITHUB_TOKEN", err)
	}
	if f.totalRequests() > 3 {
		t.Errorf("%d requests after the credentials were rejected; the extraction should stop", f.totalRequests())
	}
}

// A secondary rate limit (403 with Retry-After) is waited out and the
// request made again.
func TestSecondaryRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/apache/airflow" && n == 1 {
			w.Header().Set("Retry-After", "1")
			f.error(w, r, http.StatusForbidden,
				"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
			return true
		}
		return false
	}
	var l logs
	start := time.Now()
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("took %s: Retry-After: 1 was not honoured", el)
	}
	if n := f.count("/repos/apache/airflow"); n != 2 {
		t.Errorf("repository asked %d times, want 2", n)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:1])
	if !strings.Contains(l.String(), "secondary rate limit") {
		t.Errorf("no note of the wait in the log:\n%s", &l)
	}
}

// rateLimited answers GitHub's primary rate limit: 403, remaining 0.
func rateLimited(f *fakeGitHub, w http.ResponseWriter, r *http.Request, reset time.Time) {
	w.Header().Set("X-RateLimit-Limit", "60")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	w.Header().Set("X-RateLimit-Used", "60")
	w.Header().Set("X-RateLimit-Resource", "core")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"message":"API rate limit exceeded for 192.0.2.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`))
}

// The primary rate limit exhausted until far away: the node fails, naming
// the reset time in UTC, and stops asking.
func TestPrimaryRateLimitFarResetFailsNode(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		rateLimited(f, w, r, reset)
		return true
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withNow(time.Now())), threeItems())
	if err == nil {
		t.Fatal("Extract succeeded, want a node error")
	}
	for _, want := range []string{"rate limit exhausted", reset.UTC().Format(time.RFC3339), "max_rate_limit_wait", "GITHUB_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if f.totalRequests() > 3 {
		t.Errorf("%d requests; after the limit only those already in flight may go", f.totalRequests())
	}
	if res == nil || len(res.Stats) != 1 {
		t.Errorf("no statistics with the node error: %+v", res)
	}
}

// A primary limit resetting within max_rate_limit_wait is waited out.
func TestPrimaryRateLimitShortWaitSucceeds(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	reset := time.Now().Add(time.Second).Truncate(time.Second)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if time.Now().Before(reset) {
			rateLimited(f, w, r, reset)
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withNow(time.Now())), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v\n%s", err, res.Errors, &l)
	}
	if time.Now().Before(reset) {
		t.Error("finished before the reset")
	}
	// Now is today here, so all 52 of the 2024 weeks are complete.
	want := wantRows()[:1]
	want[0]["commits_last_4_weeks"], want[0]["commits_last_52_weeks"] = int64(49+50+51+52), int64(52*53/2)
	checkRows(t, res.Rows[TableName], want)
	if !strings.Contains(l.String(), "waiting") || !strings.Contains(l.String(), reset.UTC().Format(time.RFC3339)) {
		t.Errorf("no note of the wait in the log:\n%s", &l)
	}
}

// Malformed JSON for one repository is that repository's error.
func TestMalformedJSONIsItemError(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.URL.Path == "/repos/dbt-labs/dbt-core" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write([]byte(`{"id": 52284464, "full_name": "dbt-labs/dbt-core", "stargazers_count": `))
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), threeItems())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if len(res.Errors) != 1 || res.Errors[0].Item != "dbt-labs/dbt-core" || !strings.Contains(res.Errors[0].Err, "malformed JSON") {
		t.Fatalf("errors %+v", res.Errors)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:2])
}

// A second run against an unchanged server sends If-None-Match, gets 304s,
// lands the same values (counts from the cached Link headers included) and
// counts them.
func TestETagSecondRunNotModified(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	cache := t.TempDir()
	var l1, l2 logs
	first, err := testExtractor().Extract(context.Background(), f.env(t, &l1, withToken("tok"), withCacheDir(cache)), threeItems())
	if err != nil || len(first.Errors) != 0 {
		t.Fatalf("first run: %v %+v", err, first.Errors)
	}
	if f.notModifiedCount() != 0 || f.conditionalTotal() != 0 {
		t.Fatalf("cold run sent %d conditional requests", f.conditionalTotal())
	}
	second, err := testExtractor().Extract(context.Background(), f.env(t, &l2, withToken("tok"), withCacheDir(cache)), threeItems())
	if err != nil || len(second.Errors) != 0 {
		t.Fatalf("second run: %v %+v", err, second.Errors)
	}
	// Everything but the 404 of hello-world's releases/latest, which has no
	// ETag to revalidate.
	if f.notModifiedCount() != 14 || f.conditional("/repos/octokit-fixture-org/hello-world/releases/latest") != 0 {
		t.Errorf("server answered %d 304s, want 14", f.notModifiedCount())
	}
	checkRows(t, second.Rows[TableName], wantRows())
	// The authenticated 304s did not cost rate limit (the fake, like GitHub,
	// does not charge them): only the 404 did.
	if want := "requests=15 not_modified=14 rate_limit_remaining=4984"; second.Stats[0] != want {
		t.Errorf("Stats %q, want %q", second.Stats[0], want)
	}
	// A changed resource is fetched again and the cache refreshed.
	f.mu.Lock()
	f.repos["apache/airflow"].repo["stargazers_count"] = 40000
	f.mu.Unlock()
	third, err := testExtractor().Extract(context.Background(), f.env(t, &logs{}, withToken("tok"), withCacheDir(cache)), threeItems())
	if err != nil || third.Rows[TableName][0][colIndex("stars")] != int64(40000) {
		t.Fatalf("third run: %v, stars %v", err, third.Rows[TableName][0][colIndex("stars")])
	}
	if !strings.Contains(third.Stats[0], "not_modified=13") {
		t.Errorf("third run Stats %q, want 13 not modified", third.Stats[0])
	}
}

// A cold run costs at most 5 requests per repository.
func TestColdRunRequestBudget(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), threeItems())
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	for _, it := range threeItems() {
		if n := f.repoCount(it.Key); n > 5 || n == 0 {
			t.Errorf("%s cost %d requests, want at most 5", it.Key, n)
		}
	}
	if f.totalRequests() != 15 || !strings.HasPrefix(res.Stats[0], "requests=15 ") {
		t.Errorf("server saw %d requests, Stats %q", f.totalRequests(), res.Stats)
	}
}

// The token authenticates requests but never shows up in logs, errors or
// the cache, even when a server echoes it back.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	const token = "ghp_S3cr3tT0kenForTests0123456789abcdefXYZ"
	repos := threeRepos(t)
	f := newFake(t, repos...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		switch r.URL.Path {
		case "/repos/dbt-labs/dbt-core":
			// A misbehaving mirror echoing the credentials in an error.
			f.error(w, r, http.StatusForbidden, "token "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+" lacks access", "")
			return true
		case "/repos/octokit-fixture-org/hello-world/pulls":
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	cache := t.TempDir()
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withToken(token), withCacheDir(cache)), threeItems())
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	for _, a := range f.authHeaders() {
		if a != "Bearer "+token {
			t.Fatalf("request sent Authorization %q, want the token", a)
		}
	}
	if len(res.Errors) != 2 {
		t.Fatalf("errors %+v", res.Errors)
	}
	text := l.String() + "\n" + strings.Join(res.Stats, "\n")
	for _, e := range res.Errors {
		text += "\n" + e.Item + " " + e.Err
	}
	if !strings.Contains(text, "[REDACTED]") {
		t.Errorf("the echoed token was not redacted:\n%s", text)
	}

	// 401: the node error names GITHUB_TOKEN, never the token.
	f401 := newFake(t, repos...)
	f401.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		f401.error(w, r, http.StatusUnauthorized, "Bad credentials for "+r.Header.Get("Authorization"), "https://docs.github.com/rest")
		return true
	}
	_, err = testExtractor().Extract(context.Background(), f401.env(t, &l, withToken(token), withCacheDir(cache)), threeItems())
	if err == nil {
		t.Fatal("401 did not fail the extraction")
	}
	text += "\n" + err.Error()
	if !strings.Contains(l.String(), "authenticated with GITHUB_TOKEN") {
		t.Errorf("the mode is not logged:\n%s", &l)
	}
	if strings.Contains(text, token) || strings.Contains(text, token[4:20]) {
		t.Errorf("the token leaked:\n%s", text)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "etags", "*"))
	if len(files) == 0 {
		t.Fatal("nothing cached")
	}
	for _, p := range files {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), token) || strings.Contains(strings.ToLower(string(b)), "authorization") {
			t.Errorf("%s holds credentials: %s", p, b)
		}
	}
}

// Without a token no Authorization header is sent and the mode is logged.
func TestUnauthenticatedMode(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	var l logs
	if _, err := testExtractor().Extract(context.Background(), f.env(t, &l), threeItems()); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.authHeaders() {
		if a != "" {
			t.Fatalf("sent Authorization %q without a token", a)
		}
	}
	if !strings.Contains(l.String(), "unauthenticated, GitHub allows 60 requests an hour") {
		t.Errorf("mode not logged:\n%s", &l)
	}
}

// Contributors of a huge history: GitHub's 403 is a null and a warning.
func TestContributorsTooLargeIsNull(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/contributors") {
			f.error(w, r, http.StatusForbidden,
				"The history or contributor list is too large to list contributors for this repository via the API.",
				"https://docs.github.com/rest/repos/repos#list-repository-contributors")
			return true
		}
		return false
	}
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	want := wantRows()[:1]
	want[0]["contributors"] = nil
	checkRows(t, res.Rows[TableName], want)
	if !strings.Contains(l.String(), "history too large") {
		t.Errorf("no warning:\n%s", &l)
	}
	if f.count("/repos/apache/airflow/contributors") != 1 {
		t.Error("a 403 was retried")
	}
}

// concurrency bounds the requests in flight.
func TestConcurrencySetting(t *testing.T) {
	t.Parallel()
	loadFixtures(t)
	var repos []*fakeRepo
	var its []extractors.Item
	for i := range 6 {
		name := "o/r" + strconv.Itoa(i)
		repos = append(repos, newFakeRepo(name, int64(i+1), nil))
		its = append(its, items("t", name)...)
	}
	f := newFake(t, repos...)
	f.delay = 15 * time.Millisecond
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l, withSetting("concurrency", "${CONC}"), withVar("CONC", "2")), its)
	if err != nil || len(res.Errors) != 0 || len(res.Rows[TableName]) != 6 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	if f.maxInFlight() != 2 {
		t.Errorf("%d requests in flight at most, want 2", f.maxInFlight())
	}
}

func TestSettingsErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	for _, tc := range []struct {
		key  string
		val  any
		want string
	}{
		{"concurrency", "many", "concurrency must be a whole number"},
		{"concurrency", 0, "concurrency must be a whole number"},
		{"max_rate_limit_wait", "soon", "max_rate_limit_wait must be a duration"},
		{"max_rate_limit_wait", 900, "max_rate_limit_wait must be a duration"},
		{"request_timeout", "0s", "request_timeout must be a duration"},
	} {
		_, err := testExtractor().Extract(context.Background(), f.env(t, &logs{}, withSetting(tc.key, tc.val)), items("a", "o/a"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%v: err %v, want %q", tc.key, tc.val, err, tc.want)
		}
	}
	var l logs
	if _, err := testExtractor().Extract(context.Background(), f.env(t, &l, withSetting("concurency", 2)), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(l.String(), "ignoring unknown settings concurency") {
		t.Errorf("a misspelt setting went unnoticed:\n%s", &l)
	}
	if f.totalRequests() != 0 {
		t.Errorf("%d requests with invalid settings", f.totalRequests())
	}
}

// GITHUB_API_URL may carry a path and no trailing slash (a GitHub
// Enterprise Server's /api/v3).
func TestAPIURLWithPath(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.prefix = "/api/v3"
	var l logs
	res, err := testExtractor().Extract(context.Background(), f.env(t, &l), items("airflow", "apache/airflow"))
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("Extract: %v %+v", err, res.Errors)
	}
	checkRows(t, res.Rows[TableName], wantRows()[:1])
	if !strings.Contains(l.String(), f.srv.URL+"/api/v3/") {
		t.Errorf("override not logged:\n%s", &l)
	}
	_, err = testExtractor().Extract(context.Background(), f.env(t, &l, withVar("GITHUB_API_URL", "api.github.com")), nil)
	if err == nil || !strings.Contains(err.Error(), "GITHUB_API_URL") {
		t.Errorf("a URL without scheme: err %v", err)
	}
}

func TestCommitSums(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 6, 16, 0, 0, 0, 0, time.UTC) // a Sunday, midnight
	ws := func(last time.Time, n int) []*gh.WeeklyCommitActivity {
		var out []*gh.WeeklyCommitActivity
		for i := range n {
			total := i + 1
			out = append(out, &gh.WeeklyCommitActivity{Total: &total, Week: &gh.Timestamp{Time: last.AddDate(0, 0, -7*(n-1-i))}})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		weeks    []*gh.WeeklyCommitActivity
		w4, w52  int64
		describe string
	}{
		{"week ending exactly now counts", ws(time.Date(2024, 6, 9, 0, 0, 0, 0, time.UTC), 52), 49 + 50 + 51 + 52, 52 * 53 / 2, ""},
		{"current week left out", ws(time.Date(2024, 6, 16, 0, 0, 0, 0, time.UTC), 52), 48 + 49 + 50 + 51, 51 * 52 / 2, ""},
		{"fewer than 4 weeks", ws(time.Date(2024, 6, 2, 0, 0, 0, 0, time.UTC), 2), 3, 3, ""},
		{"none", nil, 0, 0, ""},
	} {
		w4, w52 := commitSums(tc.weeks, now)
		if w4 != tc.w4 || w52 != tc.w52 {
			t.Errorf("%s: %d, %d; want %d, %d", tc.name, w4, w52, tc.w4, tc.w52)
		}
	}
	// Out of order, without totals: days are added up, order by week.
	a := time.Date(2024, 5, 26, 0, 0, 0, 0, time.UTC)
	b := a.AddDate(0, 0, 7)
	w4, w52 := commitSums([]*gh.WeeklyCommitActivity{
		{Days: []int{1, 2, 3, 0, 0, 0, 0}, Week: &gh.Timestamp{Time: b}},
		{Days: []int{1, 0, 0, 0, 0, 0, 0}, Week: &gh.Timestamp{Time: a}},
	}, now)
	if w4 != 7 || w52 != 7 {
		t.Errorf("days: %d %d, want 7 7", w4, w52)
	}
}

// The cache files are JSON written whole: no temporary files left behind.
func TestCacheFiles(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	cache := t.TempDir()
	if _, err := testExtractor().Extract(context.Background(), f.env(t, &logs{}, withCacheDir(cache)), threeItems()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(cache, "etags"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 14 { // 15 requests, minus the 404 of releases/latest
		t.Errorf("%d cache files, want 14", len(entries))
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
		b, _ := os.ReadFile(filepath.Join(cache, "etags", e.Name()))
		var ce cacheEntry
		if err := json.Unmarshal(b, &ce); err != nil || ce.ETag == "" || len(ce.Body) == 0 {
			t.Errorf("%s: %v %+v", e.Name(), err, ce)
		}
	}
}

func colIndex(name string) int {
	for i, c := range columns {
		if c.Name == name {
			return i
		}
	}
	panic("no column " + name)
}

// A secondary limit asking for longer than max_rate_limit_wait fails the
// node at once: GitHub may ban integrations that keep asking.
func TestSecondaryRateLimitTooLongFailsNode(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Retry-After", "3600")
		f.error(w, r, http.StatusForbidden,
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
		return true
	}
	var l logs
	start := time.Now()
	_, err := testExtractor().Extract(context.Background(), f.env(t, &l, withSetting("max_rate_limit_wait", "2s")), threeItems())
	if err == nil || !strings.Contains(err.Error(), "secondary rate limit") || !strings.Contains(err.Error(), "max_rate_limit_wait (2s)") {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s: it waited although the wait was too long", el)
	}
}

// In a replay the responses are recorded: no conditional requests, nothing
// cached, and no sleeping between 202 retries.
func TestReplayingSkipsCacheAndWaits(t *testing.T) {
	t.Parallel()
	repos := threeRepos(t)
	f := newFake(t, repos[0])
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if strings.HasSuffix(r.URL.Path, "/stats/commit_activity") && n < 3 {
			f.json(w, r, http.StatusAccepted, map[string]any{}, nil)
			return true
		}
		return false
	}
	e := testExtractor()
	e.statsInitial = time.Hour // would hang if a replay slept
	cache := t.TempDir()
	var l logs
	for range 2 {
		env := f.env(t, &l, withCacheDir(cache))
		env.Replaying = true
		res, err := e.Extract(context.Background(), env, items("airflow", "apache/airflow"))
		if err != nil || len(res.Errors) != 0 {
			t.Fatalf("Extract: %v %+v", err, res.Errors)
		}
	}
	if f.conditionalTotal() != 0 {
		t.Errorf("%d conditional requests in a replay", f.conditionalTotal())
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("a replay wrote the cache: %v", entries)
	}
}

// Cancelling the context stops the extraction promptly with its error.
func TestContextCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t, threeRepos(t)...)
	f.handle = func(w http.ResponseWriter, r *http.Request, n int) bool {
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := testExtractor().Extract(ctx, f.env(t, &logs{}), threeItems())
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("took %s after the context ended", el)
	}
}
