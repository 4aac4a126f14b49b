package project

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/dag"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/render"
	"github.com/quarrydev/quarry/engine/secret"
	"github.com/quarrydev/quarry/engine/seed"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// SnapshotFile is where LoadCached keeps the last successful load, under
// the project's target/ folder.
const SnapshotFile = "partial_parse.gob"

// snapshotFormat is the version of the snapshot file. Bump it whenever a
// load could come out differently for the same inputs, or what the
// snapshot holds changes, so that old files are ignored rather than
// trusted. The binary's identity is checked too, so a rebuilt quarry never
// reads its predecessor's snapshot; the format guards a reused binary id.
const snapshotFormat = 2

// racyWindow: a file changed this recently when it was stamped may change
// again within the file system's timestamp granularity without its size
// or modification time changing, so its content is hashed as well.
const racyWindow = 2 * time.Second

func init() {
	// The dynamic types a node's any-typed values hold: YAML-decoded test
	// arguments and typed seed cells.
	gob.Register([]any{})
	gob.Register(map[string]any{})
	gob.Register(time.Time{})
}

// LoadStatus says how LoadCached got its project.
type LoadStatus int

const (
	LoadedFull     LoadStatus = iota // loaded from the files (no usable snapshot)
	LoadedSnapshot                   // nothing changed: the snapshot's project, nothing rendered
	LoadedPartial                    // only models' SQL changed: the snapshot's project, those models rendered again
)

// LoadCached is Load, reusing the snapshot at path (target/partial_parse.gob)
// when nothing that can change a load's result has changed since it was
// written: the files Load reads (by path, size and modification time, and
// content where the time cannot be trusted), project.yaml, --vars, the
// target, the values of every environment variable the load read and of
// the secret-looking ones, and the quarry binary. Otherwise it loads in
// full and, when that succeeds, writes a new snapshot. A missing, corrupt
// or foreign snapshot is loaded over, never an error.
//
// A project from a snapshot carries no templates: it serves commands that
// read the project (ls, compile, lineage, docs), not ones that run nodes
// (incremental models are rendered again at run time).
func LoadCached(opts config.Options, adapters map[string]config.Adapter, path string) (*Project, LoadStatus, error) {
	// Decoding the snapshot and stamping the files are the two halves of
	// an unchanged load, and neither needs the other: done side by side,
	// the load takes the longer of the two rather than their sum. A stale
	// snapshot is decoded for nothing, while the files are stamped.
	snap := make(chan *snapshotFile, 1)
	go func() { snap <- decodeSnapshot(path) }()
	in, err := stampInputs(opts)
	f := <-snap
	if err == nil && f != nil {
		if p, st, ok := readSnapshot(opts, adapters, path, in, f); ok {
			return p, st, nil
		}
	}
	rec := &envRecorder{lookup: opts.LookupEnv, read: map[string]bool{}}
	recorded := opts
	recorded.Env = rec.lookupEnv
	p, loadErr := Load(recorded, adapters)
	if loadErr != nil {
		return nil, LoadedFull, loadErr
	}
	p.Env = opts.LookupEnv // not the recorder: what runs later is no part of the load
	if err == nil {
		// Not being able to keep a snapshot costs the next load its
		// speed, nothing else: the project is loaded either way.
		_ = writeSnapshot(path, p, in, rec.names(), opts)
	}
	return p, LoadedFull, nil
}

// inputs is what a load read, stamped before it read them.
type inputs struct {
	key   [sha256.Size]byte // project.yaml, --vars, --target, the secret-looking environment, the binary
	files []fileStamp
}

type fileStamp struct {
	Path  string // slash-separated, relative to the project
	Size  int64
	MTime int64  // nanoseconds
	Hash  []byte // sha256 of the content, when MTime was too recent to trust
}

