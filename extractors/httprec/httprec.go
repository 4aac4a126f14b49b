// Package httprec records the HTTP exchanges of an extraction run and
// serves them back later with no network, so that `quarry build --replay
// DIR` reproduces a recorded run, clock included. It wraps go-vcr; what it
// adds is redaction (no credential ever reaches a recording), request
// matching that ignores credentials, and the run's metadata (when it was
// recorded, and whether the responses are invented samples).
package httprec

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"
	"gopkg.in/yaml.v3"
)

// cassetteName is the recording's file inside DIR (go-vcr adds .yaml).
const cassetteName = "exchanges"

// MetaFile describes a recording.
const MetaFile = "recording.yaml"

// Meta is what a recording says about itself.
type Meta struct {
	// RecordedAt is the recorded run's clock; a replay runs at this time.
	RecordedAt time.Time `yaml:"recorded_at"`
	// Sample marks responses that were made up for offline runs rather than
	// captured from the real services: their numbers are not measurements.
	Sample bool `yaml:"sample"`
	// Note says where the responses come from.
	Note string `yaml:"note,omitempty"`
	// Endpoints are the environment variables that chose the extractors'
	// API addresses when recording (GITHUB_API_URL, PYPISTATS_API_URL, ...),
	// the set ones only. A replay points the extractors at them whatever
	// its own environment says; absent ones (and a recording made before
	// this field existed) mean the defaults.
	Endpoints map[string]string `yaml:"endpoints,omitempty"`
}

// Session is a recording or a replay in progress.
type Session struct {
	rec    *recorder.Recorder
	dir    string
	meta   Meta
	replay bool
}

// secretHeaders never reach a recording.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Goog-Api-Key", "X-Api-Key"}

// secretParams are query parameters that carry credentials in some APIs.
var secretParams = []string{"access_token", "token", "key", "api_key", "client_secret"}

// Record starts recording every exchange made through Client into dir,
// sending the requests with base (nil: http.DefaultTransport).
func Record(dir string, now time.Time, base http.RoundTripper) (*Session, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("record into %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, cassetteName+".yaml")); err == nil {
		return nil, fmt.Errorf("record into %s: it already holds a recording; choose an empty directory", dir)
	}
	rec, err := recorder.New(filepath.Join(dir, cassetteName),
		recorder.WithMode(recorder.ModeRecordOnly),
		recorder.WithRealTransport(base),
		recorder.WithSkipRequestLatency(true),
		recorder.WithHook(redact, recorder.AfterCaptureHook),
	)
	if err != nil {
		return nil, fmt.Errorf("record into %s: %w", dir, err)
	}
	s := &Session{rec: rec, dir: dir, meta: Meta{RecordedAt: now.UTC(), Note: "recorded from the live services"}}
	return s, nil
}

// Replay serves the exchanges recorded in dir. A request that was not
// recorded fails with an error naming it; nothing goes to the network.
func Replay(dir string) (*Session, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w (is it a directory written by --record?)", dir, err)
	}
	var meta Meta
	if err := yaml.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("replay %s: %s: %w", dir, MetaFile, err)
	}
	if meta.RecordedAt.IsZero() {
		return nil, fmt.Errorf("replay %s: %s has no recorded_at", dir, MetaFile)
	}
	if _, err := os.Stat(filepath.Join(dir, cassetteName+".yaml")); err != nil {
		return nil, fmt.Errorf("replay %s: %w", dir, err)
	}
	rec, err := recorder.New(filepath.Join(dir, cassetteName),
		recorder.WithMode(recorder.ModeReplayOnly),
		recorder.WithMatcher(match),
		recorder.WithSkipRequestLatency(true),
		// Each recorded answer is served once, in order: a request made
		// several times (a BigQuery job polled until done, a GitHub stats
		// endpoint answering 202 then 200) gets the answers it got then.
		recorder.WithReplayableInteractions(false),
	)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", dir, err)
	}
	return &Session{rec: rec, dir: dir, meta: meta, replay: true}, nil
}

// MarkSample labels a recording as invented sample answers (set before
// Close): replays of it mark every landed row as sample data.
func (s *Session) MarkSample(note string) {
	s.meta.Sample = true
	s.meta.Note = note
}

// SetEndpoints keeps the endpoint variables the recording is made with
// (set before Close); see Meta.Endpoints.
func (s *Session) SetEndpoints(vars map[string]string) {
	if len(vars) == 0 {
		s.meta.Endpoints = nil
		return
	}
	s.meta.Endpoints = maps.Clone(vars)
}

// Client is the HTTP client extractors must use during the session.
func (s *Session) Client() *http.Client {
	return &http.Client{Transport: s.rec, Timeout: 2 * time.Minute}
}

// Meta describes the recording (for a replay, as recorded).
func (s *Session) Meta() Meta { return s.meta }

// Replaying reports whether the session serves recorded exchanges.
func (s *Session) Replaying() bool { return s.replay }

// Close ends the session; a recording is written to disk with its metadata.
func (s *Session) Close() error {
	if err := s.rec.Stop(); err != nil {
		return fmt.Errorf("save recording in %s: %w", s.dir, err)
	}
	if s.replay {
		return nil
	}
	b, err := yaml.Marshal(s.meta)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, MetaFile), b, 0o644); err != nil {
		return fmt.Errorf("save recording in %s: %w", s.dir, err)
	}
	return nil
}

// redact removes credentials from an interaction before it is kept.
func redact(i *cassette.Interaction) error {
	for _, h := range secretHeaders {
		i.Request.Headers.Del(h)
		i.Response.Headers.Del(h)
	}
	u, err := url.Parse(i.Request.URL)
	if err != nil {
		return err
	}
	i.Request.URL = stripSecrets(u).String()
	for _, p := range secretParams {
		i.Request.Form.Del(p)
	}
	return nil
}

func stripSecrets(u *url.URL) *url.URL {
	q := u.Query()
	changed := false
	for _, p := range secretParams {
		if q.Has(p) {
			q.Del(p)
			changed = true
		}
	}
	if changed {
		c := *u
		c.RawQuery = q.Encode()
		return &c
	}
	return u
}

// match pairs a request with a recorded one by method, URL (credentials
// ignored) and body, whatever the headers: a replay has no token, and
// conditional-request headers depend on local caches.
func match(r *http.Request, i cassette.Request) bool {
	if r.Method != i.Method {
		return false
	}
	recorded, err := url.Parse(i.URL)
	if err != nil {
		return false
	}
	if !sameURL(stripSecrets(r.URL), recorded) {
		return false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return i.Body == ""
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return sameBody(string(body), i.Body)
}

func sameURL(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host) && a.Path == b.Path && a.Query().Encode() == b.Query().Encode()
}

// sameBody compares request bodies; clients that generate ids per request
// (BigQuery's job ids) are handled by their extractor, not here.
func sameBody(a, b string) bool { return strings.TrimSpace(a) == strings.TrimSpace(b) }
