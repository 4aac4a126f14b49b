package render_test

import (
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
)

// A parse error carries only a line: the column is where its token is.
func TestDiagnosticOfAParseError(t *testing.T) {
	src := "select 1\nfrom {{ ref \"a\" }\n"
	_, err := render.ParseTrees("models/m.sql", src)
	if err == nil {
		t.Fatal("want a parse error")
	}
	d := render.Diagnostic(err, "models/m.sql", map[string]string{"models/m.sql": src})
	if d.Path != "models/m.sql" || d.Line != 2 || d.Col < 1 || !strings.HasPrefix(d.Msg, "template syntax: ") {
		t.Errorf("got %+v, want models/m.sql line 2 with a column and a template syntax message", d)
	}
}

// Unknown functions are reported where they are called, with a suggestion.
func TestUsedFuncsReportsUnknownNames(t *testing.T) {
	trees, err := render.ParseTrees("models/m.sql", "select {{ upperr \"x\" }}")
	if err != nil {
		t.Fatal(err)
	}
	var diags diag.List
	_, ok := render.UsedFuncs(trees, render.BaseFuncs(), "models/m.sql", &diags)
	err = diags.Err()
	if ok || err == nil || !strings.Contains(err.Error(), `models/m.sql:1:11: function "upperr" not defined; did you mean "upper"?`) {
		t.Errorf("ok=%v, diags %v", ok, err)
	}
}

// FindCall points at the function name of the first matching call, in the
// template's own tree before its macros.
func TestFindCall(t *testing.T) {
	tm := template.New("models/m.sql").Funcs(template.FuncMap{"ref": func(string) string { return "" }})
	template.Must(tm.Parse("select *\n  from {{ ref \"orders\" }}"))
	path, line, col, ok := render.FindCall(tm, "ref", "orders")
	if !ok || path != "models/m.sql" || line != 2 || col != 11 {
		t.Errorf("FindCall = %s:%d:%d %v, want models/m.sql:2:11", path, line, col, ok)
	}
	if _, _, _, ok := render.FindCall(tm, "ref", "customers"); ok {
		t.Error("found a call that is not there")
	}
}

// The byte budget stops a render that writes too much, with a message
// that says why.
func TestBudgetBoundsTheOutput(t *testing.T) {
	b := render.NewBudget(time.Now())
	f := render.BaseFuncs()
	b.AddFuncs(f, []string{render.FnLoop, render.FnEnter, render.FnLeave})
	tm := template.Must(template.New("m").Funcs(f).Parse(`{{ range until 200000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}`))
	if _, err := b.Execute(tm, nil); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("err = %v, want the output bound", err)
	}
}
