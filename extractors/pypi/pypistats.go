package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/time/rate"

	"github.com/quarrydev/quarry/extractors"
)

const (
	// pypistats.org allows 30 requests a minute. A token bucket lets
	// burst + rate*60s requests through in any minute, so 5 + 25/min keeps
	// every rolling minute at 30 or fewer.
	pypistatsBurst    = 5
	pypistatsInterval = 60 * time.Second / 25

	pypistatsAttempts   = 5                // first try + 4 retries on 429 / 5xx
	pypistatsBackoff    = 2 * time.Second  // first backoff without Retry-After, doubled each time
	pypistatsMaxBackoff = 60 * time.Second // cap of the backoff without Retry-After
	pypistatsMaxWait    = 5 * time.Minute  // a longer Retry-After gives up on the package
	pypistatsMaxBody    = 16 << 20

	// pypistatsDownAfter is how many packages in a row may fail on server
	// errors (5xx, 429 or no answer) before pypistats.org is taken for down
	// and the remaining packages are not requested: retrying every package
	// in full against a service that answers 502 to everything held a run
	// for minutes. After one such package, the next gets a single attempt:
	// it tells whether the service is back without waiting through the
	// backoff again.
	pypistatsDownAfter = 3
)

func newPypistatsLimiter() *rate.Limiter {
	return rate.NewLimiter(rate.Every(pypistatsInterval), pypistatsBurst)
}

// overallResponse is pypistats.org's /api/packages/{package}/overall body.
type overallResponse struct {
	Data []struct {
		Category  string `json:"category"`
		Date      string `json:"date"`
		Downloads *int64 `json:"downloads"`
	} `json:"data"`
	Package string `json:"package"`
	Type    string `json:"type"`
}

// pypistatsStats counts what the backend did, for Result.Stats.
type pypistatsStats struct {
	requests, retries int
}

