package selector_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/project/projecttest"
	"github.com/quarrydev/quarry/engine/selector"
)

func TestSelect(t *testing.T) {
	p := projecttest.Load(t, map[string]string{
		"models/staging/stg_a.sql": "{{ config \"tags\" \"nightly\" }}select * from {{ source \"raw\" \"a\" }}",
		"models/staging/stg_b.sql": "select * from {{ ref \"seed_b\" }}",
		"models/marts/mart.sql":    "{{ config \"tags\" (list \"nightly\" \"kpi\") }}select * from {{ ref \"stg_a\" }} join {{ ref \"stg_b\" }} using (id)",
		"models/marts/report.sql":  "select * from {{ ref \"mart\" }}",
		"models/marts/lonely.sql":  "select 1",
		"seeds/seed_b.csv":         "id\n1\n",
		"models/sources.yml":       "sources:\n  - name: raw\n    tables:\n      - name: a\n",
	})
	tests := []struct {
		sel, excl []string
		want      []string
		warn      bool
	}{
		{sel: []string{"mart"}, want: []string{"mart"}},
		{sel: []string{"+mart"}, want: []string{"mart", "raw.a", "seed_b", "stg_a", "stg_b"}},
		{sel: []string{"mart+"}, want: []string{"mart", "report"}},
		{sel: []string{"1+mart"}, want: []string{"mart", "stg_a", "stg_b"}},
		{sel: []string{"stg_b+1"}, want: []string{"mart", "stg_b"}},
		{sel: []string{"tag:nightly"}, want: []string{"mart", "stg_a"}},
		{sel: []string{"tag:nightly,tag:kpi"}, want: []string{"mart"}},
		{sel: []string{"path:models/staging"}, want: []string{"stg_a", "stg_b"}},
		{sel: []string{"path:marts"}, want: []string{"lonely", "mart", "report"}},
		{sel: []string{"source:raw+"}, want: []string{"mart", "raw.a", "report", "stg_a"}},
		{sel: []string{"stg_a lonely"}, want: []string{"lonely", "stg_a"}},
		{sel: []string{"stg_a", "lonely"}, want: []string{"lonely", "stg_a"}},
		{sel: []string{"stg_*"}, want: []string{"stg_a", "stg_b"}},
		{sel: []string{"resource_type:seed"}, want: []string{"seed_b"}},
		{sel: []string{"path:marts"}, excl: []string{"report"}, want: []string{"lonely", "mart"}},
		{sel: []string{"lonely,tag:kpi"}, want: nil, warn: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append(tt.sel, tt.excl...), "|"), func(t *testing.T) {
			ids, warnings, err := selector.Select(p, tt.sel, tt.excl)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range ids {
				n := p.Nodes[id]
				if n.Type == project.Source {
					got = append(got, n.SourceName+"."+n.Name)
				} else {
					got = append(got, n.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("selected %v, want %v", got, tt.want)
			}
			if (len(warnings) > 0) != tt.warn {
				t.Errorf("warnings %v, want some: %v", warnings, tt.warn)
			}
		})
	}
	if _, _, err := selector.Select(p, []string{"tagg:x"}, nil); err == nil || !strings.Contains(err.Error(), `did you mean "tag"`) {
		t.Errorf("unknown method error = %v", err)
	}
	// A selector matching nothing is an error naming what exists.
	for _, tt := range []struct{ sel, excl, want string }{
		{sel: "mrat", want: `--select "mrat": no model, seed, test, source or extractor is named "mrat"; did you mean "mart"?`},
		{sel: "tag:nigthly", want: `--select "tag:nigthly": no node has the tag "nigthly" (tags: kpi, nightly); did you mean "nightly"?`},
		{sel: "path:stagng", want: `--select "path:stagng": no model, seed or test is under "stagng" (folders: models, models/marts, models/staging, seeds); did you mean "staging"?`},
		{sel: "source:rwa", want: `--select "source:rwa": no source "rwa" (sources: raw, raw.a); did you mean "raw"?`},
		{sel: "resource_type:modle", want: `resource_type is one of extract, model, seed, source, test, not "modle"; did you mean "model"?`},
		{sel: "mart", excl: "reprot", want: `--exclude "reprot": no model`},
		{sel: "a+b", want: `misplaced + or @`},
		{sel: "tag:", want: `tag: needs a value`},
	} {
		var excl []string
		if tt.excl != "" {
			excl = []string{tt.excl}
		}
		if _, _, err := selector.Select(p, []string{tt.sel}, excl); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Select(%q, %q) error = %v, want %q", tt.sel, tt.excl, err, tt.want)
		}
	}
}
