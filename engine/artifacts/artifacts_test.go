package artifacts_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// The manifest is streamed, so the secret check sees it in pieces: a value
// anywhere in it must still stop it, and leave no file behind.
func TestWriteManifestRefusesASecretValue(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 1 as x\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/props.yml"), "models:\n  - name: a\n    description: the token is s3cr3t-v4lue\n")
	environ := []string{"API_TOKEN=s3cr3t-v4lue"}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil), Environ: func() []string { return environ }}, projecttest.Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	err = artifacts.WriteManifest(p, artifacts.Invocation{Command: "compile", At: time.Now()})
	if err == nil || !strings.Contains(err.Error(), "API_TOKEN") {
		t.Fatalf("WriteManifest returned %v, want a refusal naming API_TOKEN", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "target"))
	for _, e := range entries {
		t.Errorf("target/%s was left behind", e.Name())
	}
}

// Artifacts are for tools and people other than the one who ran quarry
// (a CI job uploading them, a docs server): readable as any file written
// with the usual umask, not private as a temporary file starts out.
func TestArtifactsAreReadableByAll(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: t\ntargets:\n  dev: {type: duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models/a.sql"), "select 1 as x\n")
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(nil)}, projecttest.Adapters())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := artifacts.WriteManifest(p, artifacts.Invocation{Command: "compile", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "target", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o644 {
		t.Errorf("manifest.json has mode %v, want -rw-r--r--", got)
	}
}
