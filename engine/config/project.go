package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
)

// ProjectFile is the name of the project's configuration file.
const ProjectFile = "project.yaml"

// Folders is one level of the models: tree in project.yaml.
type Folders struct {
	settings []setting           // config keys set at this level, in file order
	children map[string]*Folders // sub-folders
}

type setting struct {
	key   string
	value any
}

// Project is project.yaml, decoded.
type Project struct {
	Name        string
	Vars        map[string]any
	Models      *Folders // the models: tree; nil when absent
	SeedsSchema string
	TestsSchema string
	Target      Target
	// Adapter is the chosen target's warehouse; its Dialect is nil when no
	// target could be resolved (and diags say why).
	Adapter    Adapter
	Threads    int
	Extractors []Extractor

	SeedsEncoding string // the default encoding of seed files; "" for utf-8
}

var topLevelKeys = []string{"name", "version", "vars", "models", "seeds", "targets", "extractors", "tests"}

// Load reads project.yaml and resolves the target. Problems are added to
// diags with their positions; the returned Project is usable only when none
// were added. It returns nil when there is no project.yaml to read.
func Load(opts Options, adapters map[string]Adapter, diags *diag.List) *Project {
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
	root, ok := ParseYAML(src, ProjectFile, diags)
	if !ok {
		return nil
	}
	doc := documentMapping(root)
	if doc == nil {
		if len(root.Content) == 0 || IsNull(root.Content[0]) {
			diags.Add(ProjectFile, 1, 1, "is empty: write at least `name: myproject` (targets: is optional; without it the project builds into quarry.duckdb)")
		} else {
			n := root.Content[0]
			diags.Add(ProjectFile, n.Line, n.Column, "must be a mapping of settings (name:, models:, targets:, ...), not %s", Describe(n))
		}
		return nil
	}

	pc := &Project{SeedsSchema: "seeds", TestsSchema: "audit"}
	hasName := false
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, val := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "name":
			hasName = true
			switch {
			case val.Kind != yaml.ScalarNode:
				diags.Add(ProjectFile, val.Line, val.Column, "name must be a string (e.g. name: myproject), not %s", Describe(val))
			case IsNull(val) || val.Value == "":
				diags.Add(ProjectFile, val.Line, val.Column, "name must not be empty: write e.g. name: myproject")
			default:
				pc.Name = val.Value
			}
		case "version":
			if val.Kind != yaml.ScalarNode {
				diags.Add(ProjectFile, val.Line, val.Column, "version must be a plain value such as 2, not %s", Describe(val))
			}
		case "vars":
			if IsNull(val) {
				continue
			}
			if val.Kind != yaml.MappingNode || val.Decode(&pc.Vars) != nil {
				diags.Add(ProjectFile, val.Line, val.Column, "vars must be a mapping of names to values (e.g. vars: {lookback_days: 30}), not %s", Describe(val))
			}
		case "models":
			if !IsNull(val) {
				pc.Models = decodeFolders(val, filepath.Join(opts.Dir, "models"), "models", diags)
			}
		case "seeds":
			pc.SeedsSchema = decodeSchemaBlock(val, "seeds", pc.SeedsSchema, diags, map[string]func(*yaml.Node){
				"encoding": func(v *yaml.Node) { pc.SeedsEncoding = ParseEncoding(v, ProjectFile, diags) },
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
	if IsNull(val) {
		return schema
	}
	if val.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, val.Line, val.Column, "%s must be a mapping, e.g. %s: {schema: %s}, not %s", block, block, schema, Describe(val))
		return schema
	}
	for i := 0; i+1 < len(val.Content); i += 2 {
		k, v := val.Content[i], val.Content[i+1]
		key := strings.TrimPrefix(k.Value, "+")
		switch set, ok := more[key]; {
		case key == "schema":
			if v.Kind != yaml.ScalarNode || v.Value == "" || IsNull(v) {
				diags.Add(ProjectFile, v.Line, v.Column, "%s: schema must be a schema name, not %s", block, Describe(v))
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
func decodeFolders(n *yaml.Node, dir, rel string, diags *diag.List) *Folders {
	fc := &Folders{children: map[string]*Folders{}}
	if IsNull(n) {
		return fc // an empty level configures nothing
	}
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "%s must be a mapping of folders and config keys, not %s", rel, Describe(n))
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
			if err := new(Node).Set(key, value, modelKeys); err != nil {
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
func (fc *Folders) Apply(c *Node, dirs []string) {
	for f := fc; f != nil; {
		for _, s := range f.settings {
			_ = c.Set(s.key, s.value, modelKeys) // validated when loaded
		}
		if len(dirs) == 0 {
			return
		}
		f, dirs = f.children[dirs[0]], dirs[1:]
	}
}

func displayDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}
