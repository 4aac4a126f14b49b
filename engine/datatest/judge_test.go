package datatest

import (
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	gt := func(n int64) Threshold { return Threshold{Op: ">", N: n} }
	for _, tc := range []struct {
		severity        string
		warnIf, errorIf Threshold
		failures        int64
		want            Verdict
	}{
		{"error", Threshold{}, Threshold{}, 0, Pass},
		{"error", Threshold{}, Threshold{}, 1, Fail},
		{"warn", Threshold{}, Threshold{}, 1, Warn},
		{"error", gt(1), gt(5), 1, Pass},
		{"error", gt(1), gt(5), 3, Warn},
		{"error", gt(1), gt(5), 6, Fail},
		{"warn", Threshold{}, gt(0), 9, Warn}, // warn severity never fails
	} {
		if got, _ := Judge(tc.severity, tc.warnIf, tc.errorIf, tc.failures); got != tc.want {
			t.Errorf("Judge(%s, warn_if %q, error_if %q, %d) = %s, want %s", tc.severity, tc.warnIf, tc.errorIf, tc.failures, got, tc.want)
		}
	}
}

func TestJudgeAge(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		severity                string
		age, warnAfter, errorAt time.Duration
		want                    Verdict
	}{
		{"error", 1 * h, 2 * h, 4 * h, Pass},
		{"error", 3 * h, 2 * h, 4 * h, Warn},
		{"error", 5 * h, 2 * h, 4 * h, Fail},
		{"warn", 5 * h, 2 * h, 4 * h, Warn}, // warn severity never fails
		{"error", 5 * h, 0, 4 * h, Fail},
		{"error", 5 * h, 2 * h, 0, Warn},
	} {
		if got := JudgeAge(tc.severity, tc.age, tc.warnAfter, tc.errorAt); got != tc.want {
			t.Errorf("JudgeAge(%s, %s, warn %s, error %s) = %s, want %s", tc.severity, tc.age, tc.warnAfter, tc.errorAt, got, tc.want)
		}
	}
	if got := JudgeNeverLoaded("error", 4*h); got != Fail {
		t.Errorf("JudgeNeverLoaded(error, 4h) = %s, want fail", got)
	}
	if got := JudgeNeverLoaded("error", 0); got != Warn {
		t.Errorf("JudgeNeverLoaded(error, no error limit) = %s, want warn", got)
	}
}

func TestAges(t *testing.T) {
	for in, want := range map[any]time.Duration{"24h": 24 * time.Hour, "90m": 90 * time.Minute, "2d": 48 * time.Hour} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%v) = %s, %v; want %s", in, got, err, want)
		}
	}
	if got, err := ParseAge(map[string]any{"count": 2, "period": "day"}); err != nil || got != 48*time.Hour {
		t.Errorf("ParseAge({count: 2, period: day}) = %s, %v; want 48h", got, err)
	}
	for _, bad := range []any{"0d", "-1h", "soon", 5, map[string]any{"count": 2, "period": "week"}} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%v) accepted a malformed age", bad)
		}
	}
	for d, want := range map[time.Duration]string{0: "never", 30 * time.Second: "30s", 45 * time.Minute: "45m", 30*time.Hour + 10*time.Second: "1d6h"} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%s) = %q, want %q", d, got, want)
		}
	}
}
