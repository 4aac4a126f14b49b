package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/duckdb"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/extractors/github"
)

// TestRawMeasuresAnHourlyHistory lands a synthetic history in the techpulse
// project's warehouse, 72 hourly GitHub loads of 10 rows and a table of the
// raw schema no extractor declares, and checks what quarry raw -o json
// measures and projects from it.
func TestRawMeasuresAnHourlyHistory(t *testing.T) {
	dir := t.TempDir()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"project.yaml", "models", "seeds", "tests", "macros"} {
		src := filepath.Join(root, part)
		st, err := os.Stat(src)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if st.IsDir() {
			err = os.CopyFS(filepath.Join(dir, part), os.DirFS(src))
		} else {
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(filepath.Join(dir, part), b, 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	wh, err := duckdb.Open(ctx, filepath.Join(dir, "quarry.duckdb"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.EnsureSchema(ctx, "raw"); err != nil {
		t.Fatal(err)
	}
	table := github.New().Tables()[0]
	cols := append(slices.Clone(table.Columns), extractors.LoadColumns()...)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const loads, perLoad = 72, 10
	var rows [][]any
	for l := range loads {
		at := start.Add(time.Duration(l) * time.Hour)
		for i := range perLoad {
			row := make([]any, len(cols))
			for c, col := range cols {
				switch col.Type {
				case "bigint":
					row[c] = int64(i)
				case "boolean":
					row[c] = false
				case "timestamp":
					row[c] = at
				default:
					row[c] = fmt.Sprintf("value %d", i)
				}
			}
			row[len(cols)-3] = fmt.Sprintf("load-%02d", l) // _load_id
			rows = append(rows, row)
		}
	}
	rel := warehouse.Relation{Schema: "raw", Name: table.Name}
	if _, err := wh.LoadRows(ctx, rel, cols, rows, false); err != nil {
		t.Fatal(err)
	}
	extra := warehouse.Relation{Schema: "raw", Name: "hand_made"}
	if _, err := wh.LoadRows(ctx, extra, []warehouse.Column{{Name: "n", Type: "bigint"}}, [][]any{{int64(1)}, {int64(2)}}, false); err != nil {
		t.Fatal(err)
	}
	if err := wh.Close(); err != nil { // and checkpoint: sizes count checkpointed blocks
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := cli([]string{"--project-dir", dir, "raw", "-o", "json", "--window", "24"}, &stdout, &stderr); code != 0 {
		t.Fatalf("quarry raw exited %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	var report rawReport
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("quarry raw -o json printed no JSON: %v\n%s", err, stdout.String())
	}
	byName := map[string]rawTable{}
	for _, tb := range report.Tables {
		byName[tb.Name] = tb
	}
	var names []string
	for _, tb := range report.Tables {
		names = append(names, tb.Schema+"."+tb.Name)
	}
	if got := strings.Join(names, " "); got != "raw._extract_errors raw.github_repositories raw.hand_made raw.pypi_downloads_daily raw.pypi_packages" {
		t.Errorf("tables = %s, want the declared ones and hand_made, sorted", got)
	}
	if tb := byName["pypi_packages"]; tb.Exists || tb.Note != "not extracted yet" || tb.Rows != nil {
		t.Errorf("pypi_packages: %+v, want not extracted yet", tb)
	}
	if tb := byName["hand_made"]; !tb.Exists || tb.Declared || tb.Rows == nil || *tb.Rows != 2 || tb.Loads != nil || tb.Growth != nil {
		t.Errorf("hand_made: %+v, want 2 rows, not declared, no loads", tb)
	}

	gh := byName["github_repositories"]
	if gh.Rows == nil || *gh.Rows != loads*perLoad || gh.Loads == nil || *gh.Loads != loads {
		t.Fatalf("github_repositories: %+v, want %d rows in %d loads", gh, loads*perLoad, loads)
	}
	if !gh.FirstLoadAt.Equal(start) || !gh.LastLoadAt.Equal(start.Add((loads-1)*time.Hour)) {
		t.Errorf("load times %v to %v", gh.FirstLoadAt, gh.LastLoadAt)
	}
	if gh.Bytes == nil || *gh.Bytes <= 0 {
		t.Fatalf("github_repositories: bytes %v, want DuckDB's figure", gh.Bytes)
	}
	g := gh.Growth
	if g == nil {
		t.Fatalf("github_repositories: no growth (%s)", gh.Note)
	}
	// Hourly loads of 10 rows: 24 loads and 240 rows a day, measured over
	// the last 24 loads; the table holds 720 rows now.
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if g.LoadsMeasured != 24 || !near(g.SpanHours, 23) || !near(g.LoadsPerDay, 24) || !near(g.RowsPerDay, 240) {
		t.Errorf("growth = %+v, want 24 loads over 23h, 24 loads and 240 rows a day", g)
	}
	if g.BytesPerDay == nil || !near(*g.BytesPerDay, float64(*gh.Bytes)/3) {
		t.Errorf("bytes a day = %v, want a third of the table's %d (240 of its 720 rows)", g.BytesPerDay, *gh.Bytes)
	}
	want := []rawForecast{{Days: 30, Rows: 720 + 240*30}, {Days: 365, Rows: 720 + 240*365}}
	if len(g.Projected) != len(want) {
		t.Fatalf("projected = %+v", g.Projected)
	}
	for i, f := range g.Projected {
		if f.Days != want[i].Days || f.Rows != want[i].Rows {
			t.Errorf("projected %d days: %d rows, want %d", f.Days, f.Rows, want[i].Rows)
		}
		if wantBytes := *gh.Bytes + int64(math.Round(*g.BytesPerDay*float64(f.Days))); f.Bytes == nil || *f.Bytes != wantBytes {
			t.Errorf("projected %d days: bytes %v, want %d", f.Days, f.Bytes, wantBytes)
		}
	}

	// The text table says the same.
	stdout.Reset()
	if code := cli([]string{"--project-dir", dir, "raw"}, &stdout, &stderr); code != 0 {
		t.Fatalf("quarry raw exited %d:\n%s", code, stderr.String())
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "raw.github_repositories ") {
			if f := strings.Fields(line); len(f) < 14 || f[1] != "720" || f[2] != "72" || f[10] != "240" {
				t.Errorf("text line: %q", line)
			}
		}
	}
}
