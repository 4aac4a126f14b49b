package run

import (
	"slices"
	"time"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// Status is the outcome of one node.
type Status string

const (
	StatusSuccess Status = "success" // a model or seed was built
	StatusError   Status = "error"   // it could not run, or its SQL failed
	StatusSkipped Status = "skipped" // an upstream failed, the run was interrupted, or an audited table was not published
	StatusPass    Status = "pass"    // a test found nothing wrong
	StatusWarn    Status = "warn"    // a test found failures within its warn threshold
	StatusFail    Status = "fail"    // a test found failures past its error threshold
)

// Result is what happened to one node in a run.
type Result struct {
	UniqueID     string
	Status       Status
	Message      string
	RowsAffected *int64
	Failures     *int64 // tests: the number of failing rows
	StartedAt    time.Time
	CompletedAt  time.Time
	Duration     time.Duration
	CompiledPath string
	// Sample holds the first failing rows of a test (at most 5).
	Sample *warehouse.Result
	// Threshold is the condition a failing or warning test met.
	Threshold datatest.Threshold
	// StoredIn names the table holding a test's failing rows, when kept.
	StoredIn string
	// Kept is set when an audited table was not published: it names the
	// live relation, which still holds its previous version.
	Kept string
	// Notes are lines an extractor printed: its mode, warnings, statistics.
	Notes []string
	// BigQuery is what an extract node's BigQuery queries scanned; nil
	// for other nodes and extractors that do not query BigQuery.
	BigQuery *extractors.BigQueryUsage

	node  *project.Node
	extra []*Result // tests run inside this node (write-audit-publish)
}

// Node returns the node the result is about.
func (r *Result) Node() *project.Node { return r.node }

// Report is a whole run: what ran, what failed, what was skipped.
type Report struct {
	Results     []*Result
	StartedAt   time.Time
	Elapsed     time.Duration
	Interrupted bool
}

// Failed reports whether any node errored or any error-severity test failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res *Result) bool {
		return res.Status == StatusError || res.Status == StatusFail
	})
}
