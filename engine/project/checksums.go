package project

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/render"
)

// Checksums fingerprint the parts of a node that can change between two
// runs, one each, the way dbt's state:modified sub-selectors compare them
// (state:modified.body, .configs, .properties, .macros, .vars). Each is the
// hex sha256 of what it covers; none holds a value itself, so a var's
// secret value never reaches the manifest.
type Checksums struct {
	// Body is the node's file (a model's or singular test's SQL, a seed's
	// contents) or, for a node declared in YAML (a generic or freshness
	// test, a source, an extractor), its declaration.
	Body string `json:"body"`
	// Configs is the node's effective config: project.yaml, property
	// files and config calls together.
	Configs string `json:"configs"`
	// Properties is what property files say of the node: its description,
	// columns and the tests declared on it.
	Properties string `json:"properties"`
	// Macros is the text of every macro the node's template calls,
	// directly or through other macros.
	Macros string `json:"macros"`
	// Vars is the vars the node's template reads, with their values.
	Vars string `json:"vars"`
}

// Checksums returns n's checksums. Macros are those a {{ template }} call
// in the node's file names, and those that theirs name, transitively,
// whether or not the render takes the branch holding the call: a call is
// a dependency even when today's vars skip it.
func (p *Project) Checksums(n *Node) Checksums {
	if n.frozenSums != nil {
		return *n.frozenSums
	}
	return Checksums{
		Body:       p.bodySum(n),
		Configs:    digest(n.Config),
		Properties: p.propertiesSum(n),
		Macros:     p.macrosSum(n),
		Vars:       digest(n.varsRead),
	}
}

func (p *Project) bodySum(n *Node) string {
	switch {
	case n.Type == Extract && n.Extraction != nil:
		return digest(map[string]any{"extractor": n.Extraction.Name(), "settings": n.Extraction.Settings()})
	case n.Type == Source:
		// The schema as declared: a landing table's carries the target's
		// schema_prefix, which a CI run's differs from production's in.
		schema := n.Relation.Schema
		if len(n.DependsOn) > 0 { // landed by an extractor
			schema = strings.TrimPrefix(schema, p.Target.SchemaPrefix)
		}
		return digest([]string{n.SourceName, n.Name, schema, n.Relation.Name, n.LoadedAtField})
	case n.Type == Test && n.Test != nil && n.Test.Kind != datatest.Singular:
		t := n.Test
		attached := ""
		if t.Attached != nil {
			attached = t.Attached.UniqueID
		}
		return digest(map[string]any{"kind": t.Kind, "generic": t.Generic, "attached": attached, "column": t.Column,
			"args": t.Args, "warn_after": t.WarnAfter.String(), "error_after": t.ErrorAfter.String()})
	}
	return n.Checksum
}

// propertiesSum covers the node's property-file entry. The tests declared
// on a node are part of it: adding one changes the node's properties, and
// the test itself is new.
func (p *Project) propertiesSum(n *Node) string {
	var tests []string
	for _, t := range p.sumIndex().tests[n] {
		tests = append(tests, t.UniqueID+" "+p.bodySum(t))
	}
	slices.Sort(tests)
	return digest(map[string]any{"description": n.Description, "columns": n.Columns, "tests": tests})
}

func (p *Project) macrosSum(n *Node) string {
	if n.tmpl == nil {
		return digest(nil)
	}
	used := map[string]bool{}
	var visit func(tree *parse.Tree)
	visit = func(tree *parse.Tree) {
		if tree == nil {
			return
		}
		render.Walk(tree.Root, func(node parse.Node) bool {
			call, ok := node.(*parse.TemplateNode)
			if !ok || used[call.Name] {
				return true
			}
			used[call.Name] = true
			if m, ok := p.macros[call.Name]; ok {
				visit(m)
			} else if local := n.tmpl.Lookup(call.Name); local != nil {
				visit(local.Tree) // a define in the node's own file: part of its body
			}
			return true
		})
	}
	visit(n.tmpl.Tree) // n.tmpl is the node's own template (a generic test's is the test's)
	var texts []string
	for name := range used {
		if sum, ok := p.sumIndex().macros[name]; ok {
			texts = append(texts, name+" "+sum)
		}
	}
	slices.Sort(texts)
	return digest(texts)
}

// checksumIndex is what every node's checksums share, built once: at
// 10,000 nodes, finding each node's tests by scanning every node, or
// printing a macro once per caller, would cost more than the manifest.
type checksumIndex struct {
	tests  map[*Node][]*Node // the tests declared on each node
	macros map[string]string // each macro's digest, by name
}

func (p *Project) sumIndex() *checksumIndex {
	p.sumsOnce.Do(func() {
		p.sums = &checksumIndex{tests: map[*Node][]*Node{}, macros: make(map[string]string, len(p.macros))}
		for _, t := range p.Nodes {
			if t.Type == Test && t.Test != nil && t.Test.Attached != nil {
				p.sums.tests[t.Test.Attached] = append(p.sums.tests[t.Test.Attached], t)
			}
		}
		for name, tree := range p.macros {
			p.sums.macros[name] = digest(macroText(tree))
		}
	})
	return p.sums
}

// checkpointAt matches the positions the render budget writes into every
// template (render's instrument): a macro moved down its file by an edit
// above it is not a changed macro.
var checkpointAt = regexp.MustCompile(`(quarry_\w+) "[^"]*"`)

func macroText(tree *parse.Tree) string {
	return checkpointAt.ReplaceAllString(tree.Root.String(), "$1")
}

// digest is the hex sha256 of v's JSON (map keys sorted).
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // a value JSON cannot hold: its printed form
		b = []byte(fmt.Sprintf("%#v", v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ChecksumKinds are the sub-selectors of state:modified, in order.
var ChecksumKinds = []string{"body", "configs", "properties", "macros", "vars"}

// Get returns the checksum of one kind of ChecksumKinds.
func (c Checksums) Get(kind string) string {
	switch strings.ToLower(kind) {
	case "body":
		return c.Body
	case "configs":
		return c.Configs
	case "properties":
		return c.Properties
	case "macros":
		return c.Macros
	case "vars":
		return c.Vars
	}
	return ""
}
