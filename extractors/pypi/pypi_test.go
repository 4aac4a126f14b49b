package pypi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// testNow is the run's clock: yesterday (UTC) is 2024-03-09.
var testNow = time.Date(2024, 3, 10, 15, 4, 5, 0, time.UTC)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// seed makes items from technology_id, package pairs.
func seed(pairs ...string) []extractors.Item {
	var items []extractors.Item
	for i := 0; i < len(pairs); i += 2 {
		items = append(items, extractors.Item{
			Key:    pairs[i+1],
			Fields: map[string]string{"technology_id": pairs[i], "package": pairs[i+1]},
		})
	}
	return items
}

// harness is an Env with recorded logs and warehouse queries.
type harness struct {
	env  extractors.Env
	vars map[string]string
	// last is what the landing table already holds: package -> max day.
	last map[string]time.Time

	mu      sync.Mutex
	logs    []string
	queries []string
}

func newHarness(t *testing.T, settings map[string]any) *harness {
	t.Helper()
	h := &harness{vars: map[string]string{}, last: map[string]time.Time{}}
	h.env = extractors.Env{
		LoadID:   "load-1",
		Now:      testNow,
		HTTP:     &http.Client{Timeout: 10 * time.Second},
		Settings: settings,
		CacheDir: t.TempDir(),
		Getenv: func(k string) (string, bool) {
			v, ok := h.vars[k]
			return v, ok
		},
		Logf: func(format string, args ...any) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.logs = append(h.logs, fmt.Sprintf(format, args...))
		},
		Landing: func(table string) string { return "raw." + table },
		Query: func(ctx context.Context, sql string) (*warehouse.Result, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.queries = append(h.queries, sql)
			res := &warehouse.Result{Columns: []string{"package", "max(download_date)"}}
			names := make([]string, 0, len(h.last))
			for n := range h.last {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				res.Rows = append(res.Rows, []any{n, h.last[n]})
			}
			return res, nil
		},
	}
	return h
}

func (h *harness) logText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.logs, "\n")
}

// testExtractor never waits: no rate limit, sleeps are recorded.
func testExtractor() (*Extractor, *[]time.Duration) {
	var mu sync.Mutex
	sleeps := &[]time.Duration{}
	e := New()
	e.limiter = rate.NewLimiter(rate.Inf, 1)
	e.spendWait = func(time.Duration) time.Duration { return 0 }
	e.noteWait = func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		*sleeps = append(*sleeps, d)
	}
	return e, sleeps
}

