package pypi

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/extractors/httprec"
)

// A run recorded with httprec replays with the services gone: every
// request the extractor makes (BigQuery's job ids included) is the same
// in the replay, which lands the same rows.
func TestRecordReplay(t *testing.T) {
	for _, backend := range []string{"bigquery", "pypistats"} {
		t.Run(backend, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rec")
			var h *harness
			var stop func()
			if backend == "bigquery" {
				f := newFakeBigQuery(t)
				seedFakeData(f)
				h = bigQueryHarness(t, f, map[string]any{"lookback_days": 3})
				stop = f.srv.Close
			} else {
				f := newFakePypistats(t)
				seedPypistats(f)
				h = pypistatsHarness(t, f, map[string]any{"lookback_days": 3})
				stop = f.srv.Close
			}
			h.last["pandas"] = day("2024-03-07")
			items := seed("airflow", "apache-airflow", "dbt", "dbt-core", "pandas", "pandas")

			run := func(s *httprec.Session) *extractors.Result {
				t.Helper()
				env := h.env
				env.HTTP = s.Client()
				env.Replaying = s.Replaying()
				e, _ := testExtractor()
				res, err := e.Extract(context.Background(), env, items)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return res
			}
			rec, err := httprec.Record(dir, testNow, nil)
			if err != nil {
				t.Fatal(err)
			}
			recorded := run(rec)
			if len(recorded.Rows[TableDownloads]) == 0 {
				t.Fatal("the recorded run landed nothing")
			}
			stop() // the service is gone: a replayed request that does not match fails

			rep, err := httprec.Replay(dir)
			if err != nil {
				t.Fatal(err)
			}
			replayed := run(rep)
			if d := cmp.Diff(recorded.Rows, replayed.Rows); d != "" {
				t.Errorf("replayed rows differ (-recorded +replayed):\n%s", d)
			}
			if d := cmp.Diff(recorded.Errors, replayed.Errors); d != "" {
				t.Errorf("replayed errors differ (-recorded +replayed):\n%s", d)
			}
		})
	}
}
