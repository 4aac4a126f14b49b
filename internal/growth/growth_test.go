package growth

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// hourly is n loads an hour apart from t0, of rows each.
func hourly(n int, rows int64) []Load {
	var out []Load
	for i := range n {
		out = append(out, Load{At: t0.Add(time.Duration(i) * time.Hour), Rows: rows})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMeasureHourly(t *testing.T) {
	// 72 hourly loads of 10 rows: 24 loads and 240 rows a day, whatever
	// the window.
	for _, window := range []int{2, 10, 72, 1000} {
		r, ok := Measure(hourly(72, 10), window)
		if !ok {
			t.Fatalf("window %d: not measured", window)
		}
		if !near(r.LoadsPerDay, 24) || !near(r.RowsPerDay, 240) {
			t.Errorf("window %d: %+v, want 24 loads and 240 rows a day", window, r)
		}
		if want := min(window, 72); r.Loads != want || r.Span != time.Duration(want-1)*time.Hour {
			t.Errorf("window %d: measured %d loads over %v, want %d over %dh", window, r.Loads, r.Span, want, want-1)
		}
	}
}

func TestMeasureRecentOnly(t *testing.T) {
	// Daily loads of 100 rows, then hourly loads of 5 rows: the last 4
	// loads say 24 loads and 120 rows a day; the older ones are not
	// measured. The input's order does not matter.
	var loads []Load
	for i := range 5 {
		loads = append(loads, Load{At: t0.Add(time.Duration(i) * day), Rows: 100})
	}
	start := t0.Add(5 * day)
	for i := range 4 {
		loads = append(loads, Load{At: start.Add(time.Duration(i) * time.Hour), Rows: 5})
	}
	loads[0], loads[len(loads)-1] = loads[len(loads)-1], loads[0]
	r, ok := Measure(loads, 4)
	if !ok || !near(r.LoadsPerDay, 24) || !near(r.RowsPerDay, 120) {
		t.Errorf("Measure = %+v, %v; want 24 loads and 120 rows a day", r, ok)
	}
	// A wider window spans the change: the last daily load, then the four
	// hourly ones 24h to 27h later, bringing 20 rows in 27 hours.
	r, ok = Measure(loads, 5)
	if !ok || r.Span != 27*time.Hour || !near(r.LoadsPerDay, 4*24.0/27) || !near(r.RowsPerDay, 20*24.0/27) {
		t.Errorf("Measure(window 5) = %+v, %v; want 4 loads and 20 rows per 27h", r, ok)
	}
}

func TestMeasureNothingToMeasure(t *testing.T) {
	if r, ok := Measure(hourly(1, 10), 10); ok {
		t.Errorf("one load measured as %+v", r)
	}
	if r, ok := Measure(nil, 10); ok {
		t.Errorf("no loads measured as %+v", r)
	}
	same := []Load{{At: t0, Rows: 10}, {At: t0, Rows: 10}}
	if r, ok := Measure(same, 10); ok {
		t.Errorf("two loads at one instant measured as %+v", r)
	}
	// A window under 2 still measures two loads.
	if r, ok := Measure(hourly(3, 1), 0); !ok || r.Loads != 2 {
		t.Errorf("window 0: %+v, %v; want the last 2 loads", r, ok)
	}
}

func TestBytesAndProjection(t *testing.T) {
	r, _ := Measure(hourly(25, 10), 25)     // 240 rows a day
	perDay, ok := r.BytesPerDay(48000, 240) // 200 bytes a row
	if !ok || !near(perDay, 48000) {
		t.Errorf("BytesPerDay = %v, %v; want 48000", perDay, ok)
	}
	if _, ok := r.BytesPerDay(1000, 0); ok {
		t.Error("BytesPerDay of a table with no rows: want unknown")
	}
	if got := Project(250, r.RowsPerDay, 30); got != 250+240*30 {
		t.Errorf("Project 30 days = %d, want %d", got, 250+240*30)
	}
	if got := Project(250, r.RowsPerDay, 365); got != 250+240*365 {
		t.Errorf("Project 365 days = %d, want %d", got, 250+240*365)
	}
	if got := Project(0, 0.4, 1); got != 0 {
		t.Errorf("Project rounds: got %d, want 0", got)
	}
	if got := Project(0, 1.0/3, 30); got != 10 {
		t.Errorf("Project(1/3 a day, 30 days) = %d, want 10", got)
	}
}
