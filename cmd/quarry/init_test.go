package main

import "testing"

func TestProjectName(t *testing.T) {
	for folder, want := range map[string]string{
		"shop":          "shop",
		"My-Shop.2026":  "my_shop_2026",
		"  data  team ": "data_team",
		"2026-reports":  "p_2026_reports",
		"---":           "my_project",
		"ünïcode":       "n_code",
	} {
		if got := projectName(folder); got != want {
			t.Errorf("projectName(%q) = %q, want %q", folder, got, want)
		}
	}
}
