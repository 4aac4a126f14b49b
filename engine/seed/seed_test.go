package seed_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/seed"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// diagnostics returns what diags holds, one line each.
func diagnostics(diags *diag.List) []string {
	var de *diag.Error
	if !errors.As(diags.Err(), &de) {
		return nil
	}
	var out []string
	for _, d := range de.Diagnostics {
		out = append(out, d.String())
	}
	return out
}

func TestReadTypesPinnedAndInferred(t *testing.T) {
	raw := []byte("\xef\xbb\xbfid,name,born,score\r\n1,Ada,1815-12-10,007\r\n2,,,\r\n")
	var diags diag.List
	tab, ok := seed.Read(raw, "seeds/people.csv", seed.Options{
		Name: "people", ColumnTypes: map[string]string{"SCORE": "integer"}, TypesFile: "seeds/seeds.yml",
	}, &diags)
	if got := diagnostics(&diags); !ok || got != nil {
		t.Fatalf("Read: ok = %v, diagnostics %q", ok, got)
	}
	wantCols := []warehouse.Column{{Name: "id", Type: "bigint"}, {Name: "name", Type: "varchar"}, {Name: "born", Type: "date"}, {Name: "score", Type: "integer"}}
	if diff := cmp.Diff(wantCols, tab.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	wantRows := [][]any{
		{int64(1), "Ada", time.Date(1815, 12, 10, 0, 0, 0, 0, time.UTC), int64(7)},
		{int64(2), nil, nil, nil},
	}
	if diff := cmp.Diff(wantRows, tab.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if want := []int{2, 3}; !slices.Equal(tab.Lines, want) {
		t.Errorf("lines = %v, want %v", tab.Lines, want)
	}
	// Only the pinned column's cells are located: score starts at byte 18
	// of line 2, and at byte 5 of line 3.
	if diff := cmp.Diff([][]int{{0, 0, 0, 18}, {0, 0, 0, 5}}, tab.Cells); diff != "" {
		t.Errorf("cells (-want +got):\n%s", diff)
	}
}

// A latin-1 file's positions count its bytes, one per character, not those
// of the UTF-8 text it decodes to.
func TestReadPositionsInTheFile(t *testing.T) {
	raw := []byte("name,n\nCaf\xe9,x\n")
	var diags diag.List
	tab, ok := seed.Read(raw, "seeds/s.csv", seed.Options{
		Name: "s", Encoding: seed.Latin1, EncodingFrom: "the encoding declared at seeds/s.yml:3:15",
		ColumnTypes: map[string]string{"n": "integer"}, TypesFile: "seeds/s.yml",
	}, &diags)
	if ok {
		t.Fatal("Read accepted a value that is not a whole number in an integer column")
	}
	want := []string{`seeds/s.csv:2:6: column "n" is pinned as integer in seeds/s.yml, but "x" is not a whole number: correct the value, leave it empty for NULL, or change the column's type`}
	if diff := cmp.Diff(want, diagnostics(&diags)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	// The header is sound, so its names are there to check, without rows.
	if tab == nil || !slices.Equal(tab.Names(), []string{"name", "n"}) || tab.Rows != nil {
		t.Errorf("table of a file with a bad row = %+v, want its names and no rows", tab)
	}
}

func TestReadBadHeaderGivesNoTable(t *testing.T) {
	var diags diag.List
	tab, ok := seed.Read([]byte("a,A\n1,2\n"), "seeds/d.csv", seed.Options{Name: "d"}, &diags)
	if tab != nil || ok {
		t.Errorf("Read of a duplicate header = %+v, %v; want nil, false", tab, ok)
	}
	want := []string{`seeds/d.csv:1:3: column "A" appears twice in the header (columns 1 and 2, "a"): rename one`}
	if diff := cmp.Diff(want, diagnostics(&diags)); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestValueErrorNamesTheCell(t *testing.T) {
	var diags diag.List
	tab, ok := seed.Read([]byte("id,at\n1,soon\n"), "seeds/e.csv", seed.Options{
		Name: "e", ColumnTypes: map[string]string{"at": "time"}, TypesFile: "seeds/e.yml",
	}, &diags)
	if !ok {
		t.Fatalf("Read: %q", diagnostics(&diags))
	}
	err := tab.ValueError(&warehouse.ValueError{Row: 0, Column: "at", Value: "soon", Type: "TIME",
		Err: errors.New("Conversion Error: invalid time\nLINE 1: insert ...")})
	want := `seeds/e.csv:2:3: column "at" is pinned as TIME in seeds/e.yml, but the warehouse cannot convert "soon" to it (Conversion Error: invalid time): correct the value, leave it empty for NULL, or change the column's type`
	if err.Error() != want {
		t.Errorf("ValueError:\n got %s\nwant %s", err, want)
	}
	// A row the table does not have is not the table's to place.
	ve := &warehouse.ValueError{Row: 5, Column: "at", Err: errors.New("x")}
	if err := tab.ValueError(ve); err != ve {
		t.Errorf("ValueError of an unknown row = %v, want it unchanged", err)
	}
}