func (e *Extractor) extractPypistats(ctx context.Context, r *run) error {
	c, err := e.newPypistatsClient(r)
	if err != nil {
		return err
	}
	r.env.Logf("pypi: pypistats lands daily downloads only; the metadata columns of %s stay null (they need the bigquery backend)", TablePackages)

	upToDate, rows := 0, 0
	var down []string // the server errors of the packages that failed in a row
	// One request at a time: the API is small and rate limited, and a
	// Retry-After then holds back every request, not just one.
	for _, p := range r.pkgs {
		if p.upToDate {
			upToDate++
			r.addPackage(p, nil)
			continue
		}
		if be := extractors.OutOfBudget(ctx); be != nil {
			r.addItemError(p, "pypi: pypistats: %v", be)
			continue
		}
		if len(down) >= pypistatsDownAfter {
			r.addItemError(p, "pypi: pypistats: not requested: pypistats.org failed the %d packages before it (%s); it looks down, run again later",
				len(down), down[len(down)-1])
			continue
		}
		attempts := pypistatsAttempts
		if len(down) > 0 {
			attempts = 1
		}
		days, err := c.fetchOverall(ctx, p, attempts)
		if err != nil {
			if be := extractors.OutOfBudget(ctx); be != nil {
				r.addItemError(p, "pypi: pypistats: %v", be)
				continue
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			var se *serverError
			if errors.As(err, &se) {
				down = append(down, se.Error())
			} else {
				down = nil
			}
			r.addItemError(p, "pypi: pypistats: %v", err)
			continue
		}
		down = nil
		rows += r.addDownloads(p, days)
		r.addPackage(p, nil)
	}
	if upToDate > 0 {
		r.env.Logf("pypi: pypistats: %d of %d packages already landed up to %s; not requested",
			upToDate, len(r.pkgs), r.today.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	r.res.Stats = append(r.res.Stats, fmt.Sprintf("backend=pypistats requests=%d retries=%d up_to_date=%d rows=%d",
		c.st.requests, c.st.retries, upToDate, rows))
	return nil
}

// pypistatsClient is what the requests of one extraction share: the API's
// address, the pace, how waits between attempts pass, and the counts.
type pypistatsClient struct {
	http      *http.Client
	limiter   *rate.Limiter
	base      string // the API's address, without a trailing slash
	spendWait func(time.Duration) time.Duration
	noteWait  func(time.Duration)
	st        pypistatsStats
}

// newPypistatsClient checks PYPISTATS_API_URL and picks the pace: the
// extractor's limiter if it has one, none in a replay (nothing is sent to
// pypistats.org), else pypistats.org's own limit.
func (e *Extractor) newPypistatsClient(r *run) (*pypistatsClient, error) {
	base := lookup(r.getenv, "PYPISTATS_API_URL")
	if base == "" {
		base = DefaultPypistatsURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pypi: PYPISTATS_API_URL %q is not an http(s) URL", base)
	}
	limiter := e.limiter
	switch {
	case limiter != nil:
	case r.env.Replaying:
		limiter = rate.NewLimiter(rate.Inf, 1)
	default:
		limiter = newPypistatsLimiter()
	}
	return &pypistatsClient{
		http:      r.http,
		limiter:   limiter,
		base:      strings.TrimRight(base, "/"),
		spendWait: e.spendWait,
		noteWait:  e.noteWait,
	}, nil
}

// serverError is a failure of pypistats.org rather than of one package:
// 5xx or 429 to every attempt, or no answer at all.
type serverError struct{ msg string }

func (e *serverError) Error() string { return e.msg }

// retryableStatus is a 429 or 5xx answer to one attempt: backoff.Retry
// tries again after the backoff, or after retryAfter when the answer named
// its wait (then the error wraps a *backoff.RetryAfterError, which Retry
// waits instead).
type retryableStatus struct {
	status     string
	retryAfter time.Duration // 0: none asked for
	wait       error         // *backoff.RetryAfterError or nil
}

func (e *retryableStatus) Error() string { return e.status }
func (e *retryableStatus) Unwrap() error { return e.wait }

// pypistatsSchedule is the backoff between attempts at one package: 2s,
// doubled each time up to a minute, no jitter (one request at a time,
// nothing to spread out). backoff.Retry resets its BackOff after a
// Retry-After wait; this one keeps counting through them, as a server that
// asked for a pause is no healthier for it, so Reset does nothing and each
// package gets a fresh schedule.
type pypistatsSchedule struct {
	exp   backoff.ExponentialBackOff
	spend func(time.Duration) time.Duration
	last  time.Duration // the latest backoff, before spend
}

func newPypistatsSchedule(spend func(time.Duration) time.Duration) *pypistatsSchedule {
	return &pypistatsSchedule{
		exp: backoff.ExponentialBackOff{
			InitialInterval: pypistatsBackoff,
			Multiplier:      2,
			MaxInterval:     pypistatsMaxBackoff,
		},
		spend: spend,
	}
}

func (s *pypistatsSchedule) NextBackOff() time.Duration {
	s.last = s.exp.NextBackOff()
	return s.spend(s.last)
}

func (s *pypistatsSchedule) Reset() {}

// spend is the time backoff.Retry's timer really waits for a wait d.
func (c *pypistatsClient) spend(d time.Duration) time.Duration {
	if c.spendWait == nil {
		return d
	}
	return c.spendWait(d)
}

// fetchOverall returns p's daily downloads without mirrors in p's window,
// making at most attempts requests: 429 and 5xx answers are tried again
// after the backoff or the Retry-After asked for, as long as the wait
// ends within the extractor's time budget; anything else is final.
func (c *pypistatsClient) fetchOverall(ctx context.Context, p *pkg, attempts int) ([]dayCount, error) {
	endpoint := c.base + "/packages/" + url.PathEscape(p.name) + "/overall?mirrors=false"
	sched := newPypistatsSchedule(c.spend)
	attempt := 0
	var waited time.Duration     // between attempts, for messages: the time this package took
	var maxElapsed time.Duration // 0: no limit but attempts
	if dl, ok := ctx.Deadline(); ok {
		maxElapsed = max(time.Until(dl), time.Nanosecond)
	}
	days, err := backoff.Retry(ctx, func() ([]dayCount, error) {
		attempt++
		return c.attemptOverall(ctx, endpoint, p.name, attempt < attempts)
	},
		backoff.WithBackOff(sched),
		backoff.WithMaxTries(uint(attempts)),
		backoff.WithMaxElapsedTime(maxElapsed),
		backoff.WithNotify(func(err error, _ time.Duration) {
			wait := nextWait(err, sched)
			c.st.retries++
			waited += wait
			if c.noteWait != nil {
				c.noteWait(wait)
			}
		}))
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		// Retry hands back a final answer to the last attempt as it is.
		err = perm.Unwrap()
	}
	var rs *retryableStatus
	switch {
	case !errors.As(err, &rs):
		return days, err
	case attempt >= attempts:
		msg := fmt.Sprintf("%s after %d attempts", rs.status, attempt)
		if waited > 0 {
			msg += fmt.Sprintf(" over %s", waited)
		}
		return nil, &serverError{msg}
	default:
		// Retry stopped early: the wait would outlast the time budget.
		return nil, &serverError{fmt.Sprintf("%s after %d attempts; the next, in %s, would come after the time budget runs out",
			rs.status, attempt, nextWait(err, sched))}
	}
}

// nextWait is the wait backoff.Retry chose after err, as scheduled: the
// Retry-After asked for, else the backoff.
func nextWait(err error, sched *pypistatsSchedule) time.Duration {
	var rs *retryableStatus
	if errors.As(err, &rs) && rs.wait != nil {
		return rs.retryAfter
	}
	return sched.last
}

// attemptOverall makes one request for a package's statistics. Errors
// that another attempt cannot mend are backoff.Permanent; a 429 or 5xx is
// a *retryableStatus, and when retry is false (this was the last attempt),
// Retry-After is not looked at.
func (c *pypistatsClient) attemptOverall(ctx context.Context, endpoint, name string, retry bool) ([]dayCount, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, backoff.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, backoff.Permanent(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "quarry (https://github.com/quarrydev/quarry)")
	c.st.requests++
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, backoff.Permanent(ctx.Err())
		}
		return nil, backoff.Permanent(&serverError{err.Error()})
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, pypistatsMaxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, backoff.Permanent(fmt.Errorf("reading the response: %w", err))
	}
	if len(body) > pypistatsMaxBody {
		return nil, backoff.Permanent(fmt.Errorf("%s with more than %d bytes, far more than a package's statistics: is PYPISTATS_API_URL the API's address?", resp.Status, pypistatsMaxBody))
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if err := checkJSON(resp, body); err != nil {
			return nil, backoff.Permanent(err)
		}
		days, err := parseOverall(body, name)
		if err != nil {
			return nil, backoff.Permanent(err)
		}
		return days, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, backoff.Permanent(fmt.Errorf("package %s is unknown to pypistats.org (404)", name))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		rs := &retryableStatus{status: resp.Status}
		if ra, ok := retryAfter(resp.Header); ok && retry {
			if ra > pypistatsMaxWait {
				return nil, backoff.Permanent(&serverError{fmt.Sprintf("%s: asked to wait %s, longer than %s; giving up", resp.Status, ra, pypistatsMaxWait)})
			}
			// backoff.RetryAfter's error, built from a duration: it takes
			// whole seconds, which a test's shrunk wait is not.
			rs.retryAfter, rs.wait = ra, &backoff.RetryAfterError{Duration: c.spend(ra)}
		}
		return nil, rs
	default:
		return nil, backoff.Permanent(fmt.Errorf("unexpected %s: %s", resp.Status, snippet(body)))
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date, taken
// relative to the response's Date header (the server's clock; no local
// clock is read).
func retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			secs = 0
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	now, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// checkJSON refuses a 200 that is not JSON: a proxy, a captive portal or a
// PYPISTATS_API_URL naming a web page answers with HTML, which would
// otherwise be reported as a cryptic decoding error.
func checkJSON(resp *http.Response, body []byte) error {
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	trimmed := bytes.TrimSpace(body)
	if mt != "text/html" && mt != "application/xhtml+xml" && !bytes.HasPrefix(trimmed, []byte("<")) {
		return nil
	}
	if ct == "" {
		ct = "none"
	}
	return fmt.Errorf("malformed response: %s with a page that is not JSON (Content-Type %s): %s; is PYPISTATS_API_URL the API's address, or is a proxy in between?",
		resp.Status, ct, snippet(body))
}

// parseOverall reads every day without mirrors of package name; the caller
// keeps the window. An answer that is not the statistics of that package,
// or holds a day twice, is refused whole: landing part of it would pass a
// wrong number for a measurement.
func parseOverall(body []byte, name string) ([]dayCount, error) {
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return nil, errors.New("malformed response: null, not an object")
	}
	var resp overallResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("malformed response: %v", err)
	}
	if resp.Type != "overall_downloads" {
		return nil, fmt.Errorf("malformed response: type %q, want overall_downloads", resp.Type)
	}
	if normalizeName(resp.Package) != name {
		return nil, fmt.Errorf("malformed response: the statistics of package %q, not %s", resp.Package, name)
	}
	if resp.Data == nil {
		return nil, errors.New("malformed response: no data")
	}
	byDay := map[time.Time]int64{}
	others := 0
	for _, d := range resp.Data {
		// mirrors=false answers without_mirrors rows only; a server that
		// ignores the parameter also sends with_mirrors rows: skip those.
		if d.Category != "without_mirrors" {
			others++
			continue
		}
		day, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			return nil, fmt.Errorf("malformed response: date %q", d.Date)
		}
		if d.Downloads == nil || *d.Downloads < 0 {
			return nil, fmt.Errorf("malformed response: downloads of %s", d.Date)
		}
		if _, dup := byDay[day]; dup {
			return nil, fmt.Errorf("malformed response: %s appears twice", d.Date)
		}
		byDay[day] = *d.Downloads
	}
	if len(byDay) == 0 && others > 0 {
		return nil, fmt.Errorf("malformed response: %d rows, none without_mirrors (mirrors=false ignored?)", others)
	}
	days := make([]dayCount, 0, len(byDay))
	for day, n := range byDay {
		days = append(days, dayCount{day: day, downloads: n})
	}
	sort.Slice(days, func(i, j int) bool { return days[i].day.Before(days[j].day) })
	return days, nil
}

func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
