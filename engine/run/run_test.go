package run_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/selector"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
)

// fakeWarehouse records what the scheduler asks of it. Statements whose
// SQL contains "boom" fail; every statement takes delay.
type fakeWarehouse struct {
	duckdb.Dialect
	delay   time.Duration
	block   chan struct{} // when set, statements wait for it to close
	started chan string   // when set, receives each relation as it starts

	mu      sync.Mutex
	order   []string
	running atomic.Int32
	peak    atomic.Int32
}

func (f *fakeWarehouse) do(ctx context.Context, rel warehouse.Relation, sql string) error {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if f.started != nil {
		f.started <- rel.Name
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	f.order = append(f.order, rel.Name)
	f.mu.Unlock()
	if strings.Contains(sql, "boom") {
		return fmt.Errorf("Binder Error: column boom does not exist")
	}
	return nil
}

func (f *fakeWarehouse) EnsureSchema(context.Context, string) error { return nil }
func (f *fakeWarehouse) Lookup(context.Context, warehouse.Relation) (warehouse.Kind, error) {
	return warehouse.KindNone, nil
}
func (f *fakeWarehouse) Catalog(context.Context, []string) ([]warehouse.RelationInfo, error) {
	return nil, nil
}
func (f *fakeWarehouse) TableBytes(context.Context, []warehouse.Relation) (map[warehouse.Relation]int64, error) {
	return nil, nil
}
func (f *fakeWarehouse) Columns(context.Context, warehouse.Relation) ([]warehouse.ColumnInfo, error) {
	return nil, warehouse.ErrNotFound
}
func (f *fakeWarehouse) CreateView(ctx context.Context, rel warehouse.Relation, sql string) error {
	return f.do(ctx, rel, sql)
}
func (f *fakeWarehouse) CreateTable(ctx context.Context, rel warehouse.Relation, sql string) (int64, error) {
	return 1, f.do(ctx, rel, sql)
}
func (f *fakeWarehouse) Incremental(ctx context.Context, rel warehouse.Relation, sql string, _ []string) (int64, error) {
	return 1, f.do(ctx, rel, sql)
}
func (f *fakeWarehouse) LoadRows(ctx context.Context, rel warehouse.Relation, _ []warehouse.Column, rows [][]any, _ bool) (int64, error) {
	return int64(len(rows)), f.do(ctx, rel, "")
}
func (f *fakeWarehouse) AppendRows(ctx context.Context, appends []warehouse.Append) ([]int64, error) {
	out := make([]int64, len(appends))
	for i, a := range appends {
		out[i] = int64(len(a.Rows))
		if err := f.do(ctx, a.Rel, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}
func (f *fakeWarehouse) Publish(context.Context, warehouse.Relation, warehouse.Relation) error {
	return nil
}
func (f *fakeWarehouse) Drop(context.Context, warehouse.Relation) error { return nil }
func (f *fakeWarehouse) Exec(context.Context, string) error             { return nil }
func (f *fakeWarehouse) ExecTx(_ context.Context, stmts []string, _ func(int) error) ([]int64, error) {
	return make([]int64, len(stmts)), nil
}
func (f *fakeWarehouse) Query(_ context.Context, sql string, _ int) (*warehouse.Result, error) {
	if strings.HasPrefix(sql, "select count(*)") { // a test's failure count: none
		return &warehouse.Result{Columns: []string{"count"}, Rows: [][]any{{int64(0)}}}, nil
	}
	return &warehouse.Result{}, nil
}
func (f *fakeWarehouse) Close() error { return nil }

func statuses(res *run.Report) map[string]run.Status {
	out := map[string]run.Status{}
	for _, r := range res.Results {
		out[strings.TrimPrefix(r.UniqueID, "model.t.")] = r.Status
	}
	return out
}

func TestFailureSkipsDescendantsOnly(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"models/a.sql":      "select 1",
		"models/bad.sql":    "select boom from {{ ref \"a\" }}",
		"models/child.sql":  "select * from {{ ref \"bad\" }}",
		"models/eph.sql":    "{{ config \"materialized\" \"ephemeral\" }}select * from {{ ref \"child\" }}",
		"models/gchild.sql": "select * from {{ ref \"eph\" }}",
		"models/other.sql":  "select * from {{ ref \"a\" }}",
	})
	ids, _, err := selector.Select(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := run.Execute(context.Background(), p, &fakeWarehouse{}, ids, run.Options{Threads: 2})
	want := map[string]run.Status{"a": "success", "bad": "error", "child": "skipped", "gchild": "skipped", "other": "success"}
	if got := statuses(res); !mapsEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	for _, r := range res.Results {
		if strings.HasSuffix(r.UniqueID, "gchild") && !strings.Contains(r.Message, "upstream model bad failed") {
			t.Errorf("skip message %q should name the failed upstream", r.Message)
		}
		if strings.HasSuffix(r.UniqueID, ".bad") && !strings.Contains(r.Message, "target/compiled/models/bad.sql") {
			t.Errorf("error message %q should name the compiled file", r.Message)
		}
	}
	if !res.Failed() || !strings.Contains(res.Summary(), "PASS=2 WARN=0 ERROR=1 SKIP=2 TOTAL=5") {
		t.Errorf("summary %q", res.Summary())
	}
}

func mapsEqual(a, b map[string]run.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDependencyOrderAndThreads(t *testing.T) {
	files := map[string]string{"models/root.sql": "select 1"}
	for i := range 8 {
		files[fmt.Sprintf("models/leaf%d.sql", i)] = "select * from {{ ref \"root\" }}"
	}
	files["models/sink.sql"] = "select 1 {{ range $i := until 8 }} union all select * from {{ ref (printf \"leaf%d\" $i) }}{{ end }}"
	p := projecttest.Load(t, files)
	ids, _, _ := selector.Select(p, nil, nil)
	for _, threads := range []int{1, 4} {
		wh := &fakeWarehouse{delay: 20 * time.Millisecond}
		res := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: threads})
		if res.Failed() || len(res.Results) != 10 {
			t.Fatalf("threads=%d: %s", threads, res.Summary())
		}
		if wh.order[0] != "root" || wh.order[len(wh.order)-1] != "sink" {
			t.Errorf("threads=%d: order %v must start with root and end with sink", threads, wh.order)
		}
		if got := int(wh.peak.Load()); got != threads {
			t.Errorf("threads=%d: peak concurrency %d", threads, got)
		}
	}
}

func TestDrainFinishesRunningAndSkipsTheRest(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"models/a.sql": "select 1",
		"models/b.sql": "select * from {{ ref \"a\" }}",
		"models/c.sql": "select * from {{ ref \"b\" }}",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	wh := &fakeWarehouse{block: make(chan struct{}), started: make(chan string, 3)}
	drain := make(chan struct{})
	done := make(chan *run.Report)
	go func() {
		done <- run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 2, Drain: drain})
	}()
	if got := <-wh.started; got != "a" {
		t.Fatalf("first started %q", got)
	}
	close(drain)    // first Ctrl-C: start nothing new
	close(wh.block) // let the running node finish
	res := <-done
	want := map[string]run.Status{"a": "success", "b": "skipped", "c": "skipped"}
	if got := statuses(res); !mapsEqual(got, want) || !res.Interrupted {
		t.Fatalf("statuses = %v (interrupted=%v), want %v", got, res.Interrupted, want)
	}
}

