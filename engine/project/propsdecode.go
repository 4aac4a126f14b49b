package project

import (
	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/config"
)

// propsDecoder fills a propsFile from a property file's YAML tree once
// checkMapping has checked it, by hand rather than through yaml.v3's
// reflection: decoding every entry of a large project with Node.Decode made
// a decoder per entry and was a third of reading the property files. It
// decodes the values yaml.v3 would, the same way: strings from scalars
// (null as ""), nodes copied as they are, lists and mappings of those. On
// anything else (an explicit tag, !!binary, a complex key) it sets failed,
// and the caller decodes with yaml.v3, which also reports the errors.
type propsDecoder struct{ failed bool }

func (d *propsDecoder) file(top *yaml.Node, pf *propsFile) {
	for i := 0; i+1 < len(top.Content); i += 2 {
		v := top.Content[i+1]
		switch top.Content[i].Value {
		case "models":
			pf.Models = decodeList(d, v, d.node)
		case "seeds":
			pf.Seeds = decodeList(d, v, d.node)
		case "sources":
			pf.Sources = decodeList(d, v, d.source)
		}
	}
}

func (d *propsDecoder) node(m *yaml.Node) (np nodeProps) {
	np.pos = d.pos(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		switch m.Content[i].Value {
		case "name":
			np.Name = d.str(v)
		case "description":
			np.Description = d.str(v)
		case "config":
			np.Config = *v
		case "columns":
			np.Columns = decodeList(d, v, d.column)
		case "column_types":
			np.ColumnTypes = d.strMap(v)
		case "tests":
			np.Tests = decodeList(d, v, copyNode)
		case "data_tests":
			np.DataTests = decodeList(d, v, copyNode)
		case "encoding":
			np.Encoding = *v
		}
	}
	return np
}

func (d *propsDecoder) column(m *yaml.Node) (c columnProps) {
	c.pos = d.pos(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		switch m.Content[i].Value {
		case "name":
			c.Name = d.str(v)
		case "description":
			c.Description = d.str(v)
		case "data_type":
			c.DataType = d.str(v)
		case "tests":
			c.Tests = decodeList(d, v, copyNode)
		case "data_tests":
			c.DataTests = decodeList(d, v, copyNode)
		}
	}
	return c
}

func (d *propsDecoder) source(m *yaml.Node) (s sourceProps) {
	s.pos = d.pos(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		switch m.Content[i].Value {
		case "name":
			s.Name = d.str(v)
		case "description":
			s.Description = d.str(v)
		case "schema":
			s.Schema = d.str(v)
		case "tables":
			s.Tables = decodeList(d, v, d.table)
		}
	}
	return s
}

func (d *propsDecoder) table(m *yaml.Node) (t sourceTableProps) {
	t.pos = d.pos(m)
	for i := 0; i+1 < len(m.Content); i += 2 {
		v := m.Content[i+1]
		switch m.Content[i].Value {
		case "name":
			t.Name = d.str(v)
		case "identifier":
			t.Identifier = d.str(v)
		case "description":
			t.Description = d.str(v)
		case "loaded_at_field":
			t.LoadedAtField = d.str(v)
		case "freshness":
			t.Freshness = *v
		case "columns":
			t.Columns = decodeList(d, v, d.column)
		case "tests":
			t.Tests = decodeList(d, v, copyNode)
		case "data_tests":
			t.DataTests = decodeList(d, v, copyNode)
		}
	}
	return t
}

// pos is where an entry starts; entries are mappings (checkValue drops the
// rest), anything else is left to yaml.v3.
func (d *propsDecoder) pos(m *yaml.Node) pos {
	if m.Kind != yaml.MappingNode {
		d.failed = true
	}
	return pos{m.Line, m.Column}
}

// str is a scalar as yaml.v3 decodes it into a string: its text as
// written, or "" for null.
func (d *propsDecoder) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Style&yaml.TaggedStyle != 0 {
		d.failed = true
		return ""
	}
	switch n.Tag {
	case "!!null":
		return ""
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value
	}
	d.failed = true
	return ""
}

func (d *propsDecoder) strMap(n *yaml.Node) map[string]string {
	if config.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.failed = true
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[d.str(n.Content[i])] = d.str(n.Content[i+1])
	}
	return out
}

// decodeList decodes a sequence with item; null is no list, as in yaml.v3.
func decodeList[T any](d *propsDecoder, n *yaml.Node, item func(*yaml.Node) T) []T {
	if config.IsNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.failed = true
		return nil
	}
	out := make([]T, len(n.Content))
	for i, c := range n.Content {
		out[i] = item(c)
	}
	return out
}

func copyNode(n *yaml.Node) yaml.Node { return *n }
