package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// repo is one invented repository. The numbers are plausible for the
// project, not measured.
type repo struct {
	full                      string
	id                        int64
	stars, forks, subscribers int
	openIssues, openPRs       int
	contributors              int // 0: GitHub declines to count (403)
	tag                       string
	released                  string // RFC 3339; "" means no releases (404)
	created                   string
	language, license         string
	topics                    []string
	sizeKB                    int
	description               string
	commitsPerWeek            int
	computing                 bool // answer 202 once for commit stats, as GitHub does while it computes
}

var repos = []repo{
	{"apache/airflow", 33884081, 40210, 14820, 762, 1452, 421, 3310, "3.1.3", "2026-11-14T09:12:40Z", "2015-04-13T18:04:58Z", "Python", "Apache-2.0",
		[]string{"airflow", "apache", "apache-airflow", "automation", "dag", "data-engineering", "data-integration", "data-orchestrator", "data-pipelines", "elt", "etl", "machine-learning", "mlops", "orchestration", "python", "scheduler", "workflow", "workflow-engine", "workflow-orchestration"},
		391204, "Apache Airflow - A platform to programmatically author, schedule, and monitor workflows", 118, false},
	{"dbt-labs/dbt-core", 53486210, 11230, 1852, 141, 612, 71, 334, "v1.10.15", "2026-11-06T17:40:02Z", "2016-03-10T02:38:00Z", "Python", "Apache-2.0",
		[]string{"analytics", "business-intelligence", "data-modeling", "dbt-viewpoint", "elt", "pypa", "slack", "sql"},
		60412, "dbt enables data analysts and engineers to transform their data using the same practices that software engineers use to build applications.", 24, false},
	{"apache/spark", 17165658, 41530, 28910, 2004, 262, 249, 0, "", "", "2014-02-25T08:00:08Z", "Scala", "Apache-2.0",
		[]string{"big-data", "java", "jdbc", "python", "r", "scala", "spark", "sql"},
		500127, "Apache Spark - A unified analytics engine for large-scale data processing", 91, false},
	{"pandas-dev/pandas", 858127, 45810, 18730, 1108, 3912, 138, 3542, "v2.3.3", "2026-09-29T20:31:55Z", "2010-08-24T01:37:33Z", "Python", "BSD-3-Clause",
		[]string{"alignment", "data-analysis", "data-science", "flexible", "pandas", "python"},
		362090, "Flexible and powerful data analysis / manipulation library for Python, providing labeled data structures similar to R data.frame objects, statistical functions, and much more", 54, false},
	{"sqlalchemy/sqlalchemy", 159271175, 10920, 1598, 96, 291, 19, 761, "rel_2_0_44", "2026-10-10T15:02:11Z", "2018-11-27T04:34:49Z", "Python", "MIT",
		[]string{"python", "sql", "sqlalchemy"},
		95231, "The Database Toolkit for Python", 19, false},
	{"great-expectations/great_expectations", 103071520, 10890, 1647, 79, 112, 36, 423, "1.8.1", "2026-11-13T21:08:44Z", "2017-09-11T00:18:46Z", "Python", "Apache-2.0",
		[]string{"cleandata", "data-engineering", "data-profilers", "data-profiling", "data-quality", "data-science", "data-unit-tests", "datacleaner", "datacleaning", "dataquality", "dataunittest", "eda", "exploratory-analysis", "exploratory-data-analysis", "mlops", "pipeline", "pipeline-debt", "pipeline-testing", "pipeline-tests"},
		602311, "Always know what to expect from your data.", 16, false},
	{"PrefectHQ/prefect", 139199684, 20540, 1953, 158, 871, 94, 302, "3.6.2", "2026-11-20T19:45:30Z", "2018-06-29T20:13:05Z", "Python", "Apache-2.0",
		[]string{"automation", "data", "data-engineering", "data-ops", "data-science", "infrastructure", "ml-ops", "observability", "orchestration", "pipeline", "python", "workflow", "workflow-engine"},
		251904, "Prefect is a workflow orchestration framework for building resilient data pipelines in Python.", 72, false},
	{"apache/kafka", 2211243, 31020, 14530, 1031, 1281, 1263, 1318, "", "", "2011-08-15T18:06:16Z", "Java", "Apache-2.0",
		[]string{"kafka", "scala"},
		231877, "Mirror of Apache Kafka", 61, false},
	{"snowflakedb/snowflake-connector-python", 72990335, 652, 521, 41, 188, 44, 151, "v3.18.0", "2026-10-28T12:20:17Z", "2016-11-29T00:12:21Z", "Python", "Apache-2.0",
		[]string{},
		12311, "Snowflake Connector for Python", 8, false},
	{"duckdb/duckdb", 138754790, 33540, 2811, 239, 187, 158, 562, "v1.4.2", "2026-11-12T10:03:51Z", "2018-06-26T15:04:45Z", "C++", "MIT",
		[]string{"analytics", "database", "embedded-database", "olap", "sql"},
		333872, "DuckDB is an analytical in-process SQL database management system", 109, true},
}

