package pypi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recordingTransport stands in for the --record transport: it sees every
// request made through env.HTTP and sends it to target instead.
type recordingTransport struct {
	target *url.URL
	mu     sync.Mutex
	seen   []string
	auth   []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, req.URL.Host+req.URL.Path)
	rt.auth = append(rt.auth, req.Header.Get("Authorization"))
	rt.mu.Unlock()
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host = rt.target.Scheme, rt.target.Host
	r.Host = rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// With real credentials (a service-account file), API requests go through
// env.HTTP's transport carrying the OAuth2 token, while the token exchange
// itself does not pass through env.HTTP (it never reaches a recording).
func TestBigQueryRealCredentialsThroughEnvHTTP(t *testing.T) {
	var tokenCalls atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "test-token", "token_type": "Bearer", "expires_in": 3600})
	}))
	defer tokens.Close()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
	sa, _ := json.Marshal(map[string]any{
		"type": "service_account", "project_id": "quarry-test", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "quarry@quarry-test.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": tokens.URL + "/token",
	})
	creds := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(creds, sa, 0o600); err != nil {
		t.Fatal(err)
	}

	f := newFakeBigQuery(t)
	seedFakeData(f)
	rt := &recordingTransport{target: must(url.Parse(f.srv.URL))}
	h := newHarness(t, map[string]any{"lookback_days": 1})
	h.env.HTTP = &http.Client{Transport: rt}
	h.vars["GOOGLE_CLOUD_PROJECT"] = f.project
	h.vars["GOOGLE_APPLICATION_CREDENTIALS"] = creds
	e, _ := testExtractor()

	res, err := e.Extract(context.Background(), h.env, seed("pandas", "pandas"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != "bigquery" || len(res.Rows[TableDownloads]) != 1 {
		t.Errorf("Source = %q, downloads rows %v", res.Source, res.Rows[TableDownloads])
	}
	if tokenCalls.Load() == 0 {
		t.Error("the token endpoint was never called")
	}
	if len(rt.seen) == 0 {
		t.Fatal("no request went through env.HTTP")
	}
	for i, s := range rt.seen {
		if !strings.HasPrefix(s, "bigquery.googleapis.com/bigquery/v2/projects/quarry-test/") {
			t.Errorf("env.HTTP saw %s: want BigQuery API requests only (never the token exchange)", s)
		}
		if rt.auth[i] != "Bearer test-token" {
			t.Errorf("request %s: Authorization %q, want the OAuth2 token", s, rt.auth[i])
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
