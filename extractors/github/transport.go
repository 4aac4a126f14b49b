package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/gofri/go-github-ratelimit/v2/github_ratelimit/github_secondary_ratelimit"
)

// The transport chain, outermost first (go-github calls the top):
//
//	auth      adds the token, only for requests to the API host
//	etagCache conditional requests: If-None-Match out, 304 -> cached 200 back
//	secondary GitHub's secondary limits: sleeps for Retry-After, then re-sends
//	retry     5xx and timeouts: jittered backoff, a timeout per attempt
//	meter     counts what reaches the network: requests, 304s, rate limit left
//	base      Env.HTTP's transport, which records or replays
//
// Why this order:
//   - the cache sits above everything that re-sends, so one logical request
//     is looked up and stored once, and a 304 on any attempt is turned into
//     the cached 200 before go-github (v62 treats a bare 304 as an error);
//   - the secondary limiter sits above retry so its sleep (often 60s) is not
//     cut short by the per-attempt timeout, and each re-send after the sleep
//     is again protected by retry;
//   - retry sits above the meter so every attempt is counted as a request;
//   - the meter sits right on the base so it sees the raw 304s and the
//     rate-limit headers of every response, cached or not.
//
// The primary rate limit is handled around the go-github calls (ratelimit.go),
// because go-github refuses requests itself once it has seen remaining=0.

type transportConfig struct {
	token        string
	apiHost      string
	cacheDir     string // "" disables conditional requests
	tries        int
	retryInitial time.Duration
	timeout      time.Duration // per attempt
	maxWait      time.Duration // longest secondary-limit sleep, in total
	noWait       bool          // replaying: do not sleep between retries
	logf         func(string, ...any)
}

type transport struct {
	http.RoundTripper
	meter *meter
}

func newTransport(base http.RoundTripper, c transportConfig) *transport {
	if base == nil {
		base = http.DefaultTransport // what Env.HTTP itself uses when its Transport is nil
	}
	m := &meter{next: base}
	var rt http.RoundTripper = &retryTransport{
		next: m, tries: c.tries, initial: c.retryInitial, timeout: c.timeout, noWait: c.noWait,
	}
	exceeded := func(cc *github_secondary_ratelimit.CallbackContext) {
		if cc.ResetTime != nil {
			c.logf("github: secondary rate limit asks to wait until %s, longer than max_rate_limit_wait (%s)",
				cc.ResetTime.UTC().Format(time.RFC3339), c.maxWait)
		}
	}
	rt = github_secondary_ratelimit.New(rt,
		github_secondary_ratelimit.WithLimitDetectedCallback(func(cc *github_secondary_ratelimit.CallbackContext) {
			if cc.ResetTime != nil {
				c.logf("github: secondary rate limit hit; pausing requests for %s (Retry-After)",
					time.Until(*cc.ResetTime).Round(time.Second))
			}
		}),
		github_secondary_ratelimit.WithSingleSleepLimit(c.maxWait, exceeded),
		github_secondary_ratelimit.WithTotalSleepLimit(c.maxWait, exceeded),
	)
	if c.cacheDir != "" {
		rt = &etagCache{next: rt, dir: c.cacheDir, logf: c.logf}
	}
	rt = &authTransport{next: rt, token: c.token, host: c.apiHost}
	return &transport{RoundTripper: rt, meter: m}
}

// authTransport sets the token on requests to the API host only: go-github's
// own WithAuthToken would also send it along a redirect to another host.
type authTransport struct {
	next  http.RoundTripper
	token string
	host  string
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" || req.URL.Host != t.host {
		return t.next.RoundTrip(req)
	}
	r2 := req.Clone(req.Context())
	r2.Header.Set("Authorization", "Bearer "+t.token)
	return t.next.RoundTrip(r2)
}

// meter counts requests that reach the base transport, the 304s among
// them, and keeps the rate-limit budget the latest responses reported.
// Responses to concurrent requests arrive out of order, so "latest" is
// GitHub's own order: the newest reset window (X-RateLimit-Reset), and in
// it the lowest X-RateLimit-Remaining.
type meter struct {
	next        http.RoundTripper
	requests    atomic.Int64
	notModified atomic.Int64

	mu        sync.Mutex
	seen      bool
	reset     int64
	remaining int64
	limit     string
}

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	m.requests.Add(1)
	resp, err := m.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusNotModified {
		m.notModified.Add(1)
	}
	rem, err1 := strconv.ParseInt(resp.Header.Get("X-RateLimit-Remaining"), 10, 64)
	reset, err2 := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err1 == nil {
		if err2 != nil {
			reset = 0
		}
		m.mu.Lock()
		if !m.seen || reset > m.reset || (reset == m.reset && rem < m.remaining) {
			m.seen, m.reset, m.remaining, m.limit = true, reset, rem, resp.Header.Get("X-RateLimit-Limit")
		}
		m.mu.Unlock()
	}
	return resp, nil
}

