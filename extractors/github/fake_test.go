package github

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrydev/quarry/extractors"
)

// A fake GitHub REST API speaking the real wire format: bodies derived
// from the octokit fixtures in testdata/ (see testdata/README.md), GitHub's
// recorded response headers, Link pagination, X-RateLimit-* and ETags with
// If-None-Match -> 304.

// exchange is one recorded request and response of the octokit fixtures.
type exchange struct {
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Status     int             `json:"status"`
	Response   json.RawMessage `json:"response"`
	RawHeaders []string        `json:"rawHeaders"`
}

var fixtures struct {
	once    sync.Once
	repo    map[string]any // GET /repos/{owner}/{repo}
	release map[string]any // GET of one release
	issue   map[string]any // one element of a list page
	user    map[string]any // the repository's owner object
	headers http.Header    // GitHub's response headers, minus per-response ones
	links   []string       // Link headers of the recorded first and last pages
}

func loadFixtures(t testing.TB) {
	t.Helper()
	fixtures.once.Do(func() {
		read := func(name string) []exchange {
			b, err := os.ReadFile("testdata/" + name)
			if err != nil {
				panic(err)
			}
			var xs []exchange
			if err := json.Unmarshal(b, &xs); err != nil {
				panic(fmt.Sprintf("%s: %v", name, err))
			}
			return xs
		}
		repoX := read("get-repository.json")[0]
		must(json.Unmarshal(repoX.Response, &fixtures.repo))
		must(json.Unmarshal(read("release-assets.json")[0].Response, &fixtures.release))
		pages := read("paginate-issues.json")
		var issues []map[string]any
		must(json.Unmarshal(pages[0].Response, &issues))
		fixtures.issue = issues[0]
		fixtures.user = fixtures.repo["owner"].(map[string]any)
		fixtures.headers = http.Header{}
		skip := map[string]bool{"Content-Length": true, "Date": true, "Etag": true, "Last-Modified": true, "Connection": true}
		for i := 0; i+1 < len(repoX.RawHeaders); i += 2 {
			k := http.CanonicalHeaderKey(repoX.RawHeaders[i])
			if skip[k] || strings.HasPrefix(k, "X-Ratelimit-") {
				continue
			}
			fixtures.headers.Add(k, repoX.RawHeaders[i+1])
		}
		for _, p := range pages {
			for i := 0; i+1 < len(p.RawHeaders); i += 2 {
				if strings.EqualFold(p.RawHeaders[i], "Link") {
					fixtures.links = append(fixtures.links, p.RawHeaders[i+1])
				}
			}
		}
	})
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// clone deep-copies a decoded JSON object.
func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	must(json.Unmarshal(b, &out))
	return out
}

type fakeRepo struct {
	repo         map[string]any // the repository object
	pulls        int            // open pull requests
	contributors int
	release      map[string]any // nil: no release (404)
	weeks        []map[string]any
}

// newFakeRepo is the fixture repository renamed, with overrides.
func newFakeRepo(full string, id int64, overrides map[string]any) *fakeRepo {
	owner, name, _ := strings.Cut(full, "/")
	r := clone(fixtures.repo)
	r["id"] = id
	r["name"] = name
	r["full_name"] = full
	r["owner"].(map[string]any)["login"] = owner
	maps.Copy(r, overrides)
	return &fakeRepo{repo: r, weeks: weeks(time.Date(2024, 6, 9, 0, 0, 0, 0, time.UTC), func(int) int { return 0 })}
}

// weeks is 52 weeks of commit activity, the newest starting on last.
func weeks(last time.Time, total func(i int) int) []map[string]any {
	out := make([]map[string]any, 52)
	for i := range out {
		n := total(i)
		out[i] = map[string]any{
			"days":  []int{0, n, 0, 0, 0, 0, 0},
			"total": n,
			"week":  last.AddDate(0, 0, -7*(51-i)).Unix(),
		}
	}
	return out
}

func release(tag, published string) map[string]any {
	r := clone(fixtures.release)
	r["tag_name"] = tag
	r["name"] = "Version " + tag
	r["published_at"] = published
	return r
}

