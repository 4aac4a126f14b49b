package pypi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"

	"github.com/quarrydev/quarry/extractors"
)

// checkEstimates sums what can run, refuses a query over the cap before
// any is billed, and ends the node on a systemic failure.
func TestCheckEstimates(t *testing.T) {
	w := window{start: day("2024-03-01"), end: day("2024-03-09")}
	p := []*pkg{{name: "pandas", label: "pandas", win: w}, {name: "numpy", label: "numpy", win: w}}
	b := &bqRun{run: &run{cfg: config{maxBytes: 100}, env: extractors.Env{Logf: func(string, ...any) {}}}}

	got, err := b.checkEstimates([]*bqJob{{pkgs: p, win: w, estimate: 40}, {estimate: 50}, {pkgs: p, win: w, err: errors.New("bad")}})
	if err != nil || got != 90 {
		t.Errorf("checkEstimates = %d, %v; want 90 bytes, no error", got, err)
	}
	_, err = b.checkEstimates([]*bqJob{{pkgs: p, win: w, estimate: 101}, {estimate: 200}})
	if err == nil || !strings.Contains(err.Error(), "downloads query for 2 packages (2024-03-01 to 2024-03-09) estimates 101 bytes") ||
		!strings.Contains(err.Error(), "1 more queries are over it too") {
		t.Errorf("over the cap: err = %v", err)
	}
	_, err = b.checkEstimates([]*bqJob{{pkgs: p, win: w, estimate: 1}, {err: &googleapi.Error{Code: http.StatusForbidden}}})
	if err == nil {
		t.Errorf("a 403 dry run did not end the node")
	}
	_, err = b.checkEstimates([]*bqJob{{err: errors.New("first")}, {err: errors.New("second")}})
	if err == nil || !strings.Contains(err.Error(), "every dry run failed: first") {
		t.Errorf("every dry run failed: err = %v", err)
	}
}

// planJobs queries downloads only for packages not up to date, one query
// per window in order of first appearance, and metadata for all of them.
func TestPlanJobs(t *testing.T) {
	b := &bqRun{run: &run{env: extractors.Env{Logf: func(string, ...any) {}}, today: day("2024-03-10")}, downloads: "`d.file_downloads`", metaTable: "`d.distribution_metadata`"}
	w1 := window{start: day("2024-03-01"), end: day("2024-03-09")}
	w2 := window{start: day("2024-03-09"), end: day("2024-03-09")}
	b.pkgs = []*pkg{{name: "a", win: w1}, {name: "b", upToDate: true}, {name: "c", win: w2}, {name: "d", win: w1}}
	jobs, meta, upToDate := b.planJobs()
	var got []string
	for _, j := range jobs {
		got = append(got, fmt.Sprintf("%s..%s %v", j.win.start.Format(time.DateOnly), j.win.end.Format(time.DateOnly), j.params[0].Value))
	}
	want := []string{"2024-03-01..2024-03-09 [a d]", "2024-03-09..2024-03-09 [c]"}
	if d := cmp.Diff(want, got); d != "" || upToDate != 1 {
		t.Errorf("planJobs: up to date %d, want 1; jobs (-want +got):\n%s", upToDate, d)
	}
	for _, j := range jobs {
		if j.params[0].Name != "packages" || !strings.Contains(j.sql, "IN UNNEST(@packages)") {
			t.Errorf("job %s: parameter %s, SQL:\n%s", j.win.start, j.params[0].Name, j.sql)
		}
	}
	if names, _ := meta.params[0].Value.([]string); len(names) != 4 {
		t.Errorf("metadata query for %v, want every package", meta.params[0].Value)
	}
}
