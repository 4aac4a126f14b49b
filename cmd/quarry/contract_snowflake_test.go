package main

import (
	"regexp"
	"testing"

	"github.com/quarrydev/quarry/internal/fakesnow"
)

// TestSnowflakeContract holds the shop's audited mart and a staging view
// to contracts written in Snowflake's type names, on the emulator: they
// build, and with --no-check a mart that breaks its contract is an error
// found in the warehouse's columns before publishing, the live table
// keeping its previous version.
func TestSnowflakeContract(t *testing.T) {
	e := fakesnow.Start(t)
	dir := buildShop(t, e)
	w := emulatorWarehouse(t, e, "shop")
	writeFiles(t, dir, map[string]string{
		"models/marts/marts.yml": `models:
  - name: customer_revenue
    config:
      contract: {enforced: true}
    columns:
      - name: customer_id
        data_type: number(38,0)
        tests: [unique, not_null]
      - {name: name, data_type: varchar}
      - name: tier
        data_type: text
        tests:
          - accepted_values: {values: [gold, silver]}
      - {name: orders, data_type: number}
      - {name: revenue, data_type: float}
      - {name: first_order, data_type: date}
      - {name: days_active, data_type: "number(38,0)"}
      - {name: follow_up_on, data_type: date}
    tests:
      - expression_is_true: {expression: "revenue >= 0"}
      - row_count: {min: 3}
`,
		"models/staging/staging.yml": `models:
  - name: stg_orders
    config:
      contract: {enforced: true}
    columns:
      - {name: order_id, data_type: number}
      - {name: customer_id, data_type: number}
      - {name: amount, data_type: float}
      - {name: ordered_on, data_type: date}
`,
	})
	code, out := quarryRun(t, "build", "--target", "prod", "--project-dir", dir)
	if code != 0 {
		t.Fatalf("build under contract exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	assertRevenue(t, w)

	writeFiles(t, dir, map[string]string{"models/staging/stg_orders.sql": `select order_id, customer_id, amount, ordered_on, 1 as extra
from {{ ref "orders" }}
`})
	code, out = quarryRun(t, "build", "--target", "prod", "--project-dir", dir, "--no-check", "--select", "stg_orders+")
	if code != 1 {
		t.Fatalf("build breaking the contract exited %d, want 1:\n%s", code, out)
	}
	want := regexp.MustCompile(`model stg_orders \(target/compiled/models/staging/stg_orders\.sql\): breaks its contract, so staging\.stg_orders keeps its previous version: the built relation produces column EXTRA \([A-Z0-9(,)]+\), which the contract does not declare`)
	if !want.MatchString(out) {
		t.Errorf("output does not match %s:\n%s", want, out)
	}
	if got := queryRows(t, w, "select count(*) from information_schema.columns where table_schema = 'STAGING' and table_name = 'STG_ORDERS'"); got[0][0] != int64(4) {
		t.Errorf("staging.stg_orders has %v columns, want its previous 4", got)
	}
	assertRevenue(t, w)

	// The audited mart: its staged table is checked before it is published.
	writeFiles(t, dir, map[string]string{
		"models/staging/stg_orders.sql": shopProject["models/staging/stg_orders.sql"],
		"models/marts/customer_revenue.sql": `select c.customer_id, c.name, c.tier, count(o.order_id) as orders,
    sum(o.amount) as revenue, min(o.ordered_on) as first_order,
    to_varchar(count(*)) as days_active, max(o.ordered_on) as follow_up_on
from {{ ref "stg_customers" }} c
left join {{ ref "stg_orders" }} o on o.customer_id = c.customer_id
group by c.customer_id, c.name, c.tier
`,
	})
	code, out = quarryRun(t, "build", "--target", "prod", "--project-dir", dir, "--no-check", "--select", "customer_revenue")
	if code != 1 {
		t.Fatalf("build breaking the mart's contract exited %d, want 1:\n%s", code, out)
	}
	want = regexp.MustCompile(`breaks its contract, so public\.customer_revenue keeps its previous version: column days_active is [A-Z]+ \(text\) in the built relation, but the contract says number\(38,0\) \(integer\)`)
	if !want.MatchString(out) {
		t.Errorf("output does not match %s:\n%s", want, out)
	}
	assertRevenue(t, w)
	if got := queryRows(t, w, "select count(*) from information_schema.tables where table_name like '%QUARRY_AUDIT'"); got[0][0] != int64(0) {
		t.Errorf("the rejected copy was left behind: %v", got)
	}
}
