package run

import (
	"testing"

	"github.com/quarrydev/quarry/engine/project"
)

func TestJudge(t *testing.T) {
	gt := func(n int64) project.Threshold { return project.Threshold{Op: ">", N: n} }
	for _, tc := range []struct {
		cfg      project.Config
		failures int64
		want     Status
	}{
		{project.Config{Severity: "error"}, 0, StatusPass},
		{project.Config{Severity: "error"}, 1, StatusFail},
		{project.Config{Severity: "warn"}, 1, StatusWarn},
		{project.Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 1, StatusPass},
		{project.Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 3, StatusWarn},
		{project.Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 6, StatusFail},
		{project.Config{Severity: "warn", ErrorIf: gt(0)}, 9, StatusWarn}, // warn severity never fails
	} {
		if got, _ := judge(tc.cfg, tc.failures); got != tc.want {
			t.Errorf("judge(%+v, %d) = %s, want %s", tc.cfg, tc.failures, got, tc.want)
		}
	}
}
