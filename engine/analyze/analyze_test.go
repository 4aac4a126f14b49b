package analyze_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project/projecttest"
)

func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var de *diag.Error
	if !errors.As(err, &de) {
		t.Fatalf("Run: %v, want diagnostics", err)
	}
	var out []string
	for _, d := range de.Diagnostics {
		out = append(out, d.String())
	}
	return out
}

func TestSelectedNodesOnlyAreReported(t *testing.T) {
	files := map[string]string{
		"seeds/s.csv":      "a,b\n1,x\n",
		"models/good.sql":  `select a from {{ ref "s" }}`,
		"models/bad.sql":   `select nope from {{ ref "s" }}`,
		"models/below.sql": `select * from {{ ref "bad" }}`,
	}
	p := projecttest.Load(t, files)
	sum, err := analyze.Run(context.Background(), p, analyze.Options{Select: []string{"model.t.good"}})
	if err != nil || sum.Checked != 1 || len(sum.Unchecked) != 0 {
		t.Fatalf("good alone: %+v, %v", sum, err)
	}
	if got := p.Nodes["model.t.good"].Analysis.Columns; len(got) != 1 || got[0].Name != "a" || got[0].Type != "BIGINT" {
		t.Errorf("good's columns = %v", got)
	}

	// below is selected, bad only analysed for its shape: bad's problem is
	// not below's, which is unchecked, naming bad.
	p = projecttest.Load(t, files)
	sum, err = analyze.Run(context.Background(), p, analyze.Options{Select: []string{"model.t.below"}})
	if err != nil || sum.Checked != 0 || len(sum.Unchecked) != 1 || !strings.Contains(sum.Unchecked[0].Reason, "model bad are unknown") {
		t.Fatalf("below alone: %+v, %v", sum, err)
	}

	p = projecttest.Load(t, files)
	sum, err = analyze.Run(context.Background(), p, analyze.Options{})
	got := problems(t, err)
	if len(got) != 1 || !strings.HasPrefix(got[0], `models/bad.sql:1:8: Referenced column "nope" not found`) {
		t.Errorf("every node: %q", got)
	}
	if sum.Checked != 2 || len(sum.Unchecked) != 1 {
		t.Errorf("every node: %+v", sum)
	}
}

// On Snowflake, only what means the same in every warehouse is an error.
func TestSnowflakeTargetNeverGivesFalseErrors(t *testing.T) {
	files := map[string]string{
		"project.yaml":         "name: t\ntargets:\n  default: prod\n  prod: {type: snowflake, account: a, user: u, password: \"${PW}\", database: d, schema: s, warehouse: w}\n",
		"seeds/s.csv":          "a,d\n1,2026-01-01\n",
		"models/iff.sql":       `select iff(a > 1, 'x', 'y') as z from {{ ref "s" }}`,
		"models/days.sql":      `select datediff(day, d, d) as n from {{ ref "s" }}`,
		"models/flatten.sql":   `select f.value from {{ ref "s" }}, lateral flatten(input => parse_json('[1]')) f`,
		"models/qualified.sql": `select s.nope from {{ ref "s" }} s`,
		"models/bare.sql":      `select nmae from {{ ref "s" }}`,
	}
	p := projecttest.Load(t, files)
	sum, err := analyze.Run(context.Background(), p, analyze.Options{})
	got := problems(t, err)
	if len(got) != 2 || !strings.HasPrefix(got[0], "models/bare.sql:1:8:") || !strings.HasPrefix(got[1], "models/qualified.sql:1:8:") {
		t.Errorf("problems: %q", got)
	}
	unchecked := map[string]string{}
	for _, u := range sum.Unchecked {
		unchecked[u.ID] = u.Reason
	}
	for _, id := range []string{"model.t.iff", "model.t.days", "model.t.flatten"} {
		if unchecked[id] == "" {
			t.Errorf("%s is not unchecked (unchecked: %v)", id, unchecked)
		}
	}
	if r := unchecked["model.t.iff"]; !strings.Contains(r, "it calls iff") {
		t.Errorf("iff's reason: %q", r)
	}
}
