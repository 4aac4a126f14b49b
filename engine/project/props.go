package project

import (
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
)

// Property files are dbt-shaped YAML files anywhere under models/ or seeds/
// that describe models, seeds and sources.

type propsFile struct {
	path    string
	Models  []nodeProps   `yaml:"models"`
	Seeds   []nodeProps   `yaml:"seeds"`
	Sources []sourceProps `yaml:"sources"`
}

type pos struct{ line, col int }

// nodeProps describes a model or a seed.
type nodeProps struct {
	pos
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Config      yaml.Node         `yaml:"config"`
	Columns     []columnProps     `yaml:"columns"`
	ColumnTypes map[string]string `yaml:"column_types"`
	Tests       []yaml.Node       `yaml:"tests"`
	DataTests   []yaml.Node       `yaml:"data_tests"`
	Encoding    yaml.Node         `yaml:"encoding"` // seeds only
}

func (p *nodeProps) UnmarshalYAML(n *yaml.Node) error {
	type plain nodeProps
	p.pos = pos{n.Line, n.Column}
	return n.Decode((*plain)(p))
}

// seedEntry is a property file's entry for a seed, kept until the seed's
// header is read and the columns the entry names can be checked.
type seedEntry struct {
	file  string
	props nodeProps
}

type columnProps struct {
	pos
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	DataType    string      `yaml:"data_type"`
	Tests       []yaml.Node `yaml:"tests"`
	DataTests   []yaml.Node `yaml:"data_tests"`
}

func (p *columnProps) UnmarshalYAML(n *yaml.Node) error {
	type plain columnProps
	p.pos = pos{n.Line, n.Column}
	return n.Decode((*plain)(p))
}

type sourceProps struct {
	pos
	Name        string             `yaml:"name"`
	Description string             `yaml:"description"`
	Schema      string             `yaml:"schema"`
	Tables      []sourceTableProps `yaml:"tables"`
}

func (p *sourceProps) UnmarshalYAML(n *yaml.Node) error {
	type plain sourceProps
	p.pos = pos{n.Line, n.Column}
	return n.Decode((*plain)(p))
}

type sourceTableProps struct {
	pos
	Name          string        `yaml:"name"`
	Identifier    string        `yaml:"identifier"`
	Description   string        `yaml:"description"`
	LoadedAtField string        `yaml:"loaded_at_field"`
	Freshness     yaml.Node     `yaml:"freshness"`
	Columns       []columnProps `yaml:"columns"`
	Tests         []yaml.Node   `yaml:"tests"`
	DataTests     []yaml.Node   `yaml:"data_tests"`
}

func (p *sourceTableProps) UnmarshalYAML(n *yaml.Node) error {
	type plain sourceTableProps
	p.pos = pos{n.Line, n.Column}
	return n.Decode((*plain)(p))
}

