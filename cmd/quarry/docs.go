package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/docs"
	"github.com/quarrydev/quarry/engine/project"
)

func (a *app) docsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Write and serve a documentation site: every node, its columns, lineage and data status",
		Long: `docs generate writes a static site under target/docs/ (index.html, its
assets and docs.json) from the project, its SQL analysis and the last run's
artifacts; open target/docs/index.html in a browser, or run docs serve.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(a.docsGenerateCommand(), a.docsServeCommand())
	return cmd
}

func (a *app) docsGenerateCommand() *cobra.Command {
	var check checkFlag
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write the documentation site to target/docs/",
		Long: `generate loads the project and analyses its SQL (columns, types and column
lineage; --no-check skips the analysis), reads target/run_results.json and
target/catalog.json when a run wrote them (statuses, timings, row counts,
the warehouse's types), and writes target/docs/: index.html, which works
opened from disk, its assets, and docs.json, the same data for tools.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.generateDocs(cmd.Context(), check.off)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "Wrote the docs to %s\n", filepath.Join(dir, "index.html"))
			return nil
		},
	}
	check.register(cmd)
	return cmd
}

// generateDocs writes target/docs and returns its path.
func (a *app) generateDocs(ctx context.Context, noCheck bool) (string, error) {
	p, err := a.loadForReading()
	if err != nil {
		return "", err
	}
	if !noCheck {
		var ids []string
		for id, n := range p.Nodes {
			if n.Type == project.Model || n.Type == project.Test {
				ids = append(ids, id)
			}
		}
		if _, err := a.check(ctx, p, ids); err != nil {
			return "", err
		}
	}
	target := filepath.Join(p.Dir, "target")
	doc, err := docs.Build(p, target, time.Now())
	if err != nil {
		return "", &exitError{code: exitFailed, err: err}
	}
	dir := filepath.Join(target, "docs")
	if err := docs.Write(p, dir, doc); err != nil {
		return "", &exitError{code: exitFailed, err: err}
	}
	return dir, nil
}

func (a *app) docsServeCommand() *cobra.Command {
	var port int
	var generate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve target/docs/ on 127.0.0.1 until Ctrl-C",
		Long: `serve serves the site docs generate wrote, on 127.0.0.1 only, and prints
its URL. When target/docs/ is missing it is generated first (--generate
regenerates it anyway), and so it is when a run has written its results
since. Ctrl-C stops the server.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			target := filepath.Join(a.projectDir, "target")
			dir := filepath.Join(target, "docs")
			if why := docsOutdated(target); generate || why != "" {
				if why != "" {
					fmt.Fprintf(a.stderr, "Generating the docs first: %s\n", why)
				}
				var err error
				if dir, err = a.generateDocs(cmd.Context(), false); err != nil {
					return err
				}
			}
			return a.serveDocs(cmd.Context(), dir, port)
		},
	}
	cmd.Flags().IntVar(&port, "port", 8080, "the port to listen on (0 picks a free one)")
	cmd.Flags().BoolVar(&generate, "generate", false, "generate the docs first even when target/docs exists")
	return cmd
}

// docsOutdated says why target/docs must be generated before it is
// served: it is missing, or a run wrote its artifacts after it; "" when it
// is current. (Edits to the project's files since are not detected:
// --generate regenerates anyway.)
func docsOutdated(target string) string {
	site, err := os.Stat(filepath.Join(target, "docs", "docs.json"))
	if err != nil {
		return "target/docs has not been generated"
	}
	for _, name := range []string{"run_results.json", "catalog.json"} {
		if st, err := os.Stat(filepath.Join(target, name)); err == nil && st.ModTime().After(site.ModTime()) {
			return fmt.Sprintf("target/%s is newer than target/docs", name)
		}
	}
	return ""
}

// serveDocs serves dir on 127.0.0.1:port until ctx ends or the first
// interrupt.
func (a *app) serveDocs(ctx context.Context, dir string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("serve the docs: %w (choose another with --port)", err)}
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.stdout, "Serving the docs at http://%s/ (Ctrl-C stops)\n", ln.Addr())
	stopping := "Interrupted: stopping the docs server"
	a.onInterrupt.Store(&stopping)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return &exitError{code: exitFailed, err: fmt.Errorf("serve the docs: %w", err)}
	case <-ctx.Done():
	case <-a.drain:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return &exitError{code: exitFailed, err: fmt.Errorf("stop serving the docs: %w", err)}
	}
	return nil
}
