package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/analyze"
	"github.com/quarrydev/quarry/engine/artifacts"
	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/run"
	"github.com/quarrydev/quarry/internal/english"
	"github.com/quarrydev/quarry/internal/jsonlog"
)

// The log formats of --log-format and QUARRY_LOG_FORMAT.
const (
	textFormat = "text"
	jsonFormat = "json"
)

// logFormatFlag is --log-format, checked as it is parsed: a bad value is a
// usage error (exit 2) naming the accepted ones.
type logFormatFlag struct{ s *string }

func (f logFormatFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f logFormatFlag) Set(s string) error {
	if err := checkLogFormat(s); err != nil {
		return err
	}
	*f.s = s
	return nil
}

func (logFormatFlag) Type() string { return "format" }

func checkLogFormat(s string) error {
	if s != textFormat && s != jsonFormat {
		return fmt.Errorf("%q is not a log format: use %s or %s", s, textFormat, jsonFormat)
	}
	return nil
}

// registerLogFlags adds --log-format and --quiet to root, and sets the
// output up once they are parsed, before any command prints.
func (a *app) registerLogFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.Var(logFormatFlag{&a.logFormat}, "log-format", "text or json: json prints one JSON object a line for every event, on stdout (default: QUARRY_LOG_FORMAT, then text)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print only problems (WARN, ERROR, FAIL and SKIP lines, warnings, errors) and the final summary")
	next := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := a.setupLog(); err != nil {
			return err
		}
		if next != nil {
			return next(cmd, args)
		}
		return nil
	}
}

// setupLog picks the log format (the flag, then QUARRY_LOG_FORMAT, then
// text). In json, events go to the real stdout and whatever a command
// writes to a.stdout or a.stderr becomes "output" events on it, so that
// nothing but JSON lines is printed. It runs once; runWith calls it too
// when cobra failed before any command ran, so that its error is JSON
// when asked for.
func (a *app) setupLog() error {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if a.logReady {
		return nil
	}
	a.logReady = true
	format := a.logFormat
	if format == "" {
		if v, ok := a.env("QUARRY_LOG_FORMAT"); ok && v != "" {
			if err := checkLogFormat(v); err != nil {
				return &exitError{code: exitLoad, err: fmt.Errorf("QUARRY_LOG_FORMAT: %w", err)}
			}
			format = v
		}
	}
	if format == jsonFormat {
		a.events = jsonlog.New(a.stdout, nil)
		out, errOut := a.events.Writer("stdout"), a.events.Writer("stderr")
		a.flushOutput = func() { out.Flush(); errOut.Flush() }
		a.stdout, a.stderr = out, errOut
	}
	return nil
}

// flush emits, in json, a last line a command printed without a newline.
func (a *app) flush() {
	if a.flushOutput != nil {
		a.flushOutput()
	}
}

// warnf prints a warning: "warning: ..." on stderr, or a warning event.
func (a *app) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.events != nil {
		a.events.Log(jsonlog.Warn, "warning", msg)
		return
	}
	fmt.Fprintf(a.stderr, "warning: %s\n", msg)
}

// printError prints an error that ends the command: on stderr, or as an
// error event. A *diag.Error is printed problem by problem, each with its
// place.
func (a *app) printError(err error) {
	var de *diag.Error
	if errors.As(err, &de) {
		a.printDiagnostics(de, "")
		return
	}
	if a.events != nil {
		a.events.Log(jsonlog.Error, "error", err.Error())
		return
	}
	fmt.Fprintln(a.stderr, err)
}

// printDiagnostics prints positioned problems, then summary (when not
// empty) after a blank line: as text on stderr, or as an error event per
// problem with its file, line and column, and a "problems" event.
func (a *app) printDiagnostics(de *diag.Error, summary string) {
	if a.events == nil {
		fmt.Fprintln(a.stderr, de.Error())
		if summary != "" {
			fmt.Fprintf(a.stderr, "\n%s\n", summary)
		}
		return
	}
	for _, d := range de.Diagnostics {
		a.events.Log(jsonlog.Error, "error", d.String(), optString("file", d.Path), optInt("line", d.Line), optInt("col", d.Col), slog.String("problem", d.Msg))
	}
	if summary != "" {
		a.events.Log(jsonlog.Error, "problems", summary, slog.Int("count", len(de.Diagnostics)))
	}
}

