package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/retention"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/internal/names"
)

// Extractor is one entry of extractors: in project.yaml.
type Extractor struct {
	Name    string
	Input   string // the seed (or model) whose rows are the items
	Source  string // the source whose tables it lands
	Enabled bool
	Budget  time.Duration // total time of one extraction (timeout:)
	// ChangeOnly is change_only: nil when unset (each landing table's
	// default); otherwise the tables named, or every table with a key
	// (All, change_only: true). The project checks the names
	// against the extractor's tables.
	ChangeOnly *ChangeOnly
	// Retention is retention:, per landing table named, in the order
	// written. The project checks the names against the extractor's tables.
	Retention []TableRetention
	Settings  map[string]any // the extractor's own settings, decoded
	// Keys and Values are the settings' YAML nodes, for positions.
	Keys, Values map[string]*yaml.Node
	Line, Col    int // where the extractor's name is
}

// extractorKeys are the keys of an extractor's block the engine reads
// itself; the others are the extractor's settings.
var extractorKeys = []string{"change_only", "enabled", "input", "retention", "source", "timeout"}

// ChangeOnly is an extractor's change_only: setting: true (All), false
// (neither), or a list of its landing tables.
type ChangeOnly struct {
	All    bool
	Tables []string
	// Line and Col are where the value is, for the project's checks.
	Line, Col int
}

// TableRetention is the retention policy of one landing table.
type TableRetention struct {
	Table  string
	Policy retention.Policy
	// Line and Col are where the table's name is, for the project's checks.
	Line, Col int
}

// ExtractorKeys returns the keys of an extractor's block that are not the
// extractor's own settings, in a fresh slice.
func ExtractorKeys() []string { return slices.Clone(extractorKeys) }

func decodeExtractors(n *yaml.Node, diags *diag.List) []Extractor {
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "extractors must be a mapping of extractor names to settings")
		return nil
	}
	var out []Extractor
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		ec := Extractor{Name: k.Value, Enabled: true, Budget: extractors.DefaultBudget, Settings: map[string]any{},
			Keys: map[string]*yaml.Node{}, Values: map[string]*yaml.Node{}, Line: k.Line, Col: k.Column}
		if v.Kind != yaml.MappingNode {
			diags.Add(ProjectFile, v.Line, v.Column, "extractors.%s must be a mapping with at least input and source", k.Value)
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			kn, vn := v.Content[j], v.Content[j+1]
			key := kn.Value
			if first, dup := ec.Keys[key]; dup {
				diags.Add(ProjectFile, kn.Line, kn.Column, "extractors.%s.%s is set twice (first on line %d); keep one", k.Value, key, first.Line)
				continue
			}
			ec.Keys[key], ec.Values[key] = kn, vn
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
					ec.Input = s
				} else {
					ec.Source = s
				}
			case "enabled":
				b, ok := val.(bool)
				if !ok {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.enabled must be true or false", k.Value)
				}
				ec.Enabled = b
			case "change_only":
				co := &ChangeOnly{Line: vn.Line, Col: vn.Column}
				switch v := val.(type) {
				case bool:
					co.All = v
				case []any:
					ts, err := names.List(v)
					if err != nil {
						diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.change_only must be true, false or a list of its landing tables: %v", k.Value, err)
						continue
					}
					co.Tables = ts
				default:
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.change_only must be true, false or a list of its landing tables, got %v", k.Value, val)
					continue
				}
				ec.ChangeOnly = co
			case "retention":
				ec.Retention = decodeRetention(k.Value, vn, diags)
			case "timeout":
				d, err := parseBudget(val)
				if err != nil {
					diags.Add(ProjectFile, vn.Line, vn.Column, "extractors.%s.timeout %v", k.Value, err)
					continue
				}
				ec.Budget = d
			default:
				ec.Settings[key] = val
			}
		}
		for _, req := range []string{"input", "source"} {
			if _, ok := ec.Keys[req]; !ok {
				diags.Add(ProjectFile, k.Line, k.Column, "extractors.%s needs %s: (%s)", k.Value, req,
					map[string]string{"input": "the seed listing the items to extract", "source": "the source whose tables it lands"}[req])
			}
		}
		out = append(out, ec)
	}
	return out
}

// decodeRetention reads an extractor's retention: a mapping of landing
// tables to their tiers, e.g. {github_repositories: {all: 14d, daily: 1y,
// weekly: 5y}}. Each problem is reported at the key or value it is about.
func decodeRetention(extractor string, n *yaml.Node, diags *diag.List) []TableRetention {
	const example = "e.g. retention: {github_repositories: {all: 14d, daily: 365d, weekly: 5y}}"
	if n.Kind != yaml.MappingNode {
		diags.Add(ProjectFile, n.Line, n.Column, "extractors.%s.retention must be a mapping of landing tables to their retention (%s)", extractor, example)
		return nil
	}
	var out []TableRetention
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		tn, pn := n.Content[i], n.Content[i+1]
		where := fmt.Sprintf("extractors.%s.retention.%s", extractor, tn.Value)
		if first, dup := seen[tn.Value]; dup {
			diags.Add(ProjectFile, tn.Line, tn.Column, "%s is set twice (first on line %d); keep one", where, first)
			continue
		}
		seen[tn.Value] = tn.Line
		if pn.Kind != yaml.MappingNode {
			diags.Add(ProjectFile, pn.Line, pn.Column, "%s must be a mapping of tiers (%s) to how long they keep loads (%s)", where, strings.Join(retention.Tiers, ", "), example)
			continue
		}
		set := map[string]time.Duration{}
		nodes := map[string]*yaml.Node{}
		ok := true
		for j := 0; j+1 < len(pn.Content); j += 2 {
			kn, vn := pn.Content[j], pn.Content[j+1]
			if !slices.Contains(retention.Tiers, kn.Value) {
				diags.Add(ProjectFile, kn.Line, kn.Column, "unknown tier %q in %s (tiers: %s)%s", kn.Value, where,
					strings.Join(retention.Tiers, ", "), diag.DidYouMean(kn.Value, retention.Tiers))
				ok = false
				continue
			}
			if _, dup := set[kn.Value]; dup {
				diags.Add(ProjectFile, kn.Line, kn.Column, "%s.%s is set twice; keep one", where, kn.Value)
				ok = false
				continue
			}
			d, err := retention.ParseSpan(vn.Value)
			if vn.Kind != yaml.ScalarNode || err != nil {
				if err == nil {
					err = fmt.Errorf("must be a span such as 14d")
				}
				diags.Add(ProjectFile, vn.Line, vn.Column, "%s.%s %v", where, kn.Value, err)
				ok = false
				continue
			}
			set[kn.Value], nodes[kn.Value] = d, vn
		}
		if !ok {
			continue
		}
		if tier, err := retention.Check(set); err != nil {
			line, col := pn.Line, pn.Column
			if vn := nodes[tier]; vn != nil {
				line, col = vn.Line, vn.Column
			}
			diags.Add(ProjectFile, line, col, "%s: %v", where, err)
			continue
		}
		out = append(out, TableRetention{Table: tn.Value, Policy: retention.New(set), Line: tn.Line, Col: tn.Column})
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
