package project

import "testing"

func TestSQLIsEmpty(t *testing.T) {
	for src, want := range map[string]bool{
		"":                                 true,
		" \n\t\r\n":                        true,
		"-- later\n":                       true,
		"-- no newline at the end":         true,
		"/* a\nblock */ ; ;\n-- and more":  true,
		"select 1":                         false,
		"-- comment\nselect 1":             false,
		"/* unterminated":                  false,
		"/* c */ with x as (select 1) ...": false,
		"'--'":                             false,
	} {
		if got := new(Project).sqlIsEmpty(src); got != want {
			t.Errorf("sqlIsEmpty(%q) = %v, want %v", src, got, want)
		}
	}
}
