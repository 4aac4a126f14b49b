package artifacts

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/renameio/v2"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/engine/state"
	"github.com/quarrydev/quarry/extractors"
)

// Artifacts are JSON files under target/ that describe the project and the
// last run, for tools and people; docs/artifacts.md documents them.

// SchemaVersion changes whenever an artifact changes incompatibly. It is
// engine/state's, which reads the artifacts back (--state, retry).
const SchemaVersion = state.SchemaVersion

// Version is quarry's version, written into artifacts.
const Version = "0.1.0"

type artifactMeta struct {
	SchemaVersion int       `json:"schema_version"`
	QuarryVersion string    `json:"quarry_version"`
	GeneratedAt   time.Time `json:"generated_at"`
	ProjectName   string    `json:"project_name"`
	TargetName    string    `json:"target_name"`
	TargetType    string    `json:"target_type"`
	Command       string    `json:"command,omitempty"`
	InvocationID  string    `json:"invocation_id,omitempty"`
}

// Invocation is the run of quarry that writes an artifact: what its
// metadata says of who wrote it and when.
type Invocation struct {
	// ID identifies the run across its artifacts and its JSON log
	// (run_started's invocation_id); empty leaves it out.
	ID string
	// Command is the command that wrote the file (a retry gives the
	// command it repeated).
	Command string
	// At is when the artifact was generated.
	At time.Time
}

type manifestNode struct {
	UniqueID     string            `json:"unique_id"`
	Name         string            `json:"name"`
	ResourceType string            `json:"resource_type"`
	Path         string            `json:"path"`
	Checksum     string            `json:"checksum,omitempty"`
	Checksums    project.Checksums `json:"checksums"`
	Config       config.Node       `json:"config"`
	Relation     string            `json:"relation"`
	Database     string            `json:"database,omitempty"`
	Schema       string            `json:"schema"`
	Identifier   string            `json:"identifier"`
	// DeferredTo is the relation a --defer run read instead of this
	// node's own (the state's, e.g. production's).
	DeferredTo   string           `json:"deferred_to,omitempty"`
	DependsOn    []string         `json:"depends_on"`
	Description  string           `json:"description,omitempty"`
	Columns      []manifestColumn `json:"columns,omitempty"`
	CompiledPath string           `json:"compiled_path,omitempty"`
	SourceName   string           `json:"source_name,omitempty"`
	Test         *testMeta        `json:"test,omitempty"`
	Analysis     *analysisMeta    `json:"analysis,omitempty"`
}

// manifestColumn is one column of a node: every column it produces, in
// order, as the analyser found them, with what the property file says of
// it; or, when the node was not analysed, the columns the file declares.
type manifestColumn struct {
	Name        string         `json:"name"`
	DataType    string         `json:"data_type,omitempty"`
	Description string         `json:"description,omitempty"`
	Lineage     *columnLineage `json:"lineage,omitempty"`
}

// columnLineage is where a model's column comes from: the columns of the
// nodes it reads, passed through (direct) or computed over (derived); or
// unknown, with the reason.
type columnLineage struct {
	Kind    lineage.Kind   `json:"kind"`
	Sources []columnSource `json:"sources,omitempty"`
	Reason  string         `json:"reason,omitempty"`
}

type columnSource struct {
	Node   string `json:"node"` // unique id
	Column string `json:"column"`
}

// analysisMeta says whether a model's or test's SQL was checked against
// its upstream columns, and why not.
type analysisMeta struct {
	Checked bool   `json:"checked"`
	Reason  string `json:"reason,omitempty"`
}

// testMeta describes what a test node checks.
type testMeta struct {
	Kind     string         `json:"kind"`
	Name     string         `json:"name,omitempty"`
	Attached string         `json:"attached_node,omitempty"`
	Column   string         `json:"column,omitempty"`
	Args     map[string]any `json:"args,omitempty"`
}

