package project

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/datatest"
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
	Severity      string             `json:"severity,omitempty"`
	WarnIf        datatest.Threshold `json:"warn_if,omitzero"`
	ErrorIf       datatest.Threshold `json:"error_if,omitzero"`
	StoreFailures bool               `json:"store_failures,omitempty"`
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
		if s := diag.Suggest(key, allowed); s != "" {
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
	// Adapter is the chosen target's warehouse; its Dialect is nil when no
	// target could be resolved (and diags say why).
	Adapter    Adapter
	Threads    int
	Extractors []extractorConfig

	SeedsEncoding string // the default encoding of seed files; "" for utf-8
}

var topLevelKeys = []string{"name", "version", "vars", "models", "seeds", "targets", "extractors", "tests"}

// loadProjectConfig reads project.yaml and resolves the target. Problems
// are added to diags with their positions; the returned config is usable
// only when none were added.
func loadProjectConfig(opts Options, adapters map[string]Adapter, diags *diag.List) *projectConfig {
	if st, err := os.Stat(cmp.Or(opts.Dir, ".")); err != nil {
		diags.Add("", 0, 0, "project directory %s: %v: pass the folder holding project.yaml with --project-dir", displayDir(opts.Dir), errors.Unwrap(err))
		return nil
	} else if !st.IsDir() {
		diags.Add("", 0, 0, "project directory %s is a file: pass the folder holding project.yaml with --project-dir", displayDir(opts.Dir))
		return nil
	}
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
	root, ok := parseYAML(src, ProjectFile, diags)
	if !ok {
		return nil
	}
	doc := documentMapping(root)
	if doc == nil {
		if len(root.Content) == 0 || isNull(root.Content[0]) {
			diags.Add(ProjectFile, 1, 1, "is empty: write at least `name: myproject` (targets: is optional; without it the project builds into quarry.duckdb)")
		} else {
			n := root.Content[0]
			diags.Add(ProjectFile, n.Line, n.Column, "must be a mapping of settings (name:, models:, targets:, ...), not %s", describe(n))
		}
		return nil
	}

	pc := &projectConfig{SeedsSchema: "seeds", TestsSchema: "audit"}
	hasName := false
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, val := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "name":
			hasName = true
			switch {
			case val.Kind != yaml.ScalarNode:
				diags.Add(ProjectFile, val.Line, val.Column, "name must be a string (e.g. name: myproject), not %s", describe(val))
			case isNull(val) || val.Value == "":
				diags.Add(ProjectFile, val.Line, val.Column, "name must not be empty: write e.g. name: myproject")
			default:
				pc.Name = val.Value
			}
		case "version":
			if val.Kind != yaml.ScalarNode {
				diags.Add(ProjectFile, val.Line, val.Column, "version must be a plain value such as 2, not %s", describe(val))
			}
		case "vars":
			if isNull(val) {
				continue
			}
			if val.Kind != yaml.MappingNode || val.Decode(&pc.Vars) != nil {
				diags.Add(ProjectFile, val.Line, val.Column, "vars must be a mapping of names to values (e.g. vars: {lookback_days: 30}), not %s", describe(val))
			}
		case "models":
			if !isNull(val) {
				pc.Models = decodeFolders(val, filepath.Join(opts.Dir, "models"), "models", diags)
			}
		case "seeds":
			pc.SeedsSchema = decodeSchemaBlock(val, "seeds", pc.SeedsSchema, diags, map[string]func(*yaml.Node){
				"encoding": func(v *yaml.Node) { pc.SeedsEncoding = parseEncoding(v, ProjectFile, diags) },
			})
		case "tests":
			pc.TestsSchema = decodeSchemaBlock(val, "tests", pc.TestsSchema, diags, nil)
		case "targets":
			// Read by resolveTarget below.
		case "extractors":
			pc.Extractors = decodeExtractors(val, diags)
		case "sources":
			diags.Add(ProjectFile, k.Line, k.Column, "sources are declared in property files, not in project.yaml: move this block into e.g. models/sources.yml")
		default:
			diags.Add(ProjectFile, k.Line, k.Column, "unknown key %q%s", k.Value, diag.DidYouMean(k.Value, topLevelKeys))
		}
	}
	if !hasName {
		diags.Add(ProjectFile, doc.Line, doc.Column, "missing name: add `name: myproject`")
	}
	if t, a, ok := resolveTarget(doc, opts, adapters, diags); ok {
		pc.Target, pc.Adapter = t, a
	}
	pc.Threads = resolveThreads(opts, pc.Target, diags)
	if pc.Vars == nil {
		pc.Vars = map[string]any{}
	}
	for k, val := range opts.Vars {
		pc.Vars[k] = val
	}
	return pc
}

