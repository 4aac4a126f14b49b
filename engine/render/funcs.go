package render

import (
	"fmt"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// BaseFuncs returns the template functions every model and macro sees:
// sprig's hermetic map (which has no env/expandenv) plus quarry's own, bound
// per model before execution.
func BaseFuncs() template.FuncMap {
	f := sprig.HermeticTxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	checkedGenerators(f)
	unbound := func(...any) (string, error) { return "", fmt.Errorf("not available here") }
	for _, name := range []string{"ref", "source", "config", "var", "env_var", "this", "is_incremental", FnLoop, FnEnter, FnLeave} {
		f[name] = unbound
	}
	return f
}

// Data is the dot of a model template, passed on to macros by
// {{ template "name" . }}.
type Data struct {
	Model  string // the model's name (for a generic test: the tested node's)
	Target struct {
		Name, Type string
	}
	// In tests/generic templates: the tested relation, the tested column
	// (quoted; empty for model-level tests) and the test's arguments.
	Relation string
	Column   string
	Args     map[string]any
}
