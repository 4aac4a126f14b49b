package fakesnow

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// queryPath is where Snowflake clients post statements.
const queryPath = "/queries/v1/query-request"

// startProxy serves the recording proxy on a free port of 127.0.0.1, in
// front of the emulator at backend.
func (s *Server) startProxy(backend string) error {
	target := &url.URL{Scheme: "http", Host: backend}
	quiet := log.New(io.Discard, "", 0) // a client hanging up is not news
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = quiet
	p := &proxy{backend: target, next: rp, rec: s.rec}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fakesnow: proxy: %w", err)
	}
	s.proxy = &http.Server{Handler: p, ErrorLog: quiet}
	go s.proxy.Serve(ln)
	s.endpoint = Endpoint{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, srv: s}
	return nil
}

type proxy struct {
	backend *url.URL
	next    http.Handler
	rec     *recorder
	swaps   atomic.Int64 // numbers the swap's scratch tables
}

type recorder struct {
	mu   sync.Mutex
	list []Statement
}

func (r *recorder) add(s Statement) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, s)
}

func (r *recorder) statements() []Statement {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Statement(nil), r.list...)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != queryPath {
		p.next.ServeHTTP(w, r)
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "fakesnow proxy: "+err.Error(), http.StatusBadRequest)
		return
	}
	sql, _ := req["sqlText"].(string)
	st := Statement{SQL: sql}
	if params, ok := req["parameters"].(map[string]any); ok {
		if tag, ok := params["QUERY_TAG"].(string); ok {
			st.QueryTag = tag
		}
	}
	p.rec.add(st)
	if a, b, ok := parseSwap(sql); ok {
		p.swap(w, r, req, a, b)
		return
	}
	// Forward the (now uncompressed) body as it came.
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Encoding")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	p.next.ServeHTTP(w, r)
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("fakesnow proxy: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	return io.ReadAll(rd)
}

// ident is one Snowflake identifier: double-quoted (with "" for a quote)
// or bare.
const ident = `(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`

var (
	identRE = regexp.MustCompile(ident)
	name    = ident + `(?:\s*\.\s*` + ident + `)*`
	swapRE  = regexp.MustCompile(`(?is)^\s*alter\s+table\s+(?:if\s+exists\s+)?(` + name + `)\s+swap\s+with\s+(` + name + `)\s*;?\s*$`)
)

// parseSwap recognizes ALTER TABLE a SWAP WITH b and returns a and b as
// written.
func parseSwap(sql string) (a, b string, ok bool) {
	m := swapRE.FindStringSubmatch(sql)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// swap emulates ALTER TABLE a SWAP WITH b by renaming a aside, b to a, and
// the first one to b, each through the emulator in the client's session.
// The reply is the last statement's, or the first failure's.
func (p *proxy) swap(w http.ResponseWriter, r *http.Request, req map[string]any, a, b string) {
	parts := identRE.FindAllString(a, -1)
	parts[len(parts)-1] = fmt.Sprintf(`"__fakesnow_swap_%d"`, p.swaps.Add(1))
	aside := strings.Join(parts, ".") // in a's schema
	steps := []string{
		"ALTER TABLE " + a + " RENAME TO " + aside,
		"ALTER TABLE " + b + " RENAME TO " + a,
		"ALTER TABLE " + aside + " RENAME TO " + b,
	}
	var status int
	var header http.Header
	var body []byte
	for i, sql := range steps {
		var ok bool
		var err error
		status, header, body, ok, err = p.send(r, req, sql)
		if err != nil {
			http.Error(w, "fakesnow proxy: swap: "+err.Error(), http.StatusBadGateway)
			return
		}
		if !ok {
			if i == 1 {
				// Put a back so that a failed swap changes nothing.
				_, _, _, _, _ = p.send(r, req, "ALTER TABLE "+aside+" RENAME TO "+a)
			}
			break
		}
	}
	for k, v := range header {
		if k != "Content-Length" && k != "Content-Encoding" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// send posts req with sqlText replaced to the emulator, with the client's
// headers (its session token among them), and reports whether Snowflake's
// "success" flag was set in the reply.
func (p *proxy) send(r *http.Request, req map[string]any, sql string) (int, http.Header, []byte, bool, error) {
	req["sqlText"] = sql
	buf, err := json.Marshal(req)
	if err != nil {
		return 0, nil, nil, false, err
	}
	u := *p.backend
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(buf))
	if err != nil {
		return 0, nil, nil, false, err
	}
	for k, v := range r.Header {
		if k != "Content-Length" && k != "Content-Encoding" && k != "Accept-Encoding" {
			out.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		return 0, nil, nil, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, false, err
	}
	var reply struct {
		Success bool `json:"success"`
	}
	_ = json.Unmarshal(body, &reply)
	return resp.StatusCode, resp.Header, body, reply.Success, nil
}
