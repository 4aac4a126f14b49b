package project

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/retention"
	"github.com/quarrydev/quarry/extractors"
)

// Extract is the resource type of extractor nodes: they collect data from
// outside systems and append it to landing tables.
const Extract ResourceType = "extract"

// checkSettings checks an extractor's settings against the ones it
// declares (extractors.Configurable): an unknown key is an error at the key,
// with the closest known one; a value the extractor refuses, at the value.
func (p *Project) checkSettings(ec config.Extractor, ex extractors.Extractor, diags *diag.List) {
	c, ok := ex.(extractors.Configurable)
	if !ok {
		return // it reads its settings itself
	}
	checks := map[string]extractors.Setting{}
	for _, s := range c.Settings() {
		checks[s.Name] = s
	}
	known := slices.Sorted(maps.Keys(checks))
	for _, key := range slices.Sorted(maps.Keys(ec.Settings)) {
		s, ok := checks[key]
		if !ok {
			kn := ec.Keys[key]
			msg := fmt.Sprintf("unknown key %q in extractors.%s", key, ec.Name)
			msg += diag.DidYouMean(key, append(slices.Clone(known), config.ExtractorKeys()...))
			if len(known) > 0 {
				msg += fmt.Sprintf(" (known keys: %s, and the %s extractor's %s)", strings.Join(config.ExtractorKeys(), ", "), ec.Name, strings.Join(known, ", "))
			} else {
				msg += fmt.Sprintf(" (known keys: %s; the %s extractor has no settings of its own)", strings.Join(config.ExtractorKeys(), ", "), ec.Name)
			}
			diags.Add(config.ProjectFile, kn.Line, kn.Column, "%s", msg)
			continue
		}
		if s.Check == nil {
			continue
		}
		if err := s.Check(ec.Settings[key], p.Env); err != nil {
			vn := ec.Values[key]
			diags.Add(config.ProjectFile, vn.Line, vn.Column, "%v", err)
		}
	}
}

// addExtractors makes a node of each configured extractor: input seed ->
// extract -> the source tables it lands, so models reading those sources
// run after it.
func (p *Project) addExtractors(configs []config.Extractor, registry map[string]extractors.Factory, diags *diag.List) {
	for _, ec := range configs {
		factory, ok := registry[ec.Name]
		if !ok {
			names := slices.Sorted(maps.Keys(registry))
			msg := fmt.Sprintf("unknown extractor %q (this quarry has: %s)", ec.Name, strings.Join(names, ", "))
			msg += diag.DidYouMean(ec.Name, names)
			diags.Add(config.ProjectFile, ec.Line, ec.Col, "%s", msg)
			continue
		}
		ex := factory()
		p.checkSettings(ec, ex, diags) // disabled or not: it may be enabled tomorrow
		policies := retentionTables(ec, ex.Tables(), diags)
		if !ec.Enabled {
			continue
		}
		n := &Node{UniqueID: "extract." + p.Name + "." + ec.Name, Name: ec.Name, Type: Extract, Path: config.ProjectFile,
			Config: config.Node{Enabled: true}, Extraction: &ExtractSpec{Extractor: ex, cfg: ec, Tables: map[string]*Node{}}}
		input, ok := p.byName[ec.Input]
		if !ok && ec.Input != "" {
			msg := fmt.Sprintf("extractors.%s: input %q is not a seed or model", ec.Name, ec.Input)
			msg += diag.DidYouMean(ec.Input, slices.Sorted(maps.Keys(p.byName)))
			diags.Add(config.ProjectFile, ec.Line, ec.Col, "%s", msg)
		} else if ok {
			n.Extraction.Input = input
			n.refs = []string{input.Name}
		}
		for _, t := range ex.Tables() {
			src, found := p.landingSource(ec.Source, t.Name)
			if !found {
				diags.Add(config.ProjectFile, ec.Line, ec.Col,
					"extractors.%s lands table %s: declare it under sources: - name: %s, tables: - name: %s (schema: raw) in a property file",
					ec.Name, t.Name, ec.Source, t.Name)
				continue
			}
			n.Extraction.Tables[t.Name] = src
		}
		n.Extraction.changeOnly = changeOnlyTables(ec, ex.Tables(), diags)
		n.Extraction.retention = policies
		p.Nodes[n.UniqueID] = n
		p.extracts = append(p.extracts, n)
	}
}