func dl(tech, pkg, date string, n int64) []any {
	return []any{tech, pkg, day(date), n}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func errorItems(res *extractors.Result) map[string]string {
	out := map[string]string{}
	for _, e := range res.Errors {
		out[e.Item] = e.Err
	}
	return out
}

// ---------------------------------------------------------------- BigQuery

func bigQueryHarness(t *testing.T, f *fakeBigQuery, settings map[string]any) *harness {
	h := newHarness(t, settings)
	h.vars["GOOGLE_CLOUD_PROJECT"] = f.project
	h.vars["BIGQUERY_API_ENDPOINT"] = f.srv.URL
	return h
}

func seedFakeData(f *fakeBigQuery) {
	f.downloads["apache-airflow"] = map[string]int64{
		"2024-03-06": 100, "2024-03-07": 110, "2024-03-08": 120, "2024-03-09": 130, "2024-03-10": 5,
	}
	f.downloads["pandas"] = map[string]int64{
		"2024-03-01": 1, "2024-03-06": 200, "2024-03-07": 210, "2024-03-09": 230, "2024-03-10": 7,
	}
	f.meta["apache-airflow"] = fakeMeta{version: "2.8.3", uploaded: time.Date(2024, 3, 8, 11, 30, 15, 250000000, time.UTC),
		requiresPython: "<3.12,~=3.8", license: "Apache License 2.0", summary: "Programmatically author, schedule and monitor data pipelines", releases: 120}
	f.meta["pandas"] = fakeMeta{version: "2.2.1", uploaded: time.Date(2024, 2, 23, 10, 0, 0, 0, time.UTC),
		license: "BSD 3-Clause License", summary: "Powerful data structures for data analysis", releases: 110}
}

// Two packages, first load: exact rows in both tables, the window of
// lookback_days complete days, bytes reported. Run once on jobs.query's
// fast path and once with the job incomplete at first, so that the client
// polls getQueryResults.
func TestBigQueryHappyPath(t *testing.T) {
	for _, incomplete := range []bool{false, true} {
		t.Run(fmt.Sprintf("incomplete=%v", incomplete), func(t *testing.T) {
			f := newFakeBigQuery(t)
			f.incomplete = incomplete
			seedFakeData(f)
			h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
			e, _ := testExtractor()

			res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != "bigquery" {
				t.Errorf("Source = %q, want bigquery", res.Source)
			}
			if len(res.Errors) != 0 {
				t.Errorf("Errors = %v", res.Errors)
			}
			wantDL := [][]any{
				dl("airflow", "apache-airflow", "2024-03-07", 110),
				dl("airflow", "apache-airflow", "2024-03-08", 120),
				dl("airflow", "apache-airflow", "2024-03-09", 130),
				dl("pandas", "pandas", "2024-03-07", 210),
				dl("pandas", "pandas", "2024-03-09", 230),
			}
			if d := cmp.Diff(wantDL, res.Rows[TableDownloads]); d != "" {
				t.Errorf("downloads rows (-want +got):\n%s", d)
			}
			wantPkgs := [][]any{
				{"airflow", "apache-airflow", "2.8.3", time.Date(2024, 3, 8, 11, 30, 15, 250000000, time.UTC),
					"<3.12,~=3.8", "Apache License 2.0", "Programmatically author, schedule and monitor data pipelines", int64(120)},
				{"pandas", "pandas", "2.2.1", time.Date(2024, 2, 23, 10, 0, 0, 0, time.UTC),
					nil, "BSD 3-Clause License", "Powerful data structures for data analysis", int64(110)},
			}
			if d := cmp.Diff(wantPkgs, res.Rows[TablePackages]); d != "" {
				t.Errorf("pypi_packages rows (-want +got):\n%s", d)
			}

			real := f.received(false)
			var got []string
			for _, q := range real {
				got = append(got, fmt.Sprintf("%s %s [%s,%s) %v loc=%s", q.API, q.Kind, q.Start, q.End, q.Packages, q.Location))
			}
			want := []string{
				"jobs.insert downloads [2024-03-07,2024-03-10) [apache-airflow pandas] loc=US",
				"jobs.insert metadata [,) [apache-airflow pandas] loc=US",
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("queries run (-want +got):\n%s", d)
			}
			if n := len(f.received(true)); n != 2 {
				t.Errorf("%d dry runs, want 2 (one per query)", n)
			}
			// Per job: getQueryResults to wait (once more while the job
			// runs), getQueryResults for the rows, jobs.get for statistics.
			polls, gets := 0, 0
			for _, c := range f.callList() {
				polls += b2i(strings.HasPrefix(c, "GET /projects/quarry-test/queries/quarry_pypi_"))
				gets += b2i(strings.HasPrefix(c, "GET /projects/quarry-test/jobs/quarry_pypi_"))
			}
			wantPolls := 2 * 2
			if incomplete {
				wantPolls = 2 * 3
			}
			if polls != wantPolls || gets != 2 {
				t.Errorf("%d getQueryResults and %d jobs.get calls, want %d and 2:\n%s",
					polls, gets, wantPolls, strings.Join(f.callList(), "\n"))
			}
			// 3 days x 1 MiB for the downloads query, 3 MiB for metadata.
			wantBytes := int64(3*(1<<20) + 3<<20)
			stats := strings.Join(res.Stats, " ")
			if !strings.Contains(stats, fmt.Sprintf("bytes_processed=%d ", wantBytes)) ||
				!strings.Contains(stats, fmt.Sprintf("bytes_estimated=%d ", wantBytes)) {
				t.Errorf("Stats = %q, want bytes_processed=%d and bytes_estimated=%d", stats, wantBytes, wantBytes)
			}
			wantUsage := &extractors.BigQueryUsage{Queries: 2, BytesEstimated: wantBytes, BytesProcessed: wantBytes, BytesBilled: wantBytes}
			if d := cmp.Diff(wantUsage, res.BigQuery); d != "" {
				t.Errorf("BigQuery usage (-want +got):\n%s", d)
			}
			if !strings.Contains(h.logText(), "6.0 MiB processed") {
				t.Errorf("logs do not report bytes processed:\n%s", h.logText())
			}
		})
	}
}

// The window starts the day after the last landed day (read with the
// landing query), also when that is further back than lookback_days, and
// names match the landing whatever their spelling. Packages with
// different windows get a query each.
func TestBigQueryIncrementalWindow(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
	h.last["Pandas"] = day("2024-03-05")
	h.last["apache_airflow"] = day("2024-02-28")
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	wantSQL := []string{"select package, max(download_date) from raw.pypi_downloads_daily group by package"}
	if d := cmp.Diff(wantSQL, h.queries); d != "" {
		t.Errorf("warehouse queries (-want +got):\n%s", d)
	}
	windows := map[string]string{}
	for _, q := range f.received(false) {
		if q.Kind == "downloads" {
			windows[strings.Join(q.Packages, ",")] = q.Start + ".." + q.End
		}
	}
	want := map[string]string{
		"pandas":         "2024-03-06..2024-03-10",
		"apache-airflow": "2024-02-29..2024-03-10",
	}
	if d := cmp.Diff(want, windows); d != "" {
		t.Errorf("partition windows (-want +got):\n%s", d)
	}
	wantDL := [][]any{
		dl("airflow", "apache-airflow", "2024-03-06", 100),
		dl("airflow", "apache-airflow", "2024-03-07", 110),
		dl("airflow", "apache-airflow", "2024-03-08", 120),
		dl("airflow", "apache-airflow", "2024-03-09", 130),
		dl("pandas", "pandas", "2024-03-06", 200),
		dl("pandas", "pandas", "2024-03-07", 210),
		dl("pandas", "pandas", "2024-03-09", 230),
	}
	if d := cmp.Diff(wantDL, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
}

// A package landed up to yesterday is not queried at all (no dry run, no
// job), yet still gets its pypi_packages row.
func TestBigQueryUpToDateSkipped(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
	h.last["pandas"] = day("2024-03-09")
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		for _, q := range f.received(dry) {
			if q.Kind == "downloads" && slices.Contains(q.Packages, "pandas") {
				t.Errorf("pandas is up to date but was queried (dry run %v): %+v", dry, q)
			}
		}
	}
	for _, row := range res.Rows[TableDownloads] {
		if row[1] == "pandas" {
			t.Errorf("landed a downloads row for up-to-date pandas: %v", row)
		}
	}
	if n := len(res.Rows[TableDownloads]); n != 3 {
		t.Errorf("%d downloads rows, want airflow's 3", n)
	}
	var pkgs []any
	for _, row := range res.Rows[TablePackages] {
		pkgs = append(pkgs, row[1])
	}
	if d := cmp.Diff([]any{"apache-airflow", "pandas"}, pkgs); d != "" {
		t.Errorf("pypi_packages rows (-want +got):\n%s", d)
	}
	if s := strings.Join(res.Stats, " "); !strings.Contains(s, "queries=2 up_to_date=1") {
		t.Errorf("Stats = %q, want queries=2 up_to_date=1", s)
	}
}

// A dry-run estimate over maximum_bytes_billed refuses the node, naming
// both numbers, before any real job is sent.
func TestBigQueryDryRunOverCap(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	f.bytesPerDay = 2_000_000
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3, "maximum_bytes_billed": 5_000_000})
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
	if err == nil {
		t.Fatalf("no error; result %+v", res)
	}
	for _, want := range []string{"6000000 bytes", "5000000 bytes", "nothing was billed", "raise extractors.pypi.maximum_bytes_billed in project.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := len(f.received(true)); n != 2 {
		t.Errorf("%d dry runs, want 2", n)
	}
	if real := f.received(false); len(real) != 0 {
		t.Errorf("real jobs were sent after the refusal: %+v", real)
	}
	for _, c := range f.callList() {
		if strings.HasPrefix(c, "GET ") {
			t.Errorf("%s after the refusal: only dry runs were expected", c)
		}
	}
}

