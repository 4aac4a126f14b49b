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
	base := lookup(r.getenv, "PYPISTATS_API_URL")
	if base == "" {
		base = DefaultPypistatsURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("pypi: PYPISTATS_API_URL %q is not an http(s) URL", base)
	}
	base = strings.TrimRight(base, "/")
	limiter := e.limiter
	switch {
	case limiter != nil:
	case r.env.Replaying:
		// A replay sends nothing to pypistats.org: no need to pace it.
		limiter = rate.NewLimiter(rate.Inf, 1)
	default:
		limiter = newPypistatsLimiter()
	}
	sleep := e.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	r.env.Logf("pypi: pypistats lands daily downloads only; the metadata columns of %s stay null (they need the bigquery backend)", TablePackages)

	var st pypistatsStats
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
		days, err := fetchOverall(ctx, r.http, limiter, sleep, base, p, attempts, &st)
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
		st.requests, st.retries, upToDate, rows))
	return nil
}

// serverError is a failure of pypistats.org rather than of one package:
// 5xx or 429 to every attempt, or no answer at all.
type serverError struct{ msg string }

func (e *serverError) Error() string { return e.msg }

// fetchOverall returns p's daily downloads without mirrors in p's window,
// making at most attempts requests.
func fetchOverall(ctx context.Context, client *http.Client, limiter *rate.Limiter,
	sleep func(context.Context, time.Duration) error, base string, p *pkg, attempts int, st *pypistatsStats) ([]dayCount, error) {
	endpoint := base + "/packages/" + url.PathEscape(p.name) + "/overall?mirrors=false"
	backoff := pypistatsBackoff
	var waited time.Duration // in backoffs, for messages: the time this package actually took
	for attempt := 1; ; attempt++ {
		if err := limiter.Wait(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "quarry (https://github.com/quarrydev/quarry)")
		st.requests++
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &serverError{err.Error()}
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, pypistatsMaxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the response: %w", err)
		}
		if len(body) > pypistatsMaxBody {
			return nil, fmt.Errorf("%s with more than %d bytes, far more than a package's statistics: is PYPISTATS_API_URL the API's address?", resp.Status, pypistatsMaxBody)
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if err := checkJSON(resp, body); err != nil {
				return nil, err
			}
			return parseOverall(body, p.name)
		case resp.StatusCode == http.StatusNotFound:
			return nil, fmt.Errorf("package %s is unknown to pypistats.org (404)", p.name)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if attempt >= attempts {
				msg := fmt.Sprintf("%s after %d attempts", resp.Status, attempt)
				if waited > 0 {
					msg += fmt.Sprintf(" over %s", waited)
				}
				return nil, &serverError{msg}
			}
			wait := backoff
			if ra, ok := retryAfter(resp.Header); ok {
				wait = ra
			}
			if wait > pypistatsMaxWait {
				return nil, &serverError{fmt.Sprintf("%s: asked to wait %s, longer than %s; giving up", resp.Status, wait, pypistatsMaxWait)}
			}
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				// The wait would outlast the extractor's time budget.
				return nil, &serverError{fmt.Sprintf("%s after %d attempts; the next, in %s, would come after the time budget runs out",
					resp.Status, attempt, wait)}
			}
			backoff = min(backoff*2, pypistatsMaxBackoff)
			st.retries++
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
			waited += wait
		default:
			return nil, fmt.Errorf("unexpected %s: %s", resp.Status, snippet(body))
		}
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
