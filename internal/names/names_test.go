package names

import (
	"slices"
	"testing"
)

func TestList(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want []string
		bad  bool
	}{
		{"a", []string{"a"}, false},
		{[]string{"a", "b"}, []string{"a", "b"}, false},
		{[]any{"a", "b"}, []string{"a", "b"}, false},
		{[]any{"a", 1}, nil, true},
		{42, nil, true},
	} {
		got, err := List(tt.in)
		if (err != nil) != tt.bad || !slices.Equal(got, tt.want) {
			t.Errorf("List(%v) = %v, %v", tt.in, got, err)
		}
	}
}
