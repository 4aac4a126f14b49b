package engine

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// printer writes one progress line per finished node.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	count int
	now   func() time.Time
}

const lineWidth = 64

var statusWords = map[Status]string{
	StatusSuccess: "OK", StatusError: "ERROR", StatusSkipped: "SKIP",
	StatusPass: "PASS", StatusWarn: "WARN", StatusFail: "FAIL",
}

func (pr *printer) line(res *Result) {
	if pr.w == nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.count++
	label := Describe(res.node)
	dots := strings.Repeat(".", max(3, lineWidth-len(label)))
	detail := fmt.Sprintf("%.2fs", res.Duration.Seconds())
	switch {
	case res.Status == StatusSkipped:
		detail = strings.TrimPrefix(res.Message, "skipped: ")
	case res.Failures != nil && *res.Failures > 0:
		detail = fmt.Sprintf("%d %s, %s", *res.Failures, pluralWord(int(*res.Failures), "row", "rows"), detail)
	case res.RowsAffected != nil && res.Status == StatusSuccess:
		detail = fmt.Sprintf("%d %s, %s", *res.RowsAffected, pluralWord(int(*res.RowsAffected), "row", "rows"), detail)
	}
	fmt.Fprintf(pr.w, "%s  %d of %d %-4s %s %s [%s]\n", pr.now().Format("15:04:05"), pr.count, pr.total, statusWords[res.Status], label, dots, detail)
	for _, note := range res.Notes {
		fmt.Fprintf(pr.w, "          %s\n", note)
	}
}

// Describe is how a node is named in progress lines: its materialization
// and relation, or "test NAME".
func Describe(n *Node) string {
	rel := n.Relation.Schema + "." + n.Relation.Name
	switch n.Type {
	case Seed:
		return "seed " + rel
	case Model:
		return n.Config.Materialized + " " + rel
	case Test:
		return "test " + n.Name
	case Extract:
		return "extract " + n.Name
	}
	return string(n.Type) + " " + n.Name
}

// Summary is the closing line of a run: PASS counts built nodes and passing
// tests, ERROR counts errors and failed tests.
func (r *RunResult) Summary() string {
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	return fmt.Sprintf("Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d",
		counts[StatusSuccess]+counts[StatusPass], counts[StatusWarn], counts[StatusError]+counts[StatusFail],
		counts[StatusSkipped], len(r.Results))
}
