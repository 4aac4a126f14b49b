package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/snowflake"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

// These tests build projects with --target prod against the fakesnow
// emulator (see internal/fakesnow), through the CLI in-process. The
// emulator differs from Snowflake in ways docs/snowflake.md lists; the
// test helper's proxy stands in for ALTER TABLE ... SWAP WITH, which the
// emulator cannot parse, so write-audit-publish runs the real statements.

// emulatorPassword is what the prod targets log in with: any password
// does for the emulator, and this one must never be printed.
const emulatorPassword = "pw-5c1f0e-must-never-be-printed"

// quarryRun runs the CLI in-process and returns its exit code and output.
func quarryRun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli(args, &stdout, &stderr)
	out := stdout.String() + stderr.String()
	if strings.Contains(out, emulatorPassword) {
		t.Errorf("quarry %s printed the password:\n%s", strings.Join(args, " "), out)
	}
	return code, out
}

// emulatorTarget is a prod target for the emulator at e, in database db.
// The password comes from the environment, as it would for real.
func emulatorTarget(e fakesnow.Endpoint, db string) string {
	return fmt.Sprintf(`targets:
  default: dev
  dev: {type: duckdb, path: quarry.duckdb}
  prod:
    type: snowflake
    account: fakesnow
    user: quarry
    password: "${SNOWFLAKE_PASSWORD}"
    warehouse: compute_wh
    database: %s
    schema: public
    host: %s
    port: %d
    protocol: http
    # The emulator answers HTTP 500 to what it cannot run, which gosnowflake
    # would retry for minutes.
    max_retry_count: 1
    request_timeout: 60s
    disable_telemetry: true
    threads: 4
`, db, e.Host, e.Port)
}