// maximum_bytes_billed (here through ${VAR}) travels on every job.
func TestBigQueryMaxBytesBilledOnJobs(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	h := bigQueryHarness(t, f, map[string]any{"maximum_bytes_billed": "${PYPI_CAP}"})
	h.vars["PYPI_CAP"] = "123456789"
	e, _ := testExtractor()

	if _, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas")); err != nil {
		t.Fatal(err)
	}
	real := f.received(false)
	if len(real) != 2 {
		t.Fatalf("%d real jobs, want 2", len(real))
	}
	for _, q := range append(real, f.received(true)...) {
		if q.MaxBytesBilled != 123456789 {
			t.Errorf("%s %s %v: maximumBytesBilled = %d, want 123456789", q.API, q.Kind, q.Packages, q.MaxBytesBilled)
		}
	}
	// Default lookback_days is 30: the window is the 30 days up to yesterday.
	for _, q := range real {
		if q.Kind == "downloads" && (q.Start != "2024-02-09" || q.End != "2024-03-10") {
			t.Errorf("%v: window [%s,%s), want [2024-02-09,2024-03-10)", q.Packages, q.Start, q.End)
		}
	}
}

// The request shape BigQuery bills by: N packages sharing a window are one
// dry run and one query (not N), filtered by file.project IN
// UNNEST(@packages) with @packages an ARRAY<STRING> of the normalized
// names, under the constant partition filter on timestamp, in standard SQL,
// each job carrying maximum_bytes_billed; the metadata query likewise once.
// A package landed up to a different day gets its own window's query.
func TestBigQueryRequestShape(t *testing.T) {
	legacyOff := func(q fakeQuery) bool { return q.UseLegacySQL != nil && !*q.UseLegacySQL }
	for _, tc := range []struct {
		name string
		last map[string]time.Time
		// want: per window, the packages of its one downloads query.
		want []string
	}{
		{"one window", nil, []string{"[2024-03-07,2024-03-10) [apache-airflow pandas dbt-core numpy polars]"}},
		{"two windows", map[string]time.Time{"numpy": day("2024-03-08")}, []string{
			"[2024-03-07,2024-03-10) [apache-airflow pandas dbt-core polars]",
			"[2024-03-09,2024-03-10) [numpy]",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBigQuery(t)
			seedFakeData(f)
			h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3, "maximum_bytes_billed": 987654321})
			maps.Copy(h.last, tc.last)
			e, _ := testExtractor()
			items := seed("airflow", "Apache_Airflow", "pandas", "pandas", "dbt", "dbt-core", "numpy", "numpy", "polars", "polars")
			if _, err := e.Extract(context.Background(), h.env, items); err != nil {
				t.Fatal(err)
			}
			for _, dry := range []bool{true, false} {
				var got []string
				metas := 0
				for _, q := range f.received(dry) {
					if q.MaxBytesBilled != 987654321 {
						t.Errorf("%s %v (dry run %v): maximumBytesBilled = %d, want 987654321", q.Kind, q.Packages, dry, q.MaxBytesBilled)
					}
					if !legacyOff(q) {
						t.Errorf("%s %v (dry run %v): useLegacySql is not false", q.Kind, q.Packages, dry)
					}
					if d := cmp.Diff([]string{"packages:ARRAY<STRING>"}, q.ParamTypes); d != "" {
						t.Errorf("%s (dry run %v): parameters (-want +got):\n%s", q.Kind, dry, d)
					}
					if !strings.Contains(q.SQL, "IN UNNEST(@packages)") {
						t.Errorf("%s (dry run %v): SQL does not filter IN UNNEST(@packages):\n%s", q.Kind, dry, q.SQL)
					}
					switch q.Kind {
					case "metadata":
						metas++
						if d := cmp.Diff([]string{"apache-airflow", "pandas", "dbt-core", "numpy", "polars"}, q.Packages); d != "" {
							t.Errorf("metadata @packages (-want +got):\n%s", d)
						}
					case "downloads":
						if !strings.Contains(q.SQL, "WHERE timestamp >= TIMESTAMP '"+q.Start+" 00:00:00 UTC'\n  AND timestamp < TIMESTAMP '"+q.End+" 00:00:00 UTC'") {
							t.Errorf("downloads SQL without the partition filter on timestamp:\n%s", q.SQL)
						}
						got = append(got, fmt.Sprintf("[%s,%s) %v", q.Start, q.End, q.Packages))
					}
				}
				slices.Sort(got)
				if d := cmp.Diff(tc.want, got); d != "" || metas != 1 {
					t.Errorf("dry run %v: %d metadata queries, want 1; downloads queries (-want +got):\n%s", dry, metas, d)
				}
			}
		})
	}
}

