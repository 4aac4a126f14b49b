package datatest

import "time"

// Verdict is what a test's result means: pass, warn or fail.
type Verdict string

// The verdicts.
const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Judge turns a failure count into a verdict, as dbt does: error_if decides
// fail for error-severity tests, else warn_if decides warn. Unset thresholds
// are DefaultThreshold. It returns the threshold that was met, zero on pass.
func Judge(severity string, warnIf, errorIf Threshold, failures int64) (Verdict, Threshold) {
	errIf, warnIf := errorIf.Or(DefaultThreshold), warnIf.Or(DefaultThreshold)
	if severity != "warn" && errIf.Holds(failures) {
		return Fail, errIf
	}
	if warnIf.Holds(failures) {
		return Warn, warnIf
	}
	return Pass, Threshold{}
}

// JudgeAge judges a source whose newest row is age old against its
// freshness limits (zero means no limit). A warn-severity test never fails.
func JudgeAge(severity string, age, warnAfter, errorAfter time.Duration) Verdict {
	switch {
	case errorAfter > 0 && age > errorAfter && severity != "warn":
		return Fail
	case warnAfter > 0 && age > warnAfter, errorAfter > 0 && age > errorAfter:
		return Warn
	}
	return Pass
}

// JudgeNeverLoaded judges a source with no rows to date: it fails when an
// error limit is set and the severity allows, else warns.
func JudgeNeverLoaded(severity string, errorAfter time.Duration) Verdict {
	if errorAfter == 0 || severity == "warn" {
		return Warn
	}
	return Fail
}
