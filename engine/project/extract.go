package project

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/extractors"
)

// Extract is the resource type of extractor nodes: they collect data from
// outside systems and append it to landing tables.
const Extract ResourceType = "extract"

// extractorConfig is one entry of extractors: in project.yaml.
type extractorConfig struct {
	name     string
	input    string // the seed (or model) whose rows are the items
	source   string // the source whose tables it lands
	enabled  bool
	budget   time.Duration // total time of one extraction (timeout:)
	settings map[string]any
	// keys and values are the settings' YAML nodes, for positions.
	keys, values map[string]*yaml.Node
	line         int
	col          int
}

// engineKeys are the keys of an extractor's block the engine reads itself;
// the others are the extractor's settings.
var engineKeys = []string{"enabled", "input", "source", "timeout"}

func decodeExtractors(n *yaml.Node, diags *diag.List) []extractorConfig {
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "extractors must be a mapping of extractor names to settings")
		return nil
	}
	var out []extractorConfig
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ec := extractorConfig{name: k.Value, enabled: true, budget: extractors.DefaultBudget, settings: map[string]any{},
			keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, line: k.Line, col: k.Column}
		if v.Kind != yaml.MappingNode {
			diags.Add(ProjectFile, v.Line, v.Column, "extractors.%s must be a mapping with at least input and source", k.Value)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			kn, vn := v.Content[j], v.Content[j+1]
			key := kn.Value
			if first, dup := ec.keys[key]; dup {
				diags.Add(ProjectFile, kn.Line, kn.Column, "extractors.%s.%s is set twice (first on line %d); keep one", k.Value, key, first.Line)
				continue
			}
			ec.keys[key], ec.values[key] = kn, vn
			var val any
			if err := vn.Decode(&val); err != nil {
				diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.%s: %v", k.Value, key, err)
				continue
			}
			switch key {
			case "input", "source":
				s, ok := val.(string)
				if !ok || s == "" {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.%s must be a name", k.Value, key)
					continue
				}
				if key == "input" {
					ec.input = s
				} else {
					ec.source = s
				}
			case "enabled":
				b, ok := val.(bool)
				if !ok {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.enabled must be true or false", k.Value)
				}
				ec.enabled = b
			case "timeout":
				d, err := parseBudget(val)
				if err != nil {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.timeout %v", k.Value, err)
					continue
				}
				ec.budget = d
			default:
				ec.settings[key] = val
			}
		}
		for _, req := range []string{"input", "source"} {
			if _, ok := ec.keys[req]; !ok {
				diags.Add(ProjectFile, k.Line, k.Column, "extractors.%s needs %s: (%s)", k.Value, req,
					map[string]string{"input": "the seed listing the items to extract", "source": "the source whose tables it lands"}[req])
			}
		}
		out = append(out, ec)
	}
	return out
}

// parseBudget reads an extractor's timeout: a positive Go duration. A bare
// number is refused: seconds or minutes would be a guess.
func parseBudget(val any) (time.Duration, error) {
	const want = "must be a duration such as 5m or 90s (the extractor's total time budget)"
	s, ok := val.(string)
	switch {
	case !ok && isNumber(val):
		return 0, fmt.Errorf("%s, got %v (a number needs a unit)", want, val)
	case !ok:
		return 0, fmt.Errorf("%s, got %v", want, val)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s, got %q", want, s)
	}
	return d, nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, float64:
		return true
	}
	return false
}

// checkSettings checks an extractor's settings against the ones it
// declares (extractors.Configurable): an unknown key is an error at the key,
// with the closest known one; a value the extractor refuses, at the value.
func (p *Project) checkSettings(ec extractorConfig, ex extractors.Extractor, diags *diag.List) {
	c, ok := ex.(extractors.Configurable)
	if !ok {
		return // it reads its settings itself
	}
	checks := map[string]extractors.Setting{}
	for _, s := range c.Settings() {
		checks[s.Name] = s
	}
	known := slices.Sorted(maps.Keys(checks))
	for _, key := range slices.Sorted(maps.Keys(ec.settings)) {
		s, ok := checks[key]
		if !ok {
			kn := ec.keys[key]
			msg := fmt.Sprintf("unknown key %q in extractors.%s", key, ec.name)
			if sug := diag.Suggest(key, append(slices.Clone(known), engineKeys...)); sug != "" {
				msg += fmt.Sprintf("; did you mean %q?", sug)
			}
			if len(known) > 0 {
				msg += fmt.Sprintf(" (known keys: %s, and the %s extractor's %s)", strings.Join(engineKeys, ", "), ec.name, strings.Join(known, ", "))
			} else {
				msg += fmt.Sprintf(" (known keys: %s; the %s extractor has no settings of its own)", strings.Join(engineKeys, ", "), ec.name)
			}
			diags.Add(ProjectFile, kn.Line, kn.Column, "%s", msg)
			continue
		}
		if s.Check == nil {
			continue
		}
		if err := s.Check(ec.settings[key], p.Env); err != nil {
			vn := ec.values[key]
			diags.Add(ProjectFile, vn.Line, vn.Column, "%v", err)
		}
	}
}