// A metadata query that fails does not undo the downloads: they land, and
// each package has a Partial item error saying the metadata query failed
// (so the node warns instead of counting every package as failed), with no
// pypi_packages row rather than a row of nulls.
func TestBigQueryMetadataFailureKeepsDownloads(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	f.failMeta = true
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rows[TableDownloads]); n != 5 {
		t.Errorf("%d downloads rows, want all 5", n)
	}
	if n := len(res.Rows[TablePackages]); n != 0 {
		t.Errorf("%d pypi_packages rows, want none: %v", n, res.Rows[TablePackages])
	}
	if len(res.Errors) != 2 {
		t.Fatalf("Errors = %+v, want one per package", res.Errors)
	}
	for _, ie := range res.Errors {
		if !ie.Partial || !strings.Contains(ie.Err, "metadata query") || !strings.Contains(ie.Err, "Resources exceeded") ||
			!strings.Contains(ie.Err, "its downloads landed") {
			t.Errorf("%s: %+v, want a Partial error naming the failed metadata query and its cause", ie.Item, ie)
		}
	}
}

// Metadata: one parameterized query for all packages; a package that
// BigQuery does not know is an item error while the others land; a
// package named by two technologies (in two spellings) is queried once and
// lands once per seed row; names go to BigQuery normalized (Pandas ->
// pandas) and land as the seed spells them.
func TestBigQueryMetadata(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 1})
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env,
		seed("airflow", "apache-airflow", "orchestration", "Apache_Airflow", "nope", "no-such-package", "pandas", "Pandas"))
	if err != nil {
		t.Fatal(err)
	}
	var meta []fakeQuery
	for _, q := range f.received(false) {
		if q.Kind == "metadata" {
			meta = append(meta, q)
		}
	}
	if len(meta) != 1 || !cmp.Equal(meta[0].Packages, []string{"apache-airflow", "no-such-package", "pandas"}) {
		t.Errorf("metadata queries = %+v, want one with @packages [apache-airflow no-such-package pandas]", meta)
	}
	up := time.Date(2024, 3, 8, 11, 30, 15, 250000000, time.UTC)
	summary := "Programmatically author, schedule and monitor data pipelines"
	wantPkgs := [][]any{
		{"airflow", "apache-airflow", "2.8.3", up, "<3.12,~=3.8", "Apache License 2.0", summary, int64(120)},
		{"orchestration", "Apache_Airflow", "2.8.3", up, "<3.12,~=3.8", "Apache License 2.0", summary, int64(120)},
		{"pandas", "Pandas", "2.2.1", time.Date(2024, 2, 23, 10, 0, 0, 0, time.UTC),
			nil, "BSD 3-Clause License", "Powerful data structures for data analysis", int64(110)},
	}
	if d := cmp.Diff(wantPkgs, res.Rows[TablePackages]); d != "" {
		t.Errorf("pypi_packages rows (-want +got):\n%s", d)
	}
	wantDL := [][]any{
		dl("airflow", "apache-airflow", "2024-03-09", 130),
		dl("orchestration", "Apache_Airflow", "2024-03-09", 130),
		dl("pandas", "Pandas", "2024-03-09", 230),
	}
	if d := cmp.Diff(wantDL, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	errs := errorItems(res)
	if len(errs) != 1 || !strings.Contains(errs["no-such-package"], "not found") {
		t.Errorf("Errors = %v, want one not-found error for no-such-package", res.Errors)
	}
}

