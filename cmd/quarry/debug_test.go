package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// debug shows whether each setting and credential is there, and whether it
// works, but never a secret's value.
func TestDebugChecksCredentialsWithoutPrintingThem(t *testing.T) {
	var sawToken bool
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rate_limit" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer ghp_debugsecret123" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials"}`)
			return
		}
		sawToken = true
		fmt.Fprint(w, `{"resources":{"core":{"limit":5000,"remaining":4990,"reset":1700000000,"used":10}}}`)
	}))
	defer gh.Close()
	dir := t.TempDir()
	files := map[string]string{
		"project.yaml": `name: dbg
extractors:
  github: {input: repos, source: github}
targets:
  dev: {type: duckdb, path: dbg.duckdb}
  prod: {type: snowflake, password: "${DBG_PASSWORD}", user: "${DBG_USER}"}
`,
		"seeds/repos.csv":    "technology_id,repo_full_name\nx,a/b\n",
		"models/sources.yml": "sources:\n  - name: github\n    schema: raw\n    tables:\n      - name: github_repositories\n",
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("DBG_PASSWORD", "hunter2hunter2")
	t.Setenv("DBG_USER", "analyst")
	t.Setenv("GITHUB_API_URL", gh.URL)
	t.Setenv("GITHUB_TOKEN", "ghp_debugsecret123")
	var out, errb bytes.Buffer
	code := cli([]string{"debug", "--project-dir", dir}, &out, &errb)
	all := out.String() + errb.String()
	if code != 0 || !sawToken {
		t.Fatalf("debug exited %d (token seen: %v):\n%s", code, sawToken, all)
	}
	for _, want := range []string{
		"ok connection: connected and ran a query",
		"ok GITHUB_TOKEN accepted: 4990 of 5000 requests left this hour",
		"All checks passed.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	for _, secret := range []string{"hunter2hunter2", "ghp_debugsecret123"} {
		if strings.Contains(all, secret) {
			t.Errorf("debug printed the secret %q:\n%s", secret, all)
		}
	}

	// A target's secrets show as set or not set. (The connection fails on
	// the settings left out, before any network: exit 1.)
	for _, name := range []string{"SNOWFLAKE_ACCOUNT", "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_DATABASE"} {
		t.Setenv(name, "")
	}
	out.Reset()
	errb.Reset()
	code = cli([]string{"debug", "--project-dir", dir, "--target", "prod"}, &out, &errb)
	all = out.String() + errb.String()
	if code != 1 {
		t.Errorf("debug --target prod exited %d, want 1:\n%s", code, all)
	}
	for _, want := range []string{
		"  password:        set (from DBG_PASSWORD)",
		"  user:            analyst (from DBG_USER)",
		"!! connection: snowflake target prod: missing account, warehouse and database",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "hunter2hunter2") {
		t.Errorf("debug printed the password:\n%s", all)
	}

	// A rejected token is a problem to fix: exit 1, still without the value.
	t.Setenv("GITHUB_TOKEN", "ghp_wrongtoken456")
	out.Reset()
	errb.Reset()
	code = cli([]string{"debug", "--project-dir", dir}, &out, &errb)
	all = out.String() + errb.String()
	if code != 1 || !strings.Contains(all, "!! GITHUB_TOKEN was rejected (401)") || strings.Contains(all, "ghp_wrongtoken456") {
		t.Errorf("rejected token: exit %d:\n%s", code, all)
	}
}
