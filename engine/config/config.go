package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/internal/names"
)

// Options are the command-line settings that shape loading.
type Options struct {
	Dir     string         // project directory
	Target  string         // --target; "" means QUARRY_TARGET, then targets.default
	Threads int            // --threads; 0 means QUARRY_THREADS, then the target's
	Vars    map[string]any // --vars, overriding project.yaml vars
	Env     func(string) (string, bool)
	// Environ lists the environment as KEY=value pairs; nil means
	// os.Environ. The values of the variables whose names look secret are
	// refused wherever they would reach compiled SQL or target/.
	Environ func() []string
	// Extractors are the extractors this binary has, by name.
	Extractors map[string]extractors.Factory
}

func (o Options) LookupEnv(name string) (string, bool) {
	if o.Env != nil {
		return o.Env(name)
	}
	return os.LookupEnv(name)
}

func (o Options) Environment() []string {
	if o.Environ != nil {
		return o.Environ()
	}
	return os.Environ()
}

// Node is a node's configuration after folder defaults, property files
// and in-file config calls have been applied, in that order.
type Node struct {
	Materialized string   `json:"materialized,omitempty"`
	Schema       string   `json:"schema,omitempty"`
	Alias        string   `json:"alias,omitempty"`
	Tags         []string `json:"tags"`
	UniqueKey    []string `json:"unique_key,omitempty"`
	Enabled      bool     `json:"enabled"`
	// Publish is "audited" (build beside the live table, test, then swap
	// it in) or "direct". Tables under models/marts default to audited.
	Publish string `json:"publish,omitempty"`
	// Contract holds the model to the columns and data types its property
	// file declares, at compile time and again before its relation is
	// published.
	Contract Contract `json:"contract,omitzero"`

	// Tests.
	Severity      string             `json:"severity,omitempty"`
	WarnIf        datatest.Threshold `json:"warn_if,omitzero"`
	ErrorIf       datatest.Threshold `json:"error_if,omitzero"`
	StoreFailures bool               `json:"store_failures,omitempty"`
}

// modelKeys are the keys config accepts on models (and folders); testKeys on
// tests. Anything else is an error, never a silent no-op.
var (
	modelKeys = []string{"alias", "contract", "enabled", "materialized", "publish", "schema", "tags", "unique_key"}
	testKeys  = []string{"enabled", "error_if", "severity", "store_failures", "tags", "warn_if"}
	// seedKeys are the config keys a seed accepts: a model's but contract
	// (a seed's types are its file's, pinned or inferred), and its file's
	// encoding.
	seedKeys = slices.Sorted(slices.Values(append(slices.DeleteFunc(slices.Clone(modelKeys),
		func(k string) bool { return k == "contract" }), "encoding")))
)

// ModelKeys, TestKeys and SeedKeys return the config keys of models (and
// folders), tests and seeds, sorted. Each call returns a fresh slice, so
// that no caller can change what the others see.
func ModelKeys() []string { return slices.Clone(modelKeys) }

// TestKeys: see ModelKeys.
func TestKeys() []string { return slices.Clone(testKeys) }

// SeedKeys: see ModelKeys.
func SeedKeys() []string { return slices.Clone(seedKeys) }

var materializations = []string{"ephemeral", "incremental", "table", "view"}

// Set applies one config key, validating its value against the keys
// allowed (ModelKeys, TestKeys or SeedKeys).
func (c *Node) Set(key string, value any, allowed []string) error {
	if !slices.Contains(allowed, key) {
		msg := fmt.Sprintf("unknown config key %q (known keys: %s)", key, strings.Join(allowed, ", "))
		msg += diag.DidYouMean(key, allowed)
		return errors.New(msg)
	}
	str := func() (string, error) {
		s, ok := value.(string)
		if !ok || s == "" {
			return "", fmt.Errorf("%s must be a non-empty string, not %v", key, value)
		}
		return s, nil
	}
	var err error
	switch key {
	case "materialized":
		s, ok := value.(string)
		if !ok || !slices.Contains(materializations, s) {
			return fmt.Errorf("materialized must be one of %s, not %v", strings.Join(materializations, ", "), value)
		}
		c.Materialized = s
	case "schema":
		c.Schema, err = str()
	case "alias":
		c.Alias, err = str()
	case "publish":
		if value != "audited" && value != "direct" {
			return fmt.Errorf("publish must be audited or direct, not %v", value)
		}
		c.Publish = value.(string)
	case "contract":
		c.Contract, err = parseContract(value)
	case "tags":
		tags, err := names.List(value)
		if err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		for _, t := range tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	case "unique_key":
		keys, err := names.List(value)
		if err != nil {
			return fmt.Errorf("unique_key: %w", err)
		}
		c.UniqueKey = keys
	case "enabled", "store_failures":
		b, ok := value.(bool)
		if !ok {
			return fmt.Errorf("%s must be true or false, not %v", key, value)
		}
		if key == "enabled" {
			c.Enabled = b
		} else {
			c.StoreFailures = b
		}
	case "severity":
		s, _ := value.(string)
		s = strings.ToLower(s)
		if s != "warn" && s != "error" {
			return fmt.Errorf("severity must be warn or error, not %v", value)
		}
		c.Severity = s
	case "warn_if", "error_if":
		t, err := datatest.ParseThreshold(fmt.Sprint(value))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if key == "warn_if" {
			c.WarnIf = t
		} else {
			c.ErrorIf = t
		}
	}
	return err
}

// Contract is a model's contract setting, contract: {enforced: true}.
type Contract struct {
	Enforced bool `json:"enforced"`
}

var contractKeys = []string{"enforced"}

// parseContract reads contract's mapping, from YAML or from a template's
// dict; unknown keys are errors like unknown config keys.
func parseContract(value any) (Contract, error) {
	m, ok := value.(map[string]any)
	if !ok {
		return Contract{}, fmt.Errorf("contract must be a mapping such as {enforced: true}, not %v", value)
	}
	var c Contract
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "enforced" {
			return Contract{}, fmt.Errorf("unknown contract key %q (known keys: %s)%s", k, strings.Join(contractKeys, ", "), diag.DidYouMean(k, contractKeys))
		}
		b, ok := m[k].(bool)
		if !ok {
			return Contract{}, fmt.Errorf("contract: enforced must be true or false, not %v", m[k])
		}
		c.Enforced = b
	}
	return c, nil
}
