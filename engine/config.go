package engine

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/extractors"
)

// ProjectFile is the name of the project's configuration file.
const ProjectFile = "project.yaml"

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

func (o Options) lookupEnv(name string) (string, bool) {
	if o.Env != nil {
		return o.Env(name)
	}
	return os.LookupEnv(name)
}

func (o Options) environ() []string {
	if o.Environ != nil {
		return o.Environ()
	}
	return os.Environ()
}

// Target is the warehouse a run writes to.
type Target struct {
	Name    string
	Type    string // duckdb | snowflake
	Threads int
	Schema  string // default schema for models with none configured
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

// Config is a node's configuration after folder defaults, property files
// and in-file config calls have been applied, in that order.
type Config struct {
	Materialized string   `json:"materialized,omitempty"`
	Schema       string   `json:"schema,omitempty"`
	Alias        string   `json:"alias,omitempty"`
	Tags         []string `json:"tags"`
	UniqueKey    []string `json:"unique_key,omitempty"`
	Enabled      bool     `json:"enabled"`
	// Publish is "audited" (build beside the live table, test, then swap
	// it in) or "direct". Tables under models/marts default to audited.
	Publish string `json:"publish,omitempty"`

	// Tests.
	Severity      string    `json:"severity,omitempty"`
	WarnIf        Threshold `json:"warn_if,omitzero"`
	ErrorIf       Threshold `json:"error_if,omitzero"`
	StoreFailures bool      `json:"store_failures,omitempty"`
}

// modelKeys are the keys config accepts on models (and folders); testKeys on
// tests. Anything else is an error, never a silent no-op.
var (
	modelKeys = []string{"alias", "enabled", "materialized", "publish", "schema", "tags", "unique_key"}
	testKeys  = []string{"enabled", "error_if", "severity", "store_failures", "tags", "warn_if"}
)

var materializations = []string{"ephemeral", "incremental", "table", "view"}

// set applies one config key, validating its value against the keys
// allowed (modelKeys or testKeys).
func (c *Config) set(key string, value any, allowed []string) error {
	if !slices.Contains(allowed, key) {
		msg := fmt.Sprintf("unknown config key %q (known keys: %s)", key, strings.Join(allowed, ", "))
		if s := suggest(key, allowed); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
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
	case "tags":
		tags, err := stringList(value)
		if err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		for _, t := range tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	case "unique_key":
		keys, err := stringList(value)
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
		t, err := parseThreshold(fmt.Sprint(value))
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

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %v", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %v", v)
}

// folderConfig is one level of the models: tree in project.yaml.
type folderConfig struct {
	settings []setting                // config keys set at this level, in file order
	children map[string]*folderConfig // sub-folders
}

type setting struct {
	key   string
	value any
}

// projectConfig is project.yaml, decoded.
type projectConfig struct {
	Name        string
	Vars        map[string]any
	Models      *folderConfig
	SeedsSchema string
	TestsSchema string
	Target      Target
	Threads     int
	Extractors  []extractorConfig

	SeedsEncoding string // the default encoding of seed files; "" for utf-8
}

var topLevelKeys = []string{"name", "version", "vars", "models", "seeds", "targets", "sources", "extractors", "tests"}

// loadProjectConfig reads project.yaml. Problems are added to diags with
// their positions; the returned config is usable only when none were added.
func loadProjectConfig(opts Options, diags *diag.List) *projectConfig {
	path := filepath.Join(opts.Dir, ProjectFile)
	src, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			diags.Add(ProjectFile, 0, 0, "not found in %s: run quarry inside a project, or pass --project-dir", displayDir(opts.Dir))
		} else {
			diags.Add(ProjectFile, 0, 0, "%v", err)
		}
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		addYAMLError(diags, ProjectFile, err)
		return nil
	}
	doc := documentMapping(&root)
	if doc == nil {
		diags.Add(ProjectFile, 1, 1, "expected a mapping with at least a name and targets")
		return nil
	}
	// viper owns the precedence of plain settings (file < QUARRY_* env <
	// flags); the positioned yaml tree is kept for validation messages.
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(src)); err != nil {
		diags.Add(ProjectFile, 0, 0, "%v", err)
		return nil
	}
	v.SetEnvPrefix("QUARRY")
	_ = v.BindEnv("target")
	_ = v.BindEnv("threads")

	pc := &projectConfig{Name: v.GetString("name"), SeedsSchema: "seeds", TestsSchema: "audit"}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, val := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "vars":
			if err := val.Decode(&pc.Vars); err != nil {
				diags.Add(ProjectFile, val.Line, val.Column, "vars must be a mapping of names to values")
			}
		case "models":
			pc.Models = decodeFolders(val, filepath.Join(opts.Dir, "models"), "models", diags)
		case "seeds":
			pc.SeedsSchema = decodeSchemaBlock(val, "seeds", pc.SeedsSchema, diags, map[string]func(*yaml.Node){
				"encoding": func(v *yaml.Node) { pc.SeedsEncoding = parseEncoding(v, ProjectFile, diags) },
			})
		case "tests":
			pc.TestsSchema = decodeSchemaBlock(val, "tests", pc.TestsSchema, diags, nil)
		case "extractors":
			pc.Extractors = decodeExtractors(val, diags)
		default:
			if !slices.Contains(topLevelKeys, k.Value) {
				msg := fmt.Sprintf("unknown key %q", k.Value)
				if s := suggest(k.Value, topLevelKeys); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				diags.Add(ProjectFile, k.Line, k.Column, "%s", msg)
			}
		}
	}
	if pc.Name == "" {
		diags.Add(ProjectFile, doc.Line, doc.Column, "missing name: add `name: myproject`")
	}
	target := opts.Target
	if target == "" {
		target = v.GetString("target")
	}
	pc.Target = resolveTarget(doc, target, opts.lookupEnv, diags)
	pc.Threads = opts.Threads
	if pc.Threads == 0 {
		pc.Threads = v.GetInt("threads")
	}
	if pc.Threads == 0 {
		pc.Threads = pc.Target.Threads
	}
	if pc.Threads <= 0 {
		pc.Threads = 4
	}
	if pc.Vars == nil {
		pc.Vars = map[string]any{}
	}
	for k, val := range opts.Vars {
		pc.Vars[k] = val
	}
	return pc
}

