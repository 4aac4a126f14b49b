package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

// TestSnowflakeDefer is slim CI on the emulator, across databases: the
// shop is built into database shop as production; a CI target in database
// shop_ci, with schema_prefix ci_, builds the changed staging model and its
// mart and reads the unchanged customers from shop, by name.
func TestSnowflakeDefer(t *testing.T) {
	e := fakesnow.Start(t)
	dir := buildShop(t, e)
	state := filepath.Join(t.TempDir(), "prod-target")
	if err := os.CopyFS(state, os.DirFS(filepath.Join(dir, "target"))); err != nil {
		t.Fatal(err)
	}
	// The ci target: the prod one in another database, prefixed.
	ci := emulatorTarget(e, "shop_ci")
	ci = ci[strings.Index(ci, "  prod:"):]
	ci = strings.Replace(ci, "  prod:", "  ci:\n    schema_prefix: ci_", 1)
	yaml, err := os.ReadFile(filepath.Join(dir, "project.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{
		"project.yaml":                  string(yaml) + ci,
		"models/staging/stg_orders.sql": "select order_id, customer_id, amount * 10 as amount, ordered_on\nfrom {{ ref \"orders\" }}\n",
	})

	code, out := quarryRun(t, "build", "--target", "ci", "--project-dir", dir, "--select", "state:modified+", "--defer", "--state", state)
	if code != 0 {
		t.Fatalf("build --defer exited %d:\n%s", code, out)
	}
	checkAllPassed(t, out)
	compiled, err := os.ReadFile(filepath.Join(dir, "target/compiled/models/marts/customer_revenue.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compiled), "from shop.staging.stg_customers c") || !strings.Contains(string(compiled), "join ci_staging.stg_orders o") {
		t.Errorf("customer_revenue does not read production's customers and its own orders:\n%s", compiled)
	}

	w := emulatorWarehouse(t, e, "shop_ci")
	got := queryRows(t, w, "select name, revenue::number(10, 1) from ci_public.customer_revenue order by customer_id")
	want := [][]any{{"Ann", "400.0"}, {"Bob", "70.0"}, {"Cy", "30.0"}}
	if len(got) != len(want) {
		t.Fatalf("ci_public.customer_revenue: %v, want %v", got, want)
	}
	for i := range want {
		if got[i][0] != want[i][0] || got[i][1] != want[i][1] {
			t.Errorf("ci_public.customer_revenue row %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Only the changed model and its child were built, and production is
	// as it was.
	for rel, want := range map[warehouse.Relation]warehouse.Kind{
		{Schema: "ci_staging", Name: "stg_orders"}:    warehouse.KindView,
		{Schema: "ci_staging", Name: "stg_customers"}: warehouse.KindNone,
		{Schema: "ci_seeds", Name: "customers"}:       warehouse.KindNone,
	} {
		if k, err := w.Lookup(context.Background(), rel); err != nil || k != want {
			t.Errorf("shop_ci %s.%s is %q (%v), want %q", rel.Schema, rel.Name, k, err, want)
		}
	}
	assertRevenue(t, emulatorWarehouse(t, e, "shop"))
}
