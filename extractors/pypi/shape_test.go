package pypi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quarrydev/quarry/extractors"
)

// A 200 whose body is not dbt-core's statistics is an item error saying
// what was wrong; nothing of it lands, and the other package does.
func TestPypistatsWrongShape(t *testing.T) {
	day := `{"category":"without_mirrors","date":"2024-03-09","downloads":9}`
	for _, tc := range []struct {
		name, contentType, body, want string
	}{
		{"null", "", "null", "null, not an object"},
		{"empty object", "", "{}", `type "", want overall_downloads`},
		{"empty body", "", "", "malformed response"},
		{"another package", "", `{"data":[` + day + `],"package":"pandas","type":"overall_downloads"}`, `package "pandas", not dbt-core`},
		{"no package", "", `{"data":[` + day + `],"type":"overall_downloads"}`, `package "", not dbt-core`},
		{"html", "text/html; charset=utf-8", "<!doctype html><h1>Maintenance</h1>", "not JSON (Content-Type text/html"},
		{"html as json", "application/json", "<html>proxy</html>", "not JSON"},
		{"only with mirrors", "", `{"data":[{"category":"with_mirrors","date":"2024-03-09","downloads":9}],"package":"dbt-core","type":"overall_downloads"}`, "none without_mirrors"},
		{"day twice", "", `{"data":[` + day + `,` + day + `],"package":"dbt-core","type":"overall_downloads"}`, "2024-03-09 appears twice"},
		{"negative", "", `{"data":[{"category":"without_mirrors","date":"2024-03-09","downloads":-9}],"package":"dbt-core","type":"overall_downloads"}`, "downloads of 2024-03-09"},
		{"huge", "", `{"data":[` + strings.Repeat(" ", pypistatsMaxBody) + `]}`, "more than 16777216 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePypistats(t)
			seedPypistats(f)
			f.script["dbt-core"] = []func(http.ResponseWriter){func(w http.ResponseWriter) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				fmt.Fprint(w, tc.body)
			}}
			h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
			e, _ := testExtractor()
			res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core", "pandas", "pandas"))
			if err != nil {
				t.Fatal(err)
			}
			if errs := errorItems(res); len(errs) != 1 || !strings.Contains(errs["dbt-core"], tc.want) {
				t.Errorf("Errors = %v, want one for dbt-core saying %q", res.Errors, tc.want)
			}
			if d := cmp.Diff([][]any{dl("pandas", "pandas", "2024-03-09", 900)}, res.Rows[TableDownloads]); d != "" {
				t.Errorf("downloads rows (-want +got):\n%s", d)
			}
		})
	}
}

// A pypistats.org that answers 502 to everything is taken for down after
// a few packages: the first gets its retries, the next two one attempt
// each, the rest none; every package has an item error.
func TestPypistatsDown(t *testing.T) {
	f := newFakePypistats(t)
	var pairs []string
	for i := range 10 {
		name := fmt.Sprintf("pkg%d", i)
		pairs = append(pairs, name, name)
		for range pypistatsAttempts {
			f.script[name] = append(f.script[name], func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
		}
	}
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
	e, sleeps := testExtractor()
	res, err := e.Extract(context.Background(), h.env, seed(pairs...))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.seen()); n != pypistatsAttempts+2 {
		t.Errorf("%d requests, want %d:\n%s", n, pypistatsAttempts+2, strings.Join(f.seen(), "\n"))
	}
	if d := cmp.Diff([]time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}, *sleeps); d != "" {
		t.Errorf("waits (-want +got):\n%s", d)
	}
	errs := errorItems(res)
	if len(errs) != 10 {
		t.Fatalf("Errors = %v, want one per package", res.Errors)
	}
	for name, want := range map[string]string{
		"pkg0": "502 Bad Gateway after 5 attempts over 30s",
		"pkg1": "502 Bad Gateway after 1 attempts",
		"pkg2": "502 Bad Gateway after 1 attempts",
		"pkg3": "not requested: pypistats.org failed the 3 packages before it (502 Bad Gateway after 1 attempts); it looks down, run again later",
		"pkg9": "not requested: pypistats.org failed the 3 packages before it",
	} {
		if !strings.Contains(errs[name], want) {
			t.Errorf("%s: error %q, want %q", name, errs[name], want)
		}
	}
}

