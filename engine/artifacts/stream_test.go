package artifacts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// The streamed document must be byte for byte what MarshalIndent writes
// (or, compact, json.Marshal): golden files and tools compare manifests.
func TestObjectStreamMatchesMarshalIndent(t *testing.T) {
	for _, compact := range []bool{false, true} {
		streamMatches(t, compact)
	}
}

func streamMatches(t *testing.T, compact bool) {
	t.Helper()
	type inner struct {
		Name string   `json:"name"`
		List []string `json:"list"`
		Opt  string   `json:"opt,omitempty"`
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	o := &objectStream{w: w, compact: compact}
	// In sorted order, as MarshalIndent writes a map's keys.
	o.begin("")
	o.begin("empty")
	o.members(0, nil)
	o.end()
	o.begin("maps")
	o.member("k", map[string][]string{"a": {}, "b": {"c"}})
	o.end()
	o.member("metadata", inner{Name: "a<b>&c", List: []string{}})
	o.begin("nodes")
	nodes := []struct {
		key string
		v   inner
	}{{"model.t.<x>", inner{Name: "x", List: []string{"y", "z"}}}, {"model.t.y", inner{Name: "y\n\"q\"", Opt: "o"}}}
	o.members(len(nodes), func(i int) (string, any) { return nodes[i].key, nodes[i].v })
	o.end()
	o.end()
	if err := w.Flush(); err != nil || o.err != nil {
		t.Fatal(err, o.err)
	}

	doc := map[string]any{
		"metadata": inner{Name: "a<b>&c", List: []string{}},
		"empty":    map[string]any{},
		"nodes": map[string]inner{
			"model.t.<x>": {Name: "x", List: []string{"y", "z"}},
			"model.t.y":   {Name: "y\n\"q\"", Opt: "o"},
		},
		"maps": map[string]any{"k": map[string][]string{"a": {}, "b": {"c"}}},
	}
	want, err := json.MarshalIndent(doc, "", "  ")
	if compact {
		want, err = json.Marshal(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("compact %v: streamed:\n%s\nwant:\n%s", compact, buf.Bytes(), want)
	}
}
