package datatest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
)

// Threshold is a test's warn_if / error_if condition on its failure count,
// written like ">10" or "!=0". The zero value means "not set".
type Threshold struct {
	Op string
	N  int64
}

var thresholdRe = regexp.MustCompile(`^\s*(>=|<=|!=|<>|==|=|>|<)\s*(\d+)\s*$`)

// ParseThreshold reads a warn_if or error_if condition like ">10" or "!=0";
// "<>" and "=" are accepted as "!=" and "==".
func ParseThreshold(s string) (Threshold, error) {
	m := thresholdRe.FindStringSubmatch(s)
	if m == nil {
		return Threshold{}, fmt.Errorf("%q is not a condition on the failure count: write an operator and a whole number, like \">10\" or \"!=0\"", s)
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Threshold{}, fmt.Errorf("%q: %w", s, err)
	}
	op := m[1]
	switch op {
	case "<>":
		op = "!="
	case "=":
		op = "=="
	}
	return Threshold{Op: op, N: n}, nil
}

// IsZero reports whether the threshold is unset.
func (t Threshold) IsZero() bool { return t.Op == "" }

// Or returns t, or def when t is unset.
func (t Threshold) Or(def Threshold) Threshold {
	if t.IsZero() {
		return def
	}
	return t
}

// Holds reports whether failures meets the condition.
func (t Threshold) Holds(failures int64) bool {
	switch t.Op {
	case ">":
		return failures > t.N
	case ">=":
		return failures >= t.N
	case "<":
		return failures < t.N
	case "<=":
		return failures <= t.N
	case "==":
		return failures == t.N
	case "!=":
		return failures != t.N
	}
	return false
}

func (t Threshold) String() string {
	if t.IsZero() {
		return ""
	}
	return t.Op + strconv.FormatInt(t.N, 10)
}

// MarshalJSON writes the threshold as it is written in YAML.
func (t Threshold) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// DefaultThreshold fails (or warns) on any failing row, as dbt does.
var DefaultThreshold = Threshold{Op: "!=", N: 0}
