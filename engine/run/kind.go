package run

import (
	"context"

	"github.com/quarrydev/quarry/engine/project"
)

// A kind is how one kind of node runs. A new kind of node (a snapshot, a
// unit test) is one type implementing it, in its own file, and a line in
// kinds.
type kind interface {
	// schemas names the schemas the node writes to in this run: the run
	// creates them all, once, before any node starts.
	schemas(n *project.Node, opts *Options) []string
	// run does the node's work against x.wh and fills in res: its status,
	// message, rows and what else the kind reports.
	run(ctx context.Context, x *execution, n *project.Node, res *Result)
}

// A preparer is a kind that needs something in place before any node of the
// run starts (an extractor's landing tables, which other nodes query).
type preparer interface {
	prepare(ctx context.Context, x *execution, n *project.Node) error
}

var kinds = map[project.ResourceType]kind{
	project.Seed:    seedKind{},
	project.Model:   modelKind{},
	project.Test:    testKind{},
	project.Extract: extractKind{},
}

// kindOf is the kind of an executable node. Sources and ephemeral models
// never run, so asking for their kind is a bug in the plan.
func kindOf(n *project.Node) kind {
	k, ok := kinds[n.Type]
	if !ok {
		panic("run: no runner for a " + string(n.Type) + " node (" + n.UniqueID + ")")
	}
	return k
}
