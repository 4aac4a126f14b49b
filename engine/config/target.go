package config

import (
	"context"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Thread counts outside this range are refused wherever they come from
// (--threads, QUARRY_THREADS, a target's threads): zero or fewer would run
// nothing, and past a few dozen workers only queue on the warehouse.
const (
	MinThreads     = 1
	MaxThreads     = 64
	defaultThreads = 4
)

// Environment variables standing in for --target and --threads.
const (
	EnvTarget  = "QUARRY_TARGET"
	EnvThreads = "QUARRY_THREADS"
)

// engineTargetKeys are the target keys the engine reads itself, whatever
// the warehouse; each Adapter lists its own in Settings.
var engineTargetKeys = []string{"schema", "schema_prefix", "threads", "type"}

// schemaPrefixRE is what a schema_prefix may be: the start of an unquoted
// identifier, so that every prefixed schema stays one.
var schemaPrefixRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// errThreadsRange says which thread counts are accepted.
var errThreadsRange = fmt.Errorf("must be a whole number from %d to %d", MinThreads, MaxThreads)

// ParseThreads reads a thread count as written on the command line, in the
// environment or in project.yaml.
func ParseThreads(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < MinThreads || n > MaxThreads {
		return 0, errThreadsRange
	}
	return n, nil
}

// Target is the warehouse a run writes to.
type Target struct {
	Name    string
	Type    string // duckdb | snowflake
	Threads int
	Schema  string // default schema for models with none configured
	// SchemaPrefix goes before every schema quarry writes in this target
	// (schema_prefix: ci_ turns staging into ci_staging), so that a CI
	// target never writes where production does.
	SchemaPrefix string
	// Database is the database the target's relations live in, as SQL
	// names it (a DuckDB file's name without extension, a Snowflake
	// database); "" when the adapter does not say. The manifest records it,
	// so that a later run deferring to this one can name its relations.
	Database string
	// Settings holds every key of the target as written, "${VAR}" references
	// unexpanded: values are resolved only when connecting, so secrets never
	// travel through the engine or its artifacts.
	Settings map[string]string
}

// Setting returns a target key with ${VAR} references expanded from env.
func (t Target) Setting(key string, env func(string) (string, bool)) string {
	return os.Expand(t.Settings[key], func(name string) string {
		v, _ := env(name)
		return v
	})
}

// Adapter connects the engine to one kind of warehouse without the engine
// knowing which: cmd/ wires the implementations in.
type Adapter struct {
	Dialect warehouse.Dialect
	// Settings are the target keys this warehouse reads, besides the
	// engine's own (type, threads, schema): any other key in a target of
	// this type is an error, so that a misspelt key never silently falls
	// back to a default.
	Settings []string
	// Check, when set, validates the chosen target's settings at load time,
	// before anything runs (e.g. that a file's folder exists). dir is the
	// project directory. It must not connect or read secrets.
	Check func(dir string, t Target, env func(string) (string, bool)) []SettingProblem
	Open  func(ctx context.Context, dir string, t Target, threads int, env func(string) (string, bool)) (warehouse.Warehouse, error)
	// Database, when set, names the database a target's relations live in
	// (Target.Database). It must not connect.
	Database func(dir string, t Target, env func(string) (string, bool)) string
}

// SettingProblem is what an Adapter's Check finds wrong with one setting of
// a target.
type SettingProblem struct {
	Key string // the target key concerned
	Msg string // what is wrong and what to do, without the target's name
}

// resolveTarget validates the targets: block of project.yaml (every
// target, not only the chosen one: a typo in prod must not wait for the
// first deploy to surface) and returns the chosen target with its adapter.
// ok is false when no usable target was chosen; the reasons are in diags.
// This is the one place where a target is resolved: nothing that needs the
// target's dialect runs unless it succeeded.
func resolveTarget(doc *yaml.Node, opts Options, adapters map[string]Adapter, diags *diag.List) (Target, Adapter, bool) {
	name, from := opts.Target, "--target"
	if name == "" {
		if v, ok := opts.LookupEnv(EnvTarget); ok && v != "" {
			name, from = v, EnvTarget
		}
	}
	types := slices.Sorted(maps.Keys(adapters))

	key, targets := mappingEntry(doc, "targets")
	if targets == nil {
		// No targets at all: the embedded default needs no configuration.
		if name != "" && name != "dev" {
			diags.Add(ProjectFile, 0, 0, "target %q (from %s) is not defined: project.yaml has no targets:, so the only target is the built-in dev; add %s under targets:", name, from, name)
			return Target{}, Adapter{}, false
		}
		t := Target{Name: "dev", Type: "duckdb", Schema: "main", Settings: map[string]string{"path": "quarry.duckdb"}}
		a, ok := adapters[t.Type]
		if !ok {
			diags.Add(ProjectFile, 0, 0, "the built-in target dev needs the duckdb warehouse, which this build of quarry lacks (it has: %s)", strings.Join(types, ", "))
			return Target{}, Adapter{}, false
		}
		return t, a, true
	}
	if IsNull(targets) || (targets.Kind == yaml.MappingNode && len(targets.Content) == 0) {
		diags.Add(ProjectFile, key.Line, key.Column, "targets: is empty: define one (e.g. dev: {type: duckdb, path: quarry.duckdb}), or remove targets: to use the built-in DuckDB file")
		return Target{}, Adapter{}, false
	}
	if targets.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, targets.Line, targets.Column, "targets must be a mapping of target names to settings, not %s", Describe(targets))
		return Target{}, Adapter{}, false
	}

	defined := map[string]*yaml.Node{} // target name -> its settings
	var names []string
	var defaultNode *yaml.Node
	for i := 0; i+1 < len(targets.Content); i += 2 {
		k, v := targets.Content[i], targets.Content[i+1]
		if k.Value == "default" {
			defaultNode = v
			continue
		}
		defined[k.Value] = v
		names = append(names, k.Value)
	}
	if len(names) == 0 {
		diags.Add(ProjectFile, key.Line, key.Column, "targets: defines no target, only a default: define one (e.g. dev: {type: duckdb, path: quarry.duckdb}), or remove targets: to use the built-in DuckDB file")
		return Target{}, Adapter{}, false
	}
	valid := map[string]Target{}
	for _, n := range names {
		if t, ok := decodeTarget(n, defined[n], opts, adapters, types, diags); ok {
			valid[n] = t
		}
	}
	// The default is checked even when --target or QUARRY_TARGET
	// overrides it: it is a setting of the file like any other.
	if defaultNode != nil {
		_, isDefined := defined[defaultNode.Value]
		switch {
		case defaultNode.Kind != yaml.ScalarNode || IsNull(defaultNode) || defaultNode.Value == "":
			diags.Add(ProjectFile, defaultNode.Line, defaultNode.Column, "default must name one of the targets (%s), not %s", strings.Join(names, ", "), Describe(defaultNode))
		case !isDefined:
			diags.Add(ProjectFile, defaultNode.Line, defaultNode.Column, "target %q (from targets.default) is not defined (targets: %s)%s",
				defaultNode.Value, strings.Join(names, ", "), diag.DidYouMean(defaultNode.Value, names))
		case name == "":
			name = defaultNode.Value
		}
		if name == "" {
			return Target{}, Adapter{}, false // reported just above
		}
	}
	if name == "" {
		if _, ok := defined["dev"]; !ok {
			diags.Add(ProjectFile, key.Line, key.Column, "no target chosen: targets: has no default: and no target is named dev; add default: NAME (targets: %s), or pass --target", strings.Join(names, ", "))
			return Target{}, Adapter{}, false
		}
		name = "dev"
	}
	node, ok := defined[name]
	if !ok {
		diags.Add(ProjectFile, key.Line, key.Column, "target %q (from %s) is not defined (targets: %s)%s", name, from, strings.Join(names, ", "), diag.DidYouMean(name, names))
		return Target{}, Adapter{}, false
	}
	t, ok := valid[name]
	if !ok {
		return Target{}, Adapter{}, false // its problems are reported
	}
	a := adapters[t.Type]
	if a.Database != nil {
		t.Database = a.Database(opts.Dir, t, opts.LookupEnv)
	}
	if a.Check != nil {
		problems := a.Check(opts.Dir, t, opts.LookupEnv)
		for _, p := range problems {
			at := node
			if _, v := mappingEntry(node, p.Key); v != nil {
				at = v
			}
			diags.Add(ProjectFile, at.Line, at.Column, "target %q: %s", name, p.Msg)
		}
		if len(problems) > 0 {
			return Target{}, Adapter{}, false
		}
	}
	return t, a, true
}

