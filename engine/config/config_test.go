package config_test

import (
	"testing"

	"github.com/quarrydev/quarry/engine/config"
)

func TestParseThreads(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"1", 1, true}, {" 8 ", 8, true}, {"64", 64, true},
		{"0", 0, false}, {"65", 0, false}, {"-2", 0, false}, {"four", 0, false}, {"", 0, false},
	} {
		n, err := config.ParseThreads(c.in)
		if n != c.want || (err == nil) != c.ok {
			t.Errorf("ParseThreads(%q) = %d, %v; want %d, ok %v", c.in, n, err, c.want, c.ok)
		}
	}
}

func TestNodeSet(t *testing.T) {
	var n config.Node
	if err := n.Set("materialized", "table", config.ModelKeys()); err != nil || n.Materialized != "table" {
		t.Fatalf("materialized: %v, %q", err, n.Materialized)
	}
	if err := n.Set("tags", []any{"a", "b"}, config.ModelKeys()); err != nil {
		t.Fatal(err)
	}
	if err := n.Set("tags", "a", config.ModelKeys()); err != nil || len(n.Tags) != 2 {
		t.Errorf("tags are a set: got %v, %v", n.Tags, err)
	}
	err := n.Set("materialised", "table", config.ModelKeys())
	want := `unknown config key "materialised" (known keys: alias, contract, enabled, materialized, publish, schema, tags, unique_key); did you mean "materialized"?`
	if err == nil || err.Error() != want {
		t.Errorf("misspelt key: got %v, want %s", err, want)
	}
	if err := n.Set("severity", "warn", config.ModelKeys()); err == nil {
		t.Error("severity is a test key, not a model's")
	}
}

func TestContract(t *testing.T) {
	var n config.Node
	if err := n.Set("contract", map[string]any{"enforced": true}, config.ModelKeys()); err != nil || !n.Contract.Enforced {
		t.Fatalf("contract: %v, %+v", err, n.Contract)
	}
	for value, want := range map[any]string{
		"yes": "contract must be a mapping such as {enforced: true}, not yes",
	} {
		if err := n.Set("contract", value, config.ModelKeys()); err == nil || err.Error() != want {
			t.Errorf("contract %v: got %v, want %s", value, err, want)
		}
	}
	err := n.Set("contract", map[string]any{"enforce": true}, config.ModelKeys())
	if want := `unknown contract key "enforce" (known keys: enforced); did you mean "enforced"?`; err == nil || err.Error() != want {
		t.Errorf("misspelt contract key: got %v, want %s", err, want)
	}
	err = n.Set("contract", map[string]any{"enforced": "true"}, config.ModelKeys())
	if want := "contract: enforced must be true or false, not true"; err == nil || err.Error() != want {
		t.Errorf("contract enforced as text: got %v, want %s", err, want)
	}
	if err := n.Set("contract", map[string]any{"enforced": true}, config.SeedKeys()); err == nil {
		t.Error("a seed accepts no contract")
	}
}

func TestKeysAreCopies(t *testing.T) {
	keys := config.ModelKeys()
	keys[0] = "changed"
	if config.ModelKeys()[0] == "changed" {
		t.Error("ModelKeys hands out its own slice")
	}
}