// emulatorWarehouse opens the emulator's database db directly, to check
// what a build left there.
func emulatorWarehouse(t *testing.T, e fakesnow.Endpoint, db string) *snowflake.Warehouse {
	t.Helper()
	w, err := snowflake.Open(context.Background(), snowflake.Options{Target: "check", Settings: map[string]string{
		"account": "fakesnow", "user": "checker", "password": "x", "warehouse": "compute_wh", "database": db,
		"schema": "public", "host": e.Host, "port": strconv.Itoa(e.Port), "protocol": "http",
		"max_retry_count": "1", "request_timeout": "60s", "disable_telemetry": "true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func queryRows(t *testing.T, w warehouse.Warehouse, sql string) [][]any {
	t.Helper()
	res, err := w.Query(context.Background(), sql, 0)
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows
}

// writeFiles writes name/content pairs under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shopProject is a small project: two seeds, staging views, and an audited
// mart with generic and singular tests, using the cross-warehouse date
// helpers.
var shopProject = map[string]string{
	"seeds/customers.csv": `customer_id,name,tier
1, Ann ,GOLD
2,Bob,silver
3,Cy,silver
`,
	"seeds/orders.csv": `order_id,customer_id,amount,ordered_on
10,1,25.5,2026-01-03
11,1,14.5,2026-02-01
12,2,7,2026-01-20
13,3,3,2026-01-21
`,
	"seeds/seeds.yml": `seeds:
  - name: orders
    column_types: {ordered_on: date}
    columns:
      - name: order_id
        tests: [unique, not_null]
      - name: customer_id
        tests:
          - relationships: {to: customers, field: customer_id}
`,
	"models/staging/stg_customers.sql": `select customer_id, trim(name) as name, lower(tier) as tier
from {{ ref "customers" }}
`,
	"models/staging/stg_orders.sql": `select order_id, customer_id, amount, ordered_on
from {{ ref "orders" }}
`,
	"models/marts/customer_revenue.sql": `-- One row per customer: orders, revenue, and how long they have been buying.
select
    c.customer_id,
    c.name,
    c.tier,
    count(o.order_id) as orders,
    sum(o.amount) as revenue,
    min(o.ordered_on) as first_order,
    {{ datediff "day" "min(o.ordered_on)" "max(o.ordered_on)" }} as days_active,
    {{ dateadd "day" 30 "max(o.ordered_on)" }} as follow_up_on
from {{ ref "stg_customers" }} c
left join {{ ref "stg_orders" }} o on o.customer_id = c.customer_id
group by c.customer_id, c.name, c.tier
`,
	"models/marts/order_log.sql": `{{ config "materialized" "incremental" "unique_key" "order_id" }}
-- Every order once, merged in place when it changes.
select order_id, customer_id, amount, ordered_on
from {{ ref "stg_orders" }}
{{ if is_incremental }}where order_id >= (select min(order_id) from {{ this }}){{ end }}
`,
	"models/marts/marts.yml": `models:
  - name: customer_revenue
    columns:
      - name: customer_id
        tests: [unique, not_null]
      - name: tier
        tests:
          - accepted_values: {values: [gold, silver]}
    tests:
      - expression_is_true: {expression: "revenue >= 0"}
      - row_count: {min: 3}
`,
	"tests/revenue_matches_orders.sql": `-- The mart's revenue adds up to the orders'.
select r.total, o.total
from (select sum(revenue) as total from {{ ref "customer_revenue" }}) r
cross join (select sum(amount) as total from {{ ref "stg_orders" }}) o
where r.total <> o.total
`,
}

var okLine = regexp.MustCompile(`^\d\d:\d\d:\d\d  \d+ of \d+ (OK|PASS) `)

// checkAllPassed checks that every node line of a build says OK or PASS,
// and that the summary counts no warning, error or skip.
func checkAllPassed(t *testing.T, out string) {
	t.Helper()
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if !regexp.MustCompile(`^\d\d:\d\d:\d\d  \d+ of \d+ `).MatchString(l) {
			continue
		}
		lines++
		if !okLine.MatchString(l) {
			t.Errorf("not OK: %s", l)
		}
	}
	if lines == 0 {
		t.Errorf("no node lines in the output:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0 TOTAL=\d+$`).MatchString(out) {
		t.Errorf("summary is not all PASS:\n%s", out)
	}
}

// buildShop writes the shop project for the emulator at e and builds it.
func buildShop(t *testing.T, e fakesnow.Endpoint) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"project.yaml": `name: shop
models:
  staging: {materialized: view, schema: staging}
  marts: {materialized: table, schema: public}
` + emulatorTarget(e, "shop")}
	for k, v := range shopProject {
		files[k] = v
	}
	writeFiles(t, dir, files)
	t.Setenv("SNOWFLAKE_PASSWORD", emulatorPassword)
	code, out := quarryRun(t, "build", "--target", "prod", "--project-dir", dir)
	if code != 0 {
		t.Fatalf("build exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	return dir
}

var shopRevenue = [][]any{
	{int64(1), "Ann", "gold", int64(2), "40.0", time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), int64(29), time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)},
	{int64(2), "Bob", "silver", int64(1), "7.0", time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), int64(0), time.Date(2026, 2, 19, 0, 0, 0, 0, time.UTC)},
	{int64(3), "Cy", "silver", int64(1), "3.0", time.Date(2026, 1, 21, 0, 0, 0, 0, time.UTC), int64(0), time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)},
}

const shopRevenueQuery = `select customer_id, name, tier, orders, revenue::number(10, 1), first_order, days_active, follow_up_on
from public.customer_revenue order by customer_id`

func assertRevenue(t *testing.T, w warehouse.Warehouse) {
	t.Helper()
	if got := queryRows(t, w, shopRevenueQuery); !reflect.DeepEqual(got, shopRevenue) {
		t.Errorf("public.customer_revenue:\ngot:  %v\nwant: %v", got, shopRevenue)
	}
}

