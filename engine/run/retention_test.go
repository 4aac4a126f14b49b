package run_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
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

const retentionPolicy = "{all: 14d, daily: 90d, weekly: 1y}"

// retentionProject is changeOnlyProject with retention: on hist_repos.
func retentionProject(t *testing.T, changeOnly bool, wh warehouse.Warehouse, clock *time.Time, h *historyExtractor, opts *run.Options) (build func(sel, excl []string) *run.Report, load func() *project.Project) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) { projecttest.WriteFile(t, filepath.Join(dir, name), data) }
	write("project.yaml", fmt.Sprintf("name: ex\nextractors:\n  hist:\n    input: repos\n    source: landing\n    change_only: %v\n    retention: {hist_repos: %s}\ntargets:\n  dev: {type: duckdb}\n", changeOnly, retentionPolicy))
	write("seeds/repos.csv", "repo\na/a\nb/b\nc/c\n")
	write("models/sources.yml", `sources:
  - name: landing
    schema: raw
    tables:
      - name: hist_repos
  - name: quarry
    schema: raw
    tables:
      - name: _extract_errors
      - name: _load_keys_seen
`)
	write("models/as_of.sql", asOfSQL)
	registry := map[string]extractors.Factory{"hist": func() extractors.Extractor { return h }}
	load = func() *project.Project {
		p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Extractors: registry}, projecttest.Adapters())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	build = func(sel, excl []string) *run.Report {
		t.Helper()
		p := load()
		ids, _, err := selector.Select(p, sel, excl)
		if err != nil {
			t.Fatal(err)
		}
		o := *opts
		o.Now, o.Threads = func() time.Time { return *clock }, 1
		return run.Execute(context.Background(), p, wh, ids, o)
	}
	return build, load
}

