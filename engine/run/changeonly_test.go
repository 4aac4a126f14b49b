package run_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/extractors"
)

// historyExtractor lands one snapshot row per repository whose values are
// a function of the run's clock: a/a changes every ten days, b/b never,
// c/c daily, and c/c fails in some loads.
type historyExtractor struct{ start time.Time }

func (h *historyExtractor) Name() string      { return "hist" }
func (h *historyExtractor) KeyColumn() string { return "repo" }
func (h *historyExtractor) Tables() []extractors.Table {
	return []extractors.Table{{Name: "hist_repos", Key: "repo", ChangeOnly: true, Columns: []warehouse.Column{
		{Name: "repo", Type: "varchar"}, {Name: "stars", Type: "bigint"}, {Name: "pushed_at", Type: "timestamp"}, {Name: "topics", Type: "varchar"},
	}}}
}
func (h *historyExtractor) Extract(_ context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	hour := int64(env.Now.Sub(h.start) / time.Hour)
	res := &extractors.Result{Rows: map[string][][]any{}, Source: "hist-api"}
	for _, it := range items {
		var stars int64
		var topics any
		pushed := h.start
		switch it.Key {
		case "a/a":
			stars, pushed = 100+hour/240, h.start.Add(time.Duration(hour/240)*time.Hour)
		case "b/b":
			stars = 7
		case "c/c":
			if hour%50 == 7 {
				res.Errors = append(res.Errors, extractors.ItemError{Item: it.Key, Err: "502 Bad Gateway"})
				continue
			}
			stars, topics = 1000+hour/24, "x"
		}
		res.Rows["hist_repos"] = append(res.Rows["hist_repos"], []any{it.Key, stars, pushed, topics})
	}
	return res, nil
}

// asOfSQL is techpulse's staging of change-only snapshots, for hist_repos:
// per repository and UTC day, the day's latest snapshot.
const asOfSQL = `with snapshots as (
    select r.*, s._load_id as seen_load_id, s._loaded_at as seen_at
    from {{ source "quarry" "_load_keys_seen" }} s
    join {{ source "landing" "hist_repos" }} r on r._load_id = s.row_load_id and r.repo = s.key
    where s.landing_table = 'hist_repos'
    union all
    select r.*, r._load_id, r._loaded_at
    from {{ source "landing" "hist_repos" }} r
    where not exists (select 1 from {{ source "quarry" "_load_keys_seen" }} s
        where s.landing_table = 'hist_repos' and s._load_id = r._load_id and s.key = r.repo)
),
ranked as (
    select *, row_number() over (partition by repo, cast(seen_at as date) order by seen_at desc, seen_load_id desc) as rank_in_day
    from snapshots r
    where not exists (select 1 from {{ source "quarry" "_extract_errors" }} e where e._load_id = r.seen_load_id and e.item = r.repo)
)
select repo, cast(seen_at as date) as day, seen_at, stars, pushed_at, topics from ranked where rank_in_day = 1
`

// changeOnlyProject writes a project landing hist_repos with change_only
// set to changeOnly, and returns a function that runs the nodes selected
// (all but those excluded when sel is nil) and fails the test unless they
// all pass when mustPass.
func changeOnlyProject(t *testing.T, changeOnly bool, wh warehouse.Warehouse, clock *time.Time, h *historyExtractor) func(mustPass bool, sel, excl []string) *run.Report {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", fmt.Sprintf("name: ex\nextractors:\n  hist: {input: repos, source: landing, change_only: %v}\ntargets:\n  dev: {type: duckdb}\n", changeOnly))
	write("seeds/repos.csv", "repo\na/a\nb/b\nc/c\n")
	write("models/sources.yml", `sources:
  - name: landing
    schema: raw
    tables:
      - name: hist_repos
        loaded_at_field: _loaded_at
        freshness: {warn_after: 2h}
  - name: quarry
    schema: raw
    tables:
      - name: _extract_errors
      - name: _load_keys_seen
`)
	write("models/as_of.sql", asOfSQL)
	registry := map[string]extractors.Factory{"hist": func() extractors.Extractor { return h }}
	return func(mustPass bool, sel, excl []string) *run.Report {
		t.Helper()
		p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
		if err != nil {
			t.Fatal(err)
		}
		ids, _, err := selector.Select(p, sel, excl)
		if err != nil {
			t.Fatal(err)
		}
		res := run.Execute(context.Background(), p, wh, ids, run.Options{Now: func() time.Time { return *clock }, Threads: 1})
		if mustPass && res.Failed() {
			for _, r := range res.Results {
				t.Log(r.UniqueID, r.Status, r.Message)
			}
			t.Fatalf("build %v: %s", sel, res.Summary())
		}
		return res
	}
}