// A BigQuery that refuses the credentials is a node error, not item errors.
func TestBigQueryAccessDenied(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
			"code": 403, "status": "PERMISSION_DENIED",
			"message": "Access Denied: Project quarry-test: User does not have bigquery.jobs.create permission in project quarry-test.",
			"errors":  []any{map[string]any{"reason": "accessDenied", "domain": "global", "message": "Access Denied"}},
		}})
	}))
	defer srv.Close()
	h := newHarness(t, map[string]any{"backend": "bigquery"})
	h.vars["GOOGLE_CLOUD_PROJECT"] = "quarry-test"
	h.vars["BIGQUERY_API_ENDPOINT"] = srv.URL
	e, _ := testExtractor()
	_, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas"))
	if err == nil || !strings.Contains(err.Error(), "Access Denied") {
		t.Fatalf("err = %v, want the access-denied node error", err)
	}
}

// A 403 on the real jobs (quota, billing) after free dry runs succeeded
// concerns the project, not a package: a node error.
func TestBigQueryQuotaExceededIsNodeError(t *testing.T) {
	f := newFakeBigQuery(t)
	seedFakeData(f)
	f.denyJobs = true
	h := bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
	e, _ := testExtractor()
	res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow", "pandas", "pandas"))
	if err == nil || !strings.Contains(err.Error(), "Quota exceeded") {
		t.Fatalf("err = %v (result %+v), want the quota node error", err, res)
	}
	if n := len(f.received(true)); n != 2 {
		t.Errorf("%d dry runs, want 2", n)
	}
}

// ---------------------------------------------------------------- pypistats

// fakePypistats serves /api/packages/{package}/overall as pypistats.org
// does: rows of both categories unless mirrors=true|false picks one, 404
// (an HTML page) for unknown packages. script holds responses served, in
// order, before the normal one.
type fakePypistats struct {
	srv  *httptest.Server
	data map[string][][2]any // package -> (date, downloads)

	mu       sync.Mutex
	script   map[string][]func(http.ResponseWriter)
	requests []string // path?query
	accept   []string
}

