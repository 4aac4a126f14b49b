package diag

import "testing"

func TestSuggest(t *testing.T) {
	candidates := []string{"base", "customers", "materialized", "orders", "tag"}
	tests := map[string]string{
		"bsae":         "base",         // swapped letters
		"customerz":    "customers",    // substitution
		"materialised": "materialized", // British spelling
		"ordrs":        "orders",       // deletion
		"tagg":         "tag",          // insertion
		"zzz":          "",             // nothing close
		"x":            "",
	}
	for in, want := range tests {
		if got := Suggest(in, candidates); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance(kitten, sitting) = %d, want 3", d)
	}
}
