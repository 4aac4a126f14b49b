package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quarrydev/quarry/internal/browser"
)

// chrome is the one headless browser of this test binary, started by the
// first test that needs it and stopped in TestMain; each test opens its own
// tabs in it.
var chrome = &browser.Shared{Width: 1280, Height: 800}

// xss is a description that would run script if the site put text on the
// page as HTML.
const xss = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`

const (
	overviewID = "model.techpulse.mart_technology_overview"
	weeklyID   = "model.techpulse.mart_technology_weekly"
)

// docsSite builds the techpulse project offline from the sample recording,
// with two changes a user could make: an accepted_values test on
// mart_technology_weekly that fails, and a description on it holding HTML,
// then generates its docs. It returns the project directory.
func docsSite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"project.yaml", "models", "seeds", "tests", "macros", "testdata/sample"} {
		src := filepath.Join(root, part)
		st, err := os.Stat(src)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if st.IsDir() {
			err = os.CopyFS(filepath.Join(dir, part), os.DirFS(src))
		} else {
			err = copyFile(src, filepath.Join(dir, part))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	props := filepath.Join(dir, "models", "marts", "marts.yml")
	b, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	weekly := "  - name: mart_technology_weekly\n    description: One row per technology per ISO week (starting Monday) for trend charts.\n" +
		"    columns:\n      - name: technology_id\n        description: Stable id of the technology.\n        tests:\n          - not_null\n"
	if !strings.Contains(string(b), weekly) {
		t.Fatalf("%s no longer declares mart_technology_weekly as this test expects", props)
	}
	edited := strings.Replace(string(b), weekly,
		"  - name: mart_technology_weekly\n    description: '"+xss+"'\n"+
			"    columns:\n      - name: technology_id\n        description: Stable id of the technology.\n        tests:\n          - not_null\n"+
			"          - accepted_values: {values: [no_such_technology]}\n", 1)
	if err := os.WriteFile(props, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}

	// The build exits 1: the accepted_values test fails.
	if code, out := quarryRun(t, "--project-dir", dir, "build", "--replay", filepath.Join(dir, "testdata", "sample")); code != 1 {
		t.Fatalf("build exited %d, want 1 (one failing test):\n%s", code, out)
	}
	if code, out := quarryRun(t, "--project-dir", dir, "docs", "generate"); code != 0 {
		t.Fatalf("docs generate exited %d:\n%s", code, out)
	}
	return dir
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// serveSite runs docs serve's server for dir on a free port until the test
// ends and returns its URL.
func serveSite(t *testing.T, dir string) string {
	t.Helper()
	out := &syncBuffer{}
	a := &app{stdout: out, stderr: out, drain: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serveDocs(ctx, filepath.Join(dir, "target", "docs"), 0) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("docs serve: %v", err)
		}
	})
	served := regexp.MustCompile(`Serving the docs at (http://127\.0\.0\.1:\d+/)`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := served.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("docs serve printed no URL: %q", out.String())
		}
	}
}

// tab opens a new tab of the shared browser at page; it closes when the
// test ends.
func tab(t *testing.T, page string) context.Context {
	t.Helper()
	ctx, closeTab := chrome.Get(t).Tab()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancel(); closeTab() })
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs a that returns a value, failing the test on error.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// textOf returns the text content of the first element matching sel,
// waiting for it to be on the page.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	do(t, ctx, "wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	return get(t, ctx, "read "+sel, chromedp.TextContent(chromedp.CSS(sel)))
}

func nodeURL(base, id, query string) string {
	u := base + "#/node/" + url.PathEscape(id)
	if query != "" {
		u += "?" + query
	}
	return u
}

