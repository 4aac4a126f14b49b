package jsonlog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrydev/quarry/internal/jsonlog"
)

var clock = time.Date(2026, 11, 30, 16, 4, 5, 123456789, time.UTC)

func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON object: %q: %v", l, err)
		}
		got = append(got, m)
	}
	return got
}

func TestEnvelopeAndFields(t *testing.T) {
	var b bytes.Buffer
	l := jsonlog.New(&b, func() time.Time { return clock })
	var rows *int64
	l.Log(jsonlog.Warn, "node_finished", `a "quoted" message`, slog.String("status", "warn"), slog.Float64("duration_s", 0.25),
		slog.Any("rows", rows), slog.Any("notes", []string{"one"}), slog.Group("counts", slog.Int("pass", 2)))
	const want = `{"ts":"2026-11-30T16:04:05.123456789Z","level":"warn","msg":"a \"quoted\" message","v":1,"event":"node_finished",` +
		`"status":"warn","duration_s":0.25,"rows":null,"notes":["one"],"counts":{"pass":2}}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

func TestLevels(t *testing.T) {
	var b bytes.Buffer
	l := jsonlog.New(&b, nil)
	l.Log(jsonlog.Info, "a", "")
	l.Log(jsonlog.Warn, "b", "")
	l.Log(jsonlog.Error, "c", "")
	var levels []string
	for _, m := range lines(t, b.String()) {
		levels = append(levels, m["level"].(string))
		if _, err := time.Parse(time.RFC3339Nano, m["ts"].(string)); err != nil {
			t.Errorf("ts: %v", err)
		}
	}
	if got := strings.Join(levels, " "); got != "info warn error" {
		t.Errorf("levels %q, want info warn error", got)
	}
}

// Text written through Writer comes out as whole lines, one event each,
// however it was split when written.
func TestWriterMakesOneEventALine(t *testing.T) {
	var b bytes.Buffer
	l := jsonlog.New(&b, nil)
	w := l.Writer("stderr")
	fmt.Fprint(w, "first li")
	fmt.Fprint(w, "ne\nsecond\r\n\nlast")
	if strings.Count(b.String(), "\n") != 3 {
		t.Fatalf("before Flush: %q, want 3 lines", b.String())
	}
	w.Flush()
	w.Flush() // nothing more
	var got []string
	for _, m := range lines(t, b.String()) {
		if m["event"] != "output" || m["stream"] != "stderr" {
			t.Errorf("event %v stream %v, want output on stderr", m["event"], m["stream"])
		}
		got = append(got, m["msg"].(string))
	}
	if want := []string{"first line", "second", "", "last"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", got, want)
	}
}

// Concurrent events never share a line.
func TestConcurrentEventsStayWhole(t *testing.T) {
	var b bytes.Buffer
	l := jsonlog.New(&b, nil) // unsynchronized: the Logger must serialize writes
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				l.Log(jsonlog.Info, "e", strings.Repeat("x", 100), slog.Int("i", i), slog.Int("j", j))
			}
		})
	}
	wg.Wait()
	if n := len(lines(t, b.String())); n != 400 {
		t.Errorf("%d lines, want 400", n)
	}
}
