package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// GitHub's primary rate limit is a budget per hour (60 requests without a
// token, 5,000 with one) reported on every response in X-RateLimit-Remaining
// and X-RateLimit-Reset (Unix seconds). It is handled here, around each
// go-github call, rather than in a transport: once a response said
// remaining=0, go-github itself refuses further requests until the reset
// (a *RateLimitError made without touching the network, and v62 offers no
// exported way to bypass that check), so the decision to wait or give up has
// to be taken where that error surfaces. Both the refusal and a real
// 403/429 with remaining=0 end up here.
//
// A short wait (up to max_rate_limit_wait) is slept through; a longer one
// fails the whole node, naming the reset time, because every other
// repository would hit the same wall.

// rateLimitError ends the extraction: the primary limit resets too late.
type rateLimitError struct {
	reset   time.Time
	wait    time.Duration
	maxWait time.Duration
	limit   int
	mode    string
	token   bool
}

func (e *rateLimitError) Error() string {
	limit := ""
	if e.limit > 0 {
		limit = fmt.Sprintf(", %d requests an hour", e.limit)
	}
	hint := "run again after the reset, or raise max_rate_limit_wait"
	if !e.token {
		hint = "set GITHUB_TOKEN for 5,000 requests an hour, or run again after the reset"
	}
	return fmt.Sprintf("GitHub API rate limit exhausted (%s%s) until %s, %s from now, longer than max_rate_limit_wait (%s): %s",
		e.mode, limit, e.reset.UTC().Format(time.RFC3339), e.wait.Round(time.Second), e.maxWait, hint)
}

// secondaryLimitError ends the extraction: GitHub's secondary (abuse) limit
// asked for a pause longer than allowed, or gave no time to wait. GitHub
// warns that requests made while it is in force can get an integration
// banned, so no repository is tried after it.
type secondaryLimitError struct {
	retryAfter *time.Duration
	maxWait    time.Duration
	message    string
}

func (e *secondaryLimitError) Error() string {
	if e.retryAfter != nil {
		return fmt.Sprintf("GitHub secondary rate limit: it asks to wait %s (Retry-After), longer than max_rate_limit_wait (%s): %s",
			e.retryAfter.Round(time.Second), e.maxWait, e.message)
	}
	return "GitHub secondary rate limit without a Retry-After; try again in a few minutes: " + e.message
}

// authError ends the extraction: GitHub rejected the credentials (401). The
// message never contains the token.
type authError struct {
	token   bool
	message string
}

func (e *authError) Error() string {
	if e.token {
		return fmt.Sprintf("GitHub rejected the credentials (401 %s): check GITHUB_TOKEN; it may be mistyped, expired or revoked", e.message)
	}
	return fmt.Sprintf("GitHub answered 401 %s without a token: check GITHUB_TOKEN and GITHUB_API_URL", e.message)
}

func isNodeError(err error) bool {
	var rl *rateLimitError
	var sl *secondaryLimitError
	var ae *authError
	return errors.As(err, &rl) || errors.As(err, &sl) || errors.As(err, &ae)
}

// do runs one go-github call, sleeping through short primary rate limits
// and turning the errors that concern every repository into node errors.
func (r *run) do(ctx context.Context, call func() (*gh.Response, error)) error {
	for waits := 0; ; waits++ {
		_, err := call()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if reset, limit, ok := primaryLimit(err, r.now()); ok {
			wait := reset.Sub(r.now()) + r.e.resetSlack
			// Two waits per call are plenty: a third means the reset did not
			// bring requests back, and waiting again would loop.
			if wait > r.maxWait || waits >= 2 {
				return &rateLimitError{reset: reset, wait: wait, maxWait: r.maxWait, limit: limit, mode: r.mode, token: r.hasToken}
			}
			if dl, ok := ctx.Deadline(); ok && !r.noWait && wait > time.Until(dl) {
				// Sleeping would only end with the time budget: this
				// repository fails now, and the rows collected so far land.
				return fmt.Errorf("GitHub API rate limit exhausted (%s) until %s, %s from now, after the extractor's time budget runs out (%s left): run again after the reset, or raise extractors.github.timeout",
					r.mode, reset.UTC().Format(time.RFC3339), wait.Round(time.Second), time.Until(dl).Round(time.Second))
			}
			r.noteWait(reset, wait)
			if wait > 0 && !r.noWait {
				if err := sleep(ctx, wait); err != nil {
					return err
				}
			}
			continue
		}
		var abuse *gh.AbuseRateLimitError
		if errors.As(err, &abuse) {
			// The secondary limiter in the transport already slept through
			// every Retry-After it was allowed to; this one was not.
			return &secondaryLimitError{retryAfter: abuse.RetryAfter, maxWait: r.maxWait, message: abuse.Message}
		}
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized {
			msg := er.Message
			if msg == "" {
				msg = http.StatusText(http.StatusUnauthorized)
			}
			return &authError{token: r.hasToken, message: r.redact(msg)}
		}
		return err
	}
}

// noteWait logs a wait once per reset time, not once per worker.
func (r *run) noteWait(reset time.Time, wait time.Duration) {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	if r.loggedReset.Equal(reset) {
		return
	}
	r.loggedReset = reset
	r.logf("github: rate limit exhausted (%s); waiting %s for the reset at %s", r.mode, wait.Round(time.Second), reset.UTC().Format(time.RFC3339))
}

// primaryLimit reports whether err is GitHub's primary rate limit, and when
// it resets. go-github maps a 403 with X-RateLimit-Remaining: 0 (and its own
// pre-emptive refusal) to *RateLimitError; GitHub may also answer 429, which
// v62 leaves as a plain *ErrorResponse.
func primaryLimit(err error, now time.Time) (reset time.Time, limit int, ok bool) {
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		reset = rl.Rate.Reset.Time
		limit = rl.Rate.Limit
		ok = true
	}
	var er *gh.ErrorResponse
	if !ok && errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests &&
		er.Response.Header.Get("X-RateLimit-Remaining") == "0" {
		if secs, err := strconv.ParseInt(er.Response.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			reset = time.Unix(secs, 0)
		}
		limit, _ = strconv.Atoi(er.Response.Header.Get("X-RateLimit-Limit"))
		ok = true
	}
	if ok && reset.IsZero() {
		// No reset time: GitHub's advice is to wait at least a minute.
		reset = now.Add(time.Minute)
	}
	return reset.UTC(), limit, ok
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
