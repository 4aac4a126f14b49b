// Package github is quarry's GitHub extractor: for every row of the
// github_repositories seed (technology_id, repo_full_name) it reads the
// repository's metrics from the GitHub REST API and returns one row of the
// github_repositories landing table.
//
// A cold run costs at most five requests per repository (repository, open
// pull requests, contributors, latest release, commit activity). More can
// only come from trouble, each bounded: GitHub's 202 answers for statistics
// it is still computing (up to 4 more), retries of 5xx and timeouts (up to 3
// more per request), and re-sends after a secondary rate limit. A
// repository that fails its first request costs no more. Unchanged
// resources cost a 304 on later runs (see etagcache.go). Every request goes
// through Env.HTTP's transport, so --record and --replay runs see all of
// them.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	gh "github.com/google/go-github/v62/github"
	"golang.org/x/sync/errgroup"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

const (
	// ExtractorName is the extractor's name under extractors: in project.yaml.
	ExtractorName = "github"
	// TableName is the landing table the extractor writes.
	TableName = "github_repositories"
	// Source is written to the _source column of every landed row.
	Source = "github-rest"

	keyColumn      = "repo_full_name"
	defaultBaseURL = "https://api.github.com/"
	userAgent      = "quarry-github-extractor (+https://github.com/quarrydev/quarry)"

	defaultConcurrency    = 4
	defaultMaxWait        = 15 * time.Minute
	defaultRequestTimeout = 30 * time.Second
)

// columns is the landing table's layout; row() fills every one of them.
var columns = []warehouse.Column{
	{Name: "technology_id", Type: "varchar"},
	{Name: "repo_full_name", Type: "varchar"},
	{Name: "github_id", Type: "bigint"},
	{Name: "stars", Type: "bigint"},
	{Name: "forks", Type: "bigint"},
	{Name: "watchers", Type: "bigint"},
	{Name: "open_issues_and_prs", Type: "bigint"},
	{Name: "open_pull_requests", Type: "bigint"},
	{Name: "contributors", Type: "bigint"},
	{Name: "latest_release_tag", Type: "varchar"},
	{Name: "latest_release_published_at", Type: "timestamp"},
	{Name: "commits_last_4_weeks", Type: "bigint"},
	{Name: "commits_last_52_weeks", Type: "bigint"},
	{Name: "created_at", Type: "timestamp"},
	{Name: "pushed_at", Type: "timestamp"},
	{Name: "default_branch", Type: "varchar"},
	{Name: "language", Type: "varchar"},
	{Name: "license", Type: "varchar"},
	{Name: "topics", Type: "varchar"},
	{Name: "archived", Type: "boolean"},
	{Name: "size_kb", Type: "bigint"},
	{Name: "description", Type: "varchar"},
}

// Extractor reads repository metrics from the GitHub REST API. The zero
// value is usable; New returns one with the production defaults.
type Extractor struct {
	// Retry schedules. Tests shorten them; zero means the default.
	httpTries    int           // attempts per request on 5xx and timeouts
	retryInitial time.Duration // first wait between those attempts
	statsTries   int           // attempts at commit activity while GitHub answers 202
	statsInitial time.Duration // first wait after a 202
	// resetSlack is added to a primary rate limit's reset time before the
	// next request, for clock skew between GitHub and this machine.
	resetSlack time.Duration
}

var (
	_ extractors.Extractor    = (*Extractor)(nil)
	_ extractors.Configurable = (*Extractor)(nil)
	_ extractors.Endpointed   = (*Extractor)(nil)
)

// New returns the GitHub extractor; it is an extractors.Factory's body:
//
//	registry["github"] = func() extractors.Extractor { return github.New() }
func New() *Extractor {
	return &Extractor{
		httpTries:    4,
		retryInitial: 500 * time.Millisecond,
		statsTries:   5,
		statsInitial: time.Second,
		resetSlack:   time.Second,
	}
}

// Name implements extractors.Extractor.
func (e *Extractor) Name() string { return ExtractorName }

// KeyColumn implements extractors.Extractor: items are named by their
// owner/name.
func (e *Extractor) KeyColumn() string { return keyColumn }

// Tables implements extractors.Extractor.
func (e *Extractor) Tables() []extractors.Table {
	// A repository's snapshot mostly repeats the previous one: change-only
	// landing is on unless project.yaml turns it off.
	return []extractors.Table{{Name: TableName, Columns: slices.Clone(columns), Key: "repo_full_name", ChangeOnly: true}}
}

