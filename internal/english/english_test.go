package english

import "testing"

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "rows"}, {1, "row"}, {2, "rows"}, {-1, "rows"}} {
		if got := Plural(tc.n, "row", "rows"); got != tc.want {
			t.Errorf("Plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
