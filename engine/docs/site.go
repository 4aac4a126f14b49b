package docs

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/quarrydev/quarry/engine/project"
)

// site holds the page and its assets. vendor/ is third-party code, each
// file with its licence (vendor/README.md names them).
//
//go:embed site
var site embed.FS

// dataMarker is where index.html receives the document. It sits inside a
// <script type="application/json"> element: the page reads the data from
// there because browsers refuse fetch() on file:// URLs.
var dataMarker = []byte("/*QUARRY_DATA*/")

// Write writes the site into dir (target/docs), replacing what was there:
// index.html with the document inlined, docs.json (the same document, for
// tools) and the assets. It writes into a sibling directory first and
// swaps it in, so a reader never sees a half-written site. Like every
// artifact, it is refused whole when it would hold the value of one of p's
// secret-looking environment variables (a description or SQL quoting one).
func Write(p *project.Project, dir string, doc *Document) error {
	// encoding/json escapes <, > and & as \u003c, \u003e and \u0026 (and
	// U+2028/9), so no text in the document can close the script element
	// it is inlined in.
	data, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encode the docs: %w", err)
	}
	if err := p.RefuseSecretValue(string(data), "target/docs/docs.json"); err != nil {
		return err
	}
	page, err := site.ReadFile("site/index.html")
	if err != nil {
		return fmt.Errorf("read the embedded page: %w", err)
	}
	if bytes.Count(page, dataMarker) != 1 {
		return fmt.Errorf("the embedded index.html must hold %s exactly once", dataMarker)
	}
	page = bytes.Replace(page, dataMarker, data, 1)

	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".docs-*")
	if err != nil {
		return fmt.Errorf("write the docs: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after a failure
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write the docs: %w", err)
	}
	assets, err := fs.Sub(site, "site")
	if err != nil {
		return fmt.Errorf("read the embedded assets: %w", err)
	}
	if err := os.CopyFS(tmp, assets); err != nil {
		return fmt.Errorf("write the docs' assets: %w", err)
	}
	files := map[string][]byte{"index.html": page, "docs.json": data}
	for name, b := range files {
		path := filepath.Join(tmp, name)
		// CopyFS wrote index.html read-only, as embedded files are.
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("write the docs: %w", err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write the docs: %w", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	return nil
}