type fakeGitHub struct {
	t      testing.TB
	srv    *httptest.Server
	prefix string // path prefix of the API, e.g. /api/v3

	mu          sync.Mutex
	repos       map[string]*fakeRepo
	hits        map[string]int // by path, query excluded
	repoHits    map[string]int // by owner/name
	total       int
	notModified int
	auth        []string               // Authorization headers seen
	queries     map[string][]string    // raw queries by path
	inflight    int                    // requests being served
	maxInflight int                    // most at once
	remaining   int                    // X-RateLimit-Remaining
	resetAt     time.Time              // X-RateLimit-Reset, fixed like GitHub's hourly window
	delay       time.Duration          // added to every answer
	ifNoneMatch map[string]int         // If-None-Match headers seen, by path
	lastHeaders map[string]http.Header // request headers, by path

	// handle, when set, may answer a request itself (returning true); n
	// counts the requests to this path so far, this one included.
	handle func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newFake(t testing.TB, repos ...*fakeRepo) *fakeGitHub {
	t.Helper()
	loadFixtures(t)
	f := &fakeGitHub{
		t: t, repos: map[string]*fakeRepo{}, hits: map[string]int{}, repoHits: map[string]int{},
		queries: map[string][]string{}, remaining: 5000, resetAt: time.Now().Add(time.Hour), ifNoneMatch: map[string]int{}, lastHeaders: map[string]http.Header{},
	}
	for _, r := range repos {
		f.repos[r.repo["full_name"].(string)] = r
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, f.prefix)
	f.mu.Lock()
	f.total++
	f.hits[path]++
	n := f.hits[path]
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.queries[path] = append(f.queries[path], r.URL.RawQuery)
	f.lastHeaders[path] = r.Header.Clone()
	if r.Header.Get("If-None-Match") != "" {
		f.ifNoneMatch[path]++
	}
	parts := strings.SplitN(strings.TrimPrefix(path, "/repos/"), "/", 3)
	full := ""
	if len(parts) >= 2 {
		full = parts[0] + "/" + parts[1]
		f.repoHits[full]++
	}
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	handle, delay := f.handle, f.delay
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if delay > 0 {
		time.Sleep(delay)
	}
	if handle != nil && handle(w, r, n) {
		return
	}
	if !strings.HasPrefix(path, "/repos/") || len(parts) < 2 {
		f.error(w, r, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	f.mu.Lock()
	repo := f.repos[full]
	f.mu.Unlock()
	if repo == nil {
		f.error(w, r, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository")
		return
	}
	rest := ""
	if len(parts) == 3 {
		rest = parts[2]
	}
	id, _ := strconv.ParseInt(fmt.Sprint(repo.repo["id"]), 10, 64)
	switch rest {
	case "":
		f.json(w, r, http.StatusOK, repo.repo, nil)
	case "pulls":
		f.list(w, r, id, "pulls", "state=open&per_page=1", repo.pulls, fixtures.issue)
	case "contributors":
		u := clone(fixtures.user)
		u["contributions"] = 42
		f.list(w, r, id, "contributors", "per_page=1&anon=true", repo.contributors, u)
	case "releases/latest":
		if repo.release == nil {
			f.error(w, r, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#get-the-latest-release")
			return
		}
		f.json(w, r, http.StatusOK, repo.release, nil)
	case "stats/commit_activity":
		f.json(w, r, http.StatusOK, repo.weeks, nil)
	default:
		f.error(w, r, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

// list answers one page of per_page=1 with GitHub's Link header: rel=next
// and rel=last while there are more pages, none when all fit on one.
func (f *fakeGitHub) list(w http.ResponseWriter, r *http.Request, id int64, what, query string, count int, item map[string]any) {
	items := []map[string]any{}
	if count > 0 {
		items = append(items, item)
	}
	h := http.Header{}
	if count > 1 {
		base := fmt.Sprintf("%s%s/repositories/%d/%s?%s", f.srv.URL, f.prefix, id, what, query)
		h.Set("Link", fmt.Sprintf(`<%s&page=2>; rel="next", <%s&page=%d>; rel="last"`, base, base, count))
	}
	f.json(w, r, http.StatusOK, items, h)
}

// json writes body as GitHub does, with an ETag; a request whose
// If-None-Match matches gets 304 Not Modified and no body.
func (f *fakeGitHub) json(w http.ResponseWriter, r *http.Request, status int, body any, extra http.Header) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	must(enc.Encode(body))
	sum := sha256.Sum256(buf.Bytes())
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	h := w.Header()
	for k, v := range fixtures.headers {
		h[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		h[k] = v
	}
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("ETag", etag)
	notModified := status == http.StatusOK && r.Header.Get("If-None-Match") == etag
	f.rateHeaders(h, !notModified || r.Header.Get("Authorization") == "")
	if notModified {
		// GitHub's 304 repeats the ETag and the rate-limit headers only.
		h.Del("Link")
		h.Del("Content-Type")
		f.mu.Lock()
		f.notModified++
		f.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// rateHeaders sets X-RateLimit-*; an authenticated 304 costs nothing.
func (f *fakeGitHub) rateHeaders(h http.Header, charge bool) {
	f.mu.Lock()
	if charge && f.remaining > 0 {
		f.remaining--
	}
	rem, reset := f.remaining, f.resetAt
	f.mu.Unlock()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(5000-rem))
	h.Set("X-RateLimit-Resource", "core")
}

func (f *fakeGitHub) error(w http.ResponseWriter, r *http.Request, status int, message, doc string) {
	f.json(w, r, status, map[string]any{"message": message, "documentation_url": doc, "status": strconv.Itoa(status)}, nil)
}

// The accessors below read what the server saw; its handlers may still be
// winding down when Extract returns.

func (f *fakeGitHub) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeGitHub) totalRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

func (f *fakeGitHub) repoCount(full string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repoHits[full]
}

func (f *fakeGitHub) notModifiedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notModified
}

func (f *fakeGitHub) conditional(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ifNoneMatch[path]
}

func (f *fakeGitHub) conditionalTotal() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.ifNoneMatch {
		n += c
	}
	return n
}

func (f *fakeGitHub) authHeaders() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *fakeGitHub) queriesFor(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries[path]...)
}

func (f *fakeGitHub) headersFor(path string) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastHeaders[path].Clone()
}

func (f *fakeGitHub) maxInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight
}

// logs captures Logf output.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// testNow is a Wednesday: the week that started on Sunday 2024-06-09 is
// still in progress.
var testNow = time.Date(2024, 6, 12, 15, 4, 5, 0, time.UTC)

type envOpt func(*extractors.Env, map[string]string)

func withToken(tok string) envOpt {
	return func(_ *extractors.Env, vars map[string]string) { vars["GITHUB_TOKEN"] = tok }
}

func withSetting(k string, v any) envOpt {
	return func(e *extractors.Env, _ map[string]string) { e.Settings[k] = v }
}

func withCacheDir(dir string) envOpt {
	return func(e *extractors.Env, _ map[string]string) { e.CacheDir = dir }
}

func withNow(now time.Time) envOpt {
	return func(e *extractors.Env, _ map[string]string) { e.Now = now }
}

func withVar(k, v string) envOpt {
	return func(_ *extractors.Env, vars map[string]string) { vars[k] = v }
}

func (f *fakeGitHub) env(t testing.TB, l *logs, opts ...envOpt) extractors.Env {
	vars := map[string]string{"GITHUB_API_URL": f.srv.URL + f.prefix}
	hc := *f.srv.Client()
	env := extractors.Env{
		LoadID:   "test-load",
		Now:      testNow,
		HTTP:     &hc,
		Settings: map[string]any{},
		CacheDir: t.TempDir(),
		Logf:     l.logf,
	}
	for _, o := range opts {
		o(&env, vars)
	}
	env.Getenv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	return env
}

// testExtractor is New with retry schedules shortened for tests.
func testExtractor() *Extractor {
	e := New()
	e.retryInitial = time.Millisecond
	e.statsInitial = time.Millisecond
	e.resetSlack = 0
	return e
}

func items(pairs ...string) []extractors.Item {
	var out []extractors.Item
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, extractors.Item{Key: pairs[i+1], Fields: map[string]string{"technology_id": pairs[i], "repo_full_name": pairs[i+1]}})
	}
	return out
}
