package github

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/quarrydev/quarry/extractors"
)

// Check reports the API in use and whether GITHUB_TOKEN is set and
// accepted. It asks GET /rate_limit, which GitHub does not count against
// the rate limit.
func (e *Extractor) Check(ctx context.Context, env extractors.Env) []extractors.Finding {
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	base, custom, err := baseURL(getenv)
	if err != nil {
		return []extractors.Finding{{OK: false, Text: err.Error()}}
	}
	var out []extractors.Finding
	if custom {
		out = append(out, extractors.Finding{OK: true, Text: "API at " + base.String() + " (GITHUB_API_URL)"})
	}
	token, _ := getenv("GITHUB_TOKEN")
	token = strings.TrimSpace(token)
	if token == "" {
		out = append(out, extractors.Finding{OK: true, Text: "GITHUB_TOKEN is not set: unauthenticated, GitHub allows 60 requests an hour (5 per repository on a cold run)"})
	} else {
		out = append(out, extractors.Finding{OK: true, Text: "GITHUB_TOKEN is set"})
	}
	client := env.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"rate_limit", nil)
	if err != nil {
		return append(out, extractors.Finding{OK: false, Text: err.Error()})
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		msg := err.Error()
		if token != "" {
			msg = strings.ReplaceAll(msg, token, "[REDACTED]")
		}
		return append(out, extractors.Finding{OK: false, Text: "cannot reach " + base.Host + ": " + msg})
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var body struct {
			Resources struct {
				Core struct{ Limit, Remaining int } `json:"core"`
			} `json:"resources"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return append(out, extractors.Finding{OK: false, Text: "unexpected /rate_limit answer: " + err.Error()})
		}
		c := body.Resources.Core
		what := "anonymous access works"
		if token != "" {
			what = "GITHUB_TOKEN accepted"
		}
		return append(out, extractors.Finding{OK: true, Text: fmt.Sprintf("%s: %d of %d requests left this hour", what, c.Remaining, c.Limit)})
	case http.StatusUnauthorized:
		return append(out, extractors.Finding{OK: false, Text: "GITHUB_TOKEN was rejected (401): create a new token, or unset it to run unauthenticated"})
	default:
		return append(out, extractors.Finding{OK: false, Text: fmt.Sprintf("GET /rate_limit answered %s", resp.Status)})
	}
}
