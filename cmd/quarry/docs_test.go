package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// syncBuffer is a bytes.Buffer safe to write from the server's goroutine
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDocsServe generates the docs of a small project, serves them on a
// free port, fetches the page and its data, and stops the server by
// cancelling its context, as Ctrl-C does.
func TestDocsServe(t *testing.T) {
	dir := t.TempDir()
	projecttest.WriteFile(t, filepath.Join(dir, "project.yaml"), "name: shop\ntargets:\n  dev: {type: duckdb, path: shop.duckdb}\n")
	projecttest.WriteFile(t, filepath.Join(dir, "models", "orders.sql"), "select 1 as order_id")
	var stderr bytes.Buffer
	if code := cli([]string{"--project-dir", dir, "docs", "generate"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("docs generate: exit %d: %s", code, stderr.String())
	}

	out := &syncBuffer{}
	a := &app{stdout: out, stderr: out, drain: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.serveDocs(ctx, filepath.Join(dir, "target", "docs"), 0) }()

	served := regexp.MustCompile(`^Serving the docs at (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)\n$`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		if m := served.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no URL printed: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for path, want := range map[string]string{"": `id="quarry-data">{"docs_version":1`, "docs.json": `"model.shop.orders"`, "vendor/dagre.min.js": "dagre"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET /%s: %s, want 200 with %q", path, resp.Status, want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when its context was cancelled")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after stopping")
	}
}

// TestDocsOutdated: serve regenerates a missing site, and one older than
// the last run's artifacts.
func TestDocsOutdated(t *testing.T) {
	target := t.TempDir()
	if why := docsOutdated(target); !strings.Contains(why, "not been generated") {
		t.Errorf("no site: %q", why)
	}
	site := filepath.Join(target, "docs", "docs.json")
	projecttest.WriteFile(t, site, "{}")
	if why := docsOutdated(target); why != "" {
		t.Errorf("a site and no run: %q, want it current", why)
	}
	results := filepath.Join(target, "run_results.json")
	projecttest.WriteFile(t, results, "{}")
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(site, past, past); err != nil {
		t.Fatal(err)
	}
	if why := docsOutdated(target); !strings.Contains(why, "run_results.json is newer") {
		t.Errorf("a run after the site: %q", why)
	}
	if err := os.Chtimes(results, past.Add(-time.Hour), past.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if why := docsOutdated(target); why != "" {
		t.Errorf("a run before the site: %q, want it current", why)
	}
}