// printInterrupt says what a Ctrl-C does; called from the signal handler.
func (a *app) printInterrupt(msg string) {
	a.outMu.Lock()
	events, stderr := a.events, a.stderr
	a.outMu.Unlock()
	if events != nil {
		events.Log(jsonlog.Warn, "interrupt", msg)
		return
	}
	fmt.Fprintln(stderr, "\n"+msg)
}

// printCheckSummary says what the SQL check covered: text lines on w
// (stdout for the commands that run, stderr for compile) each starting
// with prefix, or a check event. --quiet leaves it out: it is not a
// problem.
func (a *app) printCheckSummary(w io.Writer, prefix string, sum *analyze.Summary) {
	if sum == nil || a.quiet {
		return
	}
	if a.events == nil {
		printCheck(w, prefix, sum)
		return
	}
	unchecked := make([]map[string]string, len(sum.Unchecked))
	for i, u := range sum.Unchecked {
		unchecked[i] = map[string]string{"unique_id": u.ID, "reason": u.Reason}
	}
	total := sum.Checked + len(sum.Unchecked)
	a.events.Log(jsonlog.Info, "check", fmt.Sprintf("Checked the SQL of %d of %d %s against upstream columns", sum.Checked, total, english.Plural(total, "model or test", "models and tests")),
		slog.Int("checked", sum.Checked), slog.Int("total", total), slog.Any("unchecked", unchecked))
}

// runLog reports one run of build, run, seed or test, as text lines or
// JSON events.
type runLog struct {
	a       *app
	p       *project.Project
	command string
	start   time.Time
	stamp   string // the text lines' clock prefix
}

func (a *app) newRunLog(p *project.Project, command string, start time.Time) *runLog {
	return &runLog{a: a, p: p, command: command, start: start, stamp: start.Format("15:04:05") + "  "}
}

// started announces the run: what quarry, project, target and threads,
// and what the project holds.
func (l *runLog) started(selected int) {
	p := l.p
	header := fmt.Sprintf("quarry %s · project %s · target %s (%s) · %d %s", artifacts.Version, p.Name, p.Target.Name, p.Target.Type, p.Threads, english.Plural(p.Threads, "thread", "threads"))
	found := inventory(p)
	switch {
	case l.a.quiet:
	case l.a.events == nil:
		fmt.Fprintf(l.a.stdout, "%s%s\n%sFound %s\n", l.stamp, header, l.stamp, found)
	default:
		l.a.events.Log(jsonlog.Info, "run_started", header+"; found "+found,
			slog.String("invocation_id", l.a.invocationID), slog.String("command", l.command), slog.String("quarry_version", artifacts.Version),
			slog.String("project", p.Name), slog.String("target", p.Target.Name), slog.String("target_type", p.Target.Type),
			slog.Int("threads", p.Threads), slog.Int("selected", selected), slog.String("found", found))
	}
}

// session says that extractors replay or record HTTP exchanges.
func (l *runLog) session(replaying bool, dir, what string, clock time.Time, sample bool) {
	switch {
	case l.a.quiet:
	case l.a.events == nil && replaying:
		fmt.Fprintf(l.a.stdout, "%sReplaying %s from %s, clock set to %s\n", l.stamp, what, dir, clock.Format(time.RFC3339))
	case l.a.events == nil:
		fmt.Fprintf(l.a.stdout, "%sRecording HTTP exchanges into %s\n", l.stamp, dir)
	case replaying:
		l.a.events.Log(jsonlog.Info, "replay", fmt.Sprintf("Replaying %s from %s, clock set to %s", what, dir, clock.Format(time.RFC3339)),
			slog.String("dir", dir), slog.String("clock", clock.Format(time.RFC3339Nano)), slog.Bool("sample", sample))
	default:
		l.a.events.Log(jsonlog.Info, "record", "Recording HTTP exchanges into "+dir, slog.String("dir", dir))
	}
}

// deferred says how many relations --defer reads from the --state run.
func (l *runLog) deferred(n int, dir string) {
	msg := fmt.Sprintf("Deferring %d %s to --state %s", n, english.Plural(n, "relation", "relations"), dir)
	switch {
	case l.a.quiet:
	case l.a.events == nil:
		fmt.Fprintf(l.a.stdout, "%s%s\n", l.stamp, msg)
	default:
		l.a.events.Log(jsonlog.Info, "deferred", msg, slog.Int("relations", n), slog.String("state", dir))
	}
}

