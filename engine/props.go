package engine

import (
	"os"

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
}

func (p *nodeProps) UnmarshalYAML(n *yaml.Node) error {
	type plain nodeProps
	p.pos = pos{n.Line, n.Column}
	return n.Decode((*plain)(p))
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
	pf := &propsFile{path: rel}
	if err := yaml.Unmarshal(src, pf); err != nil {
		addYAMLError(diags, rel, err)
		return nil
	}
	return pf
}

func columnDocs(cols []columnProps) []ColumnDoc {
	out := make([]ColumnDoc, 0, len(cols))
	for _, c := range cols {
		out = append(out, ColumnDoc{Name: c.Name, Description: c.Description})
	}
	return out
}
