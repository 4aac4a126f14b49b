package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// events parses out as --log-format json output: a JSON object a line.
func events(t *testing.T, out string) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", l)
		}
		got = append(got, m)
	}
	return got
}

// The format comes from --log-format, then QUARRY_LOG_FORMAT; in json a
// command's error, cobra's own and a panic are error events on stdout,
// and nothing is written to stderr.
func TestLogFormatOfErrors(t *testing.T) {
	for _, tt := range []struct {
		name, env string
		args      []string
		code      int
		event     string // "" for text
		msg       string
	}{
		{"text", "", []string{"fail"}, exitFailed, "", "it broke\n"},
		{"flag", "", []string{"--log-format", "json", "fail"}, exitFailed, "error", "it broke"},
		{"env", "json", []string{"fail"}, exitFailed, "error", "it broke"},
		{"flag wins", "json", []string{"fail", "--log-format=text"}, exitFailed, "", "it broke\n"},
		{"bad flag", "", []string{"--log-format", "json", "fail", "--bogus"}, exitLoad, "error", "unknown flag: --bogus (run 'quarry --help' for usage)"},
		{"panic", "", []string{"boom", "--log-format", "json"}, exitInternal, "internal_error", "internal error (a bug in quarry, please report it): kaboom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("QUARRY_LOG_FORMAT", tt.env)
			// New commands each time: cobra keeps the flags of the first
			// root a command was added to.
			fail := &cobra.Command{Use: "fail", RunE: func(*cobra.Command, []string) error {
				return &exitError{code: exitFailed, err: errors.New("it broke")}
			}}
			boom := &cobra.Command{Use: "boom", Run: func(*cobra.Command, []string) { panic("kaboom") }}
			var out, errb bytes.Buffer
			if code := runWith(tt.args, &out, &errb, fail, boom); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if tt.event == "" {
				if errb.String() != tt.msg || out.Len() > 0 {
					t.Errorf("stdout %q, stderr %q; want stderr %q", out.String(), errb.String(), tt.msg)
				}
				return
			}
			if errb.Len() > 0 {
				t.Errorf("stderr in json: %q", errb.String())
			}
			evs := events(t, out.String())
			if len(evs) != 1 || evs[0]["event"] != tt.event || evs[0]["level"] != "error" || evs[0]["msg"] != tt.msg {
				t.Errorf("events %v, want one %s event at level error saying %q", evs, tt.event, tt.msg)
			}
			if tt.event == "internal_error" && !strings.HasSuffix(evs[0]["file"].(string), "cmd/quarry/logs_test.go") {
				t.Errorf("internal_error names %v, want the panicking frame in logs_test.go", evs[0]["file"])
			}
		})
	}
}
