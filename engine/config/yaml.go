package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
)

// documentMapping returns the top-level mapping of a parsed file, or nil
// when the file holds anything else.
func documentMapping(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		return root.Content[0]
	}
	return nil
}

// ParseYAML parses a YAML file into its node tree. Problems are added to
// diags: syntax errors, a second document (which yaml.v3 would silently
// ignore), and duplicate keys, which are removed from the tree once
// reported so that nothing decoding it reports them again, without a
// position, or silently keeps either value. ok is false when the file
// could not be parsed at all; an empty file is a document with no content.
func ParseYAML(src []byte, path string, diags *diag.List) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	root = &yaml.Node{Kind: yaml.DocumentNode}
	if err := dec.Decode(root); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode}, true
		}
		AddYAMLError(diags, path, err)
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
		AddYAMLError(diags, path, err)
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

// AddYAMLError turns a yaml.v3 error into positioned diagnostics.
func AddYAMLError(diags *diag.List, path string, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			AddYAMLError(diags, path, errors.New("yaml: "+e))
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

// mappingEntry returns the key and value nodes of key in mapping m, or nils.
func mappingEntry(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// Describe names the kind of a YAML value for "must be X, not Y" messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}
