// Package browser starts a headless Chromium for the tests and benchmarks
// that drive the documentation site (quarry docs) as a user would.
//
// Under CI=true a missing browser fails the test, so the browser tier cannot
// silently stop running; elsewhere the test is skipped with the command that
// installs it. .ci/run installs Debian's chromium package.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// InstallHint is how to get the browser these tests drive.
const InstallHint = "apt-get update && apt-get install -y chromium"

// Find returns the path of a Chromium or Chrome executable: $QUARRY_CHROME
// when set, else the first of the usual names on PATH.
func Find() (string, error) {
	if p := os.Getenv("QUARRY_CHROME"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("QUARRY_CHROME=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH (set QUARRY_CHROME to another)")
}

// Browser is one headless browser process; tabs are opened in it with Tab.
type Browser struct {
	ctx    context.Context // the browser's context: tabs derive from it
	cancel func()
}

// Start launches a headless browser of the given viewport size. Close stops it.
func Start(width, height int) (*Browser, error) {
	exe, err := Find()
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.WindowSize(width, height),
		// Containers run as root, where Chromium refuses its sandbox, and
		// often have a small /dev/shm.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		// The page is opened from file:// in some tests; it loads its
		// scripts relative to itself, which needs no further flag.
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	// Running an empty action list starts the browser, so a browser that
	// cannot start is reported here rather than by the first test.
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	return &Browser{ctx: bctx, cancel: func() { bcancel(); acancel() }}, nil
}

// Tab opens a new tab; cancel closes it.
func (b *Browser) Tab() (context.Context, context.CancelFunc) {
	return chromedp.NewContext(b.ctx)
}

// Close stops the browser process.
func (b *Browser) Close() { b.cancel() }

// Shared starts one browser for a test binary on first use and hands the
// same one to every later caller; the binary closes it with CloseShared
// once its tests have run (see TestMain). Starting a browser costs about a
// second, opening a tab a few milliseconds.
type Shared struct {
	Width, Height int

	once sync.Once
	b    *Browser
	err  error
}

// Get returns the shared browser, or fails or skips tb when none can start
// (see the package comment).
func (s *Shared) Get(tb testing.TB) *Browser {
	tb.Helper()
	s.once.Do(func() { s.b, s.err = Start(s.Width, s.Height) })
	if s.err != nil {
		Unavailable(tb, s.err)
	}
	return s.b
}

// Close stops the shared browser if it was started.
func (s *Shared) Close() {
	if s.b != nil {
		s.b.Close()
	}
}

// Unavailable fails tb under CI=true, where the browser tests must run, and
// skips it elsewhere, saying how to install the browser.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("a headless Chromium is required when CI=true, but it could not be started: %v", err)
		return
	}
	tb.Skipf("skipping: no headless Chromium could be started: %v\nInstall one with: %s", err, InstallHint)
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
