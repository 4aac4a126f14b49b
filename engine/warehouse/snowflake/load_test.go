package snowflake

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
)

// TestLoadRowsBatches loads more rows than fit one statement.
func TestLoadRowsBatches(t *testing.T) {
	w, e := openEmu(t)
	defer func(n int) { maxBinds = n }(maxBinds)
	maxBinds = 20 // 10 rows of two columns per INSERT
	ctx := context.Background()
	rel := warehouse.Relation{Schema: "tests", Name: "batched"}
	cols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "note", Type: "varchar"}}
	var rows [][]any
	for i := range 45 {
		note := any(fmt.Sprint("row ", i))
		if i < 10 {
			note = nil // the first batch has no notes at all
		}
		rows = append(rows, []any{int64(i), note})
	}
	before := len(e.Statements())
	for _, replace := range []bool{true, false} {
		n, err := w.LoadRows(ctx, rel, cols, rows, replace)
		if err != nil {
			t.Fatal(err)
		}
		if n != 45 {
			t.Errorf("replace=%v: rows = %d, want 45", replace, n)
		}
	}
	warehousetest.AssertRows(t, w, "SELECT count(*), count(DISTINCT id), count(note), sum(id)::integer FROM tests.batched",
		[][]any{{int64(90), int64(45), int64(70), int64(2 * 990)}})
	// Five INSERTs per load, values bound rather than spliced in; a batch
	// whose notes are all NULL leaves the column out.
	var inserts []string
	for _, s := range e.Statements()[before:] {
		if strings.HasPrefix(s.SQL, "INSERT") {
			inserts = append(inserts, s.SQL)
		}
	}
	if len(inserts) != 10 {
		t.Fatalf("%d INSERTs, want 10: %q", len(inserts), inserts)
	}
	if !strings.HasSuffix(inserts[0], "(id) VALUES (?)") || !strings.HasSuffix(inserts[1], "(id, note) VALUES (?, ?)") {
		t.Errorf("INSERTs: %q", inserts)
	}
}

func TestValueText(t *testing.T) {
	at := time.Date(2024, 6, 1, 12, 30, 0, 500, time.FixedZone("+02", 7200))
	for _, tc := range []struct {
		v       any
		colType string
		want    any
	}{
		{nil, "VARCHAR", nil},
		{"x", "DATE", "x"},
		{int64(-3), "BIGINT", "-3"},
		{0.1, "DOUBLE", "0.1"},
		{1e21, "DOUBLE", "1e+21"},
		{math.Inf(1), "DOUBLE", "inf"},
		{math.Inf(-1), "DOUBLE", "-inf"},
		{math.NaN(), "DOUBLE", "NaN"},
		{true, "BOOLEAN", "true"},
		{at, "DATE", "2024-06-01"},
		{at, "TIMESTAMP_NTZ", "2024-06-01 10:30:00.0000005"},
		{at, "TIMESTAMP_TZ", "2024-06-01 10:30:00.0000005+00:00"},
		{at, "VARCHAR", "2024-06-01 10:30:00.0000005+00:00"},
	} {
		got, err := valueText(tc.v, tc.colType)
		if err != nil || got != tc.want {
			t.Errorf("valueText(%v, %s) = %v, %v; want %v", tc.v, tc.colType, got, err, tc.want)
		}
	}
	if _, err := valueText(int32(1), "INTEGER"); err == nil {
		t.Error("int32 accepted")
	}
}