func resolveTarget(doc *yaml.Node, name string, env func(string) (string, bool), diags *diag.List) Target {
	targets := mappingValue(doc, "targets")
	if targets == nil {
		// No targets at all: the embedded default needs no configuration.
		if name != "" && name != "dev" {
			diags.Add(ProjectFile, 1, 1, "target %q is not defined: add it under targets:", name)
		}
		return Target{Name: "dev", Type: "duckdb", Schema: "main", Settings: map[string]string{"path": "quarry.duckdb"}}
	}
	if name == "" {
		if d := mappingValue(targets, "default"); d != nil {
			name = d.Value
		} else {
			name = "dev"
		}
	}
	node := mappingValue(targets, name)
	if node == nil || name == "default" {
		var names []string
		for i := 0; i+1 < len(targets.Content); i += 2 {
			if n := targets.Content[i].Value; n != "default" {
				names = append(names, n)
			}
		}
		diags.Add(ProjectFile, targets.Line, targets.Column, "target %q is not defined (targets: %s)", name, strings.Join(names, ", "))
		return Target{Name: name}
	}
	t := Target{Name: name, Settings: map[string]string{}}
	if node.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, node.Line, node.Column, "target %q must be a mapping with at least a type", name)
		return t
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, val := node.Content[i], node.Content[i+1]
		if val.Kind != yaml.ScalarNode {
			diags.Add(ProjectFile, val.Line, val.Column, "target setting %s must be a plain value", k.Value)
			continue
		}
		t.Settings[k.Value] = val.Value
	}
	t.Type = t.Settings["type"]
	switch t.Type {
	case "duckdb":
		if t.Settings["path"] == "" {
			t.Settings["path"] = "quarry.duckdb"
		}
		t.Schema = "main"
	case "snowflake":
		t.Schema = "PUBLIC"
	default:
		diags.Add(ProjectFile, node.Line, node.Column, "target %q: type must be duckdb or snowflake, not %q", name, t.Type)
	}
	// The default schema is not a secret: it is resolved now, ${VAR} and
	// all, because compiled SQL names it.
	if s := t.Setting("schema", env); s != "" {
		t.Schema = s
	}
	if s := t.Settings["threads"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			diags.Add(ProjectFile, node.Line, node.Column, "target %q: threads must be a positive whole number, not %q", name, s)
		}
		t.Threads = n
	}
	return t
}

