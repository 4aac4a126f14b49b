package project

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/seed"
)

// addSeeds registers every seed by name. Its CSV is read later, by
// readSeeds, once the property files have declared its encoding and column
// types; a seed whose file turns out to be broken stays registered, so that
// the models that ref it report nothing more than the seed's own error.
func (p *Project) addSeeds(files []string, diags *diag.List) {
	for _, rel := range files {
		name := strings.TrimSuffix(path.Base(rel), ".csv")
		n := &Node{UniqueID: "seed." + p.Name + "." + name, Name: name, Type: Seed, Path: rel,
			Config: config.Node{Materialized: "seed", Enabled: true}}
		p.addNode(n, diags)
	}
}

// seedState is what loading learns of a seed beyond a node's common
// fields: what the property files declare of its file, and the file as
// engine/seed read it.
type seedState struct {
	typesFile  string      // the property file that pinned its ColumnTypes
	encoding   string      // declared encoding; "" for the project's default
	encodingAt string      // where it was declared, as file:line:col
	props      []seedEntry // property file entries describing the seed
	table      *seed.Table // the file read; nil if it is unreadable up to its header
	sound      bool        // every row of table is read and typed
}

// header returns the seed's column names, or nil if its file is unreadable
// up to its header.
func (s *seedState) header() []string {
	if s.table == nil {
		return nil
	}
	return s.table.Names()
}

// setSeedEncoding records the encoding declared for seed n at v: on its
// entry in a property file, or under its config:.
func setSeedEncoding(n *Node, v *yaml.Node, file string, diags *diag.List) {
	enc := config.ParseEncoding(v, file, diags)
	if enc == config.BadEncoding || n.seed.encoding == config.BadEncoding {
		n.seed.encoding = config.BadEncoding
		return
	}
	if n.seed.encoding != "" && n.seed.encoding != enc {
		diags.Add(file, v.Line, v.Column, "seed %s: encoding %s contradicts encoding %s declared at %s: keep one",
			n.Name, enc, n.seed.encoding, n.seed.encodingAt)
		return
	}
	n.seed.encoding = enc
	n.seed.encodingAt = fmt.Sprintf("%s:%d:%d", file, v.Line, v.Column)
}

// readSeeds reads every seed's CSV, in parallel, after the property files
// have been applied. The whole file is parsed and every value converted at
// load time, so a broken seed is reported with the other load errors, by
// file, line and column, before anything runs.
func (p *Project) readSeeds(diags *diag.List) {
	var seeds []*Node
	for _, n := range p.byName {
		if n.Type == Seed {
			seeds = append(seeds, n)
		}
	}
	parallel(len(seeds), func(i int) {
		n := seeds[i]
		// declared says where the encoding comes from, for messages.
		enc, declared := seed.UTF8, "the default encoding"
		switch {
		case n.seed.encoding != "":
			enc, declared = n.seed.encoding, "the encoding declared at "+n.seed.encodingAt
		case p.seedEncoding != "":
			enc, declared = p.seedEncoding, "the project's default encoding (seeds: encoding in "+config.ProjectFile+")"
		}
		if enc == config.BadEncoding {
			return
		}
		raw, err := os.ReadFile(filepath.Join(p.Dir, n.Path))
		if err != nil {
			diags.Add(n.Path, 0, 0, "%v", err)
			return
		}
		sum := sha256.Sum256(raw)
		n.Checksum = hex.EncodeToString(sum[:])
		n.seed.table, n.seed.sound = seed.Read(raw, n.Path, seed.Options{
			Name: n.Name, Encoding: enc, EncodingFrom: declared,
			ColumnTypes: n.ColumnTypes, TypesFile: n.seed.typesFile,
		}, diags)
		if n.seed.table != nil {
			p.checkSeedTypes(n, diags)
		}
	})
}

// checkSeedTypes reports, for each property file entry describing seed n,
// the column_types and columns that name no column of its header.
func (p *Project) checkSeedTypes(n *Node, diags *diag.List) {
	header := n.seed.header()
	for _, e := range n.seed.props {
		for _, c := range slices.Sorted(maps.Keys(e.props.ColumnTypes)) {
			if !slices.ContainsFunc(header, func(h string) bool { return strings.EqualFold(h, c) }) {
				diags.Add(e.file, e.props.line, e.props.col, "seed %s: column_types names %q, which is not a column of %s (columns: %s)",
					n.Name, c, n.Path, strings.Join(header, ", "))
			}
		}
		for _, c := range e.props.Columns {
			if err := checkColumn(n, c.Name); err != nil {
				diags.Add(e.file, c.line, c.col, "%v", err)
			}
		}
	}
}

// SeedTable returns a seed's table, read and typed at load time.
func SeedTable(n *Node) (*seed.Table, error) {
	if !n.seed.sound {
		return nil, fmt.Errorf("seed %s was not read", n.Name)
	}
	return n.seed.table, nil
}
