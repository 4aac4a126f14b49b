// Package docs builds the documentation site `quarry docs generate` writes
// under target/docs: one JSON document describing every node (what the
// project declares, what the analysis found, what the last run and the
// warehouse say) and the static page that shows it, its assets embedded in
// the binary.
package docs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/datatest"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/secret"
)

// Version is the docs.json format; it changes when a field changes meaning
// or disappears.
const Version = 1

// Node statuses: what an analyst needs to know before trusting a node.
const (
	StatusOK      = "ok"      // built, loaded or passed in the last run; a source's freshness passed
	StatusFailed  = "failed"  // errored, or (a model, seed) a test on it failed
	StatusWarn    = "warn"    // a test found failures within its warn threshold
	StatusSkipped = "skipped" // not run: an upstream failed, or the run was interrupted
	StatusStale   = "stale"   // a source's freshness check warned or failed
	StatusNotRun  = "not run" // the last run did not include it
)

// Document is docs.json: the whole project as the site shows it. The page
// gets the same bytes inlined, so it is kept lean: no SQL twice, empty
// fields left out, dependencies only one way (the page inverts them).
type Document struct {
	Version     int              `json:"docs_version"`
	Project     string           `json:"project"`
	GeneratedAt time.Time        `json:"generated_at"`
	Quarry      string           `json:"quarry_version"`
	Target      string           `json:"target"`
	TargetType  string           `json:"target_type"`
	LastRun     *LastRun         `json:"last_run,omitempty"` // nil when target/run_results.json is absent
	HasCatalog  bool             `json:"has_catalog"`
	Nodes       map[string]*Node `json:"nodes"` // by unique id
}

// LastRun summarises target/run_results.json.
type LastRun struct {
	Command     string             `json:"command"`
	GeneratedAt string             `json:"generated_at"`
	Elapsed     float64            `json:"elapsed_time"`
	Interrupted bool               `json:"interrupted,omitempty"`
	Statuses    map[run.Status]int `json:"statuses"` // run_results status -> how many
}