// snapshot returns the counts; remaining is "" when no response had
// rate-limit headers.
func (m *meter) snapshot() (requests, notModified int64, remaining, limit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen {
		remaining = strconv.FormatInt(m.remaining, 10)
	}
	return m.requests.Load(), m.notModified.Load(), remaining, m.limit
}

// maxBody bounds a buffered response; GitHub's answers here are a few KB.
const maxBody = 32 << 20

// checkMediaType refuses a successful answer that is not JSON: a proxy, a
// captive portal or a GITHUB_API_URL pointing at a web page answers 200
// with HTML, which go-github would report as a cryptic decoding error (or,
// empty, not at all).
func checkMediaType(resp *http.Response, body []byte) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	html := mt == "text/html" || mt == "application/xhtml+xml" || bytes.HasPrefix(bytes.TrimSpace(body), []byte("<"))
	if !html && mt != "text/xml" && mt != "application/xml" {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return fmt.Errorf("GitHub answered %s with a page that is not JSON (Content-Type %s): %s; is GITHUB_API_URL the API's address, or is a proxy in between?",
		resp.Status, ct, snippet(body))
}

// snippet is the start of a body, for messages.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// retryTransport retries server errors (5xx) and timeouts with jittered
// exponential backoff, a bounded number of times. 4xx answers are final:
// asking again would get the same answer (rate limits have their own
// handling). Each attempt has its own timeout, which also covers reading
// the body: the body is read here, so a server that stalls mid-body is a
// timeout that can be retried, not a decode error later.
type retryTransport struct {
	next    http.RoundTripper
	tries   int
	initial time.Duration
	timeout time.Duration
	noWait  bool
}

// retryableError is a failed attempt worth another try.
type retryableError struct{ msg string }

func (e *retryableError) Error() string { return e.msg }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tries := t.tries
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		tries = 1 // only idempotent requests are sent twice
	}
	var b backoff.BackOff = &backoff.ExponentialBackOff{
		InitialInterval: t.initial, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 30 * time.Second,
	}
	if t.noWait {
		b = &backoff.ZeroBackOff{}
	}
	attempts := 0
	resp, err := backoff.Retry(req.Context(), func() (*http.Response, error) {
		attempts++
		resp, err := t.once(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 500 {
			return nil, &retryableError{fmt.Sprintf("GitHub answered %s", resp.Status)}
		}
		return resp, nil
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(max(tries, 1))), backoff.WithMaxElapsedTime(0))
	var re *retryableError
	if errors.As(err, &re) {
		return nil, fmt.Errorf("%s (gave up after %d attempts)", re.msg, attempts)
	}
	return resp, err
}

// once makes one attempt and buffers the body. Errors worth a retry are
// *retryableError; others are wrapped in backoff.Permanent.
func (t *retryTransport) once(req *http.Request) (*http.Response, error) {
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	}
	defer cancel()
	timedOut := func(err error) bool {
		if req.Context().Err() != nil {
			return false // the caller gave up: not ours to retry
		}
		var ne net.Error
		return errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	}
	// Timeouts report the time waited, which a cancelled or shortened
	// context can make shorter than the setting.
	start := time.Now()
	waited := func() string {
		el := time.Since(start)
		if el >= time.Second {
			el = el.Round(100 * time.Millisecond)
		} else {
			el = el.Round(time.Millisecond)
		}
		return fmt.Sprintf("%s (request_timeout %s)", el, t.timeout)
	}
	resp, err := t.next.RoundTrip(req.Clone(ctx))
	if err != nil {
		if timedOut(err) {
			return nil, &retryableError{"no answer after " + waited()}
		}
		return nil, backoff.Permanent(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err != nil {
		if timedOut(err) {
			return nil, &retryableError{"no complete answer after " + waited()}
		}
		return nil, backoff.Permanent(err)
	}
	if len(body) > maxBody {
		return nil, backoff.Permanent(fmt.Errorf("GitHub answered %s with more than %d bytes; GitHub's answers here are a few KB: is GITHUB_API_URL the API?", resp.Status, maxBody))
	}
	if err := checkMediaType(resp, body); err != nil {
		return nil, backoff.Permanent(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Request = req // not the clone, whose context ends here
	return resp, nil
}