// settings are the extractor's keys under extractors.github in project.yaml.
type settings struct {
	concurrency    int
	maxWait        time.Duration
	requestTimeout time.Duration // 0: not set
}

var knownSettings = []string{"concurrency", "max_rate_limit_wait", "request_timeout"}

// Settings implements extractors.Configurable: the engine checks
// extractors.github in project.yaml against them when the project loads.
func (e *Extractor) Settings() []extractors.Setting {
	out := make([]extractors.Setting, len(knownSettings))
	for i, k := range knownSettings {
		out[i] = extractors.Setting{Name: k, Check: func(v any, getenv func(string) (string, bool)) error {
			_, _, err := parseSettings(map[string]any{k: v}, getenv)
			return err
		}}
	}
	return out
}

// EndpointVars implements extractors.Endpointed.
func (e *Extractor) EndpointVars() []string { return []string{"GITHUB_API_URL"} }

func parseSettings(raw map[string]any, getenv func(string) (string, bool)) (settings, []string, error) {
	s := settings{concurrency: defaultConcurrency, maxWait: defaultMaxWait}
	var unknown []string
	expand := func(v string) string {
		return os.Expand(v, func(name string) string { val, _ := getenv(name); return val })
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		switch k {
		case "concurrency":
			n, ok := asInt(v, expand)
			if !ok || n < 1 {
				return s, nil, fmt.Errorf("extractors.%s.concurrency must be a whole number of at least 1, got %v", ExtractorName, v)
			}
			s.concurrency = n
		case "max_rate_limit_wait", "request_timeout":
			d, ok := asDuration(v, expand)
			if !ok || d < 0 || (k == "request_timeout" && d == 0) {
				return s, nil, fmt.Errorf("extractors.%s.%s must be a duration such as 15m or 30s, got %v", ExtractorName, k, v)
			}
			if k == "max_rate_limit_wait" {
				s.maxWait = d
			} else {
				s.requestTimeout = d
			}
		default:
			unknown = append(unknown, k)
		}
	}
	return s, unknown, nil
}

func asInt(v any, expand func(string) string) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case uint64:
		return int(v), v < 1<<31
	case float64:
		return int(v), v == float64(int(v))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(expand(v)))
		return n, err == nil
	}
	return 0, false
}

func asDuration(v any, expand func(string) string) (time.Duration, bool) {
	switch v := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(expand(v)))
		return d, err == nil
	case int:
		return 0, v == 0 // a bare number has no unit; only 0 is unambiguous
	}
	return 0, false
}

// Extract implements extractors.Extractor. Failures of one repository go
// into Result.Errors; it returns an error for the whole node only when
// GitHub rejects the credentials, or a rate limit would make it wait longer
// than max_rate_limit_wait, or the settings are invalid; the Result that
// comes with such an error holds what was collected before it (and the
// statistics). If every repository fails, that is still a Result with all
// the errors and no error: the engine decides. env.Strict does not change
// what it returns: the engine applies it.
func (e *Extractor) Extract(ctx context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	r, tr, err := e.newRun(env, len(items))
	if err != nil {
		return nil, err
	}
	rows, itemErrs, nodeErr := r.fetchAll(ctx, items)
	res := r.result(rows, itemErrs, tr.meter)
	if nodeErr != nil {
		return res, errors.New(r.redact(nodeErr.Error()))
	}
	return res, nil
}

