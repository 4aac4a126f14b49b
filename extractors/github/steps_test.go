package github

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/quarrydev/quarry/extractors"
)

func TestRedactor(t *testing.T) {
	token := "ghp_0123456789abcdef"
	if got := redactor(token)("401 for " + token + " at " + token); got != "401 for [REDACTED] at [REDACTED]" {
		t.Errorf("redactor(token) = %q", got)
	}
	// A token too short to be one is left alone: blanking a few common
	// characters would garble every message.
	if got := redactor("abc")("abc def"); got != "abc def" {
		t.Errorf("redactor(short) = %q, want the message unchanged", got)
	}
}

func TestRequestTimeout(t *testing.T) {
	for _, tc := range []struct {
		setting, client, want time.Duration
	}{
		{0, 0, defaultRequestTimeout},
		{0, 7 * time.Second, 7 * time.Second},
		{3 * time.Second, 7 * time.Second, 3 * time.Second},
	} {
		got := requestTimeout(settings{requestTimeout: tc.setting}, &http.Client{Timeout: tc.client})
		if got != tc.want {
			t.Errorf("requestTimeout(setting %s, client %s) = %s, want %s", tc.setting, tc.client, got, tc.want)
		}
	}
}

// A replay neither reads nor writes the ETag cache, even with a cache
// directory.
func TestETagDir(t *testing.T) {
	dir := t.TempDir()
	var logs []string
	logf := func(format string, args ...any) { logs = append(logs, format) }
	if got := etagDir(extractors.Env{CacheDir: dir, Replaying: true}, logf); got != "" {
		t.Errorf("replay: etagDir = %q, want none", got)
	}
	if got := etagDir(extractors.Env{}, logf); got != "" || len(logs) != 1 {
		t.Errorf("no cache directory: etagDir = %q with %d log lines, want none with 1", got, len(logs))
	}
	if got := etagDir(extractors.Env{CacheDir: dir}, logf); got != filepath.Join(dir, "etags") {
		t.Errorf("etagDir = %q, want %s/etags", got, dir)
	}
}

func TestRunClock(t *testing.T) {
	start := time.Date(2024, 3, 10, 12, 0, 0, 0, time.FixedZone("x", 3600))
	got := runClock(start)()
	if got.Before(start) || got.Sub(start) > time.Minute || got.Location() != time.UTC {
		t.Errorf("runClock(%s)() = %s, want the recorded clock moving on, in UTC", start, got)
	}
}
