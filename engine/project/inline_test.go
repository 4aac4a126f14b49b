package project_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

func TestCompileInline(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"project.yaml":            "name: t\nvars: {floor: 2}\nmodels: {staging: {schema: staging}}\n",
		"seeds/items.csv":         "id\n1\n2\n3\n",
		"models/staging/base.sql": "select id from {{ ref \"items\" }}",
		"models/eph.sql":          "{{ config \"materialized\" \"ephemeral\" }}select id * 10 as id from {{ ref \"base\" }}",
		"macros/gt.sql":           "{{ define \"gt\" }}id > {{ . }}{{ end }}",
	})
	n, err := p.CompileInline(`select * from {{ ref "eph" }} where {{ template "gt" (var "floor") }};`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.Compiled, "from staging.base") || !strings.Contains(n.Compiled, "where id > 2") || strings.HasSuffix(n.Compiled, ";") {
		t.Errorf("compiled:\n%s\nwant the ephemeral inlined over staging.base, the macro and var rendered, no semicolon", n.Compiled)
	}
	if want := []string{"model.t.eph"}; !slices.Equal(n.DependsOn, want) {
		t.Errorf("depends on %v, want %v", n.DependsOn, want)
	}
	if _, ok := p.Nodes[n.UniqueID]; ok {
		t.Error("the inline query was added to the project")
	}

	for sql, want := range map[string]string{
		`select * from {{ ref "bse" }}`: `--inline:1:18: unknown ref "bse": no model or seed has that name; did you mean "base"?`,
		"select 1; select 2":            "--inline:1:11: a model must hold exactly one statement",
		"  ":                            "--inline:1:1: the query is empty",
		"select {{ nope }}":             `--inline:1:`,
	} {
		_, err := p.CompileInline(sql)
		var de *diag.Error
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CompileInline(%q): %v, want a diagnostic starting %q", sql, err, want)
		}
	}
}
