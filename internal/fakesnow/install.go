package fakesnow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// installTimeout bounds the pip install; a cold install downloads about
// 150 MB of wheels.
const installTimeout = 15 * time.Minute

// installed caches the outcome of install for the test binary, so that a
// failed install is not retried by every test.
var installed struct {
	once           sync.Once
	python, script string
	err            error
}

// install makes sure <repo root>/.venv holds exactly the pinned packages and
// returns its python and the fakesnow console script.
func install(ctx context.Context) (python, script string, err error) {
	installed.once.Do(func() {
		installed.python, installed.script, installed.err = installOnce(ctx)
	})
	return installed.python, installed.script, installed.err
}

func installOnce(ctx context.Context) (python, script string, err error) {
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	venv := filepath.Join(root, ".venv")
	python = filepath.Join(venv, "bin", "python")
	script = filepath.Join(venv, "bin", "fakesnow")
	// The marker holds the requirements last installed: when it matches,
	// the install is reused without running pip.
	marker := filepath.Join(venv, ".quarry-fakesnow-requirements")
	if upToDate(marker, python, script) {
		return python, script, nil
	}

	// Several test binaries (go test ./... runs packages in parallel) may
	// get here at once: one installs, the others wait and reuse it.
	if err := os.MkdirAll(venv, 0o755); err != nil {
		return "", "", fmt.Errorf("fakesnow: %w", err)
	}
	unlock, err := lockFile(filepath.Join(venv, ".quarry-fakesnow.lock"))
	if err != nil {
		return "", "", fmt.Errorf("fakesnow: lock %s: %w", venv, err)
	}
	defer unlock()
	if upToDate(marker, python, script) {
		return python, script, nil
	}

	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	if _, err := os.Stat(python); err != nil {
		sys, err := systemPython()
		if err != nil {
			return "", "", err
		}
		if err := runLogged(ctx, sys, "-m", "venv", venv); err != nil {
			return "", "", fmt.Errorf("fakesnow: create the virtual environment %s: %w", venv, err)
		}
	}
	reqs := filepath.Join(venv, ".quarry-fakesnow-requirements.txt")
	if err := os.WriteFile(reqs, []byte(requirements), 0o644); err != nil {
		return "", "", fmt.Errorf("fakesnow: %w", err)
	}
	if err := runLogged(ctx, python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r", reqs); err != nil {
		return "", "", fmt.Errorf("fakesnow: install fakesnow %s into %s: %w", Version, venv, err)
	}
	if _, err := os.Stat(script); err != nil {
		return "", "", fmt.Errorf("fakesnow: installed, but %s is missing: %w", script, err)
	}
	if err := os.WriteFile(marker, []byte(requirements), 0o644); err != nil {
		return "", "", fmt.Errorf("fakesnow: %w", err)
	}
	return python, script, nil
}

func upToDate(marker string, files ...string) bool {
	b, err := os.ReadFile(marker)
	if err != nil || string(b) != requirements {
		return false
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

func systemPython() (string, error) {
	for _, name := range []string{"python3", "python"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("fakesnow: no python3 on PATH to create the virtual environment with")
}

// runLogged runs a command and, when it fails, returns the end of its
// output in the error.
func runLogged(ctx context.Context, name string, args ...string) error {
	out := &tailBuffer{max: 8 << 10}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return nil
}

// repoRoot is the directory holding go.mod, found from the working
// directory up (go test runs a package's tests in its directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("fakesnow: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("fakesnow: no go.mod above the working directory, so no repository root for .venv")
		}
		dir = parent
	}
}