// The drain begins while the scheduler reports a finished node, so the
// children that node readies must not start: deterministic, unlike racing
// the drain against a node's completion.
func TestDrainStartsNothingAfterIt(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"models/a.sql": "select 1",
		"models/b.sql": "select * from {{ ref \"a\" }}",
		"models/c.sql": "select * from {{ ref \"a\" }}",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	wh := &fakeWarehouse{}
	drain := make(chan struct{})
	var once sync.Once
	onResult := func(*run.Result, run.Progress) {
		once.Do(func() { close(drain) }) // Ctrl-C as a's result is reported
	}
	res := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 2, Drain: drain, OnResult: onResult})
	if !slices.Equal(wh.order, []string{"a"}) {
		t.Errorf("ran %v after the drain began, want only a", wh.order)
	}
	want := map[string]run.Status{"a": "success", "b": "skipped", "c": "skipped"}
	if got := statuses(res); !mapsEqual(got, want) || !res.Interrupted {
		t.Fatalf("statuses = %v (interrupted=%v), want %v", got, res.Interrupted, want)
	}
}

// A mart (audited: its tests run inside its node) whose SQL fails is one
// error: its tests and what reads it are skipped, naming it.
func TestFailedMartSkipsItsTestsAndDescendants(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"project.yaml":         "name: t\nmodels:\n  marts: {materialized: table}\ntargets:\n  dev: {type: duckdb}\n",
		"models/base.sql":      "select 1 as id",
		"models/other.sql":     "select 1 as id",
		"models/marts/m.sql":   "select boom as id from {{ ref \"base\" }}",
		"models/marts/top.sql": "select * from {{ ref \"m\" }}",
		"models/props.yml": "models:\n  - name: m\n    columns:\n      - name: id\n        tests:\n          - unique\n          - not_null\n" +
			"          - relationships: {to: other, field: id}\n",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	var reported []*run.Result
	onResult := func(r *run.Result, _ run.Progress) { reported = append(reported, r) }
	res := run.Execute(context.Background(), p, &fakeWarehouse{}, ids, run.Options{Threads: 2, OnResult: onResult})
	want := map[string]run.Status{
		"base": "success", "other": "success", "m": "error", "top": "skipped",
		"test.t.unique_m_id": "skipped", "test.t.not_null_m_id": "skipped", "test.t.relationships_m_id__other_id": "skipped",
	}
	if got := statuses(res); !mapsEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	for _, r := range res.Results {
		if r.Status == run.StatusSkipped && r.Message != "skipped: upstream model m failed" {
			t.Errorf("%s: %q, want it to name the failed model", r.UniqueID, r.Message)
		}
	}
	if got := res.Summary(); got != "Done. PASS=2 WARN=0 ERROR=1 SKIP=4 TOTAL=7" {
		t.Errorf("summary %q", got)
	}
	for _, r := range reported {
		if strings.Contains(r.Message, "never scheduled") {
			t.Errorf("%s: reported as %q, blaming the plan", r.UniqueID, r.Message)
		}
	}
}

