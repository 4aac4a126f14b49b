package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/internal/fakesnow"
)

// TestSnowflakeShow runs quarry show on the emulator: a model's select
// with a limit, as a table and as JSON, and an inline query with a ref,
// building nothing.
func TestSnowflakeShow(t *testing.T) {
	e := fakesnow.Start(t)
	dir := buildShop(t, e)
	before := len(e.Statements())

	code, out := quarryRun(t, "show", "--target", "prod", "--project-dir", dir, "--select", "customer_revenue", "-o", "json")
	if code != 0 {
		t.Fatalf("show exited %d:\n%s", code, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("show -o json: %v:\n%s", err, out)
	}
	names := map[string]bool{}
	for _, r := range rows {
		// Snowflake folds unquoted names to upper case.
		names[strings.TrimSpace(r["NAME"].(string))] = true
	}
	if len(rows) != 3 || !names["Ann"] || !names["Bob"] || !names["Cy"] {
		t.Errorf("show -o json: %v, want Ann, Bob and Cy", rows)
	}

	code, out = quarryRun(t, "show", "--target", "prod", "--project-dir", dir, "--limit", "1",
		"--inline", `select tier, count(*) as n from {{ ref "stg_customers" }} group by tier order by tier desc`)
	if code != 0 {
		t.Fatalf("show --inline exited %d:\n%s", code, out)
	}
	for _, want := range []string{`(?m)^TIER\s+N$`, `(?m)^silver\s+2$`, `(?m)^the first 1 row; there are more `} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("show --inline output does not match %s:\n%s", want, out)
		}
	}

	// Nothing was created, replaced or dropped.
	for _, s := range e.Statements()[before:] {
		if u := strings.ToUpper(strings.TrimSpace(s.SQL)); strings.HasPrefix(u, "CREATE") || strings.HasPrefix(u, "DROP") || strings.HasPrefix(u, "ALTER") || strings.HasPrefix(u, "INSERT") {
			t.Errorf("show ran %s", s.SQL)
		}
	}
}
