// Package names reads a name or a list of names from a value as YAML and
// template arguments decode it: tags, unique keys, a test's columns.
package names

import "fmt"

// List returns v as names: a string is one name, a list of strings many.
func List(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %v", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %v", v)
}
