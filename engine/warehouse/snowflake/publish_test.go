package snowflake

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

// statementsSince returns the statements sent after the first n.
func statementsSince(e fakesnow.Endpoint, n int) []fakesnow.Statement {
	return e.Statements()[n:]
}

// TestPublishSendsSwap checks what Publish sends when a live table exists:
// Snowflake's atomic swap, then a drop of the old version. The emulator
// cannot parse ALTER TABLE ... SWAP WITH; the test helper's proxy carries
// it out with renames (see internal/fakesnow). The data Publish leaves is
// checked by the conformance suite.
func TestPublishSendsSwap(t *testing.T) {
	w, e := openEmu(t)
	ctx := context.Background()
	live := warehouse.Relation{Schema: "tests", Name: "mart"}
	staged := warehouse.Relation{Schema: "tests", Name: "mart__quarry_audit"}
	for version := range 2 {
		if _, err := w.CreateTable(ctx, staged, fmt.Sprintf("SELECT %d AS version", version+1)); err != nil {
			t.Fatal(err)
		}
		before := len(e.Statements())
		if err := w.Publish(ctx, staged, live); err != nil {
			t.Fatal(err)
		}
		if version == 0 {
			continue // no live table yet: renamed into place
		}
		var sent []string
		for _, s := range statementsSince(e, before) {
			if !strings.HasPrefix(s.SQL, "SHOW") {
				sent = append(sent, s.SQL)
			}
		}
		want := []string{"ALTER TABLE tests.mart SWAP WITH tests.mart__quarry_audit", "DROP TABLE tests.mart__quarry_audit"}
		if strings.Join(sent, "\n") != strings.Join(want, "\n") {
			t.Errorf("Publish sent:\n%s\nwant:\n%s", strings.Join(sent, "\n"), strings.Join(want, "\n"))
		}
	}
	warehousetest.AssertRows(t, w, "SELECT version FROM tests.mart", [][]any{{int64(2)}})
}

// TestQueryTag checks that every statement of every operation carries a
// QUERY_TAG naming quarry and the node. The emulator accepts the tag but
// keeps no QUERY_HISTORY, so the tags are read from the requests, which
// the test helper's proxy records.
func TestQueryTag(t *testing.T) {
	w, e := openEmu(t, "query_tag=nightly")
	ctx := warehouse.WithNode(context.Background(), "model.techpulse.dim_technology")
	rel := warehouse.Relation{Schema: "tests", Name: "dim_technology"}
	staged := warehouse.Relation{Schema: "tests", Name: "dim_technology__quarry_audit"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}}

	before := len(e.Statements())
	steps := []func() error{
		func() error { return w.EnsureSchema(ctx, "tagged") },
		func() error { _, err := w.LoadRows(ctx, rel, cols, [][]any{{int64(1)}}, true); return err },
		func() error { _, err := w.LoadRows(ctx, rel, cols, [][]any{{int64(2)}}, false); return err },
		func() error { _, err := w.Incremental(ctx, rel, "SELECT 3 AS id", []string{"id"}); return err },
		func() error { _, err := w.CreateTable(ctx, staged, "SELECT id FROM tests.dim_technology"); return err },
		func() error { return w.Publish(ctx, staged, rel) },
		func() error {
			return w.CreateView(ctx, warehouse.Relation{Schema: "tests", Name: "v"}, "SELECT 1 AS x")
		},
		func() error { _, err := w.Query(ctx, "SELECT count(*) FROM tests.dim_technology", 0); return err },
		func() error { return w.Drop(ctx, warehouse.Relation{Schema: "tests", Name: "v"}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	sent := statementsSince(e, before)
	if len(sent) < 15 {
		t.Fatalf("only %d statements recorded", len(sent))
	}
	want := `{"app":"quarry","node":"model.techpulse.dim_technology","tag":"nightly"}`
	kinds := map[string]bool{}
	for _, s := range sent {
		if s.QueryTag != want {
			t.Errorf("%s\n  tag %q, want %q", s.SQL, s.QueryTag, want)
		}
		kinds[strings.Fields(s.SQL)[0]] = true
	}
	for _, k := range []string{"CREATE", "SHOW", "INSERT", "BEGIN", "COMMIT", "MERGE", "ALTER", "DROP", "SELECT"} {
		if !kinds[k] {
			t.Errorf("no %s statement recorded (recorded: %v)", k, kinds)
		}
	}

	// Without a node or a query_tag setting, the tag still names quarry.
	w2, e2 := openEmu(t)
	before = len(e2.Statements())
	if _, err := w2.Query(context.Background(), "SELECT 1", 0); err != nil {
		t.Fatal(err)
	}
	last := statementsSince(e2, before)
	if len(last) != 1 || last[0].QueryTag != `{"app":"quarry"}` {
		t.Errorf("statements: %+v", last)
	}
	var parsed map[string]string
	if err := json.Unmarshal([]byte(want), &parsed); err != nil || parsed["node"] != "model.techpulse.dim_technology" {
		t.Errorf("tag is not JSON: %v", err)
	}
}

// TestTransient checks which tables are created transient. The emulator
// accepts TRANSIENT and ignores it, so the statements sent are checked.
func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		setting        string
		model, landing string
	}{
		{"", "CREATE OR REPLACE TRANSIENT TABLE tests.model", "CREATE TABLE tests.__quarry_stage_"},
		{"transient=false", "CREATE OR REPLACE TABLE tests.model", "CREATE TABLE tests.__quarry_stage_"},
	} {
		var extra []string
		if tc.setting != "" {
			extra = append(extra, tc.setting)
		}
		w, e := openEmu(t, extra...)
		ctx := context.Background()
		before := len(e.Statements())
		if _, err := w.CreateTable(ctx, warehouse.Relation{Schema: "tests", Name: "model"}, "SELECT 1 AS x"); err != nil {
			t.Fatal(err)
		}
		cols := []warehouse.Column{{Name: "x", Type: "bigint"}}
		// Seeds are replaced: rebuilt each time, so transient like models.
		if _, err := w.LoadRows(ctx, warehouse.Relation{Schema: "tests", Name: "seed"}, cols, [][]any{{int64(1)}}, true); err != nil {
			t.Fatal(err)
		}
		// Landings are appended to and hold history: permanent.
		if _, err := w.LoadRows(ctx, warehouse.Relation{Schema: "tests", Name: "landing"}, cols, [][]any{{int64(1)}}, false); err != nil {
			t.Fatal(err)
		}
		var creates []string
		for _, s := range statementsSince(e, before) {
			if strings.HasPrefix(s.SQL, "CREATE") {
				creates = append(creates, s.SQL)
			}
		}
		seed := strings.Replace(tc.model, "OR REPLACE ", "", 1)
		seed = strings.Replace(seed, "tests.model", "tests.__quarry_stage_", 1)
		if len(creates) != 3 || !strings.HasPrefix(creates[0], tc.model+" AS") ||
			!strings.HasPrefix(creates[1], seed) || !strings.HasPrefix(creates[2], tc.landing) {
			t.Errorf("%q: CREATE statements:\n%s", tc.setting, strings.Join(creates, "\n"))
		}
	}
}
