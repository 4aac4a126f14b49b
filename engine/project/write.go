package project

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// WriteCompiledAll writes the compiled SQL of nodes under target/compiled,
// as WriteSQL does for one file, but creates each folder once, writes on
// every core at once, and leaves alone a file that already holds the node's
// SQL, so compiling an unchanged project writes nothing. It returns how many
// files it wrote. Files of nodes that no longer exist are left where they
// are.
//
// Whether a file holds the SQL is known, most of the time, from a stat:
// target/compiled/.stamps.gob records the size, modification time and
// content hash of each file this wrote or found right. Any doubt (no
// record, another time or size, a time too close to the record's writing
// to be trusted) means reading the file.
func (p *Project) WriteCompiledAll(nodes []*Node) (int, error) {
	dsts := make([]string, len(nodes))
	dirs := map[string]struct{}{}
	for i, n := range nodes {
		dsts[i] = filepath.Join(p.Dir, filepath.FromSlash(CompiledPath(n)))
		dirs[filepath.Dir(dsts[i])] = struct{}{}
	}
	// Sorted, a parent comes before its children, which then cost MkdirAll
	// a single stat.
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, fmt.Errorf("write compiled SQL: %w", err)
		}
	}
	stampsPath := filepath.Join(p.Dir, "target", "compiled", stampsFile)
	old := readStamps(stampsPath)
	stamps := make([]compiledStamp, len(nodes))
	wrote := make([]bool, len(nodes))
	errs := make([]error, len(nodes))
	parallel(len(nodes), func(i int) {
		rel := CompiledPath(nodes[i])
		stamps[i], wrote[i], errs[i] = p.writeStamped(rel, dsts[i], nodes[i].Compiled, old)
	})
	written := 0
	for i := range nodes {
		if errs[i] != nil {
			return written, errs[i] // the first in the caller's order, whichever failed first
		}
		if wrote[i] {
			written++
		}
	}
	changed := false
	now := time.Now().UnixNano()
	for i, n := range nodes {
		rel := CompiledPath(n)
		if prev, ok := old.Files[rel]; !ok || prev != stamps[i] {
			old.Files[rel], changed = stamps[i], true
		}
		// A file too fresh to trust when the record was written is read on
		// every compile until the record is written again, later.
		if old.Written-stamps[i].MTime < int64(racyWindow) && now-stamps[i].MTime >= int64(racyWindow) {
			changed = true
		}
	}
	if changed {
		// The record only saves reading files: failing to keep it costs
		// the next compile its speed, nothing else.
		_ = writeStamps(stampsPath, old)
	}
	return written, nil
}

// stampsFile, under target/compiled, records what WriteCompiledAll knows
// is in the files there.
const stampsFile = ".stamps.gob"

// compiledStamps is the content of stampsFile.
type compiledStamps struct {
	// Written is when the record was written (Unix nanoseconds): a file
	// modified less than racyWindow before it may have changed again
	// since within the same tick of the file system's clock.
	Written int64
	Files   map[string]compiledStamp // by slash-separated path
}

type compiledStamp struct {
	Size  int64
	MTime int64 // Unix nanoseconds
	Sum   [sha256.Size]byte
}

func readStamps(path string) compiledStamps {
	var s compiledStamps
	if data, err := os.ReadFile(path); err == nil {
		_ = gob.NewDecoder(bytes.NewReader(data)).Decode(&s) // a bad record is no record
	}
	if s.Files == nil {
		s = compiledStamps{Files: map[string]compiledStamp{}}
	}
	return s
}

func writeStamps(path string, s compiledStamps) error {
	s.Written = time.Now().UnixNano()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// writeStamped is writeSQL, trusting the record in old where it can: it
// returns the file's stamp now and whether it wrote.
func (p *Project) writeStamped(rel, dst, sql string, old compiledStamps) (compiledStamp, bool, error) {
	content := []byte(sql + "\n")
	sum := sha256.Sum256(content)
	if rec, ok := old.Files[rel]; ok && rec.Sum == sum && old.Written-rec.MTime >= int64(racyWindow) {
		if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && fi.Size() == rec.Size && fi.ModTime().UnixNano() == rec.MTime {
			// As writeSQL does for an unchanged file: what is on disk was
			// written under another environment.
			if err := p.RefuseSecretValue(sql, "the compiled SQL"); err != nil {
				return compiledStamp{}, false, fmt.Errorf("not writing %s: %w", rel, err)
			}
			return rec, false, nil
		}
	}
	wrote, err := p.writeSQL(rel, dst, sql)
	if err != nil {
		return compiledStamp{}, false, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return compiledStamp{}, false, fmt.Errorf("write compiled SQL: %w", err)
	}
	return compiledStamp{Size: fi.Size(), MTime: fi.ModTime().UnixNano(), Sum: sum}, wrote, nil
}

// writeSQL writes sql and a final newline to dst, whose folder exists,
// unless dst already holds exactly that; it reports whether it wrote. rel
// names dst in errors.
func (p *Project) writeSQL(rel, dst, sql string) (bool, error) {
	// The compile refuses such SQL already; this is the last line of
	// defence for everything written under target/compiled. It runs on an
	// unchanged file too: what is on disk was written by an earlier run,
	// under another environment.
	if err := p.RefuseSecretValue(sql, "the compiled SQL"); err != nil {
		return false, fmt.Errorf("not writing %s: %w", rel, err)
	}
	content := []byte(sql + "\n")
	if same, err := holds(dst, content); err != nil {
		return false, fmt.Errorf("write compiled SQL: %w", err)
	} else if same {
		return false, nil
	}
	if err := os.WriteFile(dst, content, 0o644); err != nil {
		return false, fmt.Errorf("write compiled SQL: %w", err)
	}
	return true, nil
}

// holds reports whether the file at path exists and holds exactly content.
// It reads the file only when its size matches.
func holds(path string, content []byte) (bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !info.Mode().IsRegular() || info.Size() != int64(len(content)) {
		return false, nil
	}
	old := make([]byte, len(content)+1) // one more, to see the file end
	n, err := io.ReadFull(f, old)
	if err != nil && err != io.ErrUnexpectedEOF {
		return false, err
	}
	return bytes.Equal(old[:n], content), nil
}

// GuardSecrets returns a writer that passes what is written on to w, but
// fails with RefuseSecretValue's error, passing nothing more on, as soon as
// the text written so far holds the value of a secret-looking variable. It
// checks a document streamed to a file without holding it whole in memory;
// the caller discards what was written before the failure.
func (p *Project) GuardSecrets(w io.Writer, via string) io.Writer {
	return &secretGuard{p: p, w: w, via: via, carry: max(p.secrets.Longest()-1, 0)}
}

type secretGuard struct {
	p     *Project
	w     io.Writer
	via   string
	carry int    // bytes kept from one write for the next
	tail  []byte // the last carry bytes written
}

func (g *secretGuard) Write(b []byte) (int, error) {
	if g.p.secrets.Len() > 0 {
		text := append(g.tail, b...)
		if err := g.p.RefuseSecretValue(string(text), g.via); err != nil {
			return 0, err
		}
		g.tail = append(g.tail[:0], text[max(len(text)-g.carry, 0):]...)
	}
	return g.w.Write(b)
}
