package main

import (
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// A warehouse may return two columns of one name (Snowflake does for
// `select 1 as id, 2 as id`; DuckDB renames them itself): show -o json
// keys each object's members apart rather than write a key twice.
func TestShowJSONKeysRepeatedColumnsApart(t *testing.T) {
	res := &warehouse.Result{
		Columns: []string{"ID", "ID", "ID_1", "id", "ID"},
		Rows:    [][]any{{int64(1), int64(2), int64(3), int64(4), int64(5)}},
	}
	var b strings.Builder
	if err := writeJSONRows(&b, res); err != nil {
		t.Fatal(err)
	}
	want := "[\n  {\"ID\": 1, \"ID_2\": 2, \"ID_1\": 3, \"id\": 4, \"ID_3\": 5}\n]\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