// newRun reads the settings and the environment and builds the run's
// GitHub client: everything a repository's requests share. n, the number
// of repositories, only sizes the warning about the unauthenticated rate
// limit.
func (e *Extractor) newRun(env extractors.Env, n int) (*run, *transport, error) {
	if env.HTTP == nil {
		return nil, nil, errors.New("github extractor: no HTTP client in the extractor environment")
	}
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	set, unknown, err := parseSettings(env.Settings, getenv)
	if err != nil {
		return nil, nil, err
	}

	token, _ := getenv("GITHUB_TOKEN")
	token = strings.TrimSpace(token)
	redact := redactor(token)
	logf := serialLogf(env.Logf, redact)
	if len(unknown) > 0 {
		logf("github: ignoring unknown settings %s (known: %s)", strings.Join(unknown, ", "), strings.Join(knownSettings, ", "))
	}

	base, overridden, err := baseURL(getenv)
	if err != nil {
		return nil, nil, err
	}

	e2 := e.withDefaults()
	tr := newTransport(env.HTTP.Transport, transportConfig{
		token:        token,
		apiHost:      base.Host,
		cacheDir:     etagDir(env, logf),
		tries:        e2.httpTries,
		retryInitial: e2.retryInitial,
		timeout:      requestTimeout(set, env.HTTP),
		maxWait:      set.maxWait,
		noWait:       env.Replaying,
		logf:         logf,
	})
	client := gh.NewClient(&http.Client{Transport: tr, CheckRedirect: env.HTTP.CheckRedirect, Jar: env.HTTP.Jar})
	client.BaseURL = base
	client.UserAgent = userAgent

	mode := logAccess(logf, token, base, n)
	if overridden {
		logf("github: API at %s (GITHUB_API_URL)", base)
	}
	if env.Replaying {
		logf("github: replaying recorded responses")
	}

	return &run{
		e:        e2,
		gh:       client,
		logf:     logf,
		redact:   redact,
		now:      runClock(env.Now),
		maxWait:  set.maxWait,
		mode:     mode,
		noWait:   env.Replaying,
		hasToken: token != "",

		concurrency: set.concurrency,
	}, tr, nil
}

// redactor returns a function that blanks token out of a message: every
// message and error leaving the extractor passes through it.
func redactor(token string) func(string) string {
	return func(s string) string {
		// Tokens are long (ghp_ and 36 more); replacing a few characters
		// would only garble messages without protecting anything.
		if len(token) < 8 {
			return s
		}
		return strings.ReplaceAll(s, token, "[REDACTED]")
	}
}

// serialLogf wraps the engine's Logf for the workers: redacted, and one
// call at a time, since the engine's Logf appends to a slice.
func serialLogf(logf func(string, ...any), redact func(string) string) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		if logf == nil {
			return
		}
		msg := redact(fmt.Sprintf(format, args...))
		mu.Lock()
		defer mu.Unlock()
		logf("%s", msg)
	}
}

// runClock returns the run's clock: in a replay, start is the recorded
// run's clock, so decisions about weeks and rate-limit resets are
// reproduced; a zero start means the machine's clock.
func runClock(start time.Time) func() time.Time {
	started := time.Now()
	return func() time.Time {
		if start.IsZero() {
			return time.Now().UTC()
		}
		return start.Add(time.Since(started)).UTC()
	}
}

// requestTimeout is the limit of one attempt at a request: the
// request_timeout setting, else the environment's client's timeout, else
// the default.
func requestTimeout(set settings, hc *http.Client) time.Duration {
	if set.requestTimeout != 0 {
		return set.requestTimeout
	}
	if hc.Timeout != 0 {
		return hc.Timeout
	}
	return defaultRequestTimeout
}

// etagDir is the directory of the ETag cache, or "" for none. A replay
// must not depend on what this machine cached: no conditional requests,
// and nothing sample-made is stored.
func etagDir(env extractors.Env, logf func(string, ...any)) string {
	switch {
	case env.Replaying:
		return ""
	case env.CacheDir == "":
		logf("github: no cache directory, conditional requests (ETags) are off")
		return ""
	}
	dir := filepath.Join(env.CacheDir, "etags")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		logf("github: ETag cache unavailable, every request will be a full one: %v", err)
		return ""
	}
	return dir
}

// logAccess says which rate limit the run is under, warns about a token
// sent over plain http or a run too large for the unauthenticated limit,
// and returns the mode named in rate-limit messages.
func logAccess(logf func(string, ...any), token string, base *url.URL, repos int) string {
	if token != "" {
		logf("github: authenticated with GITHUB_TOKEN (GitHub allows 5,000 requests an hour)")
		if base.Scheme == "http" && !isLoopback(base.Hostname()) {
			logf("github: warning: GITHUB_API_URL is plain http, so GITHUB_TOKEN travels unencrypted to %s", base.Host)
		}
		return "authenticated"
	}
	logf("github: GITHUB_TOKEN is not set: unauthenticated, GitHub allows 60 requests an hour")
	// Without a token even 304s count against the limit.
	if need := 5 * repos; need > 60 {
		logf("github: %d repositories need about %d requests, more than the 60 an hour allowed without a token; set GITHUB_TOKEN", repos, need)
	}
	return "unauthenticated"
}