func stampInputs(opts config.Options) (inputs, error) {
	var in inputs
	h := sha256.New()
	yml, err := os.ReadFile(filepath.Join(opts.Dir, config.ProjectFile))
	if err != nil {
		return in, err
	}
	fmt.Fprintf(h, "format %d\nbinary %s\n", snapshotFormat, binaryID())
	fmt.Fprintf(h, "project.yaml %d\n", len(yml))
	h.Write(yml)
	// %#v prints a map's keys sorted, and keeps 1 and "1" apart.
	fmt.Fprintf(h, "\nvars %#v\ntarget %q\nthreads %d\n", opts.Vars, opts.Target, opts.Threads)
	fmt.Fprintf(h, "extractors %q\n", slices.Sorted(maps.Keys(opts.Extractors)))
	// Secret values decide whether compiled SQL is refused, whichever
	// variables the templates read: every secret-looking one counts.
	var secrets []string
	for _, kv := range opts.Environment() {
		if name, _, ok := strings.Cut(kv, "="); ok && secret.Looks(name) {
			secrets = append(secrets, kv)
		}
	}
	slices.Sort(secrets)
	for _, kv := range secrets {
		fmt.Fprintf(h, "secret %d %s\n", len(kv), kv)
	}
	h.Sum(in.key[:0])

	files := discover(opts.Dir, &diag.List{})
	all := slices.Concat(files.models, files.props, files.seeds, files.macros, files.tests, files.genericTests)
	slices.Sort(all)
	now := time.Now()
	in.files = make([]fileStamp, len(all))
	errs := make([]error, len(all))
	parallel(len(all), func(i int) { in.files[i], errs[i] = stampFile(opts.Dir, all[i], now) })
	return in, errors.Join(errs...)
}

func stampFile(dir, rel string, now time.Time) (fileStamp, error) {
	abs := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Stat(abs)
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{Path: rel, Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if now.Sub(fi.ModTime()) < racyWindow {
		sum, err := hashFile(abs)
		if err != nil {
			return fileStamp{}, err
		}
		st.Hash = sum
	}
	return st, nil
}

func hashFile(abs string) ([]byte, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// changedFiles compares the files now with the ones stamped: same reports
// whether they are the same set of paths, and changed lists those whose
// size, modification time or, where a hash was taken, content differs.
func changedFiles(dir string, then, now []fileStamp) (changed []string, same bool) {
	if len(then) != len(now) {
		return nil, false
	}
	for i, a := range then {
		b := now[i]
		if a.Path != b.Path {
			return nil, false
		}
		if a.Size != b.Size || a.MTime != b.MTime {
			changed = append(changed, a.Path)
			continue
		}
		if a.Hash != nil {
			sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(a.Path)))
			if err != nil || !bytes.Equal(sum, a.Hash) {
				changed = append(changed, a.Path)
			}
		}
	}
	return changed, true
}

// binaryID identifies the running quarry: a rebuilt binary may load
// differently, so it never trusts another's snapshot.
func binaryID() string {
	var b strings.Builder
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(&b, "%s %s %s", bi.GoVersion, bi.Main.Path, bi.Main.Version)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				fmt.Fprintf(&b, " %s=%s", s.Key, s.Value)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(&b, " %s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// envRecorder notes the names of the environment variables a load looks
// up (env_var, ${VAR} in project.yaml, extractor settings), concurrently.
type envRecorder struct {
	lookup func(string) (string, bool)
	mu     sync.Mutex
	read   map[string]bool
}

func (r *envRecorder) lookupEnv(name string) (string, bool) {
	r.mu.Lock()
	r.read[name] = true
	r.mu.Unlock()
	return r.lookup(name)
}

func (r *envRecorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.read))
}

