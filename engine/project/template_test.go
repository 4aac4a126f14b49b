package project_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

// loadErr loads files and returns the load error text ("" when it loaded).
func loadErr(t *testing.T, files map[string]string, env map[string]string) (string, *project.Project) {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["project.yaml"]; !ok {
		files["project.yaml"] = "name: t\ntargets:\n  dev: {type: duckdb}\n"
	}
	for name, data := range files {
		projecttest.WriteFile(t, filepath.Join(dir, name), data)
	}
	p, err := project.Load(config.Options{Dir: dir, Env: projecttest.Env(env)}, projecttest.Adapters())
	if err == nil {
		return "", p
	}
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("load error is not a diagnostic list: %v", err)
	}
	return err.Error(), nil
}

func TestSecretsNeverReachSQL(t *testing.T) {
	env := map[string]string{"DB_PASSWORD": "hunter2", "API_TOKEN": "t0k", "AWS_SECRET_ACCESS_KEY": "k", "GOOGLE_APPLICATION_CREDENTIALS": "/c", "PRIVATE_KEY_PATH": "/k", "HOME": "/root"}
	for _, src := range []string{
		`{{ env_var "DB_PASSWORD" }}`, `{{ env_var "api_token" }}`, `{{ env_var "AWS_SECRET_ACCESS_KEY" }}`,
		`{{ env_var "GOOGLE_APPLICATION_CREDENTIALS" }}`, `{{ env_var "PRIVATE_KEY_PATH" "x" }}`,
		`{{ env "HOME" }}`, `{{ expandenv "$HOME" }}`,
	} {
		msg, _ := loadErr(t, map[string]string{"models/m.sql": "select '" + src + "'"}, env)
		if msg == "" {
			t.Errorf("%s: loaded, want refusal", src)
			continue
		}
		for _, secret := range []string{"hunter2", "t0k", "/root"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error leaks a secret: %s", src, msg)
			}
		}
		if !strings.HasPrefix(msg, "models/m.sql:1:") {
			t.Errorf("%s: error %q has no position", src, msg)
		}
	}
}

func TestEnabledFalseAndDisabledRefs(t *testing.T) {
	_, p := loadErr(t, map[string]string{
		"models/off.sql": `{{ config "enabled" false }}select 1`,
		"models/on.sql":  "select 1",
	}, nil)
	if p == nil {
		t.Fatal("project did not load")
	}
	if _, ok := p.Nodes["model.t.off"]; ok {
		t.Error("a disabled model is still a node")
	}
	msg, _ := loadErr(t, map[string]string{
		"models/off.sql":  `{{ config "enabled" false }}select 1`,
		"models/user.sql": `select * from {{ ref "off" }}`,
	}, nil)
	if !strings.Contains(msg, `models/user.sql:1:18: ref "off" points at a disabled model`) {
		t.Errorf("ref to disabled model: %q", msg)
	}
}

func TestConfigPrecedence(t *testing.T) {
	// folder default < property file < the model's own config call
	_, p := loadErr(t, map[string]string{
		"project.yaml":       "name: t\nmodels:\n  marts: {materialized: table, schema: public, tags: [folder]}\ntargets:\n  dev: {type: duckdb}\n",
		"models/marts/a.sql": `{{ config "materialized" "view" "tags" "file" }}select 1`,
		"models/marts/b.sql": "select 1",
		"models/props.yml":   "models:\n  - name: a\n    config: {schema: yaml_schema, materialized: incremental}\n  - name: b\n    config: {alias: bee}\n",
	}, nil)
	if p == nil {
		t.Fatal("project did not load")
	}
	a, b := p.Nodes["model.t.a"], p.Nodes["model.t.b"]
	if a.Config.Materialized != "view" || a.Relation.Schema != "yaml_schema" || strings.Join(a.Config.Tags, ",") != "folder,file" {
		t.Errorf("a: %+v %+v", a.Config, a.Relation)
	}
	if b.Config.Materialized != "table" || b.Relation.Schema != "public" || b.Relation.Name != "bee" {
		t.Errorf("b: %+v %+v", b.Config, b.Relation)
	}
}

func TestUnknownTargetAndTopLevelKey(t *testing.T) {
	msg, _ := loadErr(t, map[string]string{
		"project.yaml": "name: t\nmodles: {}\ntargets:\n  default: prod\n  dev: {type: duckdb}\n",
	}, nil)
	for _, want := range []string{`project.yaml:2:1: unknown key "modles"; did you mean "models"?`, `project.yaml:4:12: target "prod" (from targets.default) is not defined (targets: dev)`} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestTargetAndThreadsPrecedence(t *testing.T) {
	files := map[string]string{
		"project.yaml": "name: t\ntargets:\n  default: a\n  a: {type: duckdb, threads: 3}\n  b: {type: duckdb, path: b.duckdb}\n",
	}
	load := func(opts config.Options) *project.Project {
		t.Helper()
		dir := t.TempDir()
		for name, data := range files {
			projecttest.WriteFile(t, filepath.Join(dir, name), data)
		}
		opts.Dir = dir
		p, err := project.Load(opts, projecttest.Adapters())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := load(config.Options{Env: projecttest.Env(nil)}); p.Target.Name != "a" || p.Threads != 3 {
		t.Errorf("defaults: target %s threads %d, want a 3", p.Target.Name, p.Threads)
	}
	env := projecttest.Env(map[string]string{"QUARRY_TARGET": "b", "QUARRY_THREADS": "7"})
	if p := load(config.Options{Env: env}); p.Target.Name != "b" || p.Threads != 7 {
		t.Errorf("environment: target %s threads %d, want b 7", p.Target.Name, p.Threads)
	}
	if p := load(config.Options{Target: "a", Threads: 2, Env: env}); p.Target.Name != "a" || p.Threads != 2 {
		t.Errorf("flags: target %s threads %d, want a 2", p.Target.Name, p.Threads)
	}
}