// fetchAll collects every repository, concurrency at a time. rows and
// itemErrs are indexed like items, so the result keeps the seed's order
// whatever order the workers finish in. nodeErr is the first error that
// ends the whole extraction, or ctx's error when the run was interrupted;
// a time budget that ran out is not one: it is in the item errors.
func (r *run) fetchAll(ctx context.Context, items []extractors.Item) (rows [][]any, itemErrs []*extractors.ItemError, nodeErr error) {
	rows = make([][]any, len(items))
	itemErrs = make([]*extractors.ItemError, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency)
	for i, it := range items {
		g.Go(func() error {
			if gctx.Err() != nil {
				// Another worker failed the node, ctx was cancelled, or the
				// time budget ran out: only the last is this item's failure.
				if be := extractors.OutOfBudget(gctx); be != nil {
					itemErrs[i] = &extractors.ItemError{Item: itemKey(it), Err: be.Error()}
				}
				return nil
			}
			row, itemErr, nodeErr := r.repository(gctx, it)
			if nodeErr != nil {
				return nodeErr
			}
			rows[i] = row
			if itemErr != "" {
				itemErrs[i] = &extractors.ItemError{Item: itemKey(it), Err: r.redact(itemErr)}
			}
			return nil
		})
	}
	nodeErr = g.Wait()
	if nodeErr == nil && extractors.OutOfBudget(ctx) == nil {
		nodeErr = ctx.Err() // interrupted; a budget that ran out is in the item errors
	}
	return rows, itemErrs, nodeErr
}

// result gathers the rows and errors in item order, with the request
// statistics, which are logged too: they come with an error for the node
// as well, to show how far the run got.
func (r *run) result(rows [][]any, itemErrs []*extractors.ItemError, m *meter) *extractors.Result {
	res := &extractors.Result{Rows: map[string][][]any{TableName: {}}, Source: Source}
	for i := range rows {
		if rows[i] != nil {
			res.Rows[TableName] = append(res.Rows[TableName], rows[i])
		}
		if itemErrs[i] != nil {
			res.Errors = append(res.Errors, *itemErrs[i])
		}
	}
	requests, notModified, remaining, limit := m.snapshot()
	if remaining == "" {
		remaining = "unknown"
	}
	res.Stats = []string{fmt.Sprintf("requests=%d not_modified=%d rate_limit_remaining=%s", requests, notModified, remaining)}
	of := ""
	if limit != "" {
		of = " of " + limit
	}
	r.logf("github: %d requests, %d not modified (304), rate limit remaining %s%s", requests, notModified, remaining, of)
	return res
}

func (e *Extractor) withDefaults() *Extractor {
	d := New()
	out := *e
	if out.httpTries <= 0 {
		out.httpTries = d.httpTries
	}
	if out.retryInitial <= 0 {
		out.retryInitial = d.retryInitial
	}
	if out.statsTries <= 0 {
		out.statsTries = d.statsTries
	}
	if out.statsInitial <= 0 {
		out.statsInitial = d.statsInitial
	}
	return &out
}

// baseURL reads GITHUB_API_URL. go-github's WithEnterpriseURLs would append
// /api/v3/, which is right for GitHub Enterprise Server but not for a mirror
// or a test server, so the URL is used as given, with the trailing slash
// go-github requires.
func baseURL(getenv func(string) (string, bool)) (*url.URL, bool, error) {
	raw, ok := getenv("GITHUB_API_URL")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		u, _ := url.Parse(defaultBaseURL)
		return u, false, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false, fmt.Errorf("GITHUB_API_URL must be an http(s) URL such as https://api.github.com, got %q", raw)
	}
	u.User = nil
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, true, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func itemKey(it extractors.Item) string {
	if it.Key != "" {
		return it.Key
	}
	return it.Fields[keyColumn]
}

// GitHub's rules for owner and repository names; checking them keeps a
// malformed seed value (say "../orgs/x") from becoming a different request.
var (
	ownerRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

func splitRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(strings.TrimSpace(full), "/")
	if !ok || !ownerRE.MatchString(owner) || !nameRE.MatchString(name) || name == "." || name == ".." {
		return "", "", false
	}
	return owner, name, true
}

