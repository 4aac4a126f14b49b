package httprec

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRecordThenReplayWithoutNetwork(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Set-Cookie", "session=s3cr3t")
		w.Header().Set("ETag", `"abc"`)
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, `{"echo":%q}`, string(b))
			return
		}
		fmt.Fprintf(w, `{"path":%q,"quote":"it's \"fine\""}`, r.URL.Path)
	}))
	dir := filepath.Join(t.TempDir(), "rec")
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	s, err := Record(dir, at, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the same request twice: both answers are kept
		req, _ := http.NewRequest("GET", srv.URL+"/repos/a/b?per_page=1&access_token=tok123", nil)
		req.Header.Set("Authorization", "Bearer ghp_supersecret")
		if code, body := get(t, s.Client(), req); code != 200 || !strings.Contains(body, "/repos/a/b") {
			t.Fatalf("recording: %d %s", code, body)
		}
	}
	post, _ := http.NewRequest("POST", srv.URL+"/query", strings.NewReader(`{"q":"select 1"}`))
	get(t, s.Client(), post)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // from here on, the network is gone

	raw, err := os.ReadFile(filepath.Join(dir, cassetteName+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ghp_supersecret", "tok123", "s3cr3t"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("recording contains the secret %q", secret)
		}
	}

	r, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Meta().RecordedAt.Equal(at) || !r.Replaying() {
		t.Errorf("replayed clock %v (replaying=%v), want %v", r.Meta().RecordedAt, r.Replaying(), at)
	}
	// The replay has no token, so the request differs in its credentials only.
	req2, _ := http.NewRequest("GET", srv.URL+"/repos/a/b?per_page=1", nil)
	for range 2 { // served as many times as it was recorded
		code, body := get(t, r.Client(), req2)
		if code != 200 || body != `{"path":"/repos/a/b","quote":"it's \"fine\""}` {
			t.Fatalf("replayed %d %q", code, body)
		}
	}
	if _, err := r.Client().Do(req2); err == nil {
		t.Error("a request was answered more often than it was recorded")
	}
	post2, _ := http.NewRequest("POST", srv.URL+"/query", strings.NewReader(`{"q":"select 1"}`))
	if _, body := get(t, r.Client(), post2); body != `{"echo":"{\"q\":\"select 1\"}"}` {
		t.Errorf("replayed POST %q", body)
	}
	other, _ := http.NewRequest("GET", srv.URL+"/repos/other", nil)
	if _, err := r.Client().Do(other); err == nil {
		t.Error("an unrecorded request was answered")
	}
	wrongBody, _ := http.NewRequest("POST", srv.URL+"/query", strings.NewReader(`{"q":"select 2"}`))
	if _, err := r.Client().Do(wrongBody); err == nil {
		t.Error("a POST with another body was answered")
	}
	if calls != 3 {
		t.Errorf("server saw %d calls, want 3 (replay must not reach it)", calls)
	}
}

func TestRecordRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, cassetteName+".yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Record(dir, time.Now(), nil); err == nil || !strings.Contains(err.Error(), "already holds a recording") {
		t.Errorf("Record over an existing recording: %v", err)
	}
	if _, err := Replay(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--record") {
		t.Errorf("Replay of an empty dir: %v", err)
	}
}

// A recording keeps the endpoint variables it was made with; a replay
// returns them, and a recording without them (older) returns none.
func TestEndpointsKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rec")
	s, err := Record(dir, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC), nil)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"GITHUB_API_URL": "http://127.0.0.1:8080/api"}
	s.SetEndpoints(vars)
	vars["GITHUB_API_URL"] = "changed after" // SetEndpoints keeps its own copy
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Replay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Meta().Endpoints; len(got) != 1 || got["GITHUB_API_URL"] != "http://127.0.0.1:8080/api" {
		t.Errorf("replayed endpoints %v", got)
	}

	old := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(old, MetaFile), []byte("recorded_at: 2026-11-24T06:00:00Z\nsample: true\n"), 0o644))
	must(os.WriteFile(filepath.Join(old, cassetteName+".yaml"), []byte("---\nversion: 2\ninteractions: []\n"), 0o644))
	r, err = Replay(old)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Meta().Endpoints; got != nil {
		t.Errorf("a recording without endpoints replays with %v", got)
	}
}
