package config

import (
	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/seed"
)

// BadEncoding stands for a seed encoding that was declared wrongly, and
// reported: the seed is not read, rather than read in the wrong one.
const BadEncoding = "?"

// ParseEncoding validates an encoding: value written at file:line:col and
// returns its canonical name, or BadEncoding after reporting it.
func ParseEncoding(v *yaml.Node, file string, diags *diag.List) string {
	if v.Kind == yaml.ScalarNode {
		if enc, ok := seed.LookupEncoding(v.Value); ok {
			return enc
		}
	}
	diags.Add(file, v.Line, v.Column, "unknown encoding %q: use one of %s", v.Value, seed.Encodings)
	return BadEncoding
}