// Node is one model, seed, source, extractor or test.
type Node struct {
	ID          string         `json:"-"` // the key in Document.Nodes
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Path        string         `json:"path,omitempty"`
	Description string         `json:"description,omitempty"`
	Config      *config.Node   `json:"config,omitempty"`
	Relation    string         `json:"relation,omitempty"`
	SourceName  string         `json:"source_name,omitempty"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Columns     []Column       `json:"columns,omitempty"`
	Analysis    string         `json:"not_analysed,omitempty"` // why its SQL was not checked
	Raw         string         `json:"raw_sql,omitempty"`
	Compiled    string         `json:"compiled_sql,omitempty"`
	Test        *Test          `json:"test,omitempty"`
	Status      string         `json:"status"`
	Why         string         `json:"status_reason,omitempty"` // what made the status, when not the node's own result
	Result      *Result        `json:"result,omitempty"`
	Freshness   *Result        `json:"freshness,omitempty"` // sources: the freshness check's result
	RowCount    *int64         `json:"row_count,omitempty"`
	Warehouse   string         `json:"warehouse_kind,omitempty"` // table or view, as the catalog says
	Extra       map[string]any `json:"settings,omitempty"`       // extractors: their settings
}

// Column is one column of a node.
type Column struct {
	Name        string   `json:"name"`
	Type        string   `json:"type,omitempty"`           // the analyser's or declared type
	Warehouse   string   `json:"warehouse_type,omitempty"` // the catalog's, when it differs
	Description string   `json:"description,omitempty"`
	Lineage     *Lineage `json:"lineage,omitempty"`
	Tests       []string `json:"tests,omitempty"` // unique ids of the tests on the column
}

// Lineage is where a model's column comes from.
type Lineage struct {
	Kind    string      `json:"kind"`
	Sources [][2]string `json:"sources,omitempty"` // [node unique id, column]
	Reason  string      `json:"reason,omitempty"`
}

// Test says what a test checks.
type Test struct {
	Kind     string `json:"kind"`
	Generic  string `json:"generic,omitempty"`
	Attached string `json:"attached,omitempty"`
	Column   string `json:"column,omitempty"`
}

// Result is a node's line in run_results.json.
type Result struct {
	Status   run.Status `json:"status"`
	Started  string     `json:"started_at,omitempty"`
	Seconds  float64    `json:"execution_time"`
	Rows     *int64     `json:"rows_affected,omitempty"`
	Failures *int64     `json:"failures,omitempty"`
	Message  string     `json:"message,omitempty"`
}

// runResults is the part of run_results.json the site reads.
type runResults struct {
	Metadata struct {
		Command     string `json:"command"`
		GeneratedAt string `json:"generated_at"`
	} `json:"metadata"`
	Elapsed     float64 `json:"elapsed_time"`
	Interrupted bool    `json:"interrupted"`
	Results     []struct {
		UniqueID string     `json:"unique_id"`
		Status   run.Status `json:"status"`
		Started  string     `json:"started_at"`
		Seconds  float64    `json:"execution_time"`
		Rows     *int64     `json:"rows_affected"`
		Failures *int64     `json:"failures"`
		Message  string     `json:"message"`
	} `json:"results"`
}

// Build describes p for the site, with the last run and the warehouse's
// catalog read from targetDir (usually the project's target/) when there.
func Build(p *project.Project, targetDir string, now time.Time) (*Document, error) {
	doc := &Document{Version: Version, Project: p.Name, GeneratedAt: now.UTC(), Quarry: artifacts.Version,
		Target: p.Target.Name, TargetType: p.Target.Type, Nodes: make(map[string]*Node, len(p.Nodes))}

	var rr runResults
	hasRun, err := readJSON(filepath.Join(targetDir, "run_results.json"), &rr)
	if err != nil {
		return nil, err
	}
	cat, err := artifacts.ReadCatalog(targetDir)
	if err != nil {
		return nil, err
	}
	doc.HasCatalog = cat != nil
	results := map[string]*Result{}
	if hasRun {
		doc.LastRun = &LastRun{Command: rr.Metadata.Command, GeneratedAt: rr.Metadata.GeneratedAt, Elapsed: rr.Elapsed,
			Interrupted: rr.Interrupted, Statuses: map[run.Status]int{}}
		for _, r := range rr.Results {
			doc.LastRun.Statuses[r.Status]++
			results[r.UniqueID] = &Result{Status: r.Status, Started: r.Started, Seconds: r.Seconds, Rows: r.Rows, Failures: r.Failures, Message: r.Message}
		}
	}

	// Tests by what they are on, so a node shows its tests and a column
	// its own.
	testsOn := map[string][]*project.Node{}
	for _, n := range p.Nodes {
		if a := n.Attached(); a != nil {
			testsOn[a.UniqueID] = append(testsOn[a.UniqueID], n)
		}
	}

	for id, n := range p.Nodes {
		dn := &Node{ID: id, Name: n.Name, Type: string(n.Type), Path: n.Path, Description: n.Description,
			SourceName: n.SourceName, DependsOn: n.DependsOn, Result: results[id]}
		if n.Type != project.Test {
			cfg := n.Config
			dn.Config = &cfg
		}
		if n.Type == project.Model || n.Type == project.Seed || n.Type == project.Source {
			dn.Relation = p.Dialect.RelationSQL(n.Relation)
		}
		if n.Type == project.Model || n.Type == project.Test {
			dn.Raw, dn.Compiled = n.Raw, n.Compiled
			if a := n.Analysis; a != nil && !a.Checked {
				dn.Analysis = a.Reason
			}
		}
		if t := n.Test; t != nil {
			dn.Test = &Test{Kind: t.Kind, Generic: t.Generic, Column: t.Column}
			if t.Attached != nil {
				dn.Test.Attached = t.Attached.UniqueID
			}
		}
		if x := n.Extraction; x != nil {
			dn.Extra = settings(x.Settings())
		}
		entry, cataloged := cat.Entry(n)
		if cataloged {
			dn.RowCount, dn.Warehouse = entry.RowCount, string(entry.Kind)
		}
		dn.Columns = columns(n, testsOn[id], entry.Columns)
		dn.Status, dn.Why, dn.Freshness = status(n, results, testsOn[id])
		doc.Nodes[id] = dn
	}
	return doc, nil
}

// status says whether to trust n: its own last result, then what its tests
// found (a source's only result is its freshness check).
func status(n *project.Node, results map[string]*Result, tests []*project.Node) (status, why string, freshness *Result) {
	own := results[n.UniqueID]
	switch {
	case own == nil && n.Type != project.Source:
		status = StatusNotRun
	case own == nil:
		status = StatusNotRun
		for _, t := range tests {
			r := results[t.UniqueID]
			if t.TestKind() != datatest.Freshness || r == nil {
				continue
			}
			freshness = r
			switch r.Status {
			case run.StatusPass:
				status = StatusOK
			case run.StatusWarn, run.StatusFail:
				status, why = StatusStale, r.Message
			default:
				status, why = StatusFailed, r.Message
			}
		}
		return status, why, freshness
	case own.Status == run.StatusSuccess || own.Status == run.StatusPass:
		status = StatusOK
	case own.Status == run.StatusWarn:
		status = StatusWarn
	case own.Status == run.StatusSkipped:
		// An audited table whose tests failed is skipped only in that it
		// was not published: for a reader of it, its tests failed.
		for _, t := range tests {
			if r := results[t.UniqueID]; r != nil && (r.Status == run.StatusFail || r.Status == run.StatusError) {
				return StatusFailed, fmt.Sprintf("test %s failed, so it keeps its previous version", t.Name), nil
			}
		}
		status = StatusSkipped
	default:
		status = StatusFailed
	}
	if status != StatusOK || n.Type == project.Test {
		return status, "", nil
	}
	// Built, but a test on it failed or warned: the data is suspect.
	for _, t := range tests {
		r := results[t.UniqueID]
		if r == nil {
			continue
		}
		switch r.Status {
		case run.StatusFail, run.StatusError:
			return StatusFailed, fmt.Sprintf("test %s failed", t.Name), nil
		case run.StatusWarn:
			status, why = StatusWarn, fmt.Sprintf("test %s warned", t.Name)
		}
	}
	return status, why, nil
}

// columns lists n's columns as the manifest does (the analyser's, else a
// seed's file's, else those declared), with the warehouse's type where it
// differs and the tests declared on each.
func columns(n *project.Node, tests []*project.Node, inWarehouse []artifacts.CatalogColumn) []Column {
	var out []Column
	for _, c := range n.KnownColumns() {
		col := Column{Name: c.Name, Type: c.DataType, Description: c.Description}
		if l := c.Lineage; l != nil {
			col.Lineage = &Lineage{Kind: string(l.Kind), Reason: l.Reason}
			for _, src := range l.Sources {
				col.Lineage.Sources = append(col.Lineage.Sources, [2]string{src.Relation, src.Column})
			}
		}
		out = append(out, col)
	}
	if len(out) == 0 {
		// Nothing declared or analysed: what the warehouse holds.
		for _, c := range inWarehouse {
			out = append(out, Column{Name: c.Name, Warehouse: c.Type})
		}
	}
	for i := range out {
		for _, w := range inWarehouse {
			if strings.EqualFold(w.Name, out[i].Name) && w.Type != out[i].Type {
				out[i].Warehouse = w.Type
			}
		}
		for _, t := range tests {
			if strings.EqualFold(t.Test.Column, out[i].Name) {
				out[i].Tests = append(out[i].Tests, t.UniqueID)
			}
		}
		slices.Sort(out[i].Tests)
	}
	return out
}

// settings are an extractor's settings as the page shows them: a value
// under a secret-looking name (a token someone wrote into project.yaml) is
// hidden.
func settings(all map[string]any) map[string]any {
	out := make(map[string]any, len(all))
	for k, v := range all {
		if secret.Looks(k) {
			v = "(hidden: the name looks like a secret's)"
		}
		out[k] = v
	}
	return out
}

// readJSON decodes path into v; false when the file does not exist.
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return true, nil
}