// TestSnowflakeBuildExample builds a small project on the emulator: every
// node OK and every test PASS, the mart holds what it should, views and
// tables are where the folders say, and the password appears nowhere. A
// second build with changed orders merges them into the incremental model.
func TestSnowflakeBuildExample(t *testing.T) {
	e := fakesnow.Start(t)
	dir := buildShop(t, e)
	w := emulatorWarehouse(t, e, "shop")
	assertRevenue(t, w)
	for rel, want := range map[warehouse.Relation]warehouse.Kind{
		{Schema: "seeds", Name: "orders"}:                          warehouse.KindTable,
		{Schema: "staging", Name: "stg_orders"}:                    warehouse.KindView,
		{Schema: "public", Name: "customer_revenue"}:               warehouse.KindTable,
		{Schema: "public", Name: "customer_revenue__quarry_audit"}: warehouse.KindNone,
	} {
		if got, err := w.Lookup(context.Background(), rel); err != nil || got != want {
			t.Errorf("%s.%s is %q (%v), want %q", rel.Schema, rel.Name, got, err, want)
		}
	}
	// Unquoted SQL, as an analyst types it, finds quarry's relations.
	if rows := queryRows(t, w, "select count(*) from PUBLIC.CUSTOMER_REVENUE where TIER = 'silver'"); rows[0][0] != int64(2) {
		t.Errorf("silver customers: %v", rows)
	}
	// quarry test checks the live tables.
	code, out := quarryRun(t, "test", "--target", "prod", "--project-dir", dir)
	if code != 0 {
		t.Fatalf("test exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	// No artifact holds the password.
	err := filepath.WalkDir(filepath.Join(dir, "target"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(emulatorPassword)) {
			t.Errorf("%s holds the password", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every statement was tagged with the node it ran for.
	untagged, nodes := 0, map[string]bool{}
	for _, s := range e.Statements() {
		if !strings.HasPrefix(s.QueryTag, `{"app":"quarry"`) {
			untagged++
		}
		if m := regexp.MustCompile(`"node":"([^"]+)"`).FindStringSubmatch(s.QueryTag); m != nil {
			nodes[m[1]] = true
		}
	}
	if untagged > 0 {
		t.Errorf("%d statements without quarry's query tag", untagged)
	}
	for _, n := range []string{"seed.shop.orders", "model.shop.stg_orders", "model.shop.customer_revenue"} {
		if !nodes[n] {
			t.Errorf("no statement tagged for %s (tagged: %v)", n, nodes)
		}
	}

	// Order 12 changes and order 14 is new: the incremental model merges
	// both on its unique key.
	writeFiles(t, dir, map[string]string{"seeds/orders.csv": `order_id,customer_id,amount,ordered_on
10,1,25.5,2026-01-03
11,1,14.5,2026-02-01
12,2,8,2026-01-20
13,3,3,2026-01-21
14,2,1,2026-03-01
`})
	before := len(e.Statements())
	code, out = quarryRun(t, "build", "--target", "prod", "--project-dir", dir)
	if code != 0 {
		t.Fatalf("second build exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	merged := false
	for _, s := range e.Statements()[before:] {
		merged = merged || strings.HasPrefix(s.SQL, "MERGE INTO public.order_log AS quarry_old")
	}
	if !merged {
		t.Error("the incremental model was not merged")
	}
	want := [][]any{{int64(10), "25.5"}, {int64(11), "14.5"}, {int64(12), "8.0"}, {int64(13), "3.0"}, {int64(14), "1.0"}}
	if got := queryRows(t, w, "select order_id, amount::number(10, 1) from public.order_log order by order_id"); !reflect.DeepEqual(got, want) {
		t.Errorf("public.order_log:\ngot:  %v\nwant: %v", got, want)
	}
}

// TestSnowflakeWriteAuditPublish breaks a mart's test with new seed data:
// the build exits 1 and the live table keeps its previous rows.
func TestSnowflakeWriteAuditPublish(t *testing.T) {
	e := fakesnow.Start(t)
	dir := buildShop(t, e)
	w := emulatorWarehouse(t, e, "shop")
	assertRevenue(t, w)

	writeFiles(t, dir, map[string]string{"seeds/orders.csv": `order_id,customer_id,amount,ordered_on
10,1,25.5,2026-01-03
11,1,14.5,2026-02-01
12,2,-70,2026-01-20
13,3,3,2026-01-21
14,3,3,2026-03-01
`})
	before := len(e.Statements())
	code, out := quarryRun(t, "build", "--target", "prod", "--project-dir", dir)
	if code != 1 {
		t.Fatalf("build exited %d, want 1:\n%s", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  \d+ of \d+ OK +seed seeds\.orders `),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  \d+ of \d+ FAIL test expression_is_true_customer_revenue `),
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  \d+ of \d+ SKIP +table public\.customer_revenue \.+ \[not published: test expression_is_true_customer_revenue failed, so public\.customer_revenue keeps its previous version\]$`),
		regexp.MustCompile(`(?m)^Not published \(tests failed\), previous version kept: public\.customer_revenue$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	// The seed was replaced by a swap, through the real statement.
	swapped := false
	for _, s := range e.Statements()[before:] {
		swapped = swapped || strings.HasPrefix(s.SQL, "ALTER TABLE seeds.orders SWAP WITH seeds.__quarry_stage_")
	}
	if !swapped {
		t.Error("the new seed was not swapped in with ALTER TABLE ... SWAP WITH")
	}
	if got := queryRows(t, w, "select count(*) from seeds.orders"); got[0][0] != int64(5) {
		t.Errorf("seeds.orders holds %v rows, want the new 5", got)
	}
	// The live mart still holds the previous rows; the rejected copy is gone.
	assertRevenue(t, w)
	if kind, err := w.Lookup(context.Background(), warehouse.Relation{Schema: "public", Name: "customer_revenue__quarry_audit"}); err != nil || kind != warehouse.KindNone {
		t.Errorf("audit copy: %q, %v", kind, err)
	}
}

// TestSnowflakeDatamart builds the shipped techpulse project from the sample
// recording on the emulator, with the shipped project.yaml whose prod target
// reads SNOWFLAKE_* from the environment: every model built, every test
// passing, and the overview mart equal to the one DuckDB builds.
func TestSnowflakeDatamart(t *testing.T) {
	if testing.Short() {
		t.Skip("the full datamart build takes a while; skipped with -short")
	}
	e := fakesnow.Start(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	copyProject := func() string {
		dir := t.TempDir()
		for _, part := range []string{"project.yaml", "models", "seeds", "tests", "macros", "testdata/sample"} {
			src := filepath.Join(root, part)
			st, err := os.Stat(src)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if !st.IsDir() {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				writeFiles(t, dir, map[string]string{part: string(b)})
				continue
			}
			if err := os.CopyFS(filepath.Join(dir, part), os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	for k, v := range map[string]string{
		"SNOWFLAKE_ACCOUNT": "fakesnow", "SNOWFLAKE_USER": "quarry", "SNOWFLAKE_PASSWORD": emulatorPassword,
		"SNOWFLAKE_WAREHOUSE": "compute_wh", "SNOWFLAKE_DATABASE": "techpulse", "SNOWFLAKE_SCHEMA": "public",
		"SNOWFLAKE_HOST": e.Host, "SNOWFLAKE_PORT": strconv.Itoa(e.Port), "SNOWFLAKE_PROTOCOL": "http",
		// See emulatorTarget.
		"SNOWFLAKE_MAX_RETRY_COUNT": "1", "SNOWFLAKE_REQUEST_TIMEOUT": "60s", "SNOWFLAKE_DISABLE_TELEMETRY": "true",
	} {
		t.Setenv(k, v)
	}

	// The same project on DuckDB, for comparison.
	duckDir := copyProject()
	t.Chdir(duckDir)
	if code, out := quarryRun(t, "build", "--replay", "testdata/sample"); code != 0 {
		t.Fatalf("duckdb build exited %d:\n%s", code, out)
	}

	dir := copyProject()
	t.Chdir(dir)
	code, out := quarryRun(t, "build", "--replay", "testdata/sample", "--target", "prod")
	if code != 0 {
		t.Fatalf("build exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	if !regexp.MustCompile(`(?m)^Done\. PASS=60 WARN=0 ERROR=0 SKIP=0 TOTAL=60$`).MatchString(out) {
		t.Errorf("want the 60 nodes of the duckdb build:\n%s", out)
	}

	// The overview mart holds what DuckDB computes from the same data.
	const overview = `select technology_id, name, category, stars, forks, open_issues, open_pull_requests, contributors,
latest_release_tag, downloads_last_7_days, downloads_last_30_days, downloads_prev_30_days,
downloads_growth_30d_pct, stars_rank, downloads_rank, downloads_through_date
from public.mart_technology_overview order by technology_id`
	sfRows := queryRows(t, emulatorWarehouse(t, e, "techpulse"), overview)
	duck, err := duckQuery(filepath.Join(duckDir, "quarry.duckdb"), overview)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sfRows {
		vals := make([]string, len(r))
		for i, v := range r {
			vals[i] = comparable(v)
		}
		got = append(got, strings.Join(vals, "|"))
	}
	want := strings.Split(strings.TrimSpace(duck), "\n")
	for i := range want {
		vals := strings.Split(want[i], "|")
		for j, v := range vals {
			vals[j] = comparableText(v)
		}
		want[i] = strings.Join(vals, "|")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mart_technology_overview differs from DuckDB's:\nsnowflake:\n%s\nduckdb:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(got) != 10 {
		t.Errorf("%d technologies, want 10", len(got))
	}
	checkSnowflakeCatalog(t)
	checkSnowflakeRaw(t)
	checkSnowflakeRetention(t, e, overview)
}

// checkSnowflakeRaw checks quarry raw on the techpulse build on the
// emulator: the landing tables under the project's names though Snowflake
// stores them upper-cased, their rows, loads and load time, and the
// emulator's size (it answers 0 bytes for every table).
func checkSnowflakeRaw(t *testing.T) {
	t.Helper()
	code, out := quarryRun(t, "raw", "--target", "prod", "-o", "json")
	if code != 0 {
		t.Fatalf("quarry raw exited %d:\n%s", code, out)
	}
	var report rawReport
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("quarry raw -o json: %v\n%s", err, out)
	}
	var gh *rawTable
	for i, tb := range report.Tables {
		if tb.Name == "github_repositories" {
			gh = &report.Tables[i]
		}
	}
	if gh == nil || gh.Schema != "raw" || !gh.Exists || gh.Rows == nil || *gh.Rows != 10 || gh.Loads == nil || *gh.Loads != 1 ||
		gh.LastLoadAt == nil || !gh.LastLoadAt.Equal(time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)) || gh.Bytes == nil || *gh.Bytes != 0 {
		t.Errorf("quarry raw on the emulator: github_repositories %+v, want raw, 10 rows in 1 load at 2026-11-24 06:00Z, 0 bytes\n%s", gh, out)
	}
	if len(report.Tables) != 5 {
		t.Errorf("quarry raw on the emulator: %d tables, want the 4 landing tables and _load_keys_seen\n%s", len(report.Tables), out)
	}
}

// checkSnowflakeRetention runs retention's statements on the emulator:
// the GitHub rows are made a load 30 days older that the replayed load's
// seen entries point at, and a build with retention: {all: 7d} deletes
// that load but keeps its rows, now under the earliest kept load pointing
// at them; the overview is unchanged.
func checkSnowflakeRetention(t *testing.T, e fakesnow.Endpoint, overview string) {
	t.Helper()
	w := emulatorWarehouse(t, e, "techpulse")
	before := queryRows(t, w, overview)
	ctx := context.Background()
	for _, stmt := range []string{
		"update raw.github_repositories set _load_id = 'old', _loaded_at = dateadd(day, -30, _loaded_at)",
		"insert into raw._load_keys_seen select landing_table, key, 'old', content_hash, 'old', dateadd(day, -30, _loaded_at), _source from raw._load_keys_seen where landing_table = 'github_repositories'",
		"update raw._load_keys_seen set row_load_id = 'old' where landing_table = 'github_repositories'",
	} {
		if err := w.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	b, err := os.ReadFile("project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// techpulse keeps every load for 14 days; here a week is enough to
	// delete the load made 30 days old above.
	policy := "github_repositories: {all: 14d, daily: 365d, weekly: forever}"
	if !strings.Contains(string(b), policy) {
		t.Fatalf("project.yaml no longer holds %q", policy)
	}
	yml := strings.Replace(string(b), policy, "github_repositories: {all: 7d}", 1)
	if err := os.WriteFile("project.yaml", []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := quarryRun(t, "build", "--replay", "testdata/sample", "--target", "prod", "--select", "github+")
	if code != 0 {
		t.Fatalf("build with retention exited %d:\n%s", code, out)
	}
	got := queryRows(t, w, "select (select count(*) from raw.github_repositories), (select count(*) from raw.github_repositories where _load_id = 'old'), "+
		"(select count(*) from raw._load_keys_seen where _load_id = 'old' or row_load_id = 'old'), (select count(distinct _load_id) from raw._load_keys_seen)")
	if fmt.Sprint(got) != "[[10 0 0 2]]" {
		t.Errorf("after retention: rows, rows of the old load, entries of or pointing at it, seeing loads = %v, want [[10 0 0 2]]", got)
	}
	b, err = os.ReadFile(filepath.Join("target", "run_results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "retention deleted github_repositories 1 load (0 rows)") {
		t.Errorf("run_results.json does not say what retention deleted:\n%s", b)
	}
	if after := queryRows(t, w, overview); !reflect.DeepEqual(after, before) {
		t.Errorf("the overview changed:\nbefore %v\nafter  %v", before, after)
	}
}

// checkSnowflakeCatalog checks the target/catalog.json the techpulse build
// on the emulator wrote: names as Snowflake stores them, its types, the
// mart's ten rows, and the landing tables among the sources.
func checkSnowflakeCatalog(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("target", "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Schema, Identifier, Kind string
		Columns                  []struct{ Name, Type string }
		RowCount                 *int64 `json:"row_count"`
	}
	var doc struct {
		Nodes, Sources map[string]entry
		Missing        []string
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	mart := doc.Nodes["model.techpulse.mart_technology_overview"]
	if mart.Schema != "PUBLIC" || mart.Identifier != "MART_TECHNOLOGY_OVERVIEW" || mart.Kind != "table" ||
		mart.RowCount == nil || *mart.RowCount != 10 || len(mart.Columns) != 22 {
		t.Errorf("catalog's mart_technology_overview: %+v, want PUBLIC.MART_TECHNOLOGY_OVERVIEW, a table of 10 rows and 22 columns", mart)
	} else if c := mart.Columns[0]; c.Name != "TECHNOLOGY_ID" || c.Type != "TEXT" {
		t.Errorf("its first column: %+v, want TECHNOLOGY_ID TEXT", c)
	}
	if stg := doc.Nodes["model.techpulse.stg_technologies"]; stg.Kind != "view" || stg.RowCount != nil {
		t.Errorf("catalog's stg_technologies: %+v, want a view with no row count", stg)
	}
	if raw := doc.Sources["source.techpulse.github.github_repositories"]; raw.Schema != "RAW" || raw.Kind != "table" || raw.RowCount == nil || *raw.RowCount != 10 {
		t.Errorf("catalog's github_repositories landing: %+v, want RAW, a table of 10 rows", raw)
	}
	if len(doc.Missing) != 0 {
		t.Errorf("missing from the catalog: %v", doc.Missing)
	}
}

// comparable renders a value read from the emulator like duckQuery renders
// DuckDB's, numbers as numbers whatever their type.
func comparable(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.Format(time.DateOnly)
	case string:
		return comparableText(v)
	}
	return comparableText(fmt.Sprint(v))
}

// comparableText writes a number in one canonical form and leaves other
// text alone.
func comparableText(s string) string {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return s
}
