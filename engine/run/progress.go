package run

import "fmt"

// Progress is how far a run has come when a node finishes: Done nodes of
// Total, counting the one just finished.
type Progress struct {
	Done, Total int
}

// Summary is the closing line of a run: PASS counts built nodes and passing
// tests, ERROR counts errors and failed tests.
func (r *Report) Summary() string {
	counts := map[Status]int{}
	for _, res := range r.Results {
		counts[res.Status]++
	}
	return fmt.Sprintf("Done. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%d",
		counts[StatusSuccess]+counts[StatusPass], counts[StatusWarn], counts[StatusError]+counts[StatusFail],
		counts[StatusSkipped], len(r.Results))
}