func newFakePypistats(t *testing.T) *fakePypistats {
	f := &fakePypistats{data: map[string][][2]any{}, script: map[string][]func(http.ResponseWriter){}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// seen returns the requests served so far. A handler may still be running
// when the extractor returns (a request it gave up on), so reads lock too.
func (f *fakePypistats) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakePypistats) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.accept = append(f.accept, r.Header.Get("Accept"))
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/packages/")
	pkg, ok2 := strings.CutSuffix(rest, "/overall")
	var step func(http.ResponseWriter)
	if ok && ok2 {
		if s := f.script[pkg]; len(s) > 0 {
			step, f.script[pkg] = s[0], s[1:]
		}
	}
	f.mu.Unlock()
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	if step != nil {
		step(w)
		return
	}
	rows, known := f.data[pkg]
	if !known {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>")
		return
	}
	var data []string
	mirrors := r.URL.Query().Get("mirrors")
	for _, cat := range []string{"with_mirrors", "without_mirrors"} {
		if (mirrors == "true" && cat != "with_mirrors") || (mirrors == "false" && cat != "without_mirrors") {
			continue
		}
		for _, row := range rows {
			n := row[1].(int64)
			if cat == "with_mirrors" {
				n += 1000
			}
			data = append(data, fmt.Sprintf(`{"category":%q,"date":%q,"downloads":%d}`, cat, row[0], n))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"data":[%s],"package":%q,"type":"overall_downloads"}`, strings.Join(data, ","), pkg)
}

func pypistatsHarness(t *testing.T, f *fakePypistats, settings map[string]any) *harness {
	h := newHarness(t, settings)
	h.vars["PYPISTATS_API_URL"] = f.srv.URL + "/api"
	return h
}

func seedPypistats(f *fakePypistats) {
	f.data["dbt-core"] = [][2]any{
		{"2024-03-05", int64(50)}, {"2024-03-06", int64(60)}, {"2024-03-07", int64(70)},
		{"2024-03-08", int64(80)}, {"2024-03-09", int64(90)}, {"2024-03-10", int64(3)},
	}
	f.data["pandas"] = [][2]any{{"2024-03-08", int64(800)}, {"2024-03-09", int64(900)}}
}

// Exact rows, only complete days of the window, without mirrors; null
// metadata and one notice saying so.
func TestPypistatsHappyPath(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 3})
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core", "pandas", "Pandas"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != "pypistats" || len(res.Errors) != 0 {
		t.Errorf("Source = %q, Errors = %v", res.Source, res.Errors)
	}
	wantDL := [][]any{
		dl("dbt", "dbt-core", "2024-03-07", 70),
		dl("dbt", "dbt-core", "2024-03-08", 80),
		dl("dbt", "dbt-core", "2024-03-09", 90),
		dl("pandas", "Pandas", "2024-03-08", 800),
		dl("pandas", "Pandas", "2024-03-09", 900),
	}
	if d := cmp.Diff(wantDL, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	wantPkgs := [][]any{
		{"dbt", "dbt-core", nil, nil, nil, nil, nil, nil},
		{"pandas", "Pandas", nil, nil, nil, nil, nil, nil},
	}
	if d := cmp.Diff(wantPkgs, res.Rows[TablePackages]); d != "" {
		t.Errorf("pypi_packages rows (-want +got):\n%s", d)
	}
	wantReq := []string{"/api/packages/dbt-core/overall?mirrors=false", "/api/packages/pandas/overall?mirrors=false"}
	if d := cmp.Diff(wantReq, f.seen()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	for _, a := range f.accept {
		if a != "application/json" {
			t.Errorf("Accept = %q, want application/json", a)
		}
	}
	if n := strings.Count(h.logText(), "metadata"); n != 1 {
		t.Errorf("%d log lines about metadata, want 1:\n%s", n, h.logText())
	}
}

// A server that ignores mirrors=false sends with_mirrors rows too: they
// are not counted.
func TestPypistatsIgnoresWithMirrorsRows(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Both orders: neither may win over the without_mirrors row.
		fmt.Fprint(w, `{"data":[{"category":"with_mirrors","date":"2024-03-08","downloads":888},`+
			`{"category":"without_mirrors","date":"2024-03-08","downloads":8},`+
			`{"category":"without_mirrors","date":"2024-03-09","downloads":9},`+
			`{"category":"with_mirrors","date":"2024-03-09","downloads":999}],"package":"pandas","type":"overall_downloads"}`)
	}))
	defer srv.Close()
	h := newHarness(t, map[string]any{"backend": "pypistats", "lookback_days": 2})
	h.vars["PYPISTATS_API_URL"] = srv.URL
	e, _ := testExtractor()
	res, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{dl("pandas", "pandas", "2024-03-08", 8), dl("pandas", "pandas", "2024-03-09", 9)}
	if d := cmp.Diff(want, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
}

// 429 with Retry-After, then a 503 (exponential backoff), then success.
// A package that never stops answering 429 gives up after a bounded number
// of attempts, as an item error.
func TestPypistats429ThenSuccess(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	tooMany := func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}
	f.script["dbt-core"] = []func(http.ResponseWriter){tooMany, func(w http.ResponseWriter) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}}
	f.data["prefect"] = [][2]any{{"2024-03-09", int64(1)}}
	for i := 0; i < 10; i++ {
		f.script["prefect"] = append(f.script["prefect"], tooMany)
	}
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 3})
	e, sleeps := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core", "prefect", "prefect"))
	if err != nil {
		t.Fatal(err)
	}
	wantDL := [][]any{
		dl("dbt", "dbt-core", "2024-03-07", 70),
		dl("dbt", "dbt-core", "2024-03-08", 80),
		dl("dbt", "dbt-core", "2024-03-09", 90),
	}
	if d := cmp.Diff(wantDL, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	want := []time.Duration{7 * time.Second, 4 * time.Second, // dbt-core
		7 * time.Second, 7 * time.Second, 7 * time.Second, 7 * time.Second} // prefect
	if d := cmp.Diff(want, *sleeps); d != "" {
		t.Errorf("waits (-want +got):\n%s", d)
	}
	n := 0
	for _, r := range f.seen() {
		if strings.Contains(r, "/prefect/") {
			n++
		}
	}
	if n != pypistatsAttempts {
		t.Errorf("%d requests for prefect, want %d", n, pypistatsAttempts)
	}
	if errs := errorItems(res); len(errs) != 1 || !strings.Contains(errs["prefect"], "429") {
		t.Errorf("Errors = %v, want one 429 error for prefect", res.Errors)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{http.Header{"Retry-After": {"30"}}, 30 * time.Second, true},
		{http.Header{"Retry-After": {"Sun, 10 Mar 2024 15:05:00 GMT"}, "Date": {"Sun, 10 Mar 2024 15:04:00 GMT"}}, time.Minute, true},
		{http.Header{"Retry-After": {"Sun, 10 Mar 2024 15:05:00 GMT"}}, 0, false},
		{http.Header{}, 0, false},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
	} {
		got, ok := retryAfter(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%v) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// An unknown package (404) is an item error; the other package lands.
func TestPypistats404(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("x", "no-such-package", "pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	if errs := errorItems(res); len(errs) != 1 || !strings.Contains(errs["no-such-package"], "404") {
		t.Errorf("Errors = %v, want one 404 error for no-such-package", res.Errors)
	}
	if d := cmp.Diff([][]any{dl("pandas", "pandas", "2024-03-09", 900)}, res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]any{{"pandas", "pandas", nil, nil, nil, nil, nil, nil}}, res.Rows[TablePackages]); d != "" {
		t.Errorf("pypi_packages rows (-want +got):\n%s", d)
	}
}

// Malformed bodies are item errors; the other package lands.
func TestPypistatsMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"truncated": `{"data":[{"category":"without_mirrors","date":"2024-03-09","downl`,
		"bad date":  `{"data":[{"category":"without_mirrors","date":"09/03/2024","downloads":1}],"package":"dbt-core","type":"overall_downloads"}`,
		"no data":   `{"package":"dbt-core","type":"overall_downloads"}`,
		"wrong type": `{"data":[{"category":"without_mirrors","date":"2024-03-09","downloads":"many"}],` +
			`"package":"dbt-core","type":"overall_downloads"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakePypistats(t)
			seedPypistats(f)
			f.script["dbt-core"] = []func(http.ResponseWriter){func(w http.ResponseWriter) { fmt.Fprint(w, body) }}
			h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
			e, _ := testExtractor()

			res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core", "pandas", "pandas"))
			if err != nil {
				t.Fatal(err)
			}
			if errs := errorItems(res); len(errs) != 1 || !strings.Contains(errs["dbt-core"], "malformed") {
				t.Errorf("Errors = %v, want one malformed-response error for dbt-core", res.Errors)
			}
			if d := cmp.Diff([][]any{dl("pandas", "pandas", "2024-03-09", 900)}, res.Rows[TableDownloads]); d != "" {
				t.Errorf("downloads rows (-want +got):\n%s", d)
			}
		})
	}
}

// Up-to-date packages are not requested from pypistats either.
func TestPypistatsUpToDateSkipped(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats"})
	h.last["pandas"] = day("2024-03-09")
	h.last["dbt-core"] = day("2024-03-07")
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core", "pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"/api/packages/dbt-core/overall?mirrors=false"}, f.seen()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	if d := cmp.Diff([][]any{dl("dbt", "dbt-core", "2024-03-08", 80), dl("dbt", "dbt-core", "2024-03-09", 90)},
		res.Rows[TableDownloads]); d != "" {
		t.Errorf("downloads rows (-want +got):\n%s", d)
	}
	if n := len(res.Rows[TablePackages]); n != 2 {
		t.Errorf("%d pypi_packages rows, want 2", n)
	}
}

// ---------------------------------------------------------------- both

// Today's partial day (UTC) is never landed, and "today" is env.Now's UTC
// date even when Now carries another zone: 01:30 at UTC+5 on 10 March is
// still 9 March in UTC, so the last complete day is 8 March.
func TestTodayNeverLanded(t *testing.T) {
	now := time.Date(2024, 3, 10, 1, 30, 0, 0, time.FixedZone("UTC+5", 5*3600))

	t.Run("pypistats", func(t *testing.T) {
		f := newFakePypistats(t)
		seedPypistats(f)
		h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 2})
		h.env.Now = now
		e, _ := testExtractor()
		res, err := e.Extract(context.Background(), h.env, seed("dbt", "dbt-core"))
		if err != nil {
			t.Fatal(err)
		}
		want := [][]any{dl("dbt", "dbt-core", "2024-03-07", 70), dl("dbt", "dbt-core", "2024-03-08", 80)}
		if d := cmp.Diff(want, res.Rows[TableDownloads]); d != "" {
			t.Errorf("downloads rows (-want +got):\n%s", d)
		}
	})

	t.Run("bigquery", func(t *testing.T) {
		f := newFakeBigQuery(t)
		seedFakeData(f)
		h := bigQueryHarness(t, f, map[string]any{"lookback_days": 2})
		h.env.Now = now
		e, _ := testExtractor()
		res, err := e.Extract(context.Background(), h.env, seed("airflow", "apache-airflow"))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range f.received(false) {
			if q.Kind == "downloads" && (q.Start != "2024-03-07" || q.End != "2024-03-09") {
				t.Errorf("window [%s,%s), want [2024-03-07,2024-03-09)", q.Start, q.End)
			}
		}
		want := [][]any{dl("airflow", "apache-airflow", "2024-03-07", 110), dl("airflow", "apache-airflow", "2024-03-08", 120)}
		if d := cmp.Diff(want, res.Rows[TableDownloads]); d != "" {
			t.Errorf("downloads rows (-want +got):\n%s", d)
		}
	})
}

// The backend choice for every combination of settings and environment.
func TestChooseBackend(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(creds, []byte(`{"type":"service_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		setting string
		vars    map[string]string
		want    string
		reason  string
	}{
		{"nothing", "auto", nil, "pypistats", "GOOGLE_CLOUD_PROJECT is not set"},
		{"credentials without project", "auto", map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": creds}, "pypistats", "GOOGLE_CLOUD_PROJECT is not set"},
		{"project only", "auto", map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}, "pypistats", "GOOGLE_APPLICATION_CREDENTIALS is not"},
		{"project and credentials", "auto", map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_APPLICATION_CREDENTIALS": creds}, "bigquery", "readable file"},
		{"credentials missing", "auto", map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(dir, "nope.json")}, "pypistats", "not a readable file"},
		{"credentials a directory", "auto", map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_APPLICATION_CREDENTIALS": dir}, "pypistats", "not a readable file"},
		{"project and endpoint", "auto", map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "BIGQUERY_API_ENDPOINT": "http://127.0.0.1:9050"}, "bigquery", "BIGQUERY_API_ENDPOINT"},
		{"forced pypistats", "pypistats", map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_APPLICATION_CREDENTIALS": creds}, "pypistats", "project.yaml"},
		{"forced bigquery", "bigquery", nil, "bigquery", "project.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, reason, err := chooseBackend(tc.setting, func(k string) (string, bool) {
				v, ok := tc.vars[k]
				return v, ok
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || !strings.Contains(reason, tc.reason) {
				t.Errorf("chooseBackend = %s (%s), want %s (%s)", got, reason, tc.want, tc.reason)
			}
		})
	}
	if _, _, err := chooseBackend("snowflake", func(string) (string, bool) { return "", false }); err == nil {
		t.Error("unknown backend accepted")
	}
}

// auto, end to end, both ways: the chosen backend runs, Result.Source and
// the log say which and why.
func TestAutoBackendEndToEnd(t *testing.T) {
	t.Run("bigquery", func(t *testing.T) {
		f := newFakeBigQuery(t)
		seedFakeData(f)
		h := bigQueryHarness(t, f, nil)
		e, _ := testExtractor()
		res, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != "bigquery" || len(f.received(false)) == 0 {
			t.Errorf("Source = %q, %d BigQuery jobs; want bigquery with jobs", res.Source, len(f.received(false)))
		}
		if !strings.Contains(h.logText(), "backend auto: using bigquery (GOOGLE_CLOUD_PROJECT and BIGQUERY_API_ENDPOINT are set)") {
			t.Errorf("log does not explain the choice:\n%s", h.logText())
		}
	})
	t.Run("pypistats", func(t *testing.T) {
		f := newFakePypistats(t)
		seedPypistats(f)
		h := pypistatsHarness(t, f, map[string]any{"backend": "auto"})
		e, _ := testExtractor()
		res, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != "pypistats" || len(f.seen()) != 1 {
			t.Errorf("Source = %q, %d pypistats requests; want pypistats with 1", res.Source, len(f.seen()))
		}
		if !strings.Contains(h.logText(), "backend auto: using pypistats (GOOGLE_CLOUD_PROJECT is not set)") {
			t.Errorf("log does not explain the choice:\n%s", h.logText())
		}
	})
}

func TestSettingsErrors(t *testing.T) {
	for _, settings := range []map[string]any{
		{"backend": "duckdb"},
		{"lookback_days": "thirty"},
		{"lookback_days": 0},
		{"maximum_bytes_billed": -1},
		{"maximum_bytes_billed": 1.5},
	} {
		h := newHarness(t, settings)
		e, _ := testExtractor()
		if _, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas")); err == nil {
			t.Errorf("settings %v accepted", settings)
		}
	}
}

// Invalid seed rows are item errors, and nothing is requested for them.
func TestInvalidPackageNames(t *testing.T) {
	f := newFakePypistats(t)
	seedPypistats(f)
	h := pypistatsHarness(t, f, map[string]any{"backend": "pypistats", "lookback_days": 1})
	e, _ := testExtractor()
	items := append(seed("x", "../../admin", "pandas", "pandas"), extractors.Item{Fields: map[string]string{"technology_id": "y"}})
	res, err := e.Extract(context.Background(), h.env, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 2 {
		t.Errorf("Errors = %v, want 2", res.Errors)
	}
	if d := cmp.Diff([]string{"/api/packages/pandas/overall?mirrors=false"}, f.seen()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

func TestDownloadsSQL(t *testing.T) {
	got := downloadsSQL("`bigquery-public-data.pypi.file_downloads`", window{start: day("2024-03-01"), end: day("2024-03-09")})
	want := "SELECT file.project AS package, DATE(timestamp) AS download_date, COUNT(*) AS downloads\n" +
		"FROM `bigquery-public-data.pypi.file_downloads`\n" +
		"WHERE timestamp >= TIMESTAMP '2024-03-01 00:00:00 UTC'\n" +
		"  AND timestamp < TIMESTAMP '2024-03-10 00:00:00 UTC'\n" +
		"  AND file.project IN UNNEST(@packages)\n" +
		"GROUP BY file.project, DATE(timestamp)\n" +
		"ORDER BY package, download_date"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("downloadsSQL (-want +got):\n%s", d)
	}
}

func TestDatasetValidated(t *testing.T) {
	h := newHarness(t, map[string]any{"backend": "bigquery"})
	h.vars["GOOGLE_CLOUD_PROJECT"] = "p"
	h.vars["BIGQUERY_API_ENDPOINT"] = "http://127.0.0.1:1"
	h.vars["BIGQUERY_DATASET_ID"] = "x.y` WHERE 1=1 --"
	e, _ := testExtractor()
	if _, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas")); err == nil || !strings.Contains(err.Error(), "BIGQUERY_DATASET_ID") {
		t.Errorf("err = %v, want a BIGQUERY_DATASET_ID error", err)
	}
}
