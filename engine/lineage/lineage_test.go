package lineage_test

import (
	"database/sql"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/quarrydev/quarry/engine/lineage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// db is one in-memory DuckDB for the whole package: the tests only ask it
// for parse trees.
var db = sync.OnceValues(func() (*sql.DB, error) { return sql.Open("duckdb", "") })

// tree returns DuckDB's parse tree of query.
func tree(t *testing.T, query string) []byte {
	t.Helper()
	d, err := db()
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := d.QueryRow(lineage.TreeQuery, query).Scan(&s); err != nil {
		t.Fatalf("parse tree of %q: %v", query, err)
	}
	return []byte(s)
}

type table struct {
	key  string
	cols []string
}

// catalog answers for the relations in tables, by name, or by schema and
// name when the SQL gives a schema.
func catalog(tables map[string]table) lineage.Catalog {
	return func(schema, name string) (string, []string, bool) {
		t, ok := tables[strings.ToLower(name)]
		if !ok || (schema != "" && !strings.HasPrefix(t.key, strings.ToLower(schema)+".")) {
			return "", nil, false
		}
		return t.key, t.cols, true
	}
}

var shop = catalog(map[string]table{
	"orders":    {"public.orders", []string{"id", "customer_id", "amount", "status", "ordered_at"}},
	"customers": {"public.customers", []string{"customer_id", "name", "region"}},
	"refunds":   {"public.refunds", []string{"id", "customer_id", "amount"}},
})

func src(rel, col string) lineage.Source {
	return lineage.Source{Relation: "public." + rel, Column: col}
}

func direct(name string, s ...lineage.Source) lineage.Column {
	return lineage.Column{Name: name, Kind: lineage.Direct, Sources: s}
}

func derived(name string, s ...lineage.Source) lineage.Column {
	return lineage.Column{Name: name, Kind: lineage.Derived, Sources: s}
}

func TestAnalyze(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      []lineage.Column
	}{
		{"plain columns", "select id, amount from orders",
			[]lineage.Column{direct("id", src("orders", "id")), direct("amount", src("orders", "amount"))}},
		{"aliases", "select amount as total, o.id order_id from orders o",
			[]lineage.Column{direct("total", src("orders", "amount")), direct("order_id", src("orders", "id"))}},
		{"qualified refs with schema", "select public.orders.amount, orders.id from public.orders",
			[]lineage.Column{direct("amount", src("orders", "amount")), direct("id", src("orders", "id"))}},
		{"star", "select * from customers",
			[]lineage.Column{direct("customer_id", src("customers", "customer_id")), direct("name", src("customers", "name")), direct("region", src("customers", "region"))}},
		{"t.star in a join", "select c.*, o.amount from orders o join customers c on o.customer_id = c.customer_id",
			[]lineage.Column{direct("customer_id", src("customers", "customer_id")), direct("name", src("customers", "name")), direct("region", src("customers", "region")), direct("amount", src("orders", "amount"))}},
		{"star exclude replace rename", "select * exclude (region) replace (upper(name) as name) rename (customer_id as cid) from customers",
			[]lineage.Column{direct("cid", src("customers", "customer_id")), derived("name", src("customers", "name"))}},
		{"qualified exclude", "select * exclude (o.id, o.status, o.ordered_at, c.region) from orders o join customers c using (customer_id)",
			[]lineage.Column{direct("customer_id", src("orders", "customer_id"), src("customers", "customer_id")), direct("amount", src("orders", "amount")), direct("name", src("customers", "name"))}},
		{"using: the column comes from both sides", "select customer_id, name from orders join customers using (customer_id)",
			[]lineage.Column{direct("customer_id", src("orders", "customer_id"), src("customers", "customer_id")), direct("name", src("customers", "name"))}},
		{"natural join", "select customer_id from orders natural join customers",
			[]lineage.Column{direct("customer_id", src("orders", "customer_id"), src("customers", "customer_id"))}},
		{"ctes, one reading another", `with a as (select id, amount * 2 as doubled from orders),
			b as (select id as order_id, doubled from a)
			select order_id, doubled from b`,
			[]lineage.Column{direct("order_id", src("orders", "id")), derived("doubled", src("orders", "amount"))}},
		{"subquery in FROM with column aliases", "select x, y from (select id, amount from orders) s(x, y)",
			[]lineage.Column{direct("x", src("orders", "id")), direct("y", src("orders", "amount"))}},
		{"aggregates", "select customer_id, sum(amount) as total, count(*) as n, count(status) as n_status from orders group by customer_id having sum(amount) > 0",
			[]lineage.Column{direct("customer_id", src("orders", "customer_id")), derived("total", src("orders", "amount")), derived("n"), derived("n_status", src("orders", "status"))}},
		{"aggregate filter counts as a source", "select sum(amount) filter (where status = 'paid') as paid from orders",
			[]lineage.Column{derived("paid", src("orders", "amount"), src("orders", "status"))}},
		{"window: partition and order are not sources", "select sum(amount) over (partition by customer_id order by ordered_at) as running, row_number() over (order by id) as rn from orders",
			[]lineage.Column{derived("running", src("orders", "amount")), derived("rn")}},
		{"case: when conditions count", "select case when status = 'paid' then amount else 0 end as paid from orders",
			[]lineage.Column{derived("paid", src("orders", "amount"), src("orders", "status"))}},
		{"casts and literals", "select cast(amount as double) as a, amount::int b, 1 as one, 'x' as s from orders",
			[]lineage.Column{derived("a", src("orders", "amount")), derived("b", src("orders", "amount")), derived("one"), derived("s")}},
		{"union all by position", "select id, amount from orders union all select id, amount * -1 from refunds",
			[]lineage.Column{direct("id", src("orders", "id"), src("refunds", "id")), derived("amount", src("orders", "amount"), src("refunds", "amount"))}},
		{"union of literal and column", "select 1 as a union select id from orders",
			[]lineage.Column{derived("a", src("orders", "id"))}},
		{"except keeps the left branch", "select customer_id from orders except select customer_id from refunds",
			[]lineage.Column{direct("customer_id", src("orders", "customer_id"))}},
		{"union by name", "select id, amount from orders union by name select amount, id from refunds",
			[]lineage.Column{direct("id", src("orders", "id"), src("refunds", "id")), direct("amount", src("orders", "amount"), src("refunds", "amount"))}},
		{"scalar subqueries", "select (select max(amount) from refunds) as top_refund, (select name from customers c where c.customer_id = o.customer_id) as name from orders o",
			[]lineage.Column{derived("top_refund", src("refunds", "amount")), direct("name", src("customers", "name"))}},
		{"in and exists subqueries", "select id in (select id from refunds) as refunded, exists (select 1 from refunds r where r.id = o.id) as any_refund from orders o",
			[]lineage.Column{derived("refunded", src("orders", "id"), src("refunds", "id")), derived("any_refund")}},
		{"select-list alias used later", "select amount * 2 as doubled, doubled + 1 as more from orders",
			[]lineage.Column{derived("doubled", src("orders", "amount")), derived("more", src("orders", "amount"))}},
		{"lambda parameters are not columns", "select list_transform([amount], lambda x: x + 1) as l from orders",
			[]lineage.Column{derived("l", src("orders", "amount"))}},
		{"recursive cte", "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select n from r",
			[]lineage.Column{derived("n")}},
		{"values", "select col0 from (values (1), (2)) v",
			[]lineage.Column{derived("col0")}},
		{"relation the catalog does not know", "select a, b from mystery",
			[]lineage.Column{
				{Name: "a", Kind: lineage.Unknown, Reason: "a may come from a relation whose columns are not known: relation mystery is not in the catalog"},
				{Name: "b", Kind: lineage.Unknown, Reason: "b may come from a relation whose columns are not known: relation mystery is not in the catalog"}}},
		{"star over an unknown relation", "select * from mystery",
			[]lineage.Column{{Name: "*", Kind: lineage.Unknown, Reason: "relation mystery is not in the catalog"}}},
		{"unknown relation beside a known one", "select o.id, x from orders o, mystery m",
			[]lineage.Column{direct("id", src("orders", "id")),
				{Name: "x", Kind: lineage.Unknown, Reason: "x may come from a relation whose columns are not known: relation mystery is not in the catalog"}}},
		{"unexpanded star through a cte", "with m as (select * from mystery) select id from m",
			[]lineage.Column{{Name: "id", Kind: lineage.Unknown, Reason: "id may come from a relation whose columns are not known: relation mystery is not in the catalog"}}},
		{"table function", "select * from read_csv('x.csv')",
			[]lineage.Column{{Name: "*", Kind: lineage.Unknown, Reason: "table function read_csv: its columns are not in the catalog"}}},
		{"ambiguous column", "select amount, amount + 1 as next from orders, refunds",
			[]lineage.Column{
				{Name: "amount", Kind: lineage.Unknown, Reason: "amount is ambiguous: it is in orders, refunds"},
				{Name: "next", Kind: lineage.Unknown, Reason: "amount is ambiguous: it is in orders, refunds"}}},
		{"column in no relation", "select nope from orders",
			[]lineage.Column{{Name: "nope", Kind: lineage.Unknown, Reason: "column nope is in no relation in reach"}}},
		{"unaliased expression has no name", "select amount + 1 from orders",
			[]lineage.Column{derived("", src("orders", "amount"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lineage.Analyze(tree(t, tc.sql), shop)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("lineage of %s (-want +got):\n%s", tc.sql, d)
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	for _, tc := range []struct{ sql, want string }{
		{"insert into orders select * from orders", "not a SELECT statement"},
		{"create table x as select 1", "not a SELECT statement"},
		{"select from where", "could not parse the statement: parser error"},
		{"select 1; select 2", "want one SELECT statement, the tree holds 2"},
		{"select 1 union select 1, 2", "UNION branches have 1 and 2 columns"},
	} {
		_, err := lineage.Analyze(tree(t, tc.sql), shop)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Analyze(%q) error = %v, want one containing %q", tc.sql, err, tc.want)
		}
	}
	if _, err := lineage.Analyze([]byte("not json"), shop); err == nil {
		t.Error("Analyze of a tree that is not JSON: no error")
	}
}

// techpulse is a hand-written catalog of the relations the example
// project's mart_technology_overview reads, as its marts define them.
var techpulse = catalog(map[string]table{
	"dim_technology": {"public.dim_technology", []string{"technology_id", "name", "category", "repositories", "packages"}},
	"fct_pypi_downloads_daily": {"public.fct_pypi_downloads_daily", []string{
		"technology_id", "package", "download_date", "downloads", "source"}},
	"fct_github_repository_snapshots": {"public.fct_github_repository_snapshots", []string{
		"technology_id", "repo_full_name", "snapshot_date", "snapshot_at", "stars", "forks", "watchers",
		"open_issues_and_prs", "open_pull_requests", "open_issues", "contributors", "commits_last_4_weeks",
		"commits_last_52_weeks", "latest_release_tag", "latest_release_published_at", "created_at", "pushed_at",
		"default_branch", "language", "license", "topics", "archived", "size_kb", "description", "github_id", "source"}},
})

// TestGolden analyses whole statements, the techpulse mart among them, and
// compares the full result with testdata/<name>.golden.json.
func TestGolden(t *testing.T) {
	for _, name := range []string{"mart_technology_overview", "shop_report"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name+".sql"))
			if err != nil {
				t.Fatal(err)
			}
			cat := techpulse
			if strings.HasPrefix(name, "shop") {
				cat = shop
			}
			cols, err := lineage.Analyze(tree(t, string(in)), cat)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(cols, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s differs from the golden file (-want +got); run go test -update if the change is right:\n%s", name, d)
			}
		})
	}
}