// One package failing on a server error does not stop the others: a
// success in between resets the count.
func TestPypistatsOneServerErrorIsNotDown(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	for _, name := range []string{"a", "b"} {
		for range pypistatsAttempts {
			f.script[name] = append(f.script[name], func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
		}
	}
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
	e, _ := testExtractor()
	res, err := e.Extract(context.Background(), h.env, seed("a", "a", "p", "pandas", "b", "b", "d", "dbt-core"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := errorItems(res); len(errs) != 2 || errs["a"] == "" || errs["b"] == "" {
		t.Errorf("Errors = %v, want a and b only", res.Errors)
	}
	if n := len(res.Rows[TableDownloads]); n != 2 {
		t.Errorf("%d download rows, want pandas's and dbt-core's", n)
	}
}

// When the time budget runs out, the package in flight and those after it
// are item errors saying so; the packages done before keep their rows.
func TestPypistatsBudget(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	release := make(chan struct{})
	defer close(release)
	f.script["dbt-core"] = []func(http.ResponseWriter){func(w http.ResponseWriter) { <-release }}
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
	e, _ := testExtractor()
	// Long enough for pandas to land even on a busy machine (CI runs this
	// under -race beside other packages' tests).
	ctx, cancel := extractors.WithBudget(context.Background(), Name, 2*time.Second)
	defer cancel()
	res, err := e.Extract(ctx, h.env, seed("p", "pandas", "d", "dbt-core", "x", "polars"))
	if err != nil {
		t.Fatal(err)
	}
	want := "pypi: pypistats: not extracted: the extractor's time budget of 2s ran out; raise extractors.pypi.timeout in project.yaml"
	if d := cmp.Diff(map[string]string{"dbt-core": want, "polars": want}, errorItems(res)); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]any{dl("p", "pandas", "2024-03-09", 900)}, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	if slices.ContainsFunc(f.seen(), func(r string) bool { return strings.Contains(r, "polars") }) {
		t.Errorf("polars requested after the budget ran out")
	}
}

// An answer of BigQuery's without a column of the query, or with a
// negative count, is an item error, never zeros.
func TestBigQueryWrongShape(t *testing.T) {
	dropColumn := func(kind, col string) func(string, *fakeJobResult) {
		return func(k string, res *fakeJobResult) {
			if k != kind {
				return
			}
			i := slices.IndexFunc(res.schema, func(f map[string]any) bool { return f["name"] == col })
			res.schema = slices.Delete(res.schema, i, i+1)
			res.types = slices.Delete(res.types, i, i+1)
			for r := range res.rows {
				res.rows[r] = slices.Delete(res.rows[r], i, i+1)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		mangle func(string, *fakeJobResult)
		want   map[string]string
	}{
		{"no downloads column", dropColumn("downloads", "downloads"), map[string]string{
			"apache-airflow": "downloads query: the answer does not have the query's columns: no column downloads",
			"pandas":         "no column downloads",
		}},
		{"no releases column", dropColumn("metadata", "releases"), map[string]string{
			"apache-airflow": "metadata query: the answer does not have the query's columns: no column releases",
			"pandas":         "no column releases",
		}},
		{"negative downloads", func(k string, res *fakeJobResult) {
			if k == "downloads" && len(res.rows) > 0 {
				res.rows[0][2] = "-4"
			}
		}, map[string]string{
			"apache-airflow": "negative downloads (-4) for apache-airflow on 2024-03-07",
			"pandas":         "negative downloads (-4) for apache-airflow on 2024-03-07",
		}},
		{"downloads of a package not asked for", func(k string, res *fakeJobResult) {
			if k == "downloads" {
				res.rows = append(res.rows, []any{"numpy", "2024-03-07", "5"})
			}
		}, map[string]string{
			"apache-airflow": `package "numpy", which the query did not ask for`,
			"pandas":         `package "numpy", which the query did not ask for`,
		}},
		{"a package's day twice in downloads", func(k string, res *fakeJobResult) {
			if k == "downloads" {
				res.rows = append(res.rows, slices.Clone(res.rows[0]))
			}
		}, map[string]string{
			"pandas": "the answer holds apache-airflow on 2024-03-07 twice",
		}},
		{"mistyped column", func(k string, res *fakeJobResult) {
			if k == "downloads" {
				res.schema[1]["type"] = "STRING"
			}
		}, map[string]string{
			"apache-airflow": "download_date of type STRING",
			"pandas":         "download_date of type STRING",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBigQuery(t)
			seedFakeData(f)
			f.mangle = tc.mangle
			h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
			e, _ := testExtractor()
			res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
			if err != nil {
				t.Fatal(err)
			}
			errs := errorItems(res)
			for item, want := range tc.want {
				if !strings.Contains(errs[item], want) {
					t.Errorf("%s: error %q, want %q", item, errs[item], want)
				}
			}
			if strings.Contains(tc.name, "downloads") && len(res.Rows[TableDownloads]) != 0 {
				t.Errorf("downloads rows landed: %v", res.Rows[TableDownloads])
			}
		})
	}
}

// Unknown settings are refused when the extractor is used without the
// engine's check too; Settings checks each value the engine passes.
func TestSettingsUnknownAndChecked(t *testing.T) {
	h := newHarness(t, map[string]any{"lookback_dayz": 3})
	e, _ := testExtractor()
	if _, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas")); err == nil ||
		!strings.Contains(err.Error(), `unknown setting "lookback_dayz" (known: backend, lookback_days, maximum_bytes_billed)`) {
		t.Errorf("err %v", err)
	}
	getenv := func(string) (string, bool) { return "", false }
	for _, s := range e.Settings() {
		var bad any = []any{1}
		if err := s.Check(bad, getenv); err == nil || !strings.Contains(err.Error(), "extractors.pypi."+s.Name) {
			t.Errorf("%s: Check([1]) = %v, want an error naming extractors.pypi.%s", s.Name, err, s.Name)
		}
	}
	for k, v := range map[string]any{"backend": "pypistats", "lookback_days": 7, "maximum_bytes_billed": "${X}1000"} {
		i := slices.IndexFunc(e.Settings(), func(s extractors.Setting) bool { return s.Name == k })
		if err := e.Settings()[i].Check(v, getenv); err != nil {
			t.Errorf("%s=%v: %v", k, v, err)
		}
	}
	if err := e.Settings()[0].Check("duckdb", getenv); err == nil || !strings.Contains(err.Error(), `unknown backend "duckdb"`) {
		t.Errorf("backend duckdb: %v", err)
	}
}