// envDigest hashes the values of the variables named: the snapshot keeps
// the digest, never a value.
func envDigest(names []string, lookup func(string) (string, bool)) [sha256.Size]byte {
	h := sha256.New()
	for _, name := range names {
		v, ok := lookup(name)
		fmt.Fprintf(h, "%d %s %t %d %s\n", len(name), name, ok, len(v), v)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// snapshotFile is what is written: the fingerprint, then the nodes.
type snapshotFile struct {
	Format    int
	Key       [sha256.Size]byte
	Files     []fileStamp
	EnvNames  []string // the variables the load read, by name
	EnvDigest [sha256.Size]byte
	Nodes     []snapNode
	MacroSrc  map[string]string
	Extracts  []string // unique ids, in project.yaml's order
}

// snapNode is a node as the snapshot keeps it: links to other nodes by
// unique id, and no template.
type snapNode struct {
	UniqueID, Name string
	Type           ResourceType
	Path, Checksum string
	Config         config.Node
	Relation       warehouse.Relation
	DependsOn      []string
	Description    string
	Columns        []ColumnDoc
	Entry          FilePos
	Raw, Compiled  string
	Rendered       string
	Bind, Refs     []string
	Srcs           [][2]string
	ColumnTypes    map[string]string
	Seed           *snapSeed
	SourceName     string
	LoadedAtField  string
	PreRender      *config.Node // a model's config before its template ran
	// Sums are the node's state checksums, which need its template and
	// the vars it read: neither is kept.
	Sums    Checksums
	Test    *snapTest
	TestPos *[2]int // where a generic or freshness test is declared
	Extract *snapExtract
}

type snapSeed struct {
	TypesFile, Encoding, EncodingAt string
	Table                           *seed.Table
	Sound                           bool
}

type snapTest struct {
	Kind, Generic, Attached, Column string
	Args                            map[string]any
	WarnAfter, ErrorAfter           time.Duration
}

type snapExtract struct {
	Input  string
	Tables map[string]string // landing table -> source unique id
}

func writeSnapshot(path string, p *Project, in inputs, envNames []string, opts config.Options) error {
	f := snapshotFile{Format: snapshotFormat, Key: in.key, Files: in.files, EnvNames: envNames,
		EnvDigest: envDigest(envNames, opts.LookupEnv), MacroSrc: p.macroSrc}
	for _, n := range p.sortedNodes() {
		f.Nodes = append(f.Nodes, p.freeze(n))
	}
	for _, n := range p.extracts {
		f.Extracts = append(f.Extracts, n.UniqueID)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		return fmt.Errorf("encode the load snapshot: %w", err)
	}
	return writeAtomic(path, buf.Bytes())
}

func (p *Project) freeze(n *Node) snapNode {
	s := snapNode{UniqueID: n.UniqueID, Name: n.Name, Type: n.Type, Path: n.Path, Checksum: n.Checksum,
		Config: n.Config, Relation: n.Relation, DependsOn: n.DependsOn, Description: n.Description,
		Columns: n.Columns, Entry: n.Entry, Raw: n.Raw, Compiled: n.Compiled, Rendered: n.Rendered,
		Bind: n.bind, Refs: n.refs, Srcs: n.srcs, ColumnTypes: n.ColumnTypes,
		SourceName: n.SourceName, LoadedAtField: n.LoadedAtField, Sums: p.Checksums(n)}
	if n.Type == Model {
		pre := cloneConfig(n.preRender)
		s.PreRender = &pre
	}
	if n.Type == Seed {
		s.Seed = &snapSeed{TypesFile: n.seed.typesFile, Encoding: n.seed.encoding, EncodingAt: n.seed.encodingAt,
			Table: n.seed.table, Sound: n.seed.sound}
	}
	if t := n.Test; t != nil {
		s.Test = &snapTest{Kind: t.Kind, Generic: t.Generic, Column: t.Column, Args: t.Args,
			WarnAfter: t.WarnAfter, ErrorAfter: t.ErrorAfter}
		if t.Attached != nil {
			s.Test.Attached = t.Attached.UniqueID
		}
	}
	if pos, ok := p.testPos[n]; ok {
		s.TestPos = &[2]int{pos.line, pos.col}
	}
	if e := n.Extraction; e != nil {
		s.Extract = &snapExtract{Tables: map[string]string{}}
		if e.Input != nil {
			s.Extract.Input = e.Input.UniqueID
		}
		for name, src := range e.Tables {
			s.Extract.Tables[name] = src.UniqueID
		}
	}
	return s
}

// readSnapshot returns the project the snapshot at path holds, when its
// fingerprint matches the inputs now, or when only models' SQL files
// changed and rendering them again provably gives what a full load would
// (see reloadModels); then it writes the snapshot again. Anything
// unexpected is a miss.
func readSnapshot(opts config.Options, adapters map[string]config.Adapter, path string, in inputs, f *snapshotFile) (*Project, LoadStatus, bool) {
	if f.Key != in.key || f.EnvDigest != envDigest(f.EnvNames, opts.LookupEnv) {
		return nil, LoadedFull, false
	}
	changed, same := changedFiles(opts.Dir, f.Files, in.files)
	if !same || slices.ContainsFunc(changed, func(rel string) bool {
		return !strings.HasPrefix(rel, "models/") || !strings.HasSuffix(rel, ".sql")
	}) {
		return nil, LoadedFull, false
	}
	p, ok := thaw(*f, opts, adapters)
	if !ok {
		return nil, LoadedFull, false
	}
	if len(changed) == 0 {
		// A file stamped while too fresh to trust is hashed on every load
		// until the snapshot is written again: once it has aged, write it.
		if slices.ContainsFunc(f.Files, func(st fileStamp) bool { return st.Hash != nil }) &&
			!slices.ContainsFunc(in.files, func(st fileStamp) bool { return st.Hash != nil }) {
			_ = writeSnapshot(path, p, in, f.EnvNames, opts) // as in LoadCached
		}
		return p, LoadedSnapshot, true
	}
	rec := &envRecorder{lookup: opts.LookupEnv, read: map[string]bool{}}
	p.Env = rec.lookupEnv
	ok = p.reloadModels(changed)
	p.Env = opts.LookupEnv
	if !ok {
		return nil, LoadedFull, false
	}
	names := slices.Compact(slices.Sorted(slices.Values(append(f.EnvNames, rec.names()...))))
	_ = writeSnapshot(path, p, in, names, opts) // as in LoadCached
	return p, LoadedPartial, true
}

// decodeSnapshot reads the snapshot at path; nil when there is none, or it
// is not one this quarry wrote.
func decodeSnapshot(path string) (f *snapshotFile) {
	// A decoder fed a damaged file should return an error, not panic; if
	// it ever does, that is a miss too, on this goroutine of its own.
	defer func() {
		if recover() != nil {
			f = nil
		}
	}()
	src, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	f = new(snapshotFile)
	if gob.NewDecoder(bytes.NewReader(src)).Decode(f) != nil || f.Format != snapshotFormat {
		return nil
	}
	return f
}

// thaw makes the project a snapshot holds, with this run's settings from
// project.yaml (unchanged, as the fingerprint says).
func thaw(f snapshotFile, opts config.Options, adapters map[string]config.Adapter) (*Project, bool) {
	diags := &diag.List{}
	pc := config.Load(opts, adapters, diags)
	if pc == nil || diags.Err() != nil || pc.Adapter.Dialect == nil {
		return nil, false
	}
	p := newProject(opts, pc)
	p.macroSrc, p.funcs = f.MacroSrc, render.BaseFuncs()
	for _, s := range f.Nodes {
		n := &Node{UniqueID: s.UniqueID, Name: s.Name, Type: s.Type, Path: s.Path, Checksum: s.Checksum,
			Config: s.Config, Relation: s.Relation, DependsOn: s.DependsOn, Description: s.Description,
			Columns: s.Columns, Entry: s.Entry, Raw: s.Raw, Compiled: s.Compiled, Rendered: s.Rendered,
			bind: s.Bind, refs: s.Refs, srcs: s.Srcs, ColumnTypes: s.ColumnTypes,
			SourceName: s.SourceName, LoadedAtField: s.LoadedAtField}
		sums := s.Sums
		n.frozenSums = &sums
		if s.PreRender != nil {
			n.preRender = *s.PreRender
		}
		if s.Seed != nil {
			n.seed = seedState{typesFile: s.Seed.TypesFile, encoding: s.Seed.Encoding, encodingAt: s.Seed.EncodingAt,
				table: s.Seed.Table, sound: s.Seed.Sound}
		}
		if s.TestPos != nil {
			p.testPos[n] = pos{s.TestPos[0], s.TestPos[1]}
		}
		p.Nodes[n.UniqueID] = n
		switch n.Type {
		case Model, Seed:
			p.byName[n.Name] = n
		case Source:
			p.sources[n.SourceName+"."+n.Name] = n
		case Test:
			p.tests[n.Name] = n
		}
	}
	// Links between nodes, now that every node exists.
	for _, s := range f.Nodes {
		n := p.Nodes[s.UniqueID]
		if t := s.Test; t != nil {
			n.Test = &TestSpec{Kind: t.Kind, Generic: t.Generic, Column: t.Column, Args: t.Args,
				WarnAfter: t.WarnAfter, ErrorAfter: t.ErrorAfter}
			if t.Attached != "" {
				if n.Test.Attached = p.Nodes[t.Attached]; n.Test.Attached == nil {
					return nil, false
				}
			}
		}
		for _, dep := range n.DependsOn {
			if p.Nodes[dep] == nil {
				return nil, false
			}
		}
	}
	if !p.thawExtracts(f, pc, opts) {
		return nil, false
	}
	p.relinkGraph()
	return p, true
}

// relinkGraph makes the graph again from the nodes' DependsOn.
func (p *Project) relinkGraph() {
	p.Graph = dag.New()
	ids := slices.Sorted(maps.Keys(p.Nodes))
	for _, id := range ids {
		p.Graph.AddNode(id)
	}
	for _, id := range ids {
		for _, dep := range p.Nodes[id].DependsOn {
			p.Graph.AddEdge(dep, id)
		}
	}
}

// reloadModels renders the models whose files changed again, on a project
// from a snapshot in which nothing else changed (no property file, macro,
// seed, test, project.yaml, var or environment value), and links and
// compiles them. That is exactly what a full load gives only when each
// model's config comes out as before (its relation, materialization and
// everything else other nodes or tests depend on) and it refs only
// enabled nodes that exist, in no cycle, with SQL that passes every check;
// anything else, including any problem to report, is false: the caller
// then loads in full, which reports what is wrong as usual.
func (p *Project) reloadModels(paths []string) bool {
	diags := &diag.List{}
	p.funcs = render.BaseFuncs()
	p.addDialectFuncs()
	p.loadMacros(discover(p.Dir, diags).macros, diags)
	if diags.Err() != nil {
		return false
	}
	byPath := map[string]*Node{}
	for _, n := range p.byName {
		if n.Type == Model {
			byPath[n.Path] = n
		}
	}
	for _, rel := range paths {
		n, ok := byPath[rel]
		if !ok || !p.rerender(n, diags) {
			return false
		}
	}
	p.relinkGraph()
	if len(p.Graph.Cycles()) > 0 {
		return false
	}
	// Every node is compiled again: an ephemeral model is inlined into
	// the nodes that ref it, and compiling is cheap beside rendering.
	p.compileAll()
	p.refuseCompiledSecrets(diags)
	return diags.Err() == nil
}

// rerender renders model n again, as renderModels and link do, and reports
// whether the result can stand in a full load's place.
func (p *Project) rerender(n *Node, diags *diag.List) bool {
	before := n.Config
	src, ok := readSource(filepath.Join(p.Dir, n.Path), n.Path, diags)
	if !ok || p.sqlIsEmpty(src) {
		return false
	}
	n.Raw = src
	sum := sha256.Sum256([]byte(src))
	n.Checksum = hex.EncodeToString(sum[:])
	n.Config = cloneConfig(n.preRender)
	r, ok := p.parseModel(n, diags)
	if !ok {
		return false
	}
	out, err := r.render(false)
	if err != nil || len(r.missing) > 0 || !reflect.DeepEqual(n.Config, before) {
		return false
	}
	n.Rendered = out
	if n.Config.Enabled {
		p.checkStatements(n, out, diags)
	}
	n.refs, n.srcs, n.varsRead = r.refs, r.sources, r.vars
	n.frozenSums = nil // its template is loaded again: compute them
	n.DependsOn = nil
	for _, name := range n.refs {
		dep, ok := p.byName[name]
		if !ok || !dep.Config.Enabled {
			return false
		}
		n.DependsOn = append(n.DependsOn, dep.UniqueID)
	}
	for _, s := range n.srcs {
		dep, ok := p.sources[s[0]+"."+s[1]]
		if !ok {
			return false
		}
		n.DependsOn = append(n.DependsOn, dep.UniqueID)
	}
	slices.Sort(n.DependsOn)
	return diags.Err() == nil
}

// cloneConfig copies c deeply enough that config calls, which append to
// its lists, leave the original as it was.
func cloneConfig(c config.Node) config.Node {
	c.Tags = slices.Clone(c.Tags)
	c.UniqueKey = slices.Clone(c.UniqueKey)
	return c
}

// thawExtracts gives the extract nodes their extractors again, made fresh
// from this binary's registry and project.yaml's settings.
func (p *Project) thawExtracts(f snapshotFile, pc *config.Project, opts config.Options) bool {
	byID := map[string]snapNode{}
	for _, s := range f.Nodes {
		if s.Extract != nil {
			byID[s.UniqueID] = s
		}
	}
	if len(byID) != len(f.Extracts) {
		return false
	}
	for _, id := range f.Extracts {
		s, ok := byID[id]
		if !ok {
			return false
		}
		i := slices.IndexFunc(pc.Extractors, func(ec config.Extractor) bool { return ec.Name == s.Name })
		if i < 0 || opts.Extractors[s.Name] == nil {
			return false
		}
		n := p.Nodes[id]
		n.Extraction = &ExtractSpec{Extractor: opts.Extractors[s.Name](), cfg: pc.Extractors[i], Tables: map[string]*Node{}}
		if s.Extract.Input != "" {
			if n.Extraction.Input = p.Nodes[s.Extract.Input]; n.Extraction.Input == nil {
				return false
			}
		}
		for name, srcID := range s.Extract.Tables {
			src := p.Nodes[srcID]
			if src == nil {
				return false
			}
			n.Extraction.Tables[name] = src
		}
		p.extracts = append(p.extracts, n)
	}
	return true
}

// writeAtomic writes data to path so that a reader sees the old file or
// the new one, never half of one.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := renameio.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
