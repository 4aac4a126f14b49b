package duckdb

import (
	"context"
	"fmt"
	"testing"
)

// The date helpers must keep a date a date (models compare the results with
// date columns), and count day boundaries like Snowflake's DATEDIFF.
func TestDateHelpers(t *testing.T) {
	w := openMem(t)
	d := Dialect{}
	for _, tc := range []struct{ sql, want string }{
		{"select typeof(" + d.DateAdd("day", "-29", "date '2026-11-25'") + ")", "DATE"},
		{"select cast(" + d.DateAdd("day", "-29", "date '2026-11-25'") + " as varchar)", "2026-10-27"},
		{"select cast(" + d.DateAdd("week", "1", "date '2026-11-25'") + " as varchar)", "2026-12-02"},
		{"select cast(" + d.DateAdd("month", "-1", "date '2026-03-31'") + " as varchar)", "2026-02-28"},
		{"select " + d.DateDiff("day", "timestamp '2026-11-24 23:59:00'", "timestamp '2026-11-25 00:01:00'"), "1"},
		{"select " + d.DateDiff("day", "date '2026-11-01'", "date '2026-11-25'"), "24"},
	} {
		r, err := w.Query(context.Background(), tc.sql, 1)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if got := fmt.Sprint(r.Rows[0][0]); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.sql, got, tc.want)
		}
	}
}
