package artifacts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// Catalog is target/catalog.json: what the warehouse held for each node
// with a relation after the last build.
type Catalog struct {
	Nodes   map[string]CatalogEntry `json:"nodes"`
	Sources map[string]CatalogEntry `json:"sources"`
	Missing []string                `json:"missing"`

	byRelation map[string]*CatalogEntry // by lower-case schema.identifier, built on first use
}

// CatalogEntry is one relation of the catalog.
type CatalogEntry struct {
	UniqueID     string          `json:"unique_id"`
	ResourceType string          `json:"resource_type"`
	Relation     string          `json:"relation"`
	Schema       string          `json:"schema"`
	Identifier   string          `json:"identifier"`
	Kind         warehouse.Kind  `json:"kind"`
	Columns      []CatalogColumn `json:"columns"`
	RowCount     *int64          `json:"row_count,omitempty"`
}

// CatalogColumn is one column as the warehouse has it.
type CatalogColumn struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Index int    `json:"index"` // 1-based position
}

// cataloged reports whether n has a relation of its own in the warehouse:
// seeds, sources (the extractors' landing tables among them) and models
// other than ephemeral ones.
func cataloged(n *project.Node) bool {
	switch n.Type {
	case project.Seed, project.Source:
		return true
	case project.Model:
		return n.Config.Materialized != "ephemeral"
	}
	return false
}

// relationOf is where n's relation is: in the target's schema when it
// names none.
func relationOf(p *project.Project, n *project.Node) warehouse.Relation {
	rel := n.Relation
	if rel.Schema == "" {
		rel.Schema = p.Target.Schema
	}
	return rel
}

// CatalogSchemas are the schemas WriteCatalog needs described: those of
// every node with a relation, sorted.
func CatalogSchemas(p *project.Project) []string {
	set := map[string]bool{}
	for _, n := range p.Nodes {
		if cataloged(n) {
			set[relationOf(p, n).Schema] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// WriteCatalog writes target/catalog.json: what the warehouse holds for each
// node with a relation, as infos (Warehouse.Catalog of CatalogSchemas)
// describe it. Nodes whose relation does not exist are listed under
// "missing" only.
func WriteCatalog(p *project.Project, inv Invocation, infos []warehouse.RelationInfo) error {
	find := catalogIndex(p.Dialect, infos)
	var nodes, sources, missing []string
	found := map[string]*warehouse.RelationInfo{}
	for _, id := range slices.Sorted(maps.Keys(p.Nodes)) {
		n := p.Nodes[id]
		if !cataloged(n) {
			continue
		}
		info := find(relationOf(p, n))
		switch {
		case info == nil:
			missing = append(missing, id)
			continue
		case n.Type == project.Source:
			sources = append(sources, id)
		default:
			nodes = append(nodes, id)
		}
		found[id] = info
	}
	entry := func(ids []string) func(int) (string, any) {
		return func(i int) (string, any) {
			id := ids[i]
			n, info := p.Nodes[id], found[id]
			cn := CatalogEntry{UniqueID: id, ResourceType: string(n.Type), Relation: p.Dialect.RelationSQL(n.Relation),
				Schema: info.Relation.Schema, Identifier: info.Relation.Name, Kind: info.Kind,
				Columns: make([]CatalogColumn, len(info.Columns)), RowCount: info.RowCount}
			for j, c := range info.Columns {
				cn.Columns[j] = CatalogColumn{Name: c.Name, Type: c.Type, Index: j + 1}
			}
			return id, cn
		}
	}
	return writeArtifact(p, "catalog.json", compact, func(o *objectStream) {
		o.begin("")
		o.member("metadata", meta(p, inv))
		o.begin("nodes")
		o.members(len(nodes), entry(nodes))
		o.end()
		o.begin("sources")
		o.members(len(sources), entry(sources))
		o.end()
		o.member("missing", nonNil(missing))
		o.end()
	})
}

// catalogIndex returns a function finding a relation, named as the project
// names it, among infos, named as the warehouse stores them. Names match
// case-insensitively, as DuckDB resolves them and as Snowflake folds
// unquoted names. Only Snowflake can hold two relations whose names differ
// only in case ("orders" quoted beside ORDERS); then the one the dialect's
// rendering of the name refers to wins: upper case for a name it leaves
// bare, the exact name for one it quotes.
func catalogIndex(d warehouse.Dialect, infos []warehouse.RelationInfo) func(warehouse.Relation) *warehouse.RelationInfo {
	key := func(r warehouse.Relation) warehouse.Relation {
		return warehouse.Relation{Schema: strings.ToLower(r.Schema), Name: strings.ToLower(r.Name)}
	}
	byKey := map[warehouse.Relation][]*warehouse.RelationInfo{}
	for i := range infos {
		k := key(infos[i].Relation)
		byKey[k] = append(byKey[k], &infos[i])
	}
	stored := func(name string) string {
		if d.QuoteIdent(name) == name {
			return strings.ToUpper(name)
		}
		return name
	}
	return func(rel warehouse.Relation) *warehouse.RelationInfo {
		candidates := byKey[key(rel)]
		if len(candidates) == 1 {
			return candidates[0]
		}
		for _, c := range candidates {
			if c.Relation.Schema == stored(rel.Schema) && c.Relation.Name == stored(rel.Name) {
				return c
			}
		}
		return nil
	}
}

// ReadCatalog reads targetDir/catalog.json; nil when there is none.
func ReadCatalog(targetDir string) (*Catalog, error) {
	path := filepath.Join(targetDir, "catalog.json")
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var c Catalog
	if err := json.Unmarshal(src, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w (delete it: the next build writes it again)", path, err)
	}
	return &c, nil
}

// Entry is what the catalog says of node id (a source's under sources).
func (c *Catalog) Entry(n *project.Node) (CatalogEntry, bool) {
	if c == nil {
		return CatalogEntry{}, false
	}
	if n.Type == project.Source {
		e, ok := c.Sources[n.UniqueID]
		return e, ok
	}
	e, ok := c.Nodes[n.UniqueID]
	return e, ok
}

// Columns are rel's columns as the warehouse had them, matched by name
// case-insensitively (Snowflake stores unquoted names upper-case).
func (c *Catalog) Columns(rel warehouse.Relation) ([]warehouse.Column, bool) {
	if c == nil {
		return nil, false
	}
	if c.byRelation == nil {
		c.byRelation = map[string]*CatalogEntry{}
		for _, m := range []map[string]CatalogEntry{c.Nodes, c.Sources} {
			for id := range m {
				e := m[id]
				c.byRelation[strings.ToLower(e.Schema+"."+e.Identifier)] = &e
			}
		}
	}
	e, ok := c.byRelation[strings.ToLower(rel.Schema+"."+rel.Name)]
	if !ok || len(e.Columns) == 0 {
		return nil, false
	}
	cols := make([]warehouse.Column, len(e.Columns))
	for i, col := range e.Columns {
		cols[i] = warehouse.Column{Name: col.Name, Type: col.Type}
	}
	return cols, true
}