// readProps parses one property file; problems go to diags. Values of the
// wrong kind are reported with their position and left out, so that the
// rest of the file is still read and decoding cannot fail on them again.
func readProps(abs, rel string, diags *diag.List) *propsFile {
	src, err := os.ReadFile(abs)
	if err != nil {
		diags.Add(rel, 0, 0, "%v", err)
		return nil
	}
	root, ok := config.ParseYAML(src, rel, diags)
	if !ok {
		return nil
	}
	if len(root.Content) == 0 || config.IsNull(root.Content[0]) {
		return &propsFile{path: rel} // an empty file describes nothing
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode {
		diags.Add(rel, top.Line, top.Column, "a property file must be a mapping of models:, seeds: and sources:, not %s", config.Describe(top))
		return nil
	}
	checkMapping(root.Content[0], propsSchema, rel, "", diags)
	pf := &propsFile{path: rel}
	var d propsDecoder
	if d.file(root.Content[0], pf); !d.failed {
		return pf
	}
	pf = &propsFile{path: rel}
	if err := root.Decode(pf); err != nil {
		config.AddYAMLError(diags, rel, err)
		return nil
	}
	return pf
}

// valueKind is the kind of YAML value a key of a property file takes.
type valueKind int

const (
	anyValue     valueKind = iota
	scalarValue            // a plain value: a string, number or boolean
	mappingValue           // a mapping; its keys are checked when keys is set
	listValue              // a list; when keys is set, of mappings with those keys
)

// keySpec describes the value of one key.
type keySpec struct {
	kind valueKind
	keys keySchema // for a mapping, or each mapping of a list
	each valueKind // for a mapping with free keys: the kind of every value
}

// keySchema lists the keys a mapping may hold.
type keySchema map[string]keySpec

var (
	scalar       = keySpec{kind: scalarValue}
	list         = keySpec{kind: listValue}
	columnSchema = keySchema{"name": scalar, "description": scalar, "tests": list, "data_tests": list,
		"data_type": scalar, "meta": {}, "quote": scalar, "tags": {}}
	nodeSchema = keySchema{"name": scalar, "description": scalar, "config": {kind: mappingValue},
		"columns": {kind: listValue, keys: columnSchema}, "column_types": {kind: mappingValue, each: scalarValue},
		"tests": list, "data_tests": list, "meta": {}, "docs": {}}
	seedSchema  = withKeys(nodeSchema, keySchema{"encoding": scalar})
	tableSchema = keySchema{"name": scalar, "identifier": scalar, "description": scalar, "loaded_at_field": scalar,
		"freshness": {kind: mappingValue}, "columns": {kind: listValue, keys: columnSchema}, "tests": list, "data_tests": list, "meta": {}}
	sourceSchema = keySchema{"name": scalar, "description": scalar, "schema": scalar,
		"tables": {kind: listValue, keys: tableSchema}, "meta": {}}
	propsSchema = keySchema{"version": scalar, "models": {kind: listValue, keys: nodeSchema},
		"seeds": {kind: listValue, keys: seedSchema}, "sources": {kind: listValue, keys: sourceSchema}}
)

// withKeys is schema plus more keys.
func withKeys(schema, more keySchema) keySchema {
	out := maps.Clone(schema)
	maps.Copy(out, more)
	return out
}

var kindNames = map[valueKind]string{scalarValue: "a plain value", mappingValue: "a mapping", listValue: "a list"}

// checkMapping reports keys a property file should not hold (a misspelt key
// would otherwise be silently ignored) and values of the wrong kind, and
// removes both from m. It reports false when m needs a name (its schema has
// one) and has none usable: the caller drops the whole entry, which
// describes nothing that can be named.
func checkMapping(m *yaml.Node, schema keySchema, file, where string, diags *diag.List) bool {
	kept := m.Content[:0]
	named, hadName := false, false
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		spec, ok := schema[k.Value]
		if !ok {
			// Sorted only here: checkMapping runs for every entry of every
			// property file, and nearly all of them are fine.
			known := slices.Sorted(maps.Keys(schema))
			diags.Add(file, k.Line, k.Column, "unknown key %q%s (keys here: %s)%s", k.Value, where, strings.Join(known, ", "), diag.DidYouMean(k.Value, known))
			continue
		}
		if k.Value == "name" {
			hadName = true
		}
		if !checkValue(k.Value, v, spec, file, diags) {
			continue
		}
		if k.Value == "name" {
			if v.Value == "" || config.IsNull(v) {
				diags.Add(file, v.Line, v.Column, "name must not be empty")
				continue
			}
			named = true
		}
		kept = append(kept, k, v)
	}
	m.Content = kept
	if _, needsName := schema["name"]; needsName && !named {
		if !hadName {
			diags.Add(file, m.Line, m.Column, "missing name: each entry%s needs one (name: ...)", where)
		}
		return false
	}
	return true
}

// checkValue checks the value of key against its spec, recursing into
// lists and mappings. It reports false when the value is to be left out.
func checkValue(key string, v *yaml.Node, spec keySpec, file string, diags *diag.List) bool {
	if config.IsNull(v) || spec.kind == anyValue {
		return true // an empty value is an absent one
	}
	want := map[valueKind]yaml.Kind{scalarValue: yaml.ScalarNode, mappingValue: yaml.MappingNode, listValue: yaml.SequenceNode}[spec.kind]
	if v.Kind != want {
		hint := ""
		switch {
		case spec.kind == listValue && spec.keys != nil:
			hint = " of mappings, e.g. - name: x"
		case spec.kind == scalarValue:
			hint = " (a string, number or true/false)"
		}
		diags.Add(file, v.Line, v.Column, "%s must be %s%s, not %s", key, kindNames[spec.kind], hint, config.Describe(v))
		return false
	}
	switch {
	case spec.kind == listValue && spec.keys != nil:
		kept := v.Content[:0]
		for _, item := range v.Content {
			if item.Kind != yaml.MappingNode {
				diags.Add(file, item.Line, item.Column, "each entry of %s must be a mapping with a name, e.g. - name: x, not %s", key, config.Describe(item))
				continue
			}
			if checkMapping(item, spec.keys, file, " in "+key, diags) {
				kept = append(kept, item)
			}
		}
		v.Content = kept
	case spec.kind == mappingValue && spec.each != anyValue:
		kept := v.Content[:0]
		for i := 0; i+1 < len(v.Content); i += 2 {
			if checkValue(key+"."+v.Content[i].Value, v.Content[i+1], keySpec{kind: spec.each}, file, diags) {
				kept = append(kept, v.Content[i], v.Content[i+1])
			}
		}
		v.Content = kept
	}
	return true
}

func columnDocs(file string, cols []columnProps) []ColumnDoc {
	out := make([]ColumnDoc, 0, len(cols))
	for _, c := range cols {
		out = append(out, ColumnDoc{Name: c.Name, Description: c.Description, DataType: c.DataType, File: file, Line: c.line, Col: c.col})
	}
	return out
}