// generateHistory lands hourly loads of hist_repos from start for hours
// hours straight into the warehouse, as historyExtractor's loads would
// land them (values, item errors; change-only: rows only when changed,
// and a seen entry per key), and returns their ids and times.
func generateHistory(t *testing.T, wh warehouse.Warehouse, h *historyExtractor, changeOnly bool, hours int) map[string]time.Time {
	t.Helper()
	cols := []warehouse.Column{{Name: "repo", Type: "varchar"}, {Name: "stars", Type: "bigint"}, {Name: "pushed_at", Type: "timestamp"}, {Name: "topics", Type: "varchar"}}
	cols = append(cols, extractors.LoadColumns()...)
	var rows, seen, errs [][]any
	loads := map[string]time.Time{}
	type last struct {
		load  string
		value string
	}
	latest := map[string]last{}
	for hour := range hours {
		at := h.start.Add(time.Duration(hour) * time.Hour)
		id := fmt.Sprintf("g%05d", hour)
		loads[id] = at
		out, err := h.Extract(context.Background(), extractors.Env{Now: at}, []extractors.Item{{Key: "a/a"}, {Key: "b/b"}, {Key: "c/c"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Errors {
			errs = append(errs, []any{id, "hist", e.Item, e.Err, at})
		}
		for _, r := range out.Rows["hist_repos"] {
			key, value := r[0].(string), fmt.Sprint(r[1:]...)
			row := append(slices.Clone(r), id, at, "generated")
			if !changeOnly {
				rows = append(rows, row)
				continue
			}
			prev, ok := latest[key]
			if !ok || prev.value != value {
				rows = append(rows, row)
				prev = last{id, value}
				latest[key] = prev
			}
			seen = append(seen, []any{"hist_repos", key, prev.load, value, id, at, "generated"})
		}
	}
	_, err := wh.AppendRows(context.Background(), []warehouse.Append{
		{Rel: warehouse.Relation{Schema: "raw", Name: "hist_repos"}, Cols: cols, Rows: rows},
		{Rel: warehouse.Relation{Schema: "raw", Name: extractors.SeenTable}, Cols: extractors.SeenColumns(), Rows: seen},
		{Rel: warehouse.Relation{Schema: "raw", Name: extractors.ErrorsTable}, Cols: extractors.ErrorColumns(), Rows: errs},
	})
	if err != nil {
		t.Fatal(err)
	}
	return loads
}

// wantKept is the policy of retentionPolicy, restated: every load younger
// than 14 days, the 23:00 load of each day younger than 90, the Sunday
// 23:00 load of each ISO week younger than a year (the loads are hourly).
func wantKept(loads map[string]time.Time, now time.Time) []string {
	day := 24 * time.Hour
	var out []string
	for id, at := range loads {
		age := now.Sub(at)
		if age < 14*day || age < 90*day && at.Hour() == 23 || age < 365*day && at.Hour() == 23 && at.Weekday() == time.Sunday {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// loadsIn lists the loads a table holds: the seeing loads and the loads
// of stored rows without seen entries.
func loadsIn(t *testing.T, wh warehouse.Warehouse) []string {
	t.Helper()
	got := strings.Fields(query(t, wh, `select _load_id from raw._load_keys_seen union
		select _load_id from raw.hist_repos r where not exists (select 1 from raw._load_keys_seen s where s._load_id = r._load_id) order by 1`))
	return got
}

// TestRetentionYearOfLoads generates 400 days of hourly loads, lands one
// more through the extractor, and checks that retention keeps exactly the
// loads its policy says, change-only or not; that a stored row a kept
// load still points at survives its load; that the item errors of deleted
// loads go; and that the as-of answers of the days kept, and the latest
// values, are unchanged.
func TestRetentionYearOfLoads(t *testing.T) {
	for _, changeOnly := range []bool{true, false} {
		t.Run(fmt.Sprintf("change_only=%v", changeOnly), func(t *testing.T) {
			wh, err := duckdb.Open(context.Background(), "", 1)
			if err != nil {
				t.Fatal(err)
			}
			defer wh.Close()
			start := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
			const hours = 400 * 24
			now := start.Add(hours * time.Hour)
			clock := now
			h := &historyExtractor{start: start}
			build, _ := retentionProject(t, changeOnly, wh, &clock, h, &run.Options{})
			// Seed the items and create the landing tables, without a load.
			if res := build([]string{"repos"}, nil); res.Failed() {
				t.Fatal(res.Summary())
			}
			mustExec(t, wh, "create schema if not exists raw")
			mustExec(t, wh, "create table if not exists raw.hist_repos (repo varchar, stars bigint, pushed_at timestamp, topics varchar, _load_id varchar, _loaded_at timestamp, _source varchar)")
			mustExec(t, wh, "create table if not exists raw._load_keys_seen (landing_table varchar, key varchar, row_load_id varchar, content_hash varchar, _load_id varchar, _loaded_at timestamp, _source varchar)")
			mustExec(t, wh, "create table if not exists raw._extract_errors (_load_id varchar, extractor varchar, item varchar, error varchar, failed_at timestamp)")
			loads := generateHistory(t, wh, h, changeOnly, hours)
			if res := build([]string{"as_of"}, nil); res.Failed() {
				t.Fatal(res.Summary())
			}
			before := query(t, wh, "select * from main.as_of order by repo, day")

			res := build([]string{"hist"}, nil)
			if r := res.Results[0]; r.Status != run.StatusSuccess || !strings.Contains(r.Message, "; retention deleted hist_repos ") {
				t.Fatalf("load: %s %q", r.Status, r.Message)
			}
			want := wantKept(loads, now)
			got := loadsIn(t, wh)
			// The extractor's load at now is the newest: kept, and not generated.
			var extracted []string
			got = slices.DeleteFunc(got, func(id string) bool {
				if !strings.HasPrefix(id, "g") {
					extracted = append(extracted, id)
					return true
				}
				return false
			})
			if len(extracted) != 1 {
				t.Errorf("loads not generated: %v, want the one extracted", extracted)
			}
			if !slices.Equal(got, want) {
				t.Errorf("kept %d loads, want %d:\nextra %v\nmissing %v", len(got), len(want), minus(got, want), minus(want, got))
			}
			// 14 days of hours (the one 14 days old is not younger), 76
			// days' last loads, then the Sundays of the rest of the year.
			if n := len(want); n < 14*24+76+38 || n > 14*24+76+40 {
				t.Errorf("the policy restated keeps %d loads", n)
			}
			msg := res.Results[0].Message
			wantMsg := fmt.Sprintf("retention deleted hist_repos %d loads", hours-len(want))
			if !strings.Contains(msg, wantMsg) {
				t.Errorf("message %q, want %q", msg, wantMsg)
			}
			// Every stored row is one a kept load holds or points at.
			if orphans := query(t, wh, `select count(*) from raw.hist_repos r where not exists (
				select 1 from raw._load_keys_seen s where s.row_load_id = r._load_id and s.key = r.repo)
				and exists (select 1 from raw._load_keys_seen s where s._load_id = r._load_id)`); orphans != "0\n" {
				t.Errorf("%s stored rows nothing points at", orphans)
			}
			if errs := query(t, wh, "select count(*) from raw._extract_errors e where e._load_id not in ("+inList(got)+")"); errs != "0\n" {
				t.Errorf("%s item errors of deleted loads are left", errs)
			}
			if errs := query(t, wh, "select count(*) from raw._extract_errors"); errs == "0\n" {
				t.Error("no item errors kept: the test proves nothing about them")
			}

			if res := build([]string{"as_of"}, nil); res.Failed() {
				t.Fatal(res.Summary())
			}
			after := query(t, wh, "select * from main.as_of order by repo, day")
			// The days of the daily tier are answered as before; the
			// extractor's load adds today's answers. A day whose kept
			// (23:00) load failed for c/c has no answer for it any more:
			// retention keeps loads, not each key's last value of the day.
			cut := now.Add(-90 * 24 * time.Hour).Format(time.DateOnly)
			lost := map[string]bool{}
			for hour := 23; hour < hours; hour += 24 {
				if hour%50 == 7 {
					lost[start.Add(time.Duration(hour)*time.Hour).Format(time.DateOnly)] = true
				}
			}
			recent := func(answers string) string {
				var out []string
				for _, line := range strings.Split(strings.TrimSpace(answers), "\n") {
					if f := strings.Fields(line); len(f) > 1 && f[1] > cut && f[1] < now.Format(time.DateOnly) && !(f[0] == "c/c" && lost[f[1]]) {
						out = append(out, line)
					}
				}
				return strings.Join(out, "\n")
			}
			if recent(after) != recent(before) || recent(before) == "" {
				t.Errorf("the as-of answers after %s changed:\nbefore:\n%s\nafter:\n%s", cut, recent(before), recent(after))
			}
			latestSQL := "select repo, stars, pushed_at, topics from main.as_of qualify row_number() over (partition by repo order by day desc) = 1 order by repo"
			if l := query(t, wh, latestSQL); !strings.Contains(l, "a/a 140") || !strings.Contains(l, "c/c 1400") {
				t.Errorf("latest values after retention:\n%s", l)
			}

			// A second run at the same clock deletes nothing more.
			res = build([]string{"hist"}, nil)
			if r := res.Results[0]; r.Status != run.StatusSuccess || strings.Contains(r.Message, "retention deleted") {
				t.Errorf("second load: %s %q", r.Status, r.Message)
			}
		})
	}
}

// TestRetentionFailureLeavesPrevious fails the compaction between its
// statements (the test hook): the load lands, the node fails, nothing of
// the compaction is kept; the next run completes it.
func TestRetentionFailureLeavesPrevious(t *testing.T) {
	wh, err := duckdb.Open(context.Background(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	start := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	const hours = 60 * 24
	clock := start.Add(hours * time.Hour)
	h := &historyExtractor{start: start}
	boom := errors.New("test hook: killed mid-compaction")
	opts := &run.Options{RetentionStep: func(table string, i int) error {
		if i == 2 {
			return boom
		}
		return nil
	}}
	build, _ := retentionProject(t, true, wh, &clock, h, opts)
	if res := build([]string{"repos"}, nil); res.Failed() {
		t.Fatal(res.Summary())
	}
	mustExec(t, wh, "create schema if not exists raw")
	mustExec(t, wh, "create table if not exists raw.hist_repos (repo varchar, stars bigint, pushed_at timestamp, topics varchar, _load_id varchar, _loaded_at timestamp, _source varchar)")
	mustExec(t, wh, "create table if not exists raw._load_keys_seen (landing_table varchar, key varchar, row_load_id varchar, content_hash varchar, _load_id varchar, _loaded_at timestamp, _source varchar)")
	mustExec(t, wh, "create table if not exists raw._extract_errors (_load_id varchar, extractor varchar, item varchar, error varchar, failed_at timestamp)")
	generateHistory(t, wh, h, true, hours)
	state := func() string {
		return query(t, wh, "select (select count(*) from raw.hist_repos), (select count(*) from raw._load_keys_seen), (select count(*) from raw._extract_errors), "+
			"(select count(*) from raw._load_keys_seen where _source = 'generated'), (select string_agg(distinct _load_id, ',' order by _load_id) from raw.hist_repos where _source = 'generated')")
	}
	before := state()
	res := build([]string{"hist"}, nil)
	r := res.Results[0]
	if r.Status != run.StatusError || !strings.Contains(r.Message, "the load landed, but retention of hist_repos (nothing was deleted)") || !strings.Contains(r.Message, boom.Error()) {
		t.Fatalf("failed compaction: %s %q", r.Status, r.Message)
	}
	after := state()
	// The new load's seen entries are there; nothing generated has gone.
	if strings.Fields(after)[3] != strings.Fields(before)[3] || strings.Fields(after)[4] != strings.Fields(before)[4] {
		t.Errorf("a failed compaction changed the history:\nbefore %s\nafter  %s", before, after)
	}
	opts.RetentionStep = nil
	res = build([]string{"hist"}, nil)
	if r := res.Results[0]; r.Status != run.StatusSuccess || !strings.Contains(r.Message, "retention deleted hist_repos") {
		t.Fatalf("next run: %s %q", r.Status, r.Message)
	}
	loads := map[string]time.Time{}
	for hour := range hours {
		loads[fmt.Sprintf("g%05d", hour)] = start.Add(time.Duration(hour) * time.Hour)
	}
	got := slices.DeleteFunc(loadsIn(t, wh), func(id string) bool { return !strings.HasPrefix(id, "g") })
	if want := wantKept(loads, clock); !slices.Equal(got, want) {
		t.Errorf("after the next run: extra %v, missing %v", minus(got, want), minus(want, got))
	}
}

func mustExec(t *testing.T, wh warehouse.Warehouse, sql string) {
	t.Helper()
	if err := wh.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	if len(out) > 5 {
		return append(out[:5], fmt.Sprintf("… %d more", len(out)-5))
	}
	return out
}

func inList(ids []string) string {
	var q []string
	for _, id := range ids {
		q = append(q, "'"+id+"'")
	}
	q = append(q, "''")
	return strings.Join(q, ", ")
}
