package project_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// TestRenderLimits: templates that would take gigabytes or minutes stop
// with an error positioned at the call or loop responsible.
func TestRenderLimits(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"select {{ range until 100000000 }}x{{ end }}", "models/m.sql:1:17: until would produce 100000000 elements"},
		{"select {{ range untilStep 0 100000000 1 }}x{{ end }}", "models/m.sql:1:17: untilStep would produce 100000000 elements"},
		{"select {{ range untilStep 9223372036854775806 9223372036854775807 5 }}x{{ end }}", ""}, // sprig never ends here
		{"select '{{ seq 100000000 }}'", "models/m.sql:1:12: seq would produce 100000000 elements"},
		{`select '{{ repeat 100000000 "x" }}'`, "models/m.sql:1:12: repeat would produce 100000000 bytes"},
		{`select '{{ indent 100000000 "x" }}'`, "models/m.sql:1:12: indent would produce"},
		// Large writes reach the size limit in few iterations, well before
		// the time limit, even under the race detector on a busy machine.
		{"select\n  {{ range until 1000000 }}{{ range until 10 }}{{ repeat 1000 \"x\" }}{{ end }}{{ end }}", "models/m.sql:2:37: rendered text exceeds 10 MB"},
		{`{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}select 1`, "models/m.sql:1:29: templates nested more than 100 deep"},
		{`{{ define "a" }}{{ range list 1 2 }}{{ template "a" }}{{ end }}{{ end }}{{ template "a" }}select 1`, "models/m.sql:1:49: templates nested more than 100 deep"},
		{`{{ template "nosuch" }}select 1`, `models/m.sql:1:13: template "nosuch" not defined`},
		{"select 1 {{ ref }}", "models/m.sql:1:13: wrong number of args for ref: want 1 got 0"},
		{"select 1 {{ ref 1 }}", "models/m.sql:1:17: expected string; found 1"},
		{`{{ config "materialized" }}select 1`, "models/m.sql:1:4: config takes key value pairs, got 1 arguments"},
	} {
		msg, _ := loadErr(t, map[string]string{"models/m.sql": c.src}, nil)
		if c.want == "" && msg != "" || !strings.Contains(msg, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.src, msg, c.want)
		}
	}
}

// TestRenderLimitMemory: the template fails with its memory
// bounded: before the limits it allocated 2.8 GB.
func TestRenderLimitMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	msg, _ := loadErr(t, map[string]string{"models/m.sql": "select {{ range until 100000000 }}x{{ end }}"}, nil)
	runtime.ReadMemStats(&after)
	if !strings.Contains(msg, "until would produce 100000000 elements") {
		t.Fatalf("got %q", msg)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("load allocated %d MB, want under 64 MB", alloc>>20)
	}
	// A loop that writes is stopped by the output limit: bounded memory too.
	runtime.ReadMemStats(&before)
	msg, _ = loadErr(t, map[string]string{"models/m.sql": "{{ range until 1000000 }}{{ range until 10 }}{{ repeat 1000 \"x\" }}{{ end }}{{ end }}"}, nil)
	runtime.ReadMemStats(&after)
	if !strings.Contains(msg, "rendered text exceeds 10 MB") {
		t.Fatalf("got %q", msg)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Errorf("load allocated %d MB, want under 256 MB", alloc>>20)
	}
}

// TestSecretValuesNeverReachSQL: the value of a secret-looking variable is
// refused however it reaches the SQL, naming the variable, never the value.
func TestSecretValuesNeverReachSQL(t *testing.T) {
	const value = "s3cr3t-hunter2"
	env := map[string]string{"DB_PASSWORD": value, "INNOCENT": value}
	for _, c := range []struct{ src, want string }{
		{`select '{{ var "pw" }}'`, `models/m.sql:1:12: var "pw" holds the value of environment variable DB_PASSWORD`},
		{`select '{{ env_var "INNOCENT" }}'`, `models/m.sql:1:12: env_var "INNOCENT" holds the value of environment variable DB_PASSWORD`},
		{`select '{{ b64dec "czNjcjN0LWh1bnRlcjI=" }}'`, "models/m.sql: the compiled SQL of model m would contain the value of environment variable DB_PASSWORD"},
		{"select 's3cr3t-' || '{{ print \"hunter2\" }}'", ""}, // split by SQL: nothing to find, nothing refused
		{"-- s3cr3t-hunter2\nselect 1", "models/m.sql:1:4: the compiled SQL of model m would contain the value of environment variable DB_PASSWORD, whose name looks like a secret's (the file itself holds it)"},
	} {
		files := map[string]string{
			"project.yaml": "name: t\nvars: {pw: " + value + "}\ntargets:\n  dev: {type: duckdb}\n",
			"models/m.sql": c.src,
		}
		msg := loadEnviron(t, files, env)
		if c.want == "" && msg != "" || !strings.Contains(msg, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.src, msg, c.want)
		}
		if strings.Contains(msg, value) {
			t.Errorf("%s: the error shows the secret: %s", c.src, msg)
		}
	}
}

// loadEnviron loads files with env as the whole environment and returns
// the load error text ("" when it loaded).
func loadEnviron(t *testing.T, files, env map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		projecttest.WriteFile(t, dir+"/"+name, data)
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	_, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(env), Environ: func() []string { return environ }}, projecttest.Adapters())
	if err != nil {
		return err.Error()
	}
	return ""
}