// TestDocsSite opens the techpulse site in headless Chromium, served by
// docs serve and from file://, and checks what an analyst sees.
func TestDocsSite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the techpulse datamart and drives a browser; skipped with -short")
	}
	chrome.Get(t) // skip (or fail under CI) before building anything
	dir := docsSite(t)
	served := serveSite(t, dir)
	file := "file://" + filepath.ToSlash(filepath.Join(dir, "target", "docs", "index.html"))
	shots := screenshotDir(t)

	for name, base := range map[string]string{"served": served, "file": file} {
		t.Run("search a column/"+name, func(t *testing.T) {
			ctx := tab(t, base)
			if got := textOf(t, ctx, "#project-name"); got != "techpulse" {
				t.Errorf("the header names %q, want techpulse", got)
			}
			if name == "file" {
				screenshot(t, ctx, shots, "overview.png", `main[data-route="overview"] #status-counts`)
			}
			do(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#search"), "downloads_last_30_days"),
				chromedp.WaitVisible(chromedp.CSS(`#search-results li[data-testid="search-result"][data-id="`+overviewID+`"][data-column="downloads_last_30_days"]`)))
			if got := textOf(t, ctx, "#search-results"); !strings.Contains(got, "mart_technology_overview") || !strings.Contains(got, "downloads_last_30_days") {
				t.Errorf("the search results read %q, want mart_technology_overview and its column downloads_last_30_days", got)
			}
			if name == "file" {
				screenshot(t, ctx, shots, "search.png", "#search-results")
			}
		})
	}

	t.Run("model page", func(t *testing.T) {
		ctx := tab(t, nodeURL(file, overviewID, ""))
		if got := textOf(t, ctx, "#node-name"); got != "mart_technology_overview" {
			t.Errorf("the page is titled %q", got)
		}
		// Each column with its type and description, as the property file
		// and the analysis give them.
		for col, want := range map[string][]string{
			"technology_id":          {"Stable id of the technology"},
			"downloads_last_30_days": {"HUGEINT", "Likewise for 30 days"},
		} {
			row := textOf(t, ctx, `#columns tr[data-column="`+col+`"]`)
			for _, w := range append(want, col) {
				if !strings.Contains(strings.ToLower(row), strings.ToLower(w)) {
					t.Errorf("the row of column %s reads %q, want %q in it", col, row, w)
				}
			}
		}
		up := textOf(t, ctx, "#upstream")
		for _, want := range []string{"fct_pypi_downloads_daily", "dim_technology", "fct_github_repository_snapshots"} {
			if !strings.Contains(up, want) {
				t.Errorf("upstream lists %q, want %s in it", up, want)
			}
		}
		screenshot(t, ctx, shots, "model.png", "#columns")
	})

	t.Run("lineage view", func(t *testing.T) {
		ctx := tab(t, file+"#/lineage/"+url.PathEscape(overviewID)+"?up=2&down=1")
		graph := textOf(t, ctx, "#graph")
		for _, want := range []string{"mart_technology_overview", "fct_pypi_downloads_daily", "dim_technology", "stg_pypi__downloads_daily"} {
			if !strings.Contains(graph, want) {
				t.Errorf("the lineage graph shows %q, want %s in it", graph, want)
			}
		}
		screenshot(t, ctx, shots, "lineage.png", "#graph")
	})

	t.Run("column lineage", func(t *testing.T) {
		ctx := tab(t, nodeURL(file, overviewID, "column=downloads_last_30_days"))
		if up := textOf(t, ctx, "#column-upstream"); !strings.Contains(up, "fct_pypi_downloads_daily.downloads") {
			t.Errorf("the column lineage of downloads_last_30_days reads %q, want fct_pypi_downloads_daily.downloads", up)
		}
	})

	t.Run("failed test", func(t *testing.T) {
		ctx := tab(t, nodeURL(file, weeklyID, ""))
		do(t, ctx, "wait for the status", chromedp.WaitReady(chromedp.CSS("#node-status")))
		status := get(t, ctx, "read the status", chromedp.AttributeValue(chromedp.CSS("#node-status"), "data-status")).Value
		// The test failed after the model was built, so quarry kept the
		// table's previous version: for whoever reads it, the model
		// failed, and its last result names the test.
		if status != "failed" {
			t.Errorf("mart_technology_weekly shows status %q, want failed (its test failed, not published)", status)
		}
		if res := textOf(t, ctx, "#node-result"); !strings.Contains(res, "test accepted_values_mart_technology_weekly_technology_id failed") {
			t.Errorf("its last result reads %q, want the failing accepted_values test named", res)
		}
		failed := textOf(t, ctx, `#node-tests li:has(.badge[data-status="failed"])`)
		if !strings.Contains(failed, "accepted_values") {
			t.Errorf("the failed test on the page reads %q, want the accepted_values test", failed)
		}
		// The overview lists it among the nodes needing attention.
		do(t, ctx, "open the overview", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`location.hash = "#/"`)(ctx, t)
			return err
		}))
		if trouble := textOf(t, ctx, `main[data-route="overview"] #trouble`); !strings.Contains(trouble, "mart_technology_weekly") {
			t.Errorf("the overview's nodes needing attention read %q, want mart_technology_weekly", trouble)
		}
	})

	t.Run("description is text", func(t *testing.T) {
		ctx := tab(t, nodeURL(file, weeklyID, ""))
		if got := textOf(t, ctx, "#node-description"); got != xss {
			t.Errorf("the description reads %q, want the literal %q", got, xss)
		}
		// The search results show descriptions too.
		do(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#search"), "pwned"),
			chromedp.WaitVisible(chromedp.CSS(`#search-results li[data-id="`+weeklyID+`"]`)),
			chromedp.Sleep(200*time.Millisecond)) // an onerror would fire once the image failed to load
		page := get(t, ctx, "read the page", chromedp.Evaluate[string](`document.body.innerText`))
		pwned := get(t, ctx, "read window.__pwned", chromedp.Evaluate[string](`typeof window.__pwned`))
		if !strings.Contains(page, "<script>window.__pwned=1</script>") {
			t.Errorf("the page text does not show the literal <script>: %q", page)
		}
		if pwned != "undefined" {
			t.Errorf("window.__pwned is %s: the description ran as HTML", pwned)
		}
	})
}

// screenshotDir is where TestDocsSite writes its screenshots of the main
// pages: target/docs-screenshots at the repository root (README, "quarry
// docs").
func screenshotDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "target", "docs-screenshots"))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot writes the viewport to dir/name once ready (a selector) is on
// the page.
func screenshot(t *testing.T, ctx context.Context, dir, name, ready string) {
	t.Helper()
	do(t, ctx, "wait for "+ready, chromedp.WaitVisible(chromedp.CSS(ready)))
	png := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