// decodeSchemaBlock reads `seeds: {schema: x}` or `tests: {schema: x}`
// (for tests, the schema where --store-failures keeps failing rows); other
// settings the block accepts go to their function in more.
func decodeSchemaBlock(val *yaml.Node, block, schema string, diags *diag.List, more map[string]func(*yaml.Node)) string {
	if isNull(val) {
		return schema
	}
	if val.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, val.Line, val.Column, "%s must be a mapping, e.g. %s: {schema: %s}, not %s", block, block, schema, describe(val))
		return schema
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		key := strings.TrimPrefix(k.Value, "+")
		switch set, ok := more[key]; {
		case key == "schema":
			if v.Kind != yaml.ScalarNode || v.Value == "" || isNull(v) {
				diags.Add(ProjectFile, v.Line, v.Column, "%s: schema must be a schema name, not %s", block, describe(v))
				continue
			}
			schema = v.Value
		case ok:
			set(v)
		default:
			known := append(slices.Collect(maps.Keys(more)), "schema")
			slices.Sort(known)
			diags.Add(ProjectFile, k.Line, k.Column, "unknown %s setting %q (known: %s)%s", block, k.Value, strings.Join(known, ", "), diag.DidYouMean(key, known))
		}
	}
	return schema
}

// decodeFolders reads the models: tree. A key is a config key (optionally
// written dbt-style with a leading +) or the name of a sub-folder, which must
// exist: a misspelt folder would otherwise silently configure nothing.
func decodeFolders(n *yaml.Node, dir, rel string, diags *diag.List) *folderConfig {
	fc := &folderConfig{children: map[string]*folderConfig{}}
	if isNull(n) {
		return fc // an empty level configures nothing
	}
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "%s must be a mapping of folders and config keys, not %s", rel, describe(n))
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
			if s := diag.Suggest(key, append(subdirs(dir), modelKeys...)); s != "" {
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

// parseYAML parses a YAML file into its node tree. Problems are added to
// diags: syntax errors, a second document (which yaml.v3 would silently
// ignore), and duplicate keys, which are removed from the tree once
// reported so that nothing decoding it reports them again, without a
// position, or silently keeps either value. ok is false when the file
// could not be parsed at all; an empty file is a document with no content.
func parseYAML(src []byte, path string, diags *diag.List) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	root = &yaml.Node{Kind: yaml.DocumentNode}
	if err := dec.Decode(root); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode}, true
		}
		addYAMLError(diags, path, err)
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		diags.Add(path, line, 1, "a second YAML document (after ---) is not read: keep one document per file")
	case !errors.Is(err, io.EOF):
		addYAMLError(diags, path, err)
	}
	dropDuplicateKeys(root, path, diags)
	return root, true
}

// dropDuplicateKeys reports every key repeated in a mapping, with the
// position of both, and keeps only the first.
func dropDuplicateKeys(n *yaml.Node, path string, diags *diag.List) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			dropDuplicateKeys(c, path, diags)
		}
	case yaml.MappingNode:
		first := map[string]*yaml.Node{}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if prev, dup := first[k.Value]; dup {
					diags.Add(path, k.Line, k.Column, "duplicate key %q (first at line %d): keep one of them", k.Value, prev.Line)
					continue
				}
				first[k.Value] = k
			}
			dropDuplicateKeys(v, path, diags)
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
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
