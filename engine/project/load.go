package project

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
	"github.com/quarrydev/quarry/engine/secret"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/panics"
)

// projectFiles are the files a project is made of, slash-separated paths
// relative to the project directory, sorted.
type projectFiles struct {
	models, props, seeds, macros []string
	tests, genericTests          []string
}

func discover(dir string, diags *diag.List) projectFiles {
	var f projectFiles
	walk := func(sub string, visit func(rel string)) {
		root := filepath.Join(dir, sub)
		if _, err := os.Stat(root); err != nil {
			return // an absent folder is an empty one
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			visit(filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			diags.Add(sub, 0, 0, "%v", err)
		}
	}
	isProps := func(rel string) bool { return strings.HasSuffix(rel, ".yml") || strings.HasSuffix(rel, ".yaml") }
	walk("models", func(rel string) {
		switch {
		case strings.HasSuffix(rel, ".sql"):
			f.models = append(f.models, rel)
		case isProps(rel):
			f.props = append(f.props, rel)
		}
	})
	walk("seeds", func(rel string) {
		switch {
		case strings.HasSuffix(rel, ".csv"):
			f.seeds = append(f.seeds, rel)
		case isProps(rel):
			f.props = append(f.props, rel)
		}
	})
	walk("macros", func(rel string) {
		if strings.HasSuffix(rel, ".sql") {
			f.macros = append(f.macros, rel)
		}
	})
	walk("tests", func(rel string) {
		switch {
		case strings.HasPrefix(rel, "tests/generic/") && strings.HasSuffix(rel, ".sql"):
			f.genericTests = append(f.genericTests, rel)
		case strings.HasSuffix(rel, ".sql"):
			f.tests = append(f.tests, rel)
		}
	})
	return f
}

// newProject is a project with project.yaml's settings and no nodes yet,
// for Load to fill from the files or thaw from a snapshot.
func newProject(opts config.Options, pc *config.Project) *Project {
	return &Project{
		Dir: opts.Dir, Name: pc.Name, Target: pc.Target, Threads: pc.Threads, Vars: pc.Vars,
		Nodes: map[string]*Node{}, Graph: dag.New(),
		byName: map[string]*Node{}, sources: map[string]*Node{},
		seedsSchema: pc.SeedsSchema, seedEncoding: pc.SeedsEncoding, folders: pc.Models, Env: opts.LookupEnv,
		secrets: secret.FromEnviron(opts.Environment()),
		Dialect: pc.Adapter.Dialect, testsSchema: pc.TestsSchema,
		tests: map[string]*Node{}, testPos: map[*Node]pos{},
	}
}

// Load reads and compiles the project in opts.Dir. When anything is wrong
// it returns a *diag.Error listing every problem found, and no project.
func Load(opts config.Options, adapters map[string]config.Adapter) (*Project, error) {
	diags := &diag.List{}
	pc := config.Load(opts, adapters, diags)
	if pc == nil {
		return nil, diags.Err()
	}
	// Keep going after problems in project.yaml: every file is checked, so
	// that one run lists every problem. When the target did not resolve
	// (reported), the dialect is nil and nothing below writes SQL in it;
	// the load then fails on that diagnostic.
	p := newProject(opts, pc)
	files := discover(opts.Dir, diags)
	p.funcs = render.BaseFuncs()
	p.addDialectFuncs()
	p.loadMacros(files.macros, diags)
	p.loadGenericTests(files.genericTests, diags)
	p.addModels(files.models, diags)
	p.addSeeds(files.seeds, diags)
	p.addSingularTests(files.tests, diags)
	props := p.readAllProps(files.props, diags)
	p.applyProps(props, diags)
	p.readSeeds(diags)
	p.addExtractors(pc.Extractors, opts.Extractors, diags)
	p.renderModels(diags)
	p.checkContracts(diags)
	p.buildTests(diags)
	p.renderTests(diags)
	p.link(diags)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	if p.Dialect == nil {
		// resolveTarget reports every way of getting here; an adapter
		// registered without a dialect is a bug of the caller.
		return nil, fmt.Errorf("target %s (%s): its adapter has no dialect", p.Target.Name, p.Target.Type)
	}
	p.compileAll()
	p.refuseCompiledSecrets(diags)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// loadMacros parses macros/*.sql: their define blocks are added to every
// model's template.
func (p *Project) loadMacros(files []string, diags *diag.List) {
	p.macros = map[string]*parse.Tree{}
	p.macroSrc = map[string]string{}
	definedIn := map[string]string{}
	for _, rel := range files {
		src, ok := readSource(filepath.Join(p.Dir, rel), rel, diags)
		if !ok {
			continue
		}
		p.macroSrc[rel] = src
		trees, err := render.ParseTrees(rel, src)
		if err != nil {
			diags.Append(render.Diagnostic(err, rel, map[string]string{rel: src}))
			continue
		}
		used, _ := render.UsedFuncs(trees, p.funcs, rel, diags)
		for _, f := range used {
			if !slices.Contains(p.macroFuncs, f) {
				p.macroFuncs = append(p.macroFuncs, f)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(trees)) {
			tree := trees[name]
			if name == rel {
				if strings.TrimSpace(tree.Root.String()) != "" {
					diags.Add(rel, 1, 1, "macro files may only hold {{ define \"name\" }} blocks; move the text outside them into a model")
				}
				continue
			}
			if prev, dup := definedIn[name]; dup {
				line, col := definePosition(src, name)
				diags.Add(rel, line, col, "macro %q is already defined in %s: rename one of them", name, prev)
				continue
			}
			definedIn[name] = rel
			p.macros[name] = tree
		}
	}
}

func definePosition(src, name string) (line, col int) {
	i := strings.Index(src, fmt.Sprintf("define %q", name))
	if i < 0 {
		return 1, 1
	}
	return diag.LineCol(src, i)
}

func (p *Project) addNode(n *Node, diags *diag.List) {
	if prev, dup := p.byName[n.Name]; dup {
		diags.Add(n.Path, 1, 1, "duplicate name %q: %s already defines it; names must be unique across models and seeds, rename one file", n.Name, prev.Path)
		return
	}
	p.byName[n.Name] = n
	p.Nodes[n.UniqueID] = n
}

func (p *Project) addModels(files []string, diags *diag.List) {
	for _, rel := range files {
		name := strings.TrimSuffix(path.Base(rel), ".sql")
		n := &Node{UniqueID: "model." + p.Name + "." + name, Name: name, Type: Model, Path: rel,
			Config: config.Node{Materialized: "view", Enabled: true}}
		dirs := strings.Split(path.Dir(strings.TrimPrefix(rel, "models/")), "/")
		if dirs[0] == "." {
			dirs = nil
		}
		// The public datamart is written, audited, then published: a table
		// under models/marts is only swapped in once its tests pass.
		if len(dirs) > 0 && dirs[0] == "marts" {
			n.Config.Publish = "audited"
		}
		if p.folders != nil {
			p.folders.Apply(&n.Config, dirs)
		}
		p.addNode(n, diags)
	}
}

// readAllProps parses the property files concurrently.
func (p *Project) readAllProps(files []string, diags *diag.List) []*propsFile {
	out := make([]*propsFile, len(files))
	parallel(len(files), func(i int) {
		out[i] = readProps(filepath.Join(p.Dir, files[i]), files[i], diags)
	})
	return slices.DeleteFunc(out, func(pf *propsFile) bool { return pf == nil })
}

func (p *Project) applyProps(files []*propsFile, diags *diag.List) {
	for _, pf := range files {
		for _, mp := range pf.Models {
			n, ok := p.byName[mp.Name]
			if !ok || n.Type != Model {
				msg := fmt.Sprintf("describes model %q, but there is no models/**/%s.sql", mp.Name, mp.Name)
				msg += diag.DidYouMean(mp.Name, p.names(Model))
				diags.Add(pf.path, mp.line, mp.col, "%s", msg)
				continue
			}
			p.applyNodeProps(n, mp, pf.path, diags)
			p.collectTests(pf.path, n, mp.Tests, mp.DataTests, mp.Columns)
		}
		for _, sp := range pf.Seeds {
			n, ok := p.byName[sp.Name]
			if !ok || n.Type != Seed {
				msg := fmt.Sprintf("describes seed %q, but there is no seeds/%s.csv", sp.Name, sp.Name)
				msg += diag.DidYouMean(sp.Name, p.names(Seed))
				diags.Add(pf.path, sp.line, sp.col, "%s", msg)
				continue
			}
			p.applyNodeProps(n, sp, pf.path, diags)
			if sp.ColumnTypes != nil {
				n.ColumnTypes, n.seed.typesFile = sp.ColumnTypes, pf.path
			}
			if sp.Encoding.Kind != 0 {
				setSeedEncoding(n, &sp.Encoding, pf.path, diags)
			}
			// Column names are checked once readSeeds has read the header.
			n.seed.props = append(n.seed.props, seedEntry{file: pf.path, props: sp})
			p.collectTests(pf.path, n, sp.Tests, sp.DataTests, sp.Columns)
		}
		for _, sp := range pf.Sources {
			p.addSource(sp, pf.path, diags)
		}
	}
}

func (p *Project) applyNodeProps(n *Node, np nodeProps, file string, diags *diag.List) {
	n.Description = np.Description
	n.Columns = columnDocs(file, np.Columns)
	n.Entry = FilePos{File: file, Line: np.line, Col: np.col}
	if np.Config.Kind == 0 {
		return
	}
	var cfg map[string]any
	if err := np.Config.Decode(&cfg); err != nil {
		diags.Add(file, np.Config.Line, np.Config.Column, "config must be a mapping of keys to values")
		return
	}
	for i := 0; i+1 < len(np.Config.Content); i += 2 {
		k := np.Config.Content[i]
		if n.Type == Seed && strings.TrimPrefix(k.Value, "+") == "encoding" {
			setSeedEncoding(n, np.Config.Content[i+1], file, diags)
			continue
		}
		if err := n.Config.Set(strings.TrimPrefix(k.Value, "+"), cfg[k.Value], n.configKeys()); err != nil {
			diags.Add(file, k.Line, k.Column, "%v", err)
		}
	}
}

func (p *Project) addSource(sp sourceProps, file string, diags *diag.List) {
	if sp.Name == "" {
		diags.Add(file, sp.line, sp.col, "a source needs a name")
		return
	}
	schema := sp.Schema
	if schema == "" {
		schema = sp.Name
	}
	for _, tp := range sp.Tables {
		key := sp.Name + "." + tp.Name
		if prev, dup := p.sources[key]; dup {
			diags.Add(file, tp.line, tp.col, "source %s is already declared in %s", key, prev.Path)
			continue
		}
		ident := tp.Identifier
		if ident == "" {
			ident = tp.Name
		}
		n := &Node{
			UniqueID: "source." + p.Name + "." + key, Name: tp.Name, Type: Source, Path: file,
			Relation: warehouse.Relation{Schema: schema, Name: ident}, Description: tp.Description,
			Columns: columnDocs(file, tp.Columns), SourceName: sp.Name, LoadedAtField: tp.LoadedAtField,
			Config: config.Node{Enabled: true},
		}
		p.sources[key] = n
		p.Nodes[n.UniqueID] = n
		p.collectTests(file, n, tp.Tests, tp.DataTests, tp.Columns)
		if tp.Freshness.Kind != 0 {
			p.freshnessDecls = append(p.freshnessDecls, freshnessDecl{file: file, node: &tp.Freshness, attached: n})
		}
	}
}

func (p *Project) names(t ResourceType) []string {
	var out []string
	for name, n := range p.byName {
		if n.Type == t {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// renderModels renders every model template, in parallel.
func (p *Project) renderModels(diags *diag.List) {
	var models []*Node
	for _, n := range p.byName {
		if n.Type == Model {
			models = append(models, n)
		}
	}
	for _, n := range p.tests {
		models = append(models, n) // singular tests are templates like models
	}
	parallel(len(models), func(i int) {
		n := models[i]
		src, ok := readSource(filepath.Join(p.Dir, n.Path), n.Path, diags)
		if !ok {
			return
		}
		n.Raw = src
		if p.sqlIsEmpty(src) {
			diags.Add(n.Path, 1, 1, "the %s is empty: %s", n.Type, emptyFix(n))
			return
		}
		sum := sha256.Sum256([]byte(src))
		n.Checksum = hex.EncodeToString(sum[:])
		n.preRender = cloneConfig(n.Config)
		r, ok := p.parseModel(n, diags)
		if !ok {
			return
		}
		out, err := r.render(false)
		if err != nil {
			diags.Append(render.Diagnostic(err, n.Path, map[string]string{n.Path: src}))
			return
		}
		n.Rendered = out
		if n.Config.Enabled { // a disabled node never runs: its SQL may be anything
			p.checkStatements(n, out, diags)
		}
		n.refs, n.srcs, n.varsRead = r.refs, r.sources, r.vars
		for _, m := range r.missing {
			p.reportMissing(n, m, diags)
		}
	})
}

// sqlIsEmpty reports whether src holds nothing but white space, SQL
// comments and semicolons: no statement to run. An unterminated quote or
// comment is not empty: checkStatements reports it where it opens.
func (p *Project) sqlIsEmpty(src string) bool {
	spans, err := p.syntax().Statements(src)
	return err == nil && len(spans) == 0
}

// emptyFix says what to do about an empty model or singular test.
func emptyFix(n *Node) string {
	if n.Type == Test {
		return "write a select statement returning the rows that fail the test (or delete the file)"
	}
	return "write a select statement (or delete the file)"
}

// parseModel parses a model's template. It gets only the functions it and
// the macros call, plus the macros themselves.
func (p *Project) parseModel(n *Node, diags *diag.List) (*renderer, bool) {
	trees, err := render.ParseTrees(n.Path, n.Raw)
	if err != nil {
		diags.Append(render.Diagnostic(err, n.Path, map[string]string{n.Path: n.Raw}))
		return nil, false
	}
	// ok is this file's own verdict: the shared diag list also collects
	// other files' problems, concurrently.
	used, ok := render.UsedFuncs(trees, p.funcs, n.Path, diags)
	if !ok {
		return nil, false
	}
	funcs := make(template.FuncMap, len(used)+len(p.macroFuncs))
	for _, f := range used {
		if fn, ok := p.funcs[f]; ok {
			funcs[f] = fn
		}
	}
	for _, f := range p.macroFuncs {
		// Built-ins (printf, len, ...) are not in p.funcs: text/template
		// has them already, and a nil entry would fail the whole parse.
		if fn, ok := p.funcs[f]; ok {
			funcs[f] = fn
		}
	}
	n.bind = []string{}
	for _, f := range boundFuncs {
		if _, ok := funcs[f]; ok {
			n.bind = append(n.bind, f)
		}
	}
	t := template.New(n.Path).Funcs(funcs)
	for name, tree := range p.macros {
		if _, err := t.AddParseTree(name, tree); err != nil {
			diags.Add(n.Path, 0, 0, "%v", err)
			return nil, false
		}
	}
	for name, tree := range trees {
		if _, err := t.AddParseTree(name, tree); err != nil {
			diags.Add(n.Path, 0, 0, "%v", err)
			return nil, false
		}
	}
	n.tmpl = t.Lookup(n.Path)
	return &renderer{p: p, node: n}, true
}

// render executes the model's template. Config calls apply to the node.
func (r *renderer) render(incremental bool) (string, error) {
	r.incr = incremental
	return r.renderData(render.Data{Model: r.node.Name})
}

func (r *renderer) renderData(data render.Data) (string, error) {
	r.refs, r.sources, r.missing, r.vars = nil, nil, nil, nil
	data.Target.Name, data.Target.Type = r.p.Target.Name, r.p.Target.Type
	b := render.NewBudget(time.Now())
	return b.Execute(r.node.tmpl.Funcs(r.funcs(b)), data)
}

func (p *Project) reportMissing(n *Node, m missingCall, diags *diag.List) {
	path, line, col := findCall(n, m.fn, m.args...)
	var msg string
	switch m.fn {
	case "ref":
		msg = fmt.Sprintf("unknown ref %q: no model or seed has that name", m.args[0]) +
			diag.DidYouMean(m.args[0], slices.Sorted(maps.Keys(p.byName)))
	case "source":
		key := m.args[0] + "." + m.args[1]
		msg = fmt.Sprintf("unknown source %s: declare it under sources: in a property file", key) +
			diag.DidYouMean(key, slices.Sorted(maps.Keys(p.sources)))
	}
	diags.Add(path, line, col, "%s", msg)
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines. A panic in fn is
// raised again on the caller's goroutine once the others are done, so that
// the command runner reports it as a bug instead of the process crashing.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	var once sync.Once
	var panicked *panics.Error
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range workers {
		wg.Go(func() {
			defer panics.Capture(func(e *panics.Error) { once.Do(func() { panicked = e }) })
			for i := range next {
				fn(i)
			}
		})
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
