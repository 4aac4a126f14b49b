package project

import (
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/secret"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// ResourceType says what a node is.
type ResourceType string

const (
	Model  ResourceType = "model"
	Seed   ResourceType = "seed"
	Source ResourceType = "source"
)

// ResourceTypes are the kinds of node, as resource_type: and quarry ls
// --resource-type name them.
var ResourceTypes = []ResourceType{Extract, Model, Seed, Source, Test}

// Node is one node of the project: a model, seed, source, test or extract.
// The fields above the kinds' sections are every node's; what only one kind
// has sits in its section (seeds, tests and extracts keep theirs in one
// field each). How each kind runs is engine/run's (one type per kind).
type Node struct {
	UniqueID    string       // e.g. model.techpulse.stg_orders
	Name        string       // what ref uses
	Type        ResourceType //
	Path        string       // file, relative to the project, slash-separated
	Checksum    string       // sha256 of the file (models, tests, seeds)
	Config      config.Node  //
	Relation    warehouse.Relation
	DependsOn   []string // unique ids, sorted
	Description string
	Columns     []ColumnDoc
	// Entry is where a property file describes the node (its `- name:`
	// line); File is "" when none does.
	Entry FilePos

	// Models and tests (their SQL).
	Raw      string // template source
	Compiled string // compiled SQL, ephemeral CTEs inlined
	Rendered string // rendered SQL with ref placeholders still in place
	tmpl     *template.Template
	bind     []string       // the functions of boundFuncs the template calls; nil: not known, bind all
	refs     []string       // names the template passed to ref
	srcs     [][2]string    // source, table pairs it passed to source
	varsRead map[string]any // the vars it read while loading, with their values
	// frozenSums are the checksums a load snapshot kept, for a node whose
	// template and vars read were not kept with it; nil: compute them.
	frozenSums *Checksums
	// preRender is a model's config before its template's config calls:
	// a load snapshot re-renders an edited model from it.
	preRender config.Node

	// Seeds.
	ColumnTypes map[string]string // pinned column types
	seed        seedState

	// Sources.
	SourceName    string
	LoadedAtField string

	// Tests.
	Test *TestSpec

	// Extractors.
	Extraction *ExtractSpec

	// Analysis is what SQL comprehension (engine/analyze) found: the
	// columns the node produces, or why it could not tell; nil when the
	// node was not analysed.
	Analysis *Analysis
}

// Analysis is what the analyser found about one node.
type Analysis struct {
	Columns []warehouse.Column // in output order, with the analyser's types; nil when unknown
	Checked bool               // its SQL was bound against its upstream columns
	Reason  string             // why it was not checked, or its columns are unknown
	Lineage []lineage.Column   // a model's: each column's sources, by node unique id
}

// ColumnDoc documents one column of a model, seed or source, as its
// property file declares it.
type ColumnDoc struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	DataType    string `json:"data_type,omitempty"` // as declared; a contract holds the model to it

	File      string `json:"-"` // the property file, and where in it
	Line, Col int    `json:"-"`
}

// FilePos is a place in a property file.
type FilePos struct {
	File      string
	Line, Col int
}

// Project is a loaded and compiled project: every node, the graph between
// them, and the settings of the chosen target.
type Project struct {
	Dir     string
	Name    string
	Target  config.Target
	Threads int
	Vars    map[string]any

	Nodes map[string]*Node // by unique id
	Graph *dag.Graph

	byName      map[string]*Node // models and seeds, by ref name
	sources     map[string]*Node // by "source.table"
	seedsSchema string
	folders     *config.Folders
	funcs       template.FuncMap       // shared template functions
	macros      map[string]*parse.Tree // define blocks from macros/, by name
	macroFuncs  []string               // functions the macros call
	macroSrc    map[string]string      // macro files' text, by path, to locate the SQL they render
	Env         func(string) (string, bool)
	secrets     secret.Values // values of the secret-looking variables, never to be written
	Dialect     warehouse.Dialect

	tests          map[string]*Node // by test name
	testDecls      []testDecl
	freshnessDecls []freshnessDecl
	testPos        map[*Node]pos                     // where each generic test is declared
	genericTests   map[string]map[string]*parse.Tree // tests/generic templates, by test name
	testsSchema    string                            // where --store-failures keeps failing rows
	extracts       []*Node
	seedEncoding   string // project.yaml seeds: encoding, canonical; "" for utf-8
	// deferred are the relations --defer reads instead of some nodes' own,
	// by unique id (Defer).
	deferred map[string]warehouse.Relation
	sumsOnce sync.Once
	sums     *checksumIndex // built on first use, once every node is loaded
}

// Lookup returns the model or seed that ref would resolve name to.
func (p *Project) Lookup(name string) (*Node, bool) {
	n, ok := p.byName[name]
	return n, ok
}

// Executable reports whether a node does work when run (sources are only
// read, ephemeral models are inlined into others).
func Executable(n *Node) bool {
	return n.Type == Seed || n.Type == Test || n.Type == Extract || (n.Type == Model && n.Config.Materialized != "ephemeral")
}
