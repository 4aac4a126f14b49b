// Package jsonlog writes quarry's machine-readable log (--log-format json):
// one JSON object a line, each with the same envelope (v, ts, level,
// event, msg) followed by the fields of its event. docs/logs.md documents
// the events; this package owns only the encoding, so that every event is
// framed alike and a line is never interleaved with another.
package jsonlog

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Version is the schema version every line carries as "v". It changes
// when a field is removed or changes meaning; new events and new fields
// do not change it.
const Version = 1

// Levels of an event: what a consumer filters on.
const (
	Info  = slog.LevelInfo
	Warn  = slog.LevelWarn
	Error = slog.LevelError
)

// Logger writes events. It is safe for concurrent use: each event is one
// write of one whole line.
type Logger struct {
	h   slog.Handler
	now func() time.Time
}

// New returns a Logger writing to w, stamping events with now (time.Now
// when nil).
func New(w io.Writer, now func() time.Time) *Logger {
	if now == nil {
		now = time.Now
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: envelope})
	return &Logger{h: h.WithAttrs([]slog.Attr{slog.Int("v", Version)}), now: now}
}

// envelope renames slog's built-in keys to the schema's: ts in
// RFC 3339 with nanoseconds, and the level in lower case.
func envelope(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		return slog.String("ts", a.Value.Time().Format(time.RFC3339Nano))
	case slog.LevelKey:
		return slog.String("level", strings.ToLower(a.Value.Any().(slog.Level).String()))
	}
	return a
}

// Log writes one event: its name, its human text and its fields. An
// attribute must not use an envelope key (v, ts, level, event, msg).
func (l *Logger) Log(level slog.Level, event, msg string, fields ...slog.Attr) {
	r := slog.NewRecord(l.now(), level, msg, 0)
	r.AddAttrs(slog.String("event", event))
	r.AddAttrs(fields...)
	// A JSONHandler's only error is its writer's; a log has nowhere
	// better to report that than the writer that failed.
	_ = l.h.Handle(context.Background(), r)
}

// Writer returns a writer that turns each line written to it into an
// "output" event naming stream: text that a command prints with no event
// of its own (a listing, compiled SQL) stays whole and JSON. Call Flush
// when done to emit a last line without a newline.
func (l *Logger) Writer(stream string) *LineWriter {
	return &LineWriter{l: l, stream: stream}
}

// LineWriter is the io.Writer of Logger.Writer.
type LineWriter struct {
	l      *Logger
	stream string

	mu      sync.Mutex
	pending []byte
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.emit(string(w.pending[:i]))
		w.pending = w.pending[i+1:]
	}
	return len(p), nil
}

// Flush emits what was written after the last newline, if anything.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.emit(string(w.pending))
		w.pending = nil
	}
}

func (w *LineWriter) emit(line string) {
	w.l.Log(Info, "output", strings.TrimSuffix(line, "\r"), slog.String("stream", w.stream))
}
