package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/state"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrorsNameThePathAndTheFix(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	write(t, file, "")
	badVersion := t.TempDir()
	write(t, filepath.Join(badVersion, "manifest.json"), `{"metadata": {"schema_version": 99}, "nodes": {}}`)
	noChecksums := t.TempDir()
	write(t, filepath.Join(noChecksums, "manifest.json"), `{"metadata": {"schema_version": 1}, "nodes": {"model.a.b": {}}}`)
	notJSON := t.TempDir()
	write(t, filepath.Join(notJSON, "manifest.json"), `{`)
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "nowhere"), "no such folder: give the target/ folder of an earlier run"},
		{file, "not a folder"},
		{dir, "manifest.json: no such file: run quarry compile or build"},
		{badVersion, "schema_version 99, but this quarry reads 1: write it again with this quarry"},
		{noChecksums, "node model.a.b has no checksums: it was written by an older quarry"},
		{notJSON, "not a quarry artifact"},
	} {
		_, err := state.Load(tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want an error containing %q", tc.dir, err, tc.want)
		}
	}
}

func TestLoadReadsManifestAndResults(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "manifest.json"), `{"metadata": {"schema_version": 1},
		"nodes": {"model.a.b": {"unique_id": "model.a.b", "relation": "public.b", "checksums": {"body": "x"}}},
		"sources": {"source.a.s.t": {"unique_id": "source.a.s.t"}}}`)
	st, err := state.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Results != nil {
		t.Errorf("Results = %v, want nil without run_results.json", st.Results)
	}
	if n, ok := st.Manifest.Node("model.a.b"); !ok || n.Relation != "public.b" || n.Checksums.Body != "x" {
		t.Errorf("Node(model.a.b) = %+v, %v", n, ok)
	}
	if _, ok := st.Manifest.Node("source.a.s.t"); !ok {
		t.Error("sources are nodes too")
	}
	write(t, filepath.Join(dir, "run_results.json"), `{"metadata": {"schema_version": 1, "command": "build"},
		"results": [{"unique_id": "model.a.b", "status": "skipped"}]}`)
	if st, err = state.Load(dir); err != nil {
		t.Fatal(err)
	}
	if got := st.Results.Status()["model.a.b"]; got != state.StatusName("skip") {
		t.Errorf("status = %q, want skipped", got)
	}
}