// failingSchema fails to create one schema.
type failingSchema struct {
	*fakeWarehouse
	schema string
}

func (f failingSchema) EnsureSchema(_ context.Context, schema string) error {
	if schema == f.schema {
		return fmt.Errorf("permission denied for database")
	}
	return nil
}

// A schema that cannot be created is one error, on the first node writing
// there; nothing runs and the rest are skipped, saying why.
func TestSchemaFailureIsOneError(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"project.yaml":       "name: t\nmodels:\n  marts: {materialized: table, schema: public}\ntargets:\n  dev: {type: duckdb}\n",
		"models/a.sql":       "select 1 as id",
		"models/marts/m.sql": "select * from {{ ref \"a\" }}",
		"models/marts/n.sql": "select * from {{ ref \"a\" }}",
		"models/props.yml":   "models:\n  - name: m\n    columns:\n      - name: id\n        tests: [unique]\n",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	wh := failingSchema{&fakeWarehouse{}, "public"}
	res := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 2})
	want := map[string]run.Status{"a": "skipped", "m": "error", "n": "skipped", "test.t.unique_m_id": "skipped"}
	if got := statuses(res); !mapsEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	for _, r := range res.Results {
		switch {
		case r.Status == run.StatusError && r.Message != "create schema public: permission denied for database":
			t.Errorf("error %q", r.Message)
		case r.Status == run.StatusSkipped && r.Message != "skipped: schema public could not be created":
			t.Errorf("%s: %q", r.UniqueID, r.Message)
		}
	}
	if len(wh.order) != 0 {
		t.Errorf("ran %v", wh.order)
	}
	if got := res.Summary(); got != "Done. PASS=0 WARN=0 ERROR=1 SKIP=3 TOTAL=4" {
		t.Errorf("summary %q", got)
	}
}