// changeOnlyTables resolves change_only: against the extractor's tables:
// each table's own default when unset, every table with a key when true.
// A named table that does not exist or has no key is an error at the value.
func changeOnlyTables(ec config.Extractor, tables []extractors.Table, diags *diag.List) map[string]bool {
	out := map[string]bool{}
	co := ec.ChangeOnly
	var keyed []string
	for _, t := range tables {
		if t.Key == "" {
			continue
		}
		keyed = append(keyed, t.Name)
		out[t.Name] = co == nil && t.ChangeOnly || co != nil && co.All
	}
	if co == nil {
		return out
	}
	for _, name := range co.Tables {
		i := slices.IndexFunc(tables, func(t extractors.Table) bool { return t.Name == name })
		switch {
		case i < 0:
			var all []string
			for _, t := range tables {
				all = append(all, t.Name)
			}
			diags.Add(config.ProjectFile, co.Line, co.Col, "extractors.%s.change_only: %q is not one of its landing tables (%s)%s",
				ec.Name, name, strings.Join(all, ", "), diag.DidYouMean(name, all))
		case tables[i].Key == "":
			diags.Add(config.ProjectFile, co.Line, co.Col, "extractors.%s.change_only: table %s has no key column, so its rows cannot be compared across loads (change-only applies to: %s)",
				ec.Name, name, orNone(keyed))
		default:
			out[name] = true
		}
	}
	return out
}

// retentionTables checks that retention: names the extractor's landing
// tables; an unknown one is an error at its name, with the closest.
func retentionTables(ec config.Extractor, tables []extractors.Table, diags *diag.List) map[string]retention.Policy {
	var all []string
	for _, t := range tables {
		all = append(all, t.Name)
	}
	out := map[string]retention.Policy{}
	for _, r := range ec.Retention {
		if !slices.Contains(all, r.Table) {
			diags.Add(config.ProjectFile, r.Line, r.Col, "extractors.%s.retention: %q is not one of its landing tables (%s)%s",
				ec.Name, r.Table, strings.Join(all, ", "), diag.DidYouMean(r.Table, all))
			continue
		}
		if i := slices.IndexFunc(tables, func(t extractors.Table) bool { return t.Name == r.Table }); tables[i].Key == "" {
			// Its loads are increments (each lands rows no other load
			// has, e.g. new download days): thinning them would delete
			// data, not repeated snapshots.
			diags.Add(config.ProjectFile, r.Line, r.Col, "extractors.%s.retention: %s is not a snapshot table: each load lands rows no other load holds, so deleting a load would delete data; retention applies to snapshot tables only (%s)",
				ec.Name, r.Table, orNone(snapshotTables(tables)))
			continue
		}
		out[r.Table] = r.Policy
	}
	return out
}

// snapshotTables names the tables whose loads are snapshots of keyed
// entities: those retention and change-only landing apply to.
func snapshotTables(tables []extractors.Table) []string {
	var out []string
	for _, t := range tables {
		if t.Key != "" {
			out = append(out, t.Name)
		}
	}
	return out
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none of its tables"
	}
	return strings.Join(names, ", ")
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
	cfg       config.Extractor
	Input     *Node
	Tables    map[string]*Node // landing table -> its source node
	// changeOnly holds the landing tables landed change-only.
	changeOnly map[string]bool
	// retention holds the policies of the landing tables that have one.
	retention map[string]retention.Policy
}

// Retention returns a landing table's retention policy (retention: in
// project.yaml); ok is false when it has none and keeps every load.
func (spec *ExtractSpec) Retention(table string) (p retention.Policy, ok bool) {
	p, ok = spec.retention[table]
	return p, ok
}

// ChangeOnly reports whether a landing table is landed change-only
// (change_only: in project.yaml, else the table's default).
func (spec *ExtractSpec) ChangeOnly(table string) bool { return spec.changeOnly[table] }

// ChangeOnlyTables lists the landing tables landed change-only, sorted.
func (spec *ExtractSpec) ChangeOnlyTables() []string {
	var out []string
	for t, on := range spec.changeOnly {
		if on {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// Name is the extractor's name in project.yaml.
func (spec *ExtractSpec) Name() string { return spec.cfg.Name }

// Settings are the extractor's settings from project.yaml.
func (spec *ExtractSpec) Settings() map[string]any { return spec.cfg.Settings }

// Budget bounds one extraction's collection (timeout:).
func (spec *ExtractSpec) Budget() time.Duration { return spec.cfg.Budget }

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
			env := extractors.Env{Getenv: p.Env, Settings: n.Extraction.cfg.Settings, HTTP: client, Now: time.Now().UTC()}
			c.Findings = checker.Check(ctx, env)
		} else {
			c.Findings = []extractors.Finding{{OK: true, Text: "nothing to check"}}
		}
		out = append(out, c)
	}
	return out
}