// run is one extraction's shared state.
type run struct {
	e        *Extractor
	gh       *gh.Client
	logf     func(string, ...any)
	redact   func(string) string
	now      func() time.Time
	maxWait  time.Duration
	mode     string
	noWait   bool
	hasToken bool
	// concurrency bounds the repositories collected at once.
	concurrency int

	waitMu      sync.Mutex
	loggedReset time.Time
}

// repository collects one repository's row. itemErr reports a failure of
// this repository only; nodeErr one that ends the whole extraction.
func (r *run) repository(ctx context.Context, it extractors.Item) (row []any, itemErr string, nodeErr error) {
	full := itemKey(it)
	owner, name, ok := splitRepo(full)
	if !ok {
		return nil, fmt.Sprintf("%q is not a GitHub repository name of the form owner/name", full), nil
	}
	fail := func(step string, err error) ([]any, string, error) {
		switch {
		case isNodeError(err):
			return nil, "", err
		case extractors.OutOfBudget(ctx) != nil:
			return nil, extractors.OutOfBudget(ctx).Error(), nil
		case ctx.Err() != nil:
			return nil, "", ctx.Err() // cancelled, or another repository failed the node
		}
		return nil, step + ": " + describe(err), nil
	}

	var repo *gh.Repository
	err := r.do(ctx, func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		repo, resp, err = r.gh.Repositories.Get(ctx, owner, name)
		if err == nil {
			err = checkRepository(resp, repo, owner, name)
		}
		return resp, err
	})
	if err != nil {
		return fail("repository", err)
	}

	// Ask for commit activity early: GitHub computes these statistics in
	// the background and answers 202 until they are ready, so the other
	// requests below give it time before we ask again.
	weeks, pending, err := r.commitActivity(ctx, owner, name)
	if err != nil {
		return fail("commit activity", err)
	}

	openPRs, err := r.countPulls(ctx, owner, name, full)
	if err != nil {
		return fail("open pull requests", err)
	}
	contributors, err := r.countContributors(ctx, owner, name, full)
	if err != nil {
		return fail("contributors", err)
	}
	release, err := r.latestRelease(ctx, owner, name)
	if err != nil {
		return fail("latest release", err)
	}
	if pending {
		weeks, pending, err = r.awaitCommitActivity(ctx, owner, name)
		if err != nil {
			return fail("commit activity", err)
		}
	}
	var c4, c52 any
	if pending {
		r.logf("github: %s: GitHub was still computing commit activity after %d tries (202 Accepted); commits_last_4_weeks and commits_last_52_weeks are null this run", full, r.e.statsTries)
	} else {
		a, b := commitSums(weeks, r.now())
		c4, c52 = a, b
	}
	return repositoryRow(it, full, repo, release, openPRs, contributors, c4, c52), "", nil
}

// repositoryRow lays out what repository collected in the landing table's
// columns. The values go by column name, and a column without one panics:
// a column added to columns without a value here is a programming error
// that every test run catches, not a null to land.
func repositoryRow(it extractors.Item, full string, repo *gh.Repository, release *gh.RepositoryRelease, openPRs, contributors, c4, c52 any) []any {
	vals := map[string]any{
		"technology_id":               field(it, "technology_id"),
		"repo_full_name":              full,
		"github_id":                   i64p(repo.ID),
		"stars":                       intp(repo.StargazersCount),
		"forks":                       intp(repo.ForksCount),
		"watchers":                    intp(repo.SubscribersCount), // watchers_count is stars, for history's sake
		"open_issues_and_prs":         intp(repo.OpenIssuesCount),  // GitHub counts open pull requests as issues here
		"open_pull_requests":          openPRs,
		"contributors":                contributors,
		"latest_release_tag":          nil,
		"latest_release_published_at": nil,
		"commits_last_4_weeks":        c4,
		"commits_last_52_weeks":       c52,
		"created_at":                  tsp(repo.CreatedAt),
		"pushed_at":                   tsp(repo.PushedAt),
		"default_branch":              strp(repo.DefaultBranch),
		"language":                    strp(repo.Language),
		"license":                     nil,
		"topics":                      topicsJSON(repo.Topics),
		"archived":                    boolp(repo.Archived),
		"size_kb":                     intp(repo.Size),
		"description":                 strp(repo.Description),
	}
	if release != nil {
		vals["latest_release_tag"] = strp(release.TagName)
		vals["latest_release_published_at"] = tsp(release.PublishedAt)
	}
	if repo.License != nil {
		// GitHub reports "NOASSERTION" for a licence file it cannot match
		// to an SPDX id; that lands as is (a licence exists, unidentified).
		vals["license"] = strp(repo.License.SPDXID)
	}
	row := make([]any, len(columns))
	for i, c := range columns {
		v, ok := vals[c.Name]
		if !ok {
			panic("github extractor: no value for column " + c.Name)
		}
		row[i] = v
	}
	return row
}

