package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/internal/panics"
)

// A panic is a bug: run reports it as an internal error with the first
// frame of quarry's code (not a Go stack trace) and exits 3. The panics are
// injected through a command only tests can add.
func TestPanicIsAnInternalError(t *testing.T) {
	for _, tt := range []struct {
		name, value string
		boom        func()
	}{
		{"runtime", "assignment to entry in nil map", func() {
			var m map[string]int
			m["x"] = 1
		}},
		// Raised on another goroutine and handed on, as the engine's
		// workers do: the frame reported is where it first happened.
		{"goroutine", "runtime error: index out of range [3] with length 0", func() {
			done := make(chan *panics.Error)
			go func() {
				defer panics.Capture(func(e *panics.Error) { done <- e })
				var s []int
				_ = s[3]
				done <- nil
			}()
			if e := <-done; e != nil {
				panic(e)
			}
		}},
		// Raised inside a library: the frame reported is quarry's call.
		{"library", "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`", func() {
			regexp.MustCompile("(")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			cmd := &cobra.Command{Use: "boom", Run: func(*cobra.Command, []string) { tt.boom() }}
			code := runWith([]string{"boom"}, &out, &errb, cmd)
			if code != exitInternal {
				t.Errorf("exit %d, want %d", code, exitInternal)
			}
			got := errb.String()
			want := "internal error (a bug in quarry, please report it): " + tt.value + "\n"
			if !strings.HasPrefix(got, want) {
				t.Errorf("stderr:\n%s\nwant it to start with:\n%s", got, want)
			}
			frame := regexp.MustCompile(`(?m)^  at .*/cmd/quarry/root_test\.go:\d+ \((main|github\.com/quarrydev/quarry/cmd/quarry)\.TestPanicIsAnInternalError\.func\d+(\.\d+)?\)$`)
			if !frame.MatchString(got) {
				t.Errorf("stderr does not name the panicking frame in root_test.go:\n%s", got)
			}
			if strings.Contains(got, "goroutine ") || out.Len() > 0 {
				t.Errorf("a stack trace or stdout output:\nstdout: %s\nstderr: %s", out.String(), got)
			}
		})
	}
}

func TestExpandSelectArgs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"build --select a b c", "build --select a --select b --select c"},
		{"build -s a b --exclude c d --threads 2", "build -s a -s b --exclude c --exclude d --threads 2"},
		{"ls --select=a b -o id", "ls --select=a --select b -o id"},
		{"ls -sa b", "ls -sa -s b"},
		{"ls --select a --output name b", "ls --select a --output name b"},
		{"build --target prod --select +a b+", "build --target prod --select +a --select b+"},
		{"build --select a -- b", "build --select a -- b"},
		{"build --select", "build --select"},
	} {
		got := strings.Join(expandSelectArgs(strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("expandSelectArgs(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