// decodeSchemaBlock reads `seeds: {schema: x}` or `tests: {schema: x}`
// (for tests, the schema where --store-failures keeps failing rows); other
// settings the block accepts go to their function in more.
func decodeSchemaBlock(val *yaml.Node, block, schema string, diags *diag.List, more map[string]func(*yaml.Node)) string {
	if val.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, val.Line, val.Column, "%s must be a mapping, e.g. %s: {schema: %s}", block, block, schema)
		return schema
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		key := strings.TrimPrefix(k.Value, "+")
		switch set, ok := more[key]; {
		case key == "schema":
			schema = v.Value
		case ok:
			set(v)
		default:
			known := append(slices.Collect(maps.Keys(more)), "schema")
			slices.Sort(known)
			diags.Add(ProjectFile, k.Line, k.Column, "unknown %s setting %q (known: %s)", block, k.Value, strings.Join(known, ", "))
		}
	}
	return schema
}

// decodeFolders reads the models: tree. A key is a config key (optionally
// written dbt-style with a leading +) or the name of a sub-folder, which must
// exist: a misspelt folder would otherwise silently configure nothing.
func decodeFolders(n *yaml.Node, dir, rel string, diags *diag.List) *folderConfig {
	fc := &folderConfig{children: map[string]*folderConfig{}}
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "%s must be a mapping of folders and config keys", rel)
		return fc
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := strings.TrimPrefix(k.Value, "+")
		if slices.Contains(modelKeys, key) {
			var value any
			if err := v.Decode(&value); err != nil {
				diags.Add(ProjectFile, v.Line, v.Column, "%v", err)
				continue
			}
			if err := new(Config).set(key, value, modelKeys); err != nil {
				diags.Add(ProjectFile, v.Line, v.Column, "%s: %v", rel, err)
				continue
			}
			fc.settings = append(fc.settings, setting{key, value})
			continue
		}
		sub := filepath.Join(dir, k.Value)
		if st, err := os.Stat(sub); err != nil || !st.IsDir() || strings.HasPrefix(k.Value, "+") {
			msg := fmt.Sprintf("%s/%s is neither a folder nor a config key", rel, k.Value)
			if s := suggest(key, append(subdirs(dir), modelKeys...)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += fmt.Sprintf(" (config keys: %s)", strings.Join(modelKeys, ", "))
			}
			diags.Add(ProjectFile, k.Line, k.Column, "%s", msg)
			continue
		}
		fc.children[k.Value] = decodeFolders(v, sub, rel+"/"+k.Value, diags)
	}
	return fc
}

func subdirs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// apply sets c from the folder defaults along dirs (outermost first).
func (fc *folderConfig) apply(c *Config, dirs []string) {
	for f := fc; f != nil; {
		for _, s := range f.settings {
			_ = c.set(s.key, s.value, modelKeys) // validated when loaded
		}
		if len(dirs) == 0 {
			return
		}
		f, dirs = f.children[dirs[0]], dirs[1:]
	}
}

func documentMapping(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		return root.Content[0]
	}
	return nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// addYAMLError turns a yaml.v3 error into positioned diagnostics.
func addYAMLError(diags *diag.List, path string, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			addYAMLError(diags, path, errors.New("yaml: "+e))
		}
		return
	}
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		diags.Add(path, 0, 0, "malformed YAML: %v", err)
		return
	}
	line, _ := strconv.Atoi(m[1])
	col := 0
	if line > 0 {
		col = 1
	}
	diags.Add(path, line, col, "malformed YAML: %s", m[2])
}

func displayDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