// countPulls counts open pull requests with one request: with per_page=1
// the page number of the Link header's rel="last" is the count. GitHub
// sends no Link when everything fits on one page (0 or 1 pull requests).
func (r *run) countPulls(ctx context.Context, owner, name, full string) (any, error) {
	var n any
	err := r.do(ctx, func() (*gh.Response, error) {
		prs, resp, err := r.gh.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{
			State: "open", ListOptions: gh.ListOptions{PerPage: 1},
		})
		if err == nil {
			err = checkList(resp, prs, "pull requests", func(pr *gh.PullRequest) bool { return pr.Number != nil })
		}
		if err == nil {
			n, err = r.countFromPages(resp, len(prs), full, "open_pull_requests")
		}
		return resp, err
	})
	return n, err
}

// countContributors counts contributors, anonymous ones (commit emails
// without a GitHub account) included, the same way as countPulls.
func (r *run) countContributors(ctx context.Context, owner, name, full string) (any, error) {
	var n any
	err := r.do(ctx, func() (*gh.Response, error) {
		cs, resp, err := r.gh.Repositories.ListContributors(ctx, owner, name, &gh.ListContributorsOptions{
			Anon: "true", ListOptions: gh.ListOptions{PerPage: 1},
		})
		if err == nil && resp.StatusCode != http.StatusNoContent {
			err = checkList(resp, cs, "contributors", func(c *gh.Contributor) bool { return c.Contributions != nil })
		}
		if err == nil {
			// An empty repository answers 204 No Content: zero contributors.
			n, err = r.countFromPages(resp, len(cs), full, "contributors")
		}
		return resp, err
	})
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusForbidden &&
		strings.Contains(strings.ToLower(er.Message), "too large") {
		// GitHub refuses to list contributors of very large histories
		// ("The history or contributor list is too large to list
		// contributors for this repository via the API").
		r.logf("github: %s: GitHub will not list contributors (history too large); contributors is null", full)
		return nil, nil
	}
	return n, err
}

func (r *run) countFromPages(resp *gh.Response, items int, full, column string) (any, error) {
	switch {
	case resp.LastPage > 0:
		return int64(resp.LastPage), nil
	case resp.NextPage > 0:
		// A next page without a last one: the total is unknown.
		r.logf("github: %s: GitHub sent no last page for %s; it is null", full, column)
		return nil, nil
	case items > 1:
		// per_page=1: more than one entry on a page is not GitHub's answer.
		return nil, &shapeError{resp: resp, msg: fmt.Sprintf("%d entries on a page of 1", items)}
	default:
		return int64(items), nil
	}
}

// latestRelease returns nil when the repository has no published release:
// GitHub answers 404 then (drafts and pre-releases are not "latest").
func (r *run) latestRelease(ctx context.Context, owner, name string) (*gh.RepositoryRelease, error) {
	var rel *gh.RepositoryRelease
	err := r.do(ctx, func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		rel, resp, err = r.gh.Repositories.GetLatestRelease(ctx, owner, name)
		if err == nil && (rel.TagName == nil || *rel.TagName == "") {
			err = &shapeError{resp: resp, msg: "not a release: it has no tag_name"}
		}
		return resp, err
	})
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	return rel, err
}

// commitActivity asks once; pending reports GitHub's 202 ("computing,
// ask again later").
func (r *run) commitActivity(ctx context.Context, owner, name string) (weeks []*gh.WeeklyCommitActivity, pending bool, err error) {
	err = r.do(ctx, func() (*gh.Response, error) {
		var resp *gh.Response
		var err error
		weeks, resp, err = r.gh.Repositories.ListCommitActivity(ctx, owner, name)
		if err == nil && resp.StatusCode != http.StatusNoContent {
			// 204: an empty repository, no activity.
			err = checkWeeks(resp, weeks)
		}
		return resp, err
	})
	var acc *gh.AcceptedError
	if errors.As(err, &acc) {
		return nil, true, nil
	}
	return weeks, false, err
}

