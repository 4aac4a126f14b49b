package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/config"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/jsonlog"
	"github.com/quarrydev/quarry/internal/panics"
)

// Exit codes, as documented in the README.
const (
	exitOK          = 0
	exitFailed      = 1 // a node or an error-severity test failed
	exitLoad        = 2 // the project could not be loaded or compiled; nothing ran
	exitInternal    = 3 // a bug in quarry: a panic caught by run's last-resort recover
	exitInterrupted = 130
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error // already printed when nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// app is one invocation of the CLI: its writers and shared flags. Commands
// get everything through it, so tests run the CLI in-process.
type app struct {
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	environ        func() []string // the whole environment, to keep secret values out of target/

	projectDir string
	target     string
	threads    int
	vars       []string
	logFormat  string // --log-format; "" when not given
	quiet      bool

	// invocationID names this run in its artifacts' metadata and its JSON
	// log, so an orchestrator can tie the two together.
	invocationID string

	// outMu guards stdout, stderr and events while setupLog may change
	// them: the interrupt handler reads them from its own goroutine.
	outMu    sync.Mutex
	logReady bool
	// events is the JSON log, nil for text.
	events *jsonlog.Logger
	// flushOutput emits what was printed after the last newline as a last
	// event (json only).
	flushOutput func()
	// noPartialParse: load from the files even when target/partial_parse.gob
	// holds the same load (--no-partial-parse, QUARRY_NO_PARTIAL_PARSE).
	noPartialParse bool

	// drain is closed on the first interrupt: stop scheduling new nodes.
	drain chan struct{}
	// onInterrupt, when set, is what the first Ctrl-C prints, for a
	// command that is not running nodes.
	onInterrupt atomic.Pointer[string]
}

// invocation is what an artifact written now by command says of this run.
func (a *app) invocation(command string, at time.Time) artifacts.Invocation {
	return artifacts.Invocation{ID: a.invocationID, Command: command, At: at}
}

// cli executes the CLI with args and returns the process exit code.
func cli(args []string, stdout, stderr io.Writer) int {
	return runWith(args, stdout, stderr)
}

// runWith is run with extra commands added to the root: tests use it to
// reach paths no user command should, such as a panic.
func runWith(args []string, stdout, stderr io.Writer, extra ...*cobra.Command) (code int) {
	a := &app{stdout: stdout, stderr: stderr, env: os.LookupEnv, environ: os.Environ, drain: make(chan struct{}), invocationID: uuid.NewString()}
	// The last resort: a panic on this goroutine is a bug, reported as one
	// with where it happened, and exit 3 rather than a Go stack trace.
	defer func() {
		if r := recover(); r != nil {
			a.flush()
			code = a.reportPanic(stderr, r)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopSignals := a.handleInterrupts(cancel)
	defer stopSignals()

	root := a.rootCommand()
	root.AddCommand(extra...)
	root.SetArgs(expandSelectArgs(args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err != nil {
		// cobra may have failed before any command ran (a bad flag): the
		// format asked for, if it was, still applies to its error.
		_ = a.setupLog()
	}
	a.flush()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			a.printError(ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command, bad flag.
	if a.events != nil {
		a.printError(fmt.Errorf("%v (run 'quarry --help' for usage)", err))
		return exitLoad
	}
	fmt.Fprintf(a.stderr, "Error: %v\nRun 'quarry --help' for usage.\n", err)
	return exitLoad
}

// reportPanic prints a panic caught by runWith: its value (quarry's own
// values carry no secrets) and the first frame of quarry's code on the
// panicking stack, which is what a bug report needs. It must be called from
// the deferred function that recovered, while that stack is still there; a
// panic handed on from another goroutine carries its own.
func (a *app) reportPanic(w io.Writer, r any) int {
	e := panics.Recovered(r)
	if a.events != nil {
		var at []slog.Attr
		if f, ok := e.Frame(); ok {
			at = append(at, slog.String("file", f.File), slog.Int("line", f.Line), slog.String("function", f.Function))
		}
		a.events.Log(jsonlog.Error, "internal_error", fmt.Sprintf("internal error (a bug in quarry, please report it): %v", e.Value), at...)
		return exitInternal
	}
	fmt.Fprintf(w, "internal error (a bug in quarry, please report it): %v\n", e.Value)
	if f, ok := e.Frame(); ok {
		fmt.Fprintf(w, "  at %s:%d (%s)\n", f.File, f.Line, f.Function)
	}
	return exitInternal
}

// handleInterrupts makes the first Ctrl-C drain the run (no new nodes; the
// running ones finish) and the second cancel running statements.
func (a *app) handleInterrupts(cancel context.CancelFunc) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			msg := "Interrupted: finishing the running nodes, starting no new ones (Ctrl-C again to cancel them)"
			if m := a.onInterrupt.Load(); m != nil {
				msg = *m
			}
			a.printInterrupt(msg)
			close(a.drain)
		case <-done:
			return
		}
		select {
		case <-sigs:
			a.printInterrupt("Interrupted again: cancelling the running statements")
			cancel()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "quarry",
		Short:         "quarry builds a SQL-first data project into DuckDB or Snowflake",
		Version:       artifacts.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.projectDir, "project-dir", ".", "the project's directory (holding project.yaml)")
	pf.StringVar(&a.target, "target", "", "the target in project.yaml to use (default: QUARRY_TARGET, then targets.default)")
	pf.Var(threadsFlag{&a.threads}, "threads", fmt.Sprintf("how many nodes run at once, %d to %d (default: QUARRY_THREADS, then the target's threads, then 4)", config.MinThreads, config.MaxThreads))
	pf.StringArrayVar(&a.vars, "vars", nil, "set vars: name=value, or a YAML mapping like '{a: 1, b: x}' (repeatable)")
	pf.BoolVar(&a.noPartialParse, "no-partial-parse", false, "load every file again instead of reusing target/partial_parse.gob (also QUARRY_NO_PARTIAL_PARSE=1)")
	addCPUProfile(root)
	a.registerLogFlags(root) // after addCPUProfile: it wraps its PersistentPreRunE
	root.AddCommand(
		a.buildCommand(), a.runCommand(), a.seedCommand(), a.extractCommand(), a.testCommand(), a.compileCommand(), a.lsCommand(), a.retryCommand(), a.lineageCommand(), a.rawCommand(), a.docsCommand(), a.debugCommand(),
		a.cleanCommand(), a.initCommand(), a.showCommand(),
	)
	return root
}

// threadsFlag is --threads, checked as it is parsed: a bad value is a usage
// error (exit 2) naming the accepted range, never 0 silently meaning "not
// given".
type threadsFlag struct{ n *int }

func (f threadsFlag) String() string {
	if f.n == nil || *f.n == 0 {
		return ""
	}
	return strconv.Itoa(*f.n)
}

func (f threadsFlag) Set(s string) error {
	n, err := config.ParseThreads(s)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

func (threadsFlag) Type() string { return "int" }

// parseVars reads --vars values: name=value pairs or YAML mappings. Values
// are YAML scalars, so numbers and booleans keep their types.
func parseVars(values []string) (map[string]any, error) {
	out := map[string]any{}
	for _, v := range values {
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "{") {
			var m map[string]any
			if err := yaml.Unmarshal([]byte(s), &m); err != nil {
				return nil, fmt.Errorf("--vars %q: not a YAML mapping: %v", v, err)
			}
			for k, val := range m {
				out[k] = val
			}
			continue
		}
		name, raw, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--vars %q: write name=value or a YAML mapping like '{name: value}'", v)
		}
		var val any
		if err := yaml.Unmarshal([]byte(raw), &val); err != nil || val == nil {
			// A value that is not YAML is taken as written, unless it
			// opens a list or mapping: then it is a YAML mistake, and
			// passing the text on would hide it.
			if t := strings.TrimSpace(raw); err != nil && (strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{")) {
				return nil, fmt.Errorf("--vars %q: the value is not valid YAML (%v): fix it, or quote it to pass it as text", v, err)
			}
			val = raw
		}
		out[strings.TrimSpace(name)] = val
	}
	return out, nil
}

// load reads and compiles the project, printing every problem on failure.
// Commands that run nodes use it: they need the templates.
func (a *app) load() (*project.Project, error) {
	return a.loadWith(false)
}

// loadForReading is load for the commands that only read the project (ls,
// compile, lineage, docs): it reuses the last load, kept in
// target/partial_parse.gob, when nothing it depends on has changed.
func (a *app) loadForReading() (*project.Project, error) {
	return a.loadWith(!a.partialParseOff())
}

// partialParseOff reports whether --no-partial-parse or a true
// QUARRY_NO_PARTIAL_PARSE turns the load snapshot off.
func (a *app) partialParseOff() bool {
	if a.noPartialParse {
		return true
	}
	v, _ := a.env("QUARRY_NO_PARTIAL_PARSE")
	if v = strings.TrimSpace(v); v == "" {
		return false
	}
	off, err := strconv.ParseBool(v)
	return err != nil || off // a value that is not a boolean is taken as set
}

func (a *app) loadWith(snapshot bool) (*project.Project, error) {
	vars, err := parseVars(a.vars)
	if err != nil {
		return nil, &exitError{code: exitLoad, err: err}
	}
	opts := config.Options{Dir: a.projectDir, Target: a.target, Threads: a.threads, Vars: vars, Env: a.env, Environ: a.environ,
		Extractors: extractorRegistry()}
	var p *project.Project
	if snapshot {
		p, _, err = project.LoadCached(opts, adapters(), filepath.Join(a.projectDir, "target", project.SnapshotFile))
	} else {
		p, err = project.Load(opts, adapters())
	}
	if err != nil {
		var de *diag.Error
		if errors.As(err, &de) {
			n := len(de.Diagnostics)
			a.printDiagnostics(de, fmt.Sprintf("%d %s found; nothing ran. Fix %s and run again.", n, english.Plural(n, "problem", "problems"), english.Plural(n, "it", "them")))
			return nil, &exitError{code: exitLoad}
		}
		return nil, &exitError{code: exitLoad, err: err}
	}
	return p, nil
}
