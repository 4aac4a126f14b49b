package main

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// starter is the project quarry init writes. Dot files are stored without
// their dot (gitignore), so that they do not act on this repository.
//
//go:embed starter
var starter embed.FS

// starterName is replaced by the project's name in every file.
const starterName = "__PROJECT__"

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Create a new project that builds at once: a seed, a staging model, a mart, their tests",
		Long: `init writes a new project into DIR (default: the current folder, created
when missing): project.yaml with a dev DuckDB target and a commented prod
Snowflake target, one seed, one staging model, one mart, tests on both, a
README naming the next commands and a .gitignore. The project is named after
the folder (lower case; other characters become _). init refuses, changing
nothing, when any file it would write is already there.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.initProject(dir)
		},
	}
}

// starterFile is one file init writes: where, relative to the project, and
// what.
type starterFile struct {
	path string
	data []byte
}

func (a *app) initProject(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return &exitError{code: exitLoad, err: fmt.Errorf("init: %w", err)}
	}
	name := projectName(filepath.Base(abs))
	files, err := starterFiles(name)
	if err != nil {
		return fmt.Errorf("init: read the embedded starter project: %w", err) // a bug: it is compiled in
	}
	// Check everything before writing anything: a refusal changes nothing.
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(dir, f.path)); err == nil {
			what := "a project"
			if f.path != "project.yaml" {
				what = "a file init would write"
			}
			return &exitError{code: exitLoad, err: fmt.Errorf("init: %s already exists (%s): init never overwrites; choose an empty folder (quarry init DIR) or move it away",
				filepath.Join(dir, f.path), what)}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return &exitError{code: exitLoad, err: fmt.Errorf("init: %w", err)}
		}
	}
	for _, f := range files {
		target := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("init: %w", err)}
		}
		// O_EXCL: a file that appeared since the check is not overwritten.
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("init: %w", err)}
		}
		_, werr := out.Write(f.data)
		if cerr := out.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return &exitError{code: exitFailed, err: fmt.Errorf("init: write %s: %w", target, werr)}
		}
		fmt.Fprintf(a.stdout, "created %s\n", filepath.ToSlash(filepath.Join(dir, f.path)))
	}
	next := "quarry build"
	if dir != "." {
		next = "cd " + dir + " && quarry build"
	}
	fmt.Fprintf(a.stdout, "\nProject %s is ready. Next: %s (then see README.md)\n", name, next)
	return nil
}

// starterFiles are the files of the starter project for a project called
// name, in a fixed order, project.yaml first.
func starterFiles(name string) ([]starterFile, error) {
	var files []starterFile
	err := fs.WalkDir(starter, "starter", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := starter.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "starter/")
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		f := starterFile{path: filepath.FromSlash(rel), data: []byte(strings.ReplaceAll(string(data), starterName, name))}
		if path.Base(rel) == "project.yaml" && !strings.Contains(rel, "/") {
			files = append([]starterFile{f}, files...)
		} else {
			files = append(files, f)
		}
		return nil
	})
	return files, err
}

var notNameChars = regexp.MustCompile(`[^a-z0-9_]+`)

// projectName makes a project name of a folder name: lower case, every run
// of other characters one _, never empty or starting with a digit.
func projectName(folder string) string {
	name := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(folder), "_"), "_")
	switch {
	case name == "":
		return "my_project"
	case name[0] >= '0' && name[0] <= '9':
		return "p_" + name
	}
	return name
}
