package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/internal/english"
)

// lineWidth is where the dots of a progress line end, so that the details
// of short labels line up.
const lineWidth = 64

var statusWords = map[run.Status]string{
	run.StatusSuccess: "OK", run.StatusError: "ERROR", run.StatusSkipped: "SKIP",
	run.StatusPass: "PASS", run.StatusWarn: "WARN", run.StatusFail: "FAIL",
}

// formatProgress formats one finished node, stamped with the wall clock
// (not the replayed one): time, count, status, label, dots and a detail
// (its duration, rows, or why it was skipped), then the extractor's notes
// indented under it.
func formatProgress(at time.Time, res *run.Result, p run.Progress) string {
	label := describe(res.Node())
	dots := strings.Repeat(".", max(3, lineWidth-len(label)))
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %d of %d %-4s %s %s [%s]\n", at.Format("15:04:05"), p.Done, p.Total, statusWords[res.Status], label, dots, progressDetail(res))
	for _, note := range res.Notes {
		fmt.Fprintf(&b, "          %s\n", note)
	}
	return b.String()
}

// progressDetail is the bracketed end of a progress line: the duration,
// with the rows built or failing, or why the node was skipped.
func progressDetail(res *run.Result) string {
	detail := fmt.Sprintf("%.2fs", res.Duration.Seconds())
	switch {
	case res.Status == run.StatusSkipped:
		detail = strings.TrimPrefix(res.Message, "skipped: ")
	case res.Failures != nil && *res.Failures > 0:
		detail = fmt.Sprintf("%d %s, %s", *res.Failures, english.Plural(int(*res.Failures), "row", "rows"), detail)
	case res.RowsAffected != nil && res.Status == run.StatusSuccess:
		detail = fmt.Sprintf("%d %s, %s", *res.RowsAffected, english.Plural(int(*res.RowsAffected), "row", "rows"), detail)
	}
	return detail
}

// describe is how a node is named in progress lines: its materialization
// and relation, or "test NAME".
func describe(n *project.Node) string {
	rel := n.Relation.Schema + "." + n.Relation.Name
	switch n.Type {
	case project.Seed:
		return "seed " + rel
	case project.Model:
		return n.Config.Materialized + " " + rel
	case project.Test:
		return "test " + n.Name
	case project.Extract:
		return "extract " + n.Name
	}
	return string(n.Type) + " " + n.Name
}
