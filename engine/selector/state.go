package selector

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/state"
)

// stateValues are the values of state:.
var stateValues = []string{"new", "modified", "modified.body", "modified.configs", "modified.properties", "modified.macros", "modified.vars"}

// stateMatch is state:new and state:modified[.kind]: a node absent from
// the state's manifest is new, and counts as modified too (as in dbt); a
// node present is modified when a checksum (of the kind, or any) differs.
// Nodes the state has and the project no longer has are not selected.
func stateMatch(p *project.Project, o *Options, value string) (func(*project.Node) bool, string, error) {
	if !slices.Contains(stateValues, value) {
		return nil, "", fmt.Errorf("state: is one of %s, not %q%s", strings.Join(stateValues, ", "), value, diag.DidYouMean(value, stateValues))
	}
	if o.State == nil {
		return nil, "", fmt.Errorf("state:%s compares with an earlier run: pass --state DIR, the target/ folder of that run (e.g. production's, copied after its build)", value)
	}
	m := o.State.Manifest
	kinds := project.ChecksumKinds
	if _, kind, ok := strings.Cut(value, "."); ok {
		kinds = []string{kind}
	}
	match := func(n *project.Node) bool {
		old, ok := m.Node(n.UniqueID)
		if !ok || old.Checksums == nil {
			return true
		}
		if value == "new" {
			return false
		}
		now := p.Checksums(n)
		for _, k := range kinds {
			if now.Get(k) != old.Checksums.Get(k) {
				return true
			}
		}
		return false
	}
	return match, fmt.Sprintf("matches no nodes: none is %s compared with --state %s", value, o.State.Dir), nil
}

// resultMatch is result:<status>, read from the state's run_results.json
// or, without --state, from the project's own target/.
func resultMatch(o *Options, value string) (func(*project.Node) bool, string, error) {
	if !slices.Contains(state.Statuses, value) {
		return nil, "", fmt.Errorf("result: is one of %s, not %q%s", strings.Join(state.Statuses, ", "), value, diag.DidYouMean(value, state.Statuses))
	}
	var results *state.Results
	switch {
	case o.State != nil && o.State.Results != nil:
		results = o.State.Results
	case o.State != nil:
		return nil, "", fmt.Errorf("--state %s has no run_results.json: give the target/ folder of a run that built, ran, seeded or tested", o.State.Dir)
	case o.Results != nil:
		var err error
		if results, err = o.Results(); err != nil {
			return nil, "", fmt.Errorf("%w; or pass --state DIR, the target/ folder of an earlier run", err)
		}
	default:
		return nil, "", fmt.Errorf("result:%s reads an earlier run's results: pass --state DIR, the target/ folder of that run", value)
	}
	status, want := results.Status(), state.StatusName(value)
	match := func(n *project.Node) bool { return status[n.UniqueID] == want }
	return match, fmt.Sprintf("matches no nodes: no node's result was %s in %s", value, results.Path), nil
}