func TestCancelStopsRunningStatements(t *testing.T) {
	p := projecttest.Load(t, map[string]string{"models/a.sql": "select 1", "models/b.sql": "select 2"})
	ids, _, _ := selector.Select(p, nil, nil)
	wh := &fakeWarehouse{block: make(chan struct{}), started: make(chan string, 2)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *run.Report)
	go func() { done <- run.Execute(ctx, p, wh, ids, run.Options{Threads: 2}) }()
	<-wh.started
	<-wh.started
	cancel()
	select {
	case res := <-done:
		for _, r := range res.Results {
			if r.Status != run.StatusError || !strings.Contains(r.Message, "cancelled") {
				t.Errorf("%s: %s %q, want a cancelled error", r.UniqueID, r.Status, r.Message)
			}
		}
		if !res.Interrupted {
			t.Error("run not marked interrupted")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not stop the run")
	}
}

// Tests that read two models gate the children of what they test; with two
// such tests crossing (the datamart's shape) a naive plan waits on itself.
func TestCrossingTestsDoNotDeadlock(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"project.yaml":           "name: t\nmodels:\n  marts: {materialized: table}\ntargets:\n  dev: {type: duckdb}\n",
		"models/marts/dim.sql":   "select 1 as id",
		"models/marts/fct.sql":   "select 1 as id",
		"models/marts/week.sql":  "select * from {{ ref \"fct\" }}",
		"models/marts/over.sql":  "select * from {{ ref \"dim\" }} join {{ ref \"fct\" }} using (id)",
		"tests/over_matches.sql": "select * from {{ ref \"fct\" }} join {{ ref \"over\" }} using (id) where false",
		"models/props.yml":       "models:\n  - name: week\n    columns:\n      - name: id\n        tests:\n          - relationships: {to: dim, field: id}\n",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	done := make(chan *run.Report)
	go func() { done <- run.Execute(context.Background(), p, &fakeWarehouse{}, ids, run.Options{Threads: 2}) }()
	select {
	case res := <-done:
		for _, r := range res.Results {
			if r.Status != run.StatusSuccess && r.Status != run.StatusPass {
				t.Errorf("%s: %s %s", r.UniqueID, r.Status, r.Message)
			}
		}
		if len(res.Results) != 6 {
			t.Errorf("%d results, want 6", len(res.Results))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run never finished")
	}
}

// OnResult hears of every result, once, in the order of Report.Results,
// with a count that reaches the total: also when the run cannot start.
func TestOnResultReportsEveryNodeInOrder(t *testing.T) {
	files := map[string]string{
		"project.yaml":       "name: t\nmodels:\n  marts: {materialized: table, schema: public}\ntargets:\n  dev: {type: duckdb}\n",
		"models/a.sql":       "select 1 as id",
		"models/marts/m.sql": "select boom as id from {{ ref \"a\" }}",
		"models/marts/n.sql": "select * from {{ ref \"a\" }}",
		"models/props.yml":   "models:\n  - name: m\n    config: {publish: audited}\n    columns:\n      - name: id\n        tests: [unique]\n",
	}
	for _, tc := range []struct {
		name string
		wh   warehouse.Warehouse
	}{
		{"run", &fakeWarehouse{}},
		{"setup failed", failingSchema{&fakeWarehouse{}, "public"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := projecttest.Load(t, files)
			ids, _, _ := selector.Select(p, nil, nil)
			var reported []*run.Result
			var progress []run.Progress
			res := run.Execute(context.Background(), p, tc.wh, ids, run.Options{Threads: 2, OnResult: func(r *run.Result, pr run.Progress) {
				reported = append(reported, r)
				progress = append(progress, pr)
			}})
			if len(res.Results) != 4 || !slices.Equal(reported, res.Results) {
				t.Fatalf("reported %d results, want the run's %d in its order", len(reported), len(res.Results))
			}
			for i, pr := range progress {
				if want := (run.Progress{Done: i + 1, Total: 4}); pr != want {
					t.Errorf("result %d (%s): progress %+v, want %+v", i, reported[i].UniqueID, pr, want)
				}
			}
		})
	}
}

// With FailFast and one thread, the first failure (bad1, first by id)
// skips every node not yet started, independent ones too, for the
// fail-fast; its own descendant for the failure; the run is not
// interrupted.
func TestFailFastSkipsEverythingNotStarted(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"models/bad1.sql":  "select boom",
		"models/bad2.sql":  "select boom",
		"models/child.sql": "select * from {{ ref \"bad1\" }}",
		"models/other.sql": "select 1",
	})
	ids, _, err := selector.Select(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wh := &fakeWarehouse{}
	res := run.Execute(context.Background(), p, wh, ids, run.Options{Threads: 1, FailFast: true})
	want := map[string]run.Status{"bad1": "error", "bad2": "skipped", "child": "skipped", "other": "skipped"}
	if got := statuses(res); !mapsEqual(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if !slices.Equal(wh.order, []string{"bad1"}) {
		t.Errorf("the warehouse ran %v, want only bad1", wh.order)
	}
	for _, r := range res.Results {
		wantMsg := map[string]string{
			"bad2": "skipped: --fail-fast after model bad1 failed", "other": "skipped: --fail-fast after model bad1 failed",
			"child": "skipped: upstream model bad1 failed",
		}[strings.TrimPrefix(r.UniqueID, "model.t.")]
		if wantMsg != "" && r.Message != wantMsg {
			t.Errorf("%s: message %q, want %q", r.UniqueID, r.Message, wantMsg)
		}
	}
	if res.Interrupted || !res.Failed() {
		t.Errorf("interrupted %v, failed %v: want a failed run, not an interrupted one", res.Interrupted, res.Failed())
	}
	if s := res.Summary(); !strings.Contains(s, "PASS=0 WARN=0 ERROR=1 SKIP=3 TOTAL=4") {
		t.Errorf("summary %q", s)
	}
}

// OnStart hears of each node that runs, once, before its result, and never
// at the same time as another callback; skipped nodes and the tests run
// inside an audited table are not announced.
func TestOnStartAnnouncesEveryNodeThatRuns(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"project.yaml":       "name: t\nmodels:\n  marts: {materialized: table, schema: public}\ntargets:\n  dev: {type: duckdb}\n",
		"models/a.sql":       "select 1 as id",
		"models/marts/m.sql": "select boom as id from {{ ref \"a\" }}",
		"models/marts/n.sql": "select * from {{ ref \"a\" }}",
		"models/marts/o.sql": "select * from {{ ref \"m\" }}",
		"models/props.yml":   "models:\n  - name: m\n    config: {publish: audited}\n    columns:\n      - name: id\n        tests: [unique]\n",
	})
	ids, _, _ := selector.Select(p, nil, nil)
	var inside atomic.Int32
	var concurrent atomic.Bool
	enter := func() {
		if inside.Add(1) > 1 {
			concurrent.Store(true)
		}
		time.Sleep(time.Millisecond) // widen the window for an overlap
	}
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	run.Execute(context.Background(), p, &fakeWarehouse{delay: time.Millisecond}, ids, run.Options{Threads: 4,
		OnStart: func(n *project.Node) {
			enter()
			defer inside.Add(-1)
			record("start " + n.Name)
		},
		OnResult: func(r *run.Result, _ run.Progress) {
			enter()
			defer inside.Add(-1)
			record(string(r.Status) + " " + r.Node().Name)
		},
	})
	if concurrent.Load() {
		t.Error("OnStart and OnResult were called concurrently")
	}
	for _, name := range []string{"a", "m", "n"} {
		start := slices.Index(events, "start "+name)
		if start < 0 || slices.Index(events[start+1:], "start "+name) >= 0 {
			t.Errorf("%s announced %d times, want once: %q", name, strings.Count(strings.Join(events, "\n"), "start "+name+"\n"), events)
			continue
		}
		if !slices.ContainsFunc(events[start+1:], func(e string) bool { return strings.HasSuffix(e, " "+name) && !strings.HasPrefix(e, "start ") }) {
			t.Errorf("%s: no result after its start: %q", name, events)
		}
	}
	if slices.Contains(events, "start o") {
		t.Errorf("the skipped node o was announced: %q", events)
	}
}
