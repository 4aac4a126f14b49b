// Command quarry-samplegen writes the sample recording under testdata/sample that
// lets `quarry build --replay testdata/sample` run the whole pipeline
// offline. It serves invented but plausible answers from local fake GitHub
// and pypistats servers, in the exact shapes of the real APIs, runs the real
// extractors against them through the recorder, and files every exchange
// under the public URLs. The recording is marked as a sample: its numbers
// are made up and must never be read as measurements.
//
//	go run ./cmd/quarry-samplegen -out testdata/sample
package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/extractors/github"
	"github.com/quarrydev/quarry/extractors/httprec"
	"github.com/quarrydev/quarry/extractors/pypi"
)

// recordedAt is the sample run's clock.
var recordedAt = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("out", "testdata/sample", "directory to write the recording into (must not hold one)")
	seeds := flag.String("seeds", "seeds", "directory of github_repositories.csv and pypi_packages.csv")
	flag.Parse()
	if err := run(*out, *seeds); err != nil {
		fmt.Fprintln(os.Stderr, "samplegen:", err)
		os.Exit(1)
	}
}

func run(out, seedDir string) error {
	gh := httptest.NewServer(fakeGitHub(recordedAt))
	defer gh.Close()
	ps := httptest.NewServer(fakePypistats(recordedAt))
	defer ps.Close()
	routes := map[string]string{"api.github.com": gh.URL, "pypistats.org": ps.URL}

	sess, err := httprec.Record(out, recordedAt, rerouter(routes))
	if err != nil {
		return err
	}
	sess.MarkSample("Invented, plausible answers in the real APIs' shapes, written by go run ./cmd/quarry-samplegen for offline runs. Not measurements.")
	ctx := context.Background()
	for _, x := range []struct {
		ex       extractors.Extractor
		seed     string
		settings map[string]any
	}{
		{github.New(), "github_repositories.csv", map[string]any{"concurrency": 1}},
		{pypi.New(), "pypi_packages.csv", map[string]any{"backend": "pypistats", "lookback_days": 60}},
	} {
		items, err := readItems(filepath.Join(seedDir, x.seed), x.ex.KeyColumn())
		if err != nil {
			return err
		}
		env := extractors.Env{
			LoadID: "sample", Now: recordedAt, HTTP: sess.Client(), Settings: x.settings,
			Getenv:   func(string) (string, bool) { return "", false }, // no tokens: the sample is anonymous
			CacheDir: filepath.Join(os.TempDir(), "quarry-samplegen-cache"),
			Logf:     func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
			Query: func(context.Context, string) (*warehouse.Result, error) {
				return &warehouse.Result{Columns: []string{"package", "max"}}, nil // nothing landed yet
			},
			Landing: func(table string) string { return "raw." + table },
		}
		_ = os.RemoveAll(env.CacheDir)
		res, err := x.ex.Extract(ctx, env, items)
		if err != nil {
			return fmt.Errorf("%s: %w", x.ex.Name(), err)
		}
		if len(res.Errors) > 0 {
			return fmt.Errorf("%s: %d items failed, first: %s: %s", x.ex.Name(), len(res.Errors), res.Errors[0].Item, res.Errors[0].Err)
		}
	}
	return sess.Close()
}

// rerouter sends requests for the public hosts to the local fakes; the
// recorder files them under the public URLs the extractors asked for.
func rerouter(routes map[string]string) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		target, ok := routes[r.URL.Host]
		if !ok {
			return nil, fmt.Errorf("samplegen: no fake for %s", r.URL.Host)
		}
		u, _ := url.Parse(target)
		c := r.Clone(r.Context())
		c.URL.Scheme, c.URL.Host, c.Host = u.Scheme, u.Host, u.Host
		return http.DefaultTransport.RoundTrip(c)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// readItems reads a seed CSV into extractor items.
func readItems(path, key string) ([]extractors.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var items []extractors.Item
	for _, rec := range recs[1:] {
		fields := map[string]string{}
		for i, h := range recs[0] {
			fields[h] = rec[i]
		}
		items = append(items, extractors.Item{Key: fields[key], Fields: fields})
	}
	return items, nil
}
