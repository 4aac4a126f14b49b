package pypi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

// The backoff doubles from 2s to a minute, without jitter, and keeps
// counting through backoff.Retry's Reset after a Retry-After wait.
func TestPypistatsSchedule(t *testing.T) {
	s := newPypistatsSchedule(func(d time.Duration) time.Duration { return d })
	var got []time.Duration
	for i := range 7 {
		if i == 2 {
			s.Reset()
		}
		got = append(got, s.NextBackOff())
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("backoffs (-want +got):\n%s", d)
	}
}

// statusClient is a pypistatsClient whose server answers every request
// with status and header, counting them.
func statusClient(t *testing.T, status int, header http.Header, requests *atomic.Int32) *pypistatsClient {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return &pypistatsClient{http: srv.Client(), limiter: rate.NewLimiter(rate.Inf, 1), base: srv.URL}
}

// A wait that would outlast the time budget is not waited: the package
// fails at once, saying so. The real clock runs here, so the budget is
// shorter than the first backoff.
func TestPypistatsWaitPastBudget(t *testing.T) {
	var requests atomic.Int32
	c := statusClient(t, http.StatusServiceUnavailable, nil, &requests)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	started := time.Now()
	_, err := c.fetchOverall(ctx, &pkg{name: "pandas"}, pypistatsAttempts)
	want := "503 Service Unavailable after 1 attempts; the next, in 2s, would come after the time budget runs out"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if _, ok := err.(*serverError); !ok {
		t.Errorf("err is a %T, want a *serverError (pypistats.org's failure)", err)
	}
	if requests.Load() != 1 || c.st.retries != 0 || time.Since(started) > 500*time.Millisecond {
		t.Errorf("%d requests, %d retries in %s; want 1 and none, at once", requests.Load(), c.st.retries, time.Since(started))
	}
}

// A Retry-After beyond pypistatsMaxWait gives the package up without
// waiting; on the last attempt the Retry-After is not even read.
func TestPypistatsRetryAfterTooLong(t *testing.T) {
	var requests atomic.Int32
	c := statusClient(t, http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}, &requests)
	_, err := c.fetchOverall(context.Background(), &pkg{name: "pandas"}, pypistatsAttempts)
	if err == nil || !strings.Contains(err.Error(), "asked to wait 1h0m0s, longer than 5m0s; giving up") || requests.Load() != 1 {
		t.Errorf("err = %v after %d requests, want a give-up after 1", err, requests.Load())
	}
	_, err = c.fetchOverall(context.Background(), &pkg{name: "pandas"}, 1)
	if err == nil || err.Error() != "429 Too Many Requests after 1 attempts" {
		t.Errorf("one attempt: err = %v", err)
	}
}
