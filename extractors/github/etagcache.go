package github

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// etagCache makes GET requests conditional. GitHub sends an ETag with
// every 200; asked again with If-None-Match it answers 304 Not Modified with
// no body when nothing changed, and an authenticated 304 does not count
// against the rate limit (an unauthenticated one does). go-github v62 turns
// a bare 304 into an error, so the cached 200 is handed back instead, with
// the fresh rate-limit headers of the 304.
//
// One file per request (method, URL, Accept, API version) under dir,
// written atomically (temporary file, then rename) so a crash or two
// concurrent runs never leave half an entry. Only response headers from a
// short allow-list are kept: nothing from the request, so never the
// Authorization header. The token is not part of the key either: GitHub
// only answers 304 when the ETag matches what this requester may see now.
type etagCache struct {
	next http.RoundTripper
	dir  string
	logf func(string, ...any)

	warnOnce sync.Once
}

type cacheEntry struct {
	URL    string      `json:"url"`
	ETag   string      `json:"etag"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// keptHeaders are the response headers a revalidated answer needs: Link
// carries the page counts, which a 304 does not repeat.
var keptHeaders = []string{"Content-Type", "ETag", "Last-Modified", "Link"}

// freshHeaders are taken from the 304 into the revalidated answer.
var freshHeaders = []string{"Date", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used", "X-RateLimit-Resource"}

func (c *etagCache) path(req *http.Request) string {
	h := sha256.New()
	for _, s := range []string{req.Method, req.URL.String(), req.Header.Get("Accept"), req.Header.Get("X-GitHub-Api-Version")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return filepath.Join(c.dir, hex.EncodeToString(h.Sum(nil))+".json")
}

func (c *etagCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" || req.Header.Get("Range") != "" {
		return c.next.RoundTrip(req)
	}
	path := c.path(req)
	entry := c.load(path, req.URL.String())
	out := req
	if entry != nil {
		out = req.Clone(req.Context())
		out.Header.Set("If-None-Match", entry.ETag)
	}
	resp, err := c.next.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && entry != nil:
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return entry.response(req, resp), nil
	case resp.StatusCode == http.StatusOK:
		etag := resp.Header.Get("ETag")
		if etag == "" {
			if entry != nil {
				_ = os.Remove(path)
			}
			return resp, nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		e := cacheEntry{URL: req.URL.String(), ETag: etag, Header: http.Header{}, Body: body}
		for _, k := range keptHeaders {
			if v := resp.Header.Values(k); len(v) > 0 {
				e.Header[k] = append([]string(nil), v...)
			}
		}
		if err := c.store(path, &e); err != nil {
			c.warnOnce.Do(func() { c.logf("github: could not write the ETag cache (requests still work): %v", err) })
		}
	}
	return resp, nil
}

// load returns the entry for url, or nil when there is none or it is
// unreadable (then it is ignored and overwritten by the next 200).
func (c *etagCache) load(path, url string) *cacheEntry {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.URL != url || e.ETag == "" {
		return nil
	}
	return &e
}

func (c *etagCache) store(path string, e *cacheEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// response rebuilds the cached 200 for req, with the 304's fresh headers.
func (e *cacheEntry) response(req *http.Request, notModified *http.Response) *http.Response {
	h := http.Header{}
	for k, v := range e.Header {
		h[k] = append([]string(nil), v...)
	}
	for _, k := range freshHeaders {
		if v := notModified.Header.Values(k); len(v) > 0 {
			h[k] = append([]string(nil), v...)
		}
	}
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         notModified.Proto,
		ProtoMajor:    notModified.ProtoMajor,
		ProtoMinor:    notModified.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(e.Body)),
		ContentLength: int64(len(e.Body)),
		Request:       req,
	}
}
