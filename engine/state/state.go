// Package state reads the artifacts of an earlier run (its target/ folder,
// e.g. production's) for what compares a project with it: the state:
// and result: selector methods, quarry retry, and --defer.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/quarrydev/quarry/engine/project"
)

// SchemaVersion is the artifacts' schema_version this package reads;
// engine/artifacts writes the same (artifacts.SchemaVersion is this).
const SchemaVersion = 1

// Node is one node of an earlier run's manifest.json.
type Node struct {
	UniqueID     string             `json:"unique_id"`
	Name         string             `json:"name"`
	ResourceType string             `json:"resource_type"`
	Relation     string             `json:"relation"`
	Database     string             `json:"database"`
	Schema       string             `json:"schema"`
	Identifier   string             `json:"identifier"`
	Checksums    *project.Checksums `json:"checksums"`
}

// Manifest is an earlier run's manifest.json.
type Manifest struct {
	Path     string          `json:"-"`
	Metadata Metadata        `json:"metadata"`
	Nodes    map[string]Node `json:"nodes"`
	Sources  map[string]Node `json:"sources"`
}

// Node returns the node or source with the unique id.
func (m *Manifest) Node(id string) (Node, bool) {
	if n, ok := m.Nodes[id]; ok {
		return n, true
	}
	n, ok := m.Sources[id]
	return n, ok
}

// Metadata is what every artifact says of the run that wrote it.
type Metadata struct {
	SchemaVersion int    `json:"schema_version"`
	QuarryVersion string `json:"quarry_version"`
	ProjectName   string `json:"project_name"`
	TargetName    string `json:"target_name"`
	TargetType    string `json:"target_type"`
	Command       string `json:"command"`
}

// Result is one node's result in run_results.json.
type Result struct {
	UniqueID string `json:"unique_id"`
	Status   string `json:"status"`
	Message  string `json:"message"`
}

// Results is an earlier run's run_results.json.
type Results struct {
	Path        string         `json:"-"`
	Metadata    Metadata       `json:"metadata"`
	Interrupted bool           `json:"interrupted"`
	Args        map[string]any `json:"args"`
	Results     []Result       `json:"results"`
}

// Statuses are the values of result:, dbt's names; each is the status
// run_results.json writes, but skip, written "skipped".
var Statuses = []string{"error", "fail", "warn", "skip", "success", "pass"}

// StatusName is how run_results.json spells the result: value status.
func StatusName(status string) string {
	if status == "skip" {
		return "skipped"
	}
	return status
}

// Status returns the status of each node in the results, by unique id.
func (r *Results) Status() map[string]string {
	out := make(map[string]string, len(r.Results))
	for _, res := range r.Results {
		out[res.UniqueID] = res.Status
	}
	return out
}

// State is the artifacts of an earlier run: --state DIR.
type State struct {
	Dir      string
	Manifest *Manifest
	// Results is nil when the folder has no run_results.json (compile
	// writes only the manifest).
	Results *Results
}

// Load reads DIR/manifest.json and, when there, DIR/run_results.json. Its
// errors name the path and what to do.
func Load(dir string) (*State, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--state %s: no such folder: give the target/ folder of an earlier run (copy it after a build, e.g. from production)", dir)
	case err != nil:
		return nil, fmt.Errorf("--state %s: %w", dir, err)
	case !info.IsDir():
		return nil, fmt.Errorf("--state %s: not a folder: give the folder holding manifest.json (an earlier run's target/)", dir)
	}
	m, err := ReadManifest(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	st := &State{Dir: dir, Manifest: m}
	path := filepath.Join(dir, "run_results.json")
	if _, err := os.Stat(path); err == nil {
		if st.Results, err = ReadResults(path); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// ReadManifest reads a manifest.json written by quarry.
func ReadManifest(path string) (*Manifest, error) {
	m := &Manifest{Path: path}
	if err := read(path, "run quarry compile or build to write it, then copy the target/ folder", m, &m.Metadata); err != nil {
		return nil, err
	}
	for id, n := range m.Nodes {
		if n.Checksums == nil {
			return nil, fmt.Errorf("%s: node %s has no checksums: it was written by an older quarry; write it again with this one (quarry compile)", path, id)
		}
	}
	return m, nil
}

// ReadResults reads a run_results.json written by quarry.
func ReadResults(path string) (*Results, error) {
	r := &Results{Path: path}
	if err := read(path, "run quarry build, run, seed or test to write it", r, &r.Metadata); err != nil {
		return nil, err
	}
	return r, nil
}

// read decodes the artifact at path into v, after checking its
// schema_version (found in meta once decoded).
func read(path, fix string, v any, meta *Metadata) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such file: %s", path, fix)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: not a quarry artifact (%v): %s", path, err, fix)
	}
	if meta.SchemaVersion != SchemaVersion {
		return fmt.Errorf("%s: schema_version %d, but this quarry reads %d: write it again with this quarry (%s)", path, meta.SchemaVersion, SchemaVersion, fix)
	}
	return nil
}