// TestTechpulseMart checks by hand a few columns of the golden mart, so a
// wrong golden file cannot pass unnoticed.
func TestTechpulseMart(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "mart_technology_overview.sql"))
	if err != nil {
		t.Fatal(err)
	}
	cols, err := lineage.Analyze(tree(t, string(in)), techpulse)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]lineage.Column{}
	for _, c := range cols {
		by[c.Name] = c
	}
	if len(cols) != 22 {
		t.Errorf("got %d columns, want the mart's 22", len(cols))
	}
	fct := func(rel, col string) lineage.Source {
		return lineage.Source{Relation: "public." + rel, Column: col}
	}
	for _, tc := range []struct {
		col     string
		kind    lineage.Kind
		has     []lineage.Source
		hasNone []lineage.Source
	}{
		{"downloads_last_30_days", lineage.Derived,
			[]lineage.Source{fct("fct_pypi_downloads_daily", "downloads")}, nil},
		{"technology_id", lineage.Direct, []lineage.Source{fct("dim_technology", "technology_id")}, nil},
		{"name", lineage.Direct, []lineage.Source{fct("dim_technology", "name")}, nil},
		{"stars", lineage.Derived, []lineage.Source{fct("fct_github_repository_snapshots", "stars")}, nil},
		// Through latest_release's and latest_snapshot's windows and s.*:
		// still the same value, and the ranking columns are not sources.
		{"latest_release_tag", lineage.Direct, []lineage.Source{fct("fct_github_repository_snapshots", "latest_release_tag")},
			[]lineage.Source{fct("fct_github_repository_snapshots", "snapshot_date"), fct("fct_github_repository_snapshots", "repo_full_name")}},
		{"stars_rank", lineage.Derived, nil, []lineage.Source{fct("fct_github_repository_snapshots", "stars")}},
		{"days_since_last_push", lineage.Derived, []lineage.Source{
			fct("fct_github_repository_snapshots", "pushed_at"), fct("fct_github_repository_snapshots", "snapshot_at")}, nil},
	} {
		c, ok := by[tc.col]
		if !ok {
			t.Errorf("no column %s", tc.col)
			continue
		}
		if c.Kind != tc.kind {
			t.Errorf("%s is %s, want %s (%s)", tc.col, c.Kind, tc.kind, c.Reason)
		}
		for _, s := range tc.has {
			if !contains(c.Sources, s) {
				t.Errorf("%s: sources %v lack %v", tc.col, c.Sources, s)
			}
		}
		for _, s := range tc.hasNone {
			if contains(c.Sources, s) {
				t.Errorf("%s: sources %v hold %v, which only orders rows", tc.col, c.Sources, s)
			}
		}
	}
}

func contains(ss []lineage.Source, s lineage.Source) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
