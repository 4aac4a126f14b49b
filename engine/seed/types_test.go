package seed

import "testing"

// Inference never picks a type that one of the column's own values does not
// convert to.
func TestInferredTypeTakesEveryValue(t *testing.T) {
	columns := [][]string{
		{"1", "2", "+3", "-0"},
		{"1", "1.5", "1e3", ".5"},
		{"true", "FALSE", "True"},
		{"2024-02-29", "2024-01-01"},
		{"2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "2024-01-01T10:00:00+02:00"},
		{"1", "1e400"},
		{"007", "1"},
		{"1", "2024_01"},
		{"2024-02-30"},
		{"e5", "1"},
		{"+", "1"},
		{"", "", ""},
	}
	for _, values := range columns {
		rows := make([][]any, len(values))
		for i, v := range values {
			rows[i] = []any{v}
		}
		typ := inferType(rows, 0)
		for _, v := range values {
			if _, err := convert(v, typ); err != nil {
				t.Errorf("column %q inferred as %s, which rejects its own value: %v", values, typ, err)
			}
		}
	}
}