func meta(p *project.Project, inv Invocation) artifactMeta {
	return artifactMeta{SchemaVersion: SchemaVersion, QuarryVersion: Version, GeneratedAt: inv.At.UTC(),
		ProjectName: p.Name, TargetName: p.Target.Name, TargetType: p.Target.Type, Command: inv.Command, InvocationID: inv.ID}
}

// WriteManifest writes target/manifest.json describing every node. At
// 10,000 nodes the document is megabytes, so it is streamed one node at a
// time; the bytes are those json.Marshal writes for an object with the
// members metadata, nodes, sources, parent_map and child_map. Like dbt's,
// it is not indented: it is read by tools, and it is the largest file a
// compile writes.
func WriteManifest(p *project.Project, inv Invocation) error {
	ids := slices.Sorted(maps.Keys(p.Nodes))
	var nodes, sources []string
	for _, id := range ids {
		if p.Nodes[id].Type == project.Source {
			sources = append(sources, id)
		} else {
			nodes = append(nodes, id)
		}
	}
	entries := func(ids []string) func(int) (string, any) {
		return func(i int) (string, any) { return ids[i], manifestEntry(p, ids[i], p.Nodes[ids[i]]) }
	}
	return writeArtifact(p, "manifest.json", compact, func(o *objectStream) {
		o.begin("")
		o.member("metadata", meta(p, inv))
		o.begin("nodes")
		o.members(len(nodes), entries(nodes))
		o.end()
		o.begin("sources")
		o.members(len(sources), entries(sources))
		o.end()
		o.begin("parent_map")
		o.members(len(ids), func(i int) (string, any) { return ids[i], nonNil(p.Graph.Parents(ids[i])) })
		o.end()
		o.begin("child_map")
		o.members(len(ids), func(i int) (string, any) { return ids[i], nonNil(p.Graph.Children(ids[i])) })
		o.end()
		o.end()
	})
}

func manifestEntry(p *project.Project, id string, n *project.Node) manifestNode {
	mn := manifestNode{UniqueID: id, Name: n.Name, ResourceType: string(n.Type), Path: n.Path, Checksum: n.Checksum, Checksums: p.Checksums(n),
		Config: n.Config, Relation: p.Dialect.RelationSQL(n.Relation), Schema: n.Relation.Schema, Identifier: n.Relation.Name,
		DependsOn: nonNil(n.DependsOn), Description: n.Description, Columns: columns(n), SourceName: n.SourceName}
	if a := n.Analysis; a != nil && (n.Type == project.Model || n.Type == project.Test) {
		mn.Analysis = &analysisMeta{Checked: a.Checked, Reason: a.Reason}
	}
	if n.Relation.Schema != "" {
		mn.Database = p.Target.Database
	}
	if rel, ok := p.DeferredTo(id); ok {
		mn.DeferredTo = p.Dialect.RelationSQL(rel)
	}
	if mn.Config.Tags == nil {
		mn.Config.Tags = []string{}
	}
	if n.Type == project.Model || n.Type == project.Test {
		mn.CompiledPath = project.CompiledPath(n)
	}
	if t := n.Test; t != nil {
		mn.Test = &testMeta{Kind: t.Kind, Name: t.Generic, Column: t.Column, Args: t.Args}
		if t.Attached != nil {
			mn.Test.Attached = t.Attached.UniqueID
		}
	}
	return mn
}

// columns lists n's columns for the manifest (project.Node.KnownColumns).
func columns(n *project.Node) []manifestColumn {
	known := n.KnownColumns()
	out := make([]manifestColumn, len(known))
	for i, c := range known {
		out[i] = manifestColumn{Name: c.Name, DataType: c.DataType, Description: c.Description}
		if l := c.Lineage; l != nil {
			out[i].Lineage = &columnLineage{Kind: l.Kind, Reason: l.Reason}
			for _, src := range l.Sources {
				out[i].Lineage.Sources = append(out[i].Lineage.Sources, columnSource{Node: src.Relation, Column: src.Column})
			}
		}
	}
	return out
}