// TestChangeOnlyHistoryAnswersAsOf lands 30 days of hourly loads with
// change-only on and off: on stores a handful of rows where off stores
// one per repository per load, and every as-of answer per day is the same.
func TestChangeOnlyHistoryAnswersAsOf(t *testing.T) {
	if testing.Short() {
		t.Skip("720 hourly loads on and off (about a minute); skipped with -short, run in CI")
	}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	answers := map[bool]string{}
	for _, on := range []bool{true, false} {
		wh, err := duckdb.Open(context.Background(), "", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer wh.Close()
		clock := start
		h := &historyExtractor{start: start}
		build := changeOnlyProject(t, on, wh, &clock, h)
		build(true, []string{"repos"}, nil)
		var last *run.Report
		for hour := 0; hour < 30*24; hour++ {
			clock = start.Add(time.Duration(hour) * time.Hour)
			last = build(true, []string{"hist"}, nil)
		}
		// Freshness counts the loads that stored nothing: the newest
		// stored row is a day old, the newest load an hour.
		clock = clock.Add(time.Hour)
		res := build(true, nil, []string{"hist", "repos"})
		if len(res.Results) < 2 {
			t.Errorf("ran %d nodes, want the freshness test and as_of", len(res.Results))
		}
		for _, r := range res.Results {
			if r.Status != run.StatusSuccess && r.Status != run.StatusPass {
				t.Errorf("change_only=%v: %s %s %q", on, r.UniqueID, r.Status, r.Message)
			}
		}
		stored := query(t, wh, "select count(*) from raw.hist_repos")
		if on {
			// a/a: 3 values, b/b: 1, c/c: 30 days, plus the 30-day
			// history's failures of c/c, after which it is stored again
			// only if it changed (it did not).
			if stored != "34\n" {
				t.Errorf("change-only stored %q rows, want 34", stored)
			}
			msg := last.Results[0].Message
			if !strings.Contains(msg, ": 0 rows from 3 items, 3 unchanged keys recorded as seen") {
				t.Errorf("last load's message: %q", msg)
			}
		} else if stored != fmt.Sprint(30*24*3-15, "\n") {
			t.Errorf("append-only stored %q rows", stored)
		}
		answers[on] = query(t, wh, "select * from main.as_of order by repo, day")
	}
	if answers[true] != answers[false] {
		t.Errorf("as-of answers differ:\nchange-only:\n%s\nappend-only:\n%s", answers[true], answers[false])
	}
	if n := strings.Count(answers[true], "\n"); n != 90 {
		t.Errorf("%d as-of rows, want 3 repositories × 30 days", n)
	}
}

// TestChangeOnlyFailedLoadKeepsNothing injects a failure into the insert
// of the seen entries, after the rows' insert: neither lands.
func TestChangeOnlyFailedLoadKeepsNothing(t *testing.T) {
	wh, err := duckdb.Open(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	clock := start
	h := &historyExtractor{start: start}
	build := changeOnlyProject(t, true, wh, &clock, h)
	build(true, []string{"repos"}, nil)
	build(true, []string{"hist"}, nil)
	// The bookkeeping refuses c/c from now on.
	if err := wh.Exec(context.Background(), "alter table raw._load_keys_seen rename to old_seen; "+
		"create table raw._load_keys_seen (landing_table varchar, key varchar check (key <> 'c/c' or _loaded_at < timestamp '2026-10-01 12:00:00'), row_load_id varchar, "+
		"content_hash varchar, _load_id varchar, _loaded_at timestamp, _source varchar); "+
		"insert into raw._load_keys_seen select * from raw.old_seen"); err != nil {
		t.Fatal(err)
	}
	clock = start.Add(24 * time.Hour) // a/a and b/b unchanged, c/c changed: its row lands first
	before := query(t, wh, "select (select count(*) from raw.hist_repos), (select count(*) from raw._load_keys_seen)")
	if before != "3 3\n" {
		t.Fatalf("before: %q", before)
	}
	res := build(false, []string{"hist"}, nil)
	if r := res.Results[0]; r.Status != run.StatusError || !strings.Contains(r.Message, "no rows or seen keys of load") {
		t.Errorf("failed load: %s %q", r.Status, r.Message)
	}
	if after := query(t, wh, "select (select count(*) from raw.hist_repos), (select count(*) from raw._load_keys_seen)"); after != before {
		t.Errorf("a failed load left rows: before %q, after %q", before, after)
	}
}
