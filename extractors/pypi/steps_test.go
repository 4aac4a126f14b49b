package pypi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/api/googleapi"

	"github.com/quarrydev/quarry/extractors"
)

// checkEstimates sums what can run, refuses a query over the cap before
// any is billed, and ends the node on a systemic failure.
func TestCheckEstimates(t *testing.T) {
	p := &pkg{name: "pandas", label: "pandas", win: window{start: day("2024-03-01"), end: day("2024-03-09")}}
	b := &bqRun{run: &run{cfg: config{maxBytes: 100}, env: extractors.Env{Logf: func(string, ...any) {}}}}

	got, err := b.checkEstimates([]*bqJob{{pkg: p, estimate: 40}, {estimate: 50}, {pkg: p, err: errors.New("bad")}})
	if err != nil || got != 90 {
		t.Errorf("checkEstimates = %d, %v; want 90 bytes, no error", got, err)
	}
	_, err = b.checkEstimates([]*bqJob{{pkg: p, estimate: 101}, {estimate: 200}})
	if err == nil || !strings.Contains(err.Error(), "downloads query for pandas (2024-03-01 to 2024-03-09) estimates 101 bytes") ||
		!strings.Contains(err.Error(), "1 more queries are over it too") {
		t.Errorf("over the cap: err = %v", err)
	}
	_, err = b.checkEstimates([]*bqJob{{pkg: p, estimate: 1}, {err: &googleapi.Error{Code: http.StatusForbidden}}})
	if err == nil {
		t.Errorf("a 403 dry run did not end the node")
	}
	_, err = b.checkEstimates([]*bqJob{{err: errors.New("first")}, {err: errors.New("second")}})
	if err == nil || !strings.Contains(err.Error(), "every dry run failed: first") {
		t.Errorf("every dry run failed: err = %v", err)
	}
}

// planJobs queries downloads only for packages not up to date, and
// metadata for all of them.
func TestPlanJobs(t *testing.T) {
	b := &bqRun{run: &run{env: extractors.Env{Logf: func(string, ...any) {}}, today: day("2024-03-10")}, downloads: "`d.file_downloads`", metaTable: "`d.distribution_metadata`"}
	b.pkgs = []*pkg{{name: "a"}, {name: "b", upToDate: true}}
	jobs, meta, upToDate := b.planJobs()
	if len(jobs) != 1 || jobs[0].pkg != b.pkgs[0] || upToDate != 1 {
		t.Errorf("planJobs: %d jobs, up to date %d; want a's only, 1", len(jobs), upToDate)
	}
	if names, _ := meta.params[0].Value.([]string); len(names) != 2 {
		t.Errorf("metadata query for %v, want both packages", meta.params[0].Value)
	}
}
