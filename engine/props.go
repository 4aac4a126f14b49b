package engine

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

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

// readProps parses one property file; problems go to diags.
func readProps(abs, rel string, diags *diag.List) *propsFile {
	src, err := os.ReadFile(abs)
	if err != nil {
		diags.Add(rel, 0, 0, "%v", err)
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		addYAMLError(diags, rel, err)
		return nil
	}
	if len(root.Content) == 0 {
		return &propsFile{path: rel} // an empty file describes nothing
	}
	checkKeys(root.Content[0], propsSchema, rel, "", diags)
	pf := &propsFile{path: rel}
	if err := root.Decode(pf); err != nil {
		addYAMLError(diags, rel, err)
		return nil
	}
	return pf
}

// keySchema lists the keys a mapping may hold; a key's schema describes
// its value when that value is a list of mappings (or a mapping).
type keySchema map[string]keySchema

var (
	columnSchema = keySchema{"name": nil, "description": nil, "tests": nil, "data_tests": nil, "data_type": nil, "meta": nil, "quote": nil, "tags": nil}
	nodeSchema   = keySchema{"name": nil, "description": nil, "config": nil, "columns": columnSchema, "column_types": nil,
		"tests": nil, "data_tests": nil, "meta": nil, "docs": nil}
	seedSchema = keySchema{"name": nil, "description": nil, "config": nil, "columns": columnSchema, "column_types": nil,
		"tests": nil, "data_tests": nil, "meta": nil, "docs": nil, "encoding": nil}
	tableSchema = keySchema{"name": nil, "identifier": nil, "description": nil, "loaded_at_field": nil, "freshness": nil,
		"columns": columnSchema, "tests": nil, "data_tests": nil, "meta": nil}
	sourceSchema = keySchema{"name": nil, "description": nil, "schema": nil, "tables": tableSchema, "meta": nil}
	propsSchema  = keySchema{"version": nil, "models": nodeSchema, "seeds": seedSchema, "sources": sourceSchema}
)

// checkKeys reports keys a property file should not hold: a misspelt key
// would otherwise be silently ignored.
func checkKeys(n *yaml.Node, schema keySchema, file, where string, diags *diag.List) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			checkKeys(item, schema, file, where, diags)
		}
	case yaml.MappingNode:
		known := slices.Sorted(maps.Keys(schema))
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub, ok := schema[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %q%s (keys here: %s)", k.Value, where, strings.Join(known, ", "))
				if s := suggest(k.Value, known); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				diags.Add(file, k.Line, k.Column, "%s", msg)
				continue
			}
			if sub != nil {
				checkKeys(v, sub, file, " in "+k.Value, diags)
			}
		}
	}
}

func columnDocs(cols []columnProps) []ColumnDoc {
	out := make([]ColumnDoc, 0, len(cols))
	for _, c := range cols {
		out = append(out, ColumnDoc{Name: c.Name, Description: c.Description})
	}
	return out
}