// awaitCommitActivity asks again with jittered exponential backoff, for the
// rest of the statsTries budget; pending is still true when GitHub never
// finished.
func (r *run) awaitCommitActivity(ctx context.Context, owner, name string) ([]*gh.WeeklyCommitActivity, bool, error) {
	tries := r.e.statsTries - 1
	if tries < 1 {
		return nil, true, nil
	}
	var b backoff.BackOff = &backoff.ExponentialBackOff{
		InitialInterval: r.e.statsInitial, RandomizationFactor: 0.3, Multiplier: 2, MaxInterval: 30 * time.Second,
	}
	if r.noWait {
		b = &backoff.ZeroBackOff{}
	}
	errPending := errors.New("pending")
	weeks, err := backoff.Retry(ctx, func() ([]*gh.WeeklyCommitActivity, error) {
		weeks, pending, err := r.commitActivity(ctx, owner, name)
		switch {
		case err != nil:
			return nil, backoff.Permanent(err)
		case pending:
			return nil, errPending
		}
		return weeks, nil
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(tries)), backoff.WithMaxElapsedTime(0))
	if errors.Is(err, errPending) {
		return nil, true, nil
	}
	return weeks, false, err
}

// commitSums adds up the commits of the last 4 and the last 52 complete
// weeks. GitHub's commit activity is 52 entries of {week, total, days}
// where week is the Sunday (UTC) the week starts; the newest entry is
// usually the current week, still in progress, and is left out, so the
// numbers do not depend on the weekday the run happens on.
func commitSums(weeks []*gh.WeeklyCommitActivity, now time.Time) (last4, last52 int64) {
	type wk struct {
		start time.Time
		total int64
	}
	var done []wk
	for _, w := range weeks {
		if w == nil || w.Week == nil {
			continue
		}
		start := w.Week.Time.UTC()
		if start.Add(7 * 24 * time.Hour).After(now) {
			continue // not complete yet
		}
		total := int64(0)
		if w.Total != nil {
			total = int64(*w.Total)
		} else {
			for _, d := range w.Days {
				total += int64(d)
			}
		}
		done = append(done, wk{start, total})
	}
	sort.Slice(done, func(i, j int) bool { return done[i].start.Before(done[j].start) })
	for i := range done {
		fromEnd := len(done) - i
		if fromEnd <= 4 {
			last4 += done[i].total
		}
		if fromEnd <= 52 {
			last52 += done[i].total
		}
	}
	return last4, last52
}

func field(it extractors.Item, name string) any {
	if v, ok := it.Fields[name]; ok {
		return v
	}
	return nil
}

func intp(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func i64p(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func strp(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func boolp(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

func tsp(p *gh.Timestamp) any {
	if p == nil || p.Time.IsZero() {
		return nil
	}
	return p.Time.UTC()
}

// topicsJSON renders topics as a JSON array; no topics is [] (GitHub always
// sends the key, an empty list when there are none).
func topicsJSON(topics []string) string {
	if topics == nil {
		topics = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(topics) // []string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}

// describe renders an item-level error for _extract_errors.
func describe(err error) string {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		code := er.Response.StatusCode
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(code)
		}
		where := ""
		if req := er.Response.Request; req != nil && req.URL != nil {
			where = req.Method + " " + req.URL.Path + ": "
		}
		switch code {
		case http.StatusNotFound:
			return fmt.Sprintf("%s404 %s (the repository does not exist, was deleted, or is private and not visible to GITHUB_TOKEN)", where, msg)
		case http.StatusUnavailableForLegalReasons:
			return fmt.Sprintf("%s451 %s (blocked for legal reasons)", where, msg)
		}
		return fmt.Sprintf("%s%d %s", where, code, msg)
	}
	// Decoding errors come straight from go-github; transport errors
	// (including a body cut short on the wire) are wrapped in *url.Error.
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var ue *url.Error
	if !errors.As(err, &ue) && (errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF)) {
		return "GitHub sent malformed JSON: " + err.Error()
	}
	return err.Error()
}