// packages are invented daily download levels (without mirrors).
var packages = map[string]struct {
	perDay float64
	trend  float64 // growth per day
}{
	"apache-airflow": {1.12e6, 0.0012}, "dbt-core": {4.6e5, 0.0008}, "pyspark": {1.31e6, 0.0009},
	"pandas": {9.2e6, 0.0004}, "sqlalchemy": {5.5e6, 0.0005}, "great-expectations": {3.4e5, -0.0006},
	"prefect": {2.1e5, 0.0015}, "confluent-kafka": {7.1e5, 0.0011}, "kafka-python": {5.8e5, -0.0009},
	"snowflake-connector-python": {2.6e6, 0.0007}, "duckdb": {1.33e6, 0.0031},
}

// noise is a deterministic wobble in [0.9, 1.1) for a key.
func noise(key string) float64 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return 0.9 + float64(h.Sum32()%2000)/10000
}

const publicAPI = "https://api.github.com"

// fakeGitHub answers the five requests the extractor makes per repository
// (repository, open pulls, contributors, latest release, commit activity)
// with GitHub's shapes and headers.
func fakeGitHub(now time.Time) http.Handler {
	var mu sync.Mutex
	remaining := 60
	computed := map[string]bool{}
	byName := map[string]repo{}
	for _, r := range repos {
		byName[strings.ToLower(r.full)] = r
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		remaining--
		left := remaining
		mu.Unlock()
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-GitHub-Media-Type", "github.v3; format=json")
		h.Set("X-RateLimit-Limit", "60")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(left))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Hour).Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(60-left))
		h.Set("X-RateLimit-Resource", "core")
		parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		if len(parts) < 3 || parts[0] != "repos" {
			notFound(w)
			return
		}
		r, ok := byName[strings.ToLower(parts[1]+"/"+parts[2])]
		if !ok {
			notFound(w)
			return
		}
		etag := func(v string) { h.Set("ETag", fmt.Sprintf(`W/"%x"`, fnv32(r.full+v))) }
		switch strings.Join(parts[3:], "/") {
		case "":
			etag("repo")
			writeJSON(w, repositoryJSON(r, now))
		case "pulls":
			etag("pulls")
			last := fmt.Sprintf("%s/repositories/%d/pulls?state=open&per_page=1&page=%d", publicAPI, r.id, r.openPRs)
			next := fmt.Sprintf("%s/repositories/%d/pulls?state=open&per_page=1&page=2", publicAPI, r.id)
			h.Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, last))
			writeJSON(w, []any{map[string]any{"number": 4000 + r.openPRs, "state": "open", "title": "Sample pull request"}})
		case "contributors":
			if r.contributors == 0 {
				w.WriteHeader(http.StatusForbidden)
				writeJSON(w, map[string]any{"message": "The history or contributor list is too large to list contributors for this repository via the API.",
					"documentation_url": "https://docs.github.com/rest/repos/repos#list-repository-contributors", "status": "403"})
				return
			}
			etag("contributors")
			last := fmt.Sprintf("%s/repositories/%d/contributors?per_page=1&anon=true&page=%d", publicAPI, r.id, r.contributors)
			next := fmt.Sprintf("%s/repositories/%d/contributors?per_page=1&anon=true&page=2", publicAPI, r.id)
			h.Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="last"`, next, last))
			writeJSON(w, []any{map[string]any{"login": "sample-contributor", "id": 1, "type": "User", "contributions": 4200}})
		case "releases/latest":
			if r.tag == "" {
				notFound(w)
				return
			}
			etag("release")
			writeJSON(w, map[string]any{"tag_name": r.tag, "name": r.tag, "draft": false, "prerelease": false,
				"created_at": r.released, "published_at": r.released,
				"html_url": fmt.Sprintf("https://github.com/%s/releases/tag/%s", r.full, r.tag)})
		case "stats/commit_activity":
			mu.Lock()
			first := r.computing && !computed[r.full]
			computed[r.full] = true
			mu.Unlock()
			if first {
				w.WriteHeader(http.StatusAccepted)
				writeJSON(w, map[string]any{})
				return
			}
			etag("commits")
			writeJSON(w, commitActivity(r, now))
		default:
			notFound(w)
		}
	})
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	writeJSON(w, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	_, _ = w.Write(b)
}

func repositoryJSON(r repo, now time.Time) map[string]any {
	owner, name, _ := strings.Cut(r.full, "/")
	licenseNames := map[string]string{"Apache-2.0": "Apache License 2.0", "MIT": "MIT License", "BSD-3-Clause": `BSD 3-Clause "New" or "Revised" License`}
	pushed := now.Add(-time.Duration(2+int(fnv32(r.full)%40)) * time.Hour)
	return map[string]any{
		"id": r.id, "node_id": fmt.Sprintf("MDEwOlJlcG9zaXRvcnk%d", r.id), "name": name, "full_name": r.full, "private": false,
		"owner":    map[string]any{"login": owner, "type": "Organization", "html_url": "https://github.com/" + owner},
		"html_url": "https://github.com/" + r.full, "description": r.description, "fork": false,
		"url":        publicAPI + "/repos/" + r.full,
		"created_at": r.created, "updated_at": now.Add(-30 * time.Minute).Format(time.RFC3339), "pushed_at": pushed.Format(time.RFC3339),
		"homepage": "", "size": r.sizeKB, "stargazers_count": r.stars, "watchers_count": r.stars, "language": r.language,
		"has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": false, "has_pages": false, "has_discussions": true,
		"forks_count": r.forks, "archived": false, "disabled": false, "open_issues_count": r.openIssues,
		"license": map[string]any{"key": strings.ToLower(r.license), "name": licenseNames[r.license], "spdx_id": r.license,
			"url": publicAPI + "/licenses/" + strings.ToLower(r.license), "node_id": "MDc6TGljZW5zZTI="},
		"allow_forking": true, "is_template": false, "topics": r.topics, "visibility": "public",
		"forks": r.forks, "open_issues": r.openIssues, "watchers": r.stars, "default_branch": defaultBranch(r),
		"network_count": r.forks, "subscribers_count": r.subscribers,
	}
}

func defaultBranch(r repo) string {
	switch r.full {
	case "apache/airflow", "apache/spark", "pandas-dev/pandas", "duckdb/duckdb", "sqlalchemy/sqlalchemy":
		return "main"
	case "apache/kafka":
		return "trunk"
	case "great-expectations/great_expectations":
		return "develop"
	}
	return "main"
}

// commitActivity is 52 weeks of commit counts, weeks starting on Sunday
// (as GitHub's are), the last one being the week in progress.
func commitActivity(r repo, now time.Time) []any {
	day := now.Truncate(24 * time.Hour)
	thisWeek := day.AddDate(0, 0, -int(day.Weekday()))
	out := make([]any, 0, 52)
	for i := 51; i >= 0; i-- {
		week := thisWeek.AddDate(0, 0, -7*i)
		total := int(math.Round(float64(r.commitsPerWeek) * noise(r.full+week.String())))
		if i == 0 {
			total = total * int(now.Weekday()+1) / 7 // the week so far
		}
		days := make([]int, 7)
		for d := range 7 {
			days[d] = total / 7
		}
		for d := 0; d < total%7; d++ {
			days[1+d%5]++ // weekdays get the rest
		}
		out = append(out, map[string]any{"days": days, "total": total, "week": week.Unix()})
	}
	return out
}

// fakePypistats answers /api/packages/{package}/overall like pypistats.org:
// about 180 days up to yesterday, with and without mirrors.
func fakePypistats(now time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
		if len(parts) != 4 || parts[0] != "api" || parts[1] != "packages" || parts[3] != "overall" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		pkg := strings.ToLower(parts[2])
		p, ok := packages[pkg]
		if !ok {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<h1>Not Found</h1>")
			return
		}
		yesterday := now.Truncate(24*time.Hour).AddDate(0, 0, -1)
		var data []any
		for i := 179; i >= 0; i-- {
			d := yesterday.AddDate(0, 0, -i)
			level := p.perDay * math.Pow(1+p.trend, float64(-i)) * noise(pkg+d.Format(time.DateOnly))
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				level *= 0.62 // CI and servers download less at weekends
			}
			without := int64(level)
			data = append(data,
				map[string]any{"category": "with_mirrors", "date": d.Format(time.DateOnly), "downloads": without + without/40},
				map[string]any{"category": "without_mirrors", "date": d.Format(time.DateOnly), "downloads": without})
		}
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, map[string]any{"data": data, "package": pkg, "type": "overall_downloads"})
	})
}
