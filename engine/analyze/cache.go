package analyze

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/google/renameio/v2"

	"github.com/quarrydev/quarry/engine/lineage"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// cacheFormat is the version of the cache file and of what a key covers.
// Bump it whenever the analysis could answer differently for the same
// inputs (a change in how statements are judged, or in the key), so that
// old files are ignored rather than trusted.
const cacheFormat = 2 // 2: entries hold column lineage

// Cache holds the columns of the models and tests whose SQL bound, each
// under a key that covers everything the answer depends on: its compiled
// SQL, the dialect, the relation it is created as, its parents' columns in
// order, and the versions of the cache format and of DuckDB. A node whose
// key matches is not described again, and its shadow table is only created
// when a node that is analysed again reads it.
//
// Only bindings that succeeded are kept. A statement that did not bind is
// judged against the whole project (which schemas are the project's, which
// relations it builds, for the did-you-mean), which no per-node key covers,
// and its position is mapped into the template the user may have edited;
// such nodes are few, so they are described again on every run instead.
//
// An entry stays while its node exists, even when the node's inputs
// change: it is still right for the inputs it was made from, which may
// come back (a typo fixed). A Cache is used by one Run at a time.
type Cache struct {
	entries map[string]cacheEntry // by unique id
	dirty   bool
}

type cacheEntry struct {
	Key     [sha256.Size]byte
	Columns []warehouse.Column
	Lineage []lineage.Column // a model's; its inputs are the key's too
}

// cacheFile is what is written: a header that must match, then the entries.
type cacheFile struct {
	Format  int
	DuckDB  string
	Entries map[string]cacheEntry
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{entries: map[string]cacheEntry{}} }

// LoadCache reads the cache written at path. A file that is missing, of
// another format or DuckDB version, or unreadable gives an empty cache:
// the analysis then runs in full and rewrites it.
func LoadCache(path string) *Cache {
	c := NewCache()
	src, err := os.ReadFile(path)
	if err != nil {
		return c
	}
	var f cacheFile
	if gob.NewDecoder(bytes.NewReader(src)).Decode(&f) != nil || f.Format != cacheFormat || f.DuckDB != duckdbVersion() || f.Entries == nil {
		return c
	}
	c.entries = f.Entries
	return c
}

// Save writes the cache to path, when it changed, atomically: a reader
// sees the old file or the new one, never half of one.
func (c *Cache) Save(path string) error {
	if !c.dirty {
		return nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cacheFile{Format: cacheFormat, DuckDB: duckdbVersion(), Entries: c.entries}); err != nil {
		return fmt.Errorf("encode the analysis cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the analysis cache: %w", err)
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the analysis cache %s: %w", path, err)
	}
	c.dirty = false
	return nil
}

// lookup returns the columns cached for id under key.
func (c *Cache) lookup(id string, key [sha256.Size]byte) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	e, ok := c.entries[id]
	if !ok || e.Key != key {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *Cache) store(id string, key [sha256.Size]byte, cols []warehouse.Column, lin []lineage.Column) {
	if c == nil {
		return
	}
	if e, ok := c.entries[id]; ok && e.Key == key {
		return
	}
	c.entries[id] = cacheEntry{Key: key, Columns: cols, Lineage: lin}
	c.dirty = true
}

// prune drops the entries of nodes the project no longer has.
func (c *Cache) prune(p *project.Project) {
	if c == nil {
		return
	}
	for id := range c.entries {
		if _, ok := p.Nodes[id]; !ok {
			delete(c.entries, id)
			c.dirty = true
		}
	}
}

// cacheKey covers what describing n's SQL answers from: the SQL itself,
// the dialect (which decides what a failure means), what n is and the
// relation it becomes, and each parent's identity and columns in order.
// Every part is length-prefixed, so no two inputs run together.
func (a *analyser) cacheKey(n *project.Node) [sha256.Size]byte {
	h := sha256.New()
	put := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	dialect := ""
	if a.p.Dialect != nil {
		dialect = a.p.Dialect.Name()
	}
	put(fmt.Sprint(cacheFormat))
	put(dialect)
	put(string(n.Type))
	put(n.Config.Materialized)
	put(n.Relation.Schema)
	put(n.Relation.Name)
	put(n.Compiled)
	for _, id := range n.DependsOn {
		up := a.p.Nodes[id]
		put(id)
		put(string(up.Type))
		put(up.Config.Materialized)
		put(up.Relation.Schema)
		put(up.Relation.Name)
		var cols []warehouse.Column
		if up.Analysis != nil {
			cols = up.Analysis.Columns
		}
		put(fmt.Sprint(len(cols)))
		for _, c := range cols {
			put(c.Name)
			put(c.Type)
		}
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

// duckdbVersion is the version of the DuckDB linked in: another binder may
// bind the same SQL differently.
func duckdbVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == "github.com/duckdb/duckdb-go-bindings" {
			return m.Version
		}
	}
	return "unknown"
}
