package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quarrydev/quarry/internal/browser"
)

// Targets of issue 12's documentation site at -models models.
const (
	docsGenerateTarget = 2 * time.Second
	docsPageTarget     = time.Second // page open + one search answered
)

// docsQuery is what the benchmark types into the search box: a name
// prefix which matches ten of the generated models (model_07890 to
// model_07899 of 10,000), wherever -models puts them.
func docsQuery() string {
	return fmt.Sprintf("model_%04d", *models*789/10000)
}

// measureDocs times `quarry docs generate` on a generated project of
// -models models as a whole process (cold: no analysis cache; warm: the
// cache a previous compile or generate left; --no-check: no analysis at
// all), then, in headless Chromium, opening the generated page from disk
// (navigation until the overview is on the page) and one search (the
// query set in the box until its results are rendered).
func measureDocs(dir string) error {
	quarry, q, err := quarryAndProject(dir)
	if err != nil {
		return err
	}
	generate := func(args ...string) (processRun, error) {
		return runQuarry(quarry, q, append([]string{"docs", "generate"}, args...)...)
	}
	fmt.Printf("docs: quarry docs generate of %d generated models as a whole process, %d runs each\n", *models, *runs)
	cache := filepath.Join(q, "target", "analysis.gob")
	var cold, warm, noCheck []processRun
	for range *runs {
		if err := os.Remove(cache); err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, s := range []struct {
			into *[]processRun
			args []string
		}{{&noCheck, []string{"--no-check"}}, {&cold, nil}, {&warm, nil}} {
			r, err := generate(s.args...)
			if err != nil {
				return err
			}
			*s.into = append(*s.into, r)
		}
	}
	line := func(name string, rs []processRun, target time.Duration) { printRuns(30, name, rs, target) }
	line("warm (analysis cached)", warm, docsGenerateTarget)
	line("cold (no analysis cache)", cold, 0)
	line("--no-check (no analysis)", noCheck, docsGenerateTarget)
	page := filepath.Join(q, "target", "docs", "index.html")
	if st, err := os.Stat(page); err == nil {
		fmt.Printf("     index.html: %.1f MB (docs.json inlined)\n", float64(st.Size())/(1<<20))
	}
	return measurePage(page)
}

// measurePage opens page from disk -runs times in a fresh tab of one
// headless Chromium and searches it once each time.
func measurePage(page string) error {
	b, err := browser.Start(1280, 800)
	if err != nil {
		return fmt.Errorf("%w (install one with: %s)", err, browser.InstallHint)
	}
	defer b.Close()
	url := "file://" + filepath.ToSlash(page)
	var open, ready, search, total []time.Duration
	for range *runs {
		o, r, s, err := pageOnce(b, url)
		if err != nil {
			return err
		}
		open, ready, search, total = append(open, o), append(ready, r), append(search, s), append(total, o+s)
	}
	fmt.Printf("   headless Chromium, file:// page, %d runs (a fresh tab each)\n", *runs)
	fmt.Printf("     %-30s %s\n", "page open (overview on page)", spreadOf(open))
	fmt.Printf("     %-30s %s\n", "  of which in the page (DCL)", spreadOf(ready))
	fmt.Printf("     %-30s %s   (query %q, 60 ms debounce included)\n", "one search answered", spreadOf(search), docsQuery())
	sp := spreadOf(total)
	fmt.Printf("     %-30s %s   target < %s  %s\n", "page open + search", sp, ms(docsPageTarget), verdict(sp.median < docsPageTarget))
	return nil
}

// searchJS sets the query in the search box as typing would and resolves,
// once the results are on the page and a frame has been drawn, with the
// milliseconds that took.
const searchJS = `new Promise(function (resolve) {
  var box = document.getElementById("search"), res = document.getElementById("search-results");
  var t0 = performance.now();
  var obs = new MutationObserver(function () {
    if (res.hidden || !res.querySelector("li[data-testid=search-result]")) return;
    obs.disconnect();
    requestAnimationFrame(function () { setTimeout(function () { resolve(performance.now() - t0); }, 0); });
  });
  obs.observe(res, { childList: true, subtree: true, attributes: true });
  box.value = %q;
  box.dispatchEvent(new Event("input"));
})`

// pageOnce returns the wall time from navigation to the overview on the
// page (seen from the test driver), the page's own DOMContentLoaded end,
// and the search's time measured in the page.
func pageOnce(b *browser.Browser, url string) (open, ready, search time.Duration, err error) {
	tab, closeTab := b.Tab()
	defer closeTab()
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`main[data-route="overview"] #overview-counts`))); err != nil {
		return 0, 0, 0, fmt.Errorf("open %s: %w", url, err)
	}
	open = time.Since(start)
	dcl, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd`))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read the navigation timing: %w", err)
	}
	took, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(searchJS, docsQuery()), chromedp.EvalAwaitPromise))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("search: %w", err)
	}
	return open, msDuration(dcl), msDuration(took), nil
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// peakRSS is the finished cmd's peak resident set size in bytes.
func peakRSS(cmd *exec.Cmd) int64 {
	if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return u.Maxrss * 1024
	}
	return 0
}
