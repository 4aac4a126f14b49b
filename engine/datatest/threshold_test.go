package datatest

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
		th, err := ParseThreshold(tc.in)
		if err != nil {
			t.Fatalf("ParseThreshold(%q): %v", tc.in, err)
		}
		if got := th.Holds(tc.failures); got != tc.holds {
			t.Errorf("%q.Holds(%d) = %v, want %v", tc.in, tc.failures, got, tc.holds)
		}
	}
	for _, bad := range []string{"", "10", "> ten", ">-1", "~5", ">1.5"} {
		if _, err := ParseThreshold(bad); err == nil {
			t.Errorf("ParseThreshold(%q) accepted a malformed threshold", bad)
		}
	}
}