// onStart is the engine's OnStart: nothing in text (a line per finished
// node is enough for a terminal), a node_started event in json.
func (l *runLog) onStart() func(*project.Node) {
	if l.a.events == nil || l.a.quiet {
		return nil
	}
	return func(n *project.Node) {
		l.a.events.Log(jsonlog.Info, "node_started", describe(n), l.nodeFields(n)...)
	}
}

// onResult is the engine's OnResult: a progress line per finished node
// (with --quiet only the problems: WARN, ERROR, FAIL, SKIP), or a
// node_finished event.
func (l *runLog) onResult() func(*run.Result, run.Progress) {
	return func(res *run.Result, p run.Progress) {
		ok := res.Status == run.StatusSuccess || res.Status == run.StatusPass
		if ok && l.a.quiet {
			return
		}
		if l.a.events == nil {
			fmt.Fprint(l.a.stdout, formatProgress(time.Now(), res, p))
			return
		}
		level := jsonlog.Info
		switch res.Status {
		case run.StatusWarn, run.StatusSkipped:
			level = jsonlog.Warn
		case run.StatusError, run.StatusFail:
			level = jsonlog.Error
		}
		msg := fmt.Sprintf("%d of %d %s %s [%s]", p.Done, p.Total, statusWords[res.Status], describe(res.Node()), progressDetail(res))
		fields := append(l.nodeFields(res.Node()),
			slog.String("status", string(res.Status)), slog.Float64("duration_s", res.Duration.Seconds()),
			slog.Any("rows", res.RowsAffected), slog.Any("failures", res.Failures), slog.String("message", res.Message),
			slog.Any("notes", nonNil(res.Notes)), slog.Int("done", p.Done), slog.Int("total", p.Total),
			optString("compiled_path", res.CompiledPath), optString("threshold", res.Threshold.String()),
			optString("stored_in", res.StoredIn), optString("kept", res.Kept))
		if s := res.Sample; s != nil && len(s.Rows) > 0 {
			rows := make([][]string, len(s.Rows))
			for i, row := range s.Rows {
				rows[i] = make([]string, len(row))
				for j, v := range row {
					rows[i][j] = cellText(v)
				}
			}
			fields = append(fields, slog.Group("sample", slog.Any("columns", s.Columns), slog.Any("rows", rows)))
		}
		l.a.events.Log(level, "node_finished", msg, fields...)
	}
}

// nodeFields are the fields that name a node in node events.
func (l *runLog) nodeFields(n *project.Node) []slog.Attr {
	rel := ""
	if n.Relation.Name != "" {
		rel = l.p.Dialect.RelationSQL(n.Relation)
	}
	return []slog.Attr{slog.String("unique_id", n.UniqueID), slog.String("resource_type", string(n.Type)),
		slog.String("name", n.Name), optString("relation", rel), optString("path", n.Path)}
}

// finished ends the run: in text, the report of its problems and the
// summary line (res is nil when the run never started); in json, the
// run_finished event with the counts, the time taken and the exit code.
func (l *runLog) finished(res *run.Report, code int) {
	if l.a.events == nil {
		if res != nil {
			l.a.report(res)
		}
		return
	}
	if res == nil {
		res = &run.Report{}
	}
	counts := map[run.Status]int{}
	var kept []string
	for _, r := range res.Results {
		counts[r.Status]++
		if r.Kept != "" {
			kept = append(kept, r.Kept)
		}
	}
	byStatus := make([]any, 0, 6)
	for _, s := range []run.Status{run.StatusSuccess, run.StatusPass, run.StatusWarn, run.StatusError, run.StatusFail, run.StatusSkipped} {
		byStatus = append(byStatus, slog.Int(string(s), counts[s]))
	}
	level := jsonlog.Info
	if code != exitOK {
		level = jsonlog.Error
	}
	l.a.events.Log(level, "run_finished", res.Summary(),
		slog.String("invocation_id", l.a.invocationID), slog.String("command", l.command), slog.Group("counts", byStatus...),
		slog.Int("total", len(res.Results)), slog.Float64("elapsed_s", time.Since(l.start).Seconds()),
		slog.Bool("interrupted", res.Interrupted), slog.Any("not_published", nonNil(kept)), slog.Int("exit_code", code))
}

// exitCode is the code runWith exits with for a command's error.
func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	}
	return exitLoad
}

func optString(key, v string) slog.Attr {
	if v == "" {
		return slog.Any(key, nil)
	}
	return slog.String(key, v)
}

func optInt(key string, v int) slog.Attr {
	if v == 0 {
		return slog.Any(key, nil)
	}
	return slog.Int(key, v)
}
