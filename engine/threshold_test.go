package engine

import "testing"

func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		in       string
		failures int64
		holds    bool
	}{
		{">10", 10, false}, {">10", 11, true}, {">=10", 10, true}, {"<5", 4, true}, {"<=5", 6, false},
		{"!=0", 0, false}, {"!=0", 1, true}, {"<>0", 1, true}, {"=0", 0, true}, {"==3", 3, true}, {" > 2 ", 3, true},
	} {
		th, err := parseThreshold(tc.in)
		if err != nil {
			t.Fatalf("parseThreshold(%q): %v", tc.in, err)
		}
		if got := th.Holds(tc.failures); got != tc.holds {
			t.Errorf("%q.Holds(%d) = %v, want %v", tc.in, tc.failures, got, tc.holds)
		}
	}
	for _, bad := range []string{"", "10", "> ten", ">-1", "~5", ">1.5"} {
		if _, err := parseThreshold(bad); err == nil {
			t.Errorf("parseThreshold(%q) accepted a malformed threshold", bad)
		}
	}
}

func TestJudge(t *testing.T) {
	gt := func(n int64) Threshold { return Threshold{Op: ">", N: n} }
	for _, tc := range []struct {
		cfg      Config
		failures int64
		want     Status
	}{
		{Config{Severity: "error"}, 0, StatusPass},
		{Config{Severity: "error"}, 1, StatusFail},
		{Config{Severity: "warn"}, 1, StatusWarn},
		{Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 1, StatusPass},
		{Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 3, StatusWarn},
		{Config{Severity: "error", WarnIf: gt(1), ErrorIf: gt(5)}, 6, StatusFail},
		{Config{Severity: "warn", ErrorIf: gt(0)}, 9, StatusWarn}, // warn severity never fails
	} {
		if got, _ := judge(tc.cfg, tc.failures); got != tc.want {
			t.Errorf("judge(%+v, %d) = %s, want %s", tc.cfg, tc.failures, got, tc.want)
		}
	}
}