type runResultJSON struct {
	UniqueID      string     `json:"unique_id"`
	Status        run.Status `json:"status"`
	StartedAt     string     `json:"started_at"`
	CompletedAt   string     `json:"completed_at"`
	ExecutionTime float64    `json:"execution_time"`
	RowsAffected  *int64     `json:"rows_affected"`
	Failures      *int64     `json:"failures"`
	Message       string     `json:"message"`
	CompiledPath  string     `json:"compiled_path,omitempty"`
	Relation      string     `json:"relation,omitempty"`
	// AdapterResponse is what the warehouse or service said about the
	// node's work beyond rows: today the bytes of an extract node's
	// BigQuery queries.
	AdapterResponse *adapterResponse `json:"adapter_response,omitempty"`
}

type adapterResponse struct {
	BigQuery *extractors.BigQueryUsage `json:"bigquery,omitempty"`
}

type runResults struct {
	Metadata    artifactMeta    `json:"metadata"`
	ElapsedTime float64         `json:"elapsed_time"`
	Interrupted bool            `json:"interrupted"`
	Args        map[string]any  `json:"args"`
	Results     []runResultJSON `json:"results"`
}

// WriteRunResults writes target/run_results.json for a finished run.
func WriteRunResults(p *project.Project, inv Invocation, args map[string]any, report *run.Report) error {
	rr := runResults{Metadata: meta(p, inv), ElapsedTime: report.Elapsed.Seconds(), Interrupted: report.Interrupted, Args: args,
		Results: []runResultJSON{}}
	results := slices.Clone(report.Results)
	slices.SortStableFunc(results, func(a, b *run.Result) int { return a.StartedAt.Compare(b.StartedAt) })
	for _, r := range results {
		rr.Results = append(rr.Results, runResultJSON{
			UniqueID: r.UniqueID, Status: r.Status,
			StartedAt: r.StartedAt.UTC().Format(time.RFC3339Nano), CompletedAt: r.CompletedAt.UTC().Format(time.RFC3339Nano),
			ExecutionTime: r.CompletedAt.Sub(r.StartedAt).Seconds(), RowsAffected: r.RowsAffected, Failures: r.Failures, Message: r.Message,
			CompiledPath: r.CompiledPath, Relation: p.Dialect.RelationSQL(r.Node().Relation),
		})
		if r.BigQuery != nil {
			rr.Results[len(rr.Results)-1].AdapterResponse = &adapterResponse{BigQuery: r.BigQuery}
		}
	}
	return writeArtifact(p, "run_results.json", indented, func(o *objectStream) { o.value(rr) })
}

// jsonStyle is how an artifact's JSON is laid out.
type jsonStyle int

const (
	indented jsonStyle = iota // two spaces a level, for files people read
	compact                   // no whitespace, for the large ones
)

// writeArtifact writes target/name, streamed by encode, atomically: a
// reader never sees half a file, and a failure leaves the old file in place.
func writeArtifact(p *project.Project, name string, style jsonStyle, encode func(*objectStream)) error {
	dir := filepath.Join(p.Dir, "target")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// renameio writes beside the file and renames over it, with the
	// permissions os.WriteFile would give (the umask applied to 0644).
	tmp, err := renameio.NewPendingFile(filepath.Join(dir, name), renameio.WithPermissions(0o644))
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// On every failure, a panic included; a no-op once replaced.
	defer tmp.Cleanup()
	// Descriptions, configs, test arguments and error messages all end up
	// here: none may carry a secret's value.
	w := bufio.NewWriterSize(p.GuardSecrets(tmp, name), 1<<16)
	o := &objectStream{w: w, compact: style == compact}
	encode(o)
	if o.err == nil {
		_ = w.WriteByte('\n') // an error stays in w, for Flush
		o.err = w.Flush()
	}
	if o.err != nil {
		return fmt.Errorf("not writing target/%s: %w", name, o.err)
	}
	if err := tmp.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