// decodeTarget checks one target's settings: a known type, only the keys
// that type reads, plain values, and a sane thread count.
func decodeTarget(name string, node *yaml.Node, opts Options, adapters map[string]Adapter, types []string, diags *diag.List) (Target, bool) {
	if node.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, node.Line, node.Column, "target %q must be a mapping of settings with at least a type (%s), not %s", name, strings.Join(types, " or "), Describe(node))
		return Target{}, false
	}
	ok := true
	t := Target{Name: name, Settings: map[string]string{}}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			diags.Add(ProjectFile, v.Line, v.Column, "target %q: %s must be a plain value, not %s", name, k.Value, Describe(v))
			ok = false
			continue
		}
		t.Settings[k.Value] = v.Value
	}
	_, typeNode := mappingEntry(node, "type")
	switch {
	case typeNode == nil:
		diags.Add(ProjectFile, node.Line, node.Column, "target %q has no type: add type: followed by one of %s", name, strings.Join(types, ", "))
		return t, false
	case typeNode.Kind != yaml.ScalarNode:
		return t, false // reported above
	}
	t.Type = typeNode.Value
	adapter, known := adapters[t.Type]
	if !known {
		msg := fmt.Sprintf("target %q: type must be %s, not %q", name, strings.Join(types, " or "), t.Type)
		diags.Add(ProjectFile, typeNode.Line, typeNode.Column, "%s%s", msg, diag.DidYouMean(t.Type, types))
		return t, false
	}
	keys := slices.Sorted(slices.Values(append(slices.Clone(engineTargetKeys), adapter.Settings...)))
	keys = slices.Compact(keys)
	for i := 0; i+1 < len(node.Content); i += 2 {
		k := node.Content[i]
		if !slices.Contains(keys, k.Value) {
			msg := fmt.Sprintf("target %q: unknown %s setting %q (known: %s)", name, t.Type, k.Value, strings.Join(keys, ", "))
			diags.Add(ProjectFile, k.Line, k.Column, "%s%s", msg, diag.DidYouMean(k.Value, keys))
			ok = false
		}
	}
	switch t.Type {
	case "duckdb":
		if t.Settings["path"] == "" {
			t.Settings["path"] = "quarry.duckdb"
		}
		t.Schema = "main"
	case "snowflake":
		t.Schema = "PUBLIC"
	}
	// The default schema is not a secret: it is resolved now, ${VAR} and
	// all, because compiled SQL names it.
	if s := t.Setting("schema", opts.LookupEnv); s != "" {
		t.Schema = s
	}
	if _, v := mappingEntry(node, "schema_prefix"); v != nil && v.Kind == yaml.ScalarNode {
		if !schemaPrefixRE.MatchString(v.Value) {
			diags.Add(ProjectFile, v.Line, v.Column, "target %q: schema_prefix %q must start a plain schema name: letters, digits and _, not starting with a digit (e.g. ci_)", name, v.Value)
			ok = false
		}
		t.SchemaPrefix = v.Value
	}
	if _, v := mappingEntry(node, "threads"); v != nil && v.Kind == yaml.ScalarNode {
		n, err := ParseThreads(v.Value)
		if err != nil {
			diags.Add(ProjectFile, v.Line, v.Column, "target %q: threads %s, not %q", name, err, v.Value)
			ok = false
		}
		t.Threads = n
	}
	return t, ok
}

// resolveThreads picks the thread count: --threads, else QUARRY_THREADS,
// else the target's threads, else 4. A bad value is an error naming where
// it came from, never silently replaced by the next source.
func resolveThreads(opts Options, t Target, diags *diag.List) int {
	if opts.Threads != 0 {
		if opts.Threads < MinThreads || opts.Threads > MaxThreads {
			diags.Add("", 0, 0, "--threads %d: threads %v", opts.Threads, errThreadsRange)
			return defaultThreads
		}
		return opts.Threads
	}
	if v, ok := opts.LookupEnv(EnvThreads); ok && v != "" {
		n, err := ParseThreads(v)
		if err != nil {
			diags.Add("", 0, 0, "%s=%q (from the environment): threads %v; fix or unset %s, or pass --threads", EnvThreads, v, err, EnvThreads)
			return defaultThreads
		}
		return n
	}
	if t.Threads != 0 {
		return t.Threads
	}
	return defaultThreads
}
