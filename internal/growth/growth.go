// Package growth estimates how fast an append-only table grows, from the
// row counts of its recent loads and their spacing, and projects its size at
// that pace. It is arithmetic only: quarry raw reads the loads and prints
// the answers.
package growth

import (
	"math"
	"slices"
	"time"
)

// Load is one load of a table: when it landed and how many rows it holds
// now.
type Load struct {
	At   time.Time
	Rows int64
}

// Rate is a table's pace, measured over its recent loads.
type Rate struct {
	// Loads is how many loads were measured: the last ones, at most the
	// window asked for.
	Loads int
	// Span is the time from the first measured load to the last.
	Span time.Duration
	// LoadsPerDay is the schedule: the intervals between the measured
	// loads, per day of Span.
	LoadsPerDay float64
	// RowsPerDay is the rows the loads after the first brought, per day of
	// Span: what the table gained over the time it took.
	RowsPerDay float64
}

const day = 24 * time.Hour

// Measure measures the pace over the last window loads (in any order; at
// least two are used whatever window says). It reports false when there is
// nothing to measure: fewer than two loads, or all of them at one instant.
//
// The first measured load only marks where the span starts: the rows
// counted are those of the loads that came after it, within the span, so
// N loads a day of R rows each measure as N*R rows a day whatever the
// window.
func Measure(loads []Load, window int) (Rate, bool) {
	if len(loads) < 2 {
		return Rate{}, false
	}
	window = max(window, 2)
	sorted := slices.SortedStableFunc(slices.Values(loads), func(a, b Load) int { return a.At.Compare(b.At) })
	recent := sorted[max(0, len(sorted)-window):]
	span := recent[len(recent)-1].At.Sub(recent[0].At)
	if span <= 0 {
		return Rate{}, false
	}
	var rows int64
	for _, l := range recent[1:] {
		rows += l.Rows
	}
	days := span.Hours() / 24
	return Rate{
		Loads:       len(recent),
		Span:        span,
		LoadsPerDay: float64(len(recent)-1) / days,
		RowsPerDay:  float64(rows) / days,
	}, true
}

// BytesPerDay converts the pace in rows to one in bytes at the table's
// average bytes per row now (bytes over rows). It reports false for a
// table with no rows, whose bytes per row are unknown.
func (r Rate) BytesPerDay(bytes, rows int64) (float64, bool) {
	if rows <= 0 {
		return 0, false
	}
	return r.RowsPerDay * float64(bytes) / float64(rows), true
}

// Project is a size now grown for days at perDay, rounded to a whole
// number.
func Project(now int64, perDay float64, days int) int64 {
	return now + int64(math.Round(perDay*float64(days)))
}