// addExtractors makes a node of each configured extractor: input seed ->
// extract -> the source tables it lands, so models reading those sources
// run after it.
func (p *Project) addExtractors(configs []extractorConfig, registry map[string]extractors.Factory, diags *diag.List) {
	for _, ec := range configs {
		factory, ok := registry[ec.name]
		if !ok {
			names := slices.Sorted(maps.Keys(registry))
			msg := fmt.Sprintf("unknown extractor %q (this quarry has: %s)", ec.name, strings.Join(names, ", "))
			if s := diag.Suggest(ec.name, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			diags.Add(ProjectFile, ec.line, ec.col, "%s", msg)
			continue
		}
		ex := factory()
		p.checkSettings(ec, ex, diags) // disabled or not: it may be enabled tomorrow
		if !ec.enabled {
			continue
		}
		n := &Node{UniqueID: "extract." + p.Name + "." + ec.name, Name: ec.name, Type: Extract, Path: ProjectFile,
			Config: Config{Enabled: true}, Extraction: &ExtractSpec{Extractor: ex, cfg: ec, Tables: map[string]*Node{}}}
		input, ok := p.byName[ec.input]
		if !ok && ec.input != "" {
			msg := fmt.Sprintf("extractors.%s: input %q is not a seed or model", ec.name, ec.input)
			if s := diag.Suggest(ec.input, slices.Sorted(maps.Keys(p.byName))); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			diags.Add(ProjectFile, ec.line, ec.col, "%s", msg)
		} else if ok {
			n.Extraction.Input = input
			n.refs = []string{input.Name}
		}
		for _, t := range ex.Tables() {
			src, found := p.landingSource(ec.source, t.Name)
			if !found {
				diags.Add(ProjectFile, ec.line, ec.col,
					"extractors.%s lands table %s: declare it under sources: - name: %s, tables: - name: %s (schema: raw) in a property file",
					ec.name, t.Name, ec.source, t.Name)
				continue
			}
			n.Extraction.Tables[t.Name] = src
		}
		p.Nodes[n.UniqueID] = n
		p.extracts = append(p.extracts, n)
	}
}

// landingSource finds the table of source src that a landing table named
// table is, by identifier.
func (p *Project) landingSource(src, table string) (*Node, bool) {
	for _, n := range p.sources {
		if n.SourceName == src && strings.EqualFold(n.Relation.Name, table) {
			return n, true
		}
	}
	return nil, false
}

// ExtractSpec is what an extract node runs.
type ExtractSpec struct {
	Extractor extractors.Extractor
	cfg       extractorConfig
	Input     *Node
	Tables    map[string]*Node // landing table -> its source node
}

// Name is the extractor's name in project.yaml.
func (spec *ExtractSpec) Name() string { return spec.cfg.name }

// Settings are the extractor's settings from project.yaml.
func (spec *ExtractSpec) Settings() map[string]any { return spec.cfg.settings }

// Budget bounds one extraction's collection (timeout:).
func (spec *ExtractSpec) Budget() time.Duration { return spec.cfg.budget }

// linkExtracts adds the graph edges of extract nodes.
func (p *Project) linkExtracts() {
	for _, n := range p.extracts {
		if in := n.Extraction.Input; in != nil {
			p.Graph.AddEdge(in.UniqueID, n.UniqueID)
			n.DependsOn = []string{in.UniqueID}
		}
		for _, src := range n.Extraction.Tables {
			p.Graph.AddEdge(n.UniqueID, src.UniqueID)
			src.DependsOn = append(src.DependsOn, n.UniqueID)
		}
	}
}

// Endpoints returns the values of the extractors' endpoint variables
// (extractors.Endpointed) that are set: a recording keeps them, so that its
// replay asks the addresses it recorded.
func (p *Project) Endpoints() map[string]string {
	out := map[string]string{}
	for _, n := range p.extracts {
		e, ok := n.Extraction.Extractor.(extractors.Endpointed)
		if !ok {
			continue
		}
		for _, name := range e.EndpointVars() {
			if v, ok := p.Env(name); ok && strings.TrimSpace(v) != "" {
				out[name] = v
			}
		}
	}
	return out
}

// ExtractorCheck is what one extractor said about its settings and
// credentials.
type ExtractorCheck struct {
	Name     string
	Findings []extractors.Finding
}

// CheckExtractors asks each extractor that can (extractors.Checker) whether
// its settings and credentials are usable, without collecting anything.
func (p *Project) CheckExtractors(ctx context.Context, client *http.Client) []ExtractorCheck {
	var out []ExtractorCheck
	for _, n := range p.extracts {
		c := ExtractorCheck{Name: n.Name}
		if checker, ok := n.Extraction.Extractor.(extractors.Checker); ok {
			env := extractors.Env{Getenv: p.Env, Settings: n.Extraction.cfg.settings, HTTP: client, Now: time.Now().UTC()}
			c.Findings = checker.Check(ctx, env)
		} else {
			c.Findings = []extractors.Finding{{OK: true, Text: "nothing to check"}}
		}
		out = append(out, c)
	}
	return out
}
