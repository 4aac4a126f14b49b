package pypi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBigQuery is an httptest server speaking the BigQuery REST API v2 as
// far as cloud.google.com/go/bigquery v1.86 uses it for the extractor's
// queries (which carry a job id, so the client skips the jobs.query fast
// path):
//
//	POST /projects/{p}/jobs            jobs.insert: dry runs, and query jobs
//	GET  /projects/{p}/queries/{job}   jobs.getQueryResults: waiting (maxResults=0), then rows
//	GET  /projects/{p}/jobs/{job}      jobs.get: status and statistics (?fields= honoured)
//
// optionally under /bigquery/v2. Requests and responses are JSON in the
// API's wire format: int64 as strings, rows as {"f":[{"v":...}]},
// TIMESTAMP cells as microseconds when formatOptions.useInt64Timestamp,
// errors as {"error":{"code","message","errors":[{"reason"}]}}.
//
// It answers the extractor's two queries from canned data, and checks
// what a real BigQuery would need: a constant TIMESTAMP partition filter,
// `file.project IN UNNEST(@packages)` with the packages as an
// ARRAY<STRING> parameter (never spliced into the text), the same
// parameter for the metadata query.
// Anything else is an invalidQuery error and a recorded problem, reported
// as a test failure.
type fakeBigQuery struct {
	t       *testing.T
	srv     *httptest.Server
	project string

	// downloads: normalized package -> "YYYY-MM-DD" -> downloads.
	downloads map[string]map[string]int64
	// meta: normalized package -> its metadata row.
	meta map[string]fakeMeta
	// bytesPerDay is the dry-run estimate per day scanned by a downloads
	// query; metaBytes the metadata query's.
	bytesPerDay, metaBytes int64
	// incomplete: query jobs start RUNNING and getQueryResults first
	// answers jobComplete=false, so the client has to poll.
	incomplete bool
	// failMeta answers the real metadata query (not its dry run) with a
	// 400 resourcesExceeded, a failure of that query alone.
	failMeta bool
	// denyJobs answers query jobs (not dry runs, which are free) with 403
	// quotaExceeded, as BigQuery does once a project's quota of query
	// bytes is used up.
	denyJobs bool
	// mangle, when set, alters each result before it is served, to play a
	// server whose answer is not the query's.
	mangle func(kind string, res *fakeJobResult)

	mu       sync.Mutex
	calls    []string // "METHOD /path" as received, prefix stripped
	queries  []fakeQuery
	jobs     map[string]*fakeJobResult
	problems []string
}

type fakeMeta struct {
	version, requiresPython, license, summary string
	uploaded                                  time.Time
	releases                                  int64
}

// fakeQuery is one query the fake received.
type fakeQuery struct {
	API            string // "jobs.insert"
	JobID          string
	DryRun         bool
	Kind           string   // "downloads" or "metadata"
	Packages       []string // @packages
	ParamTypes     []string // each parameter as name:TYPE<ELEMENT>
	Start, End     string   // partition filter bounds: [Start, End)
	MaxBytesBilled int64
	UseLegacySQL   *bool
	Location       string
	SQL            string
}

type fakeJobResult struct {
	pending   int // getQueryResults answers still to say jobComplete=false
	ref       map[string]any
	config    map[string]any
	schema    []map[string]any
	rows      [][]any // cell values: string, or nil
	types     []string
	bytes     int64
	int64Time bool
}

func newFakeBigQuery(t *testing.T) *fakeBigQuery {
	f := &fakeBigQuery{
		t:           t,
		project:     "quarry-test",
		downloads:   map[string]map[string]int64{},
		meta:        map[string]fakeMeta{},
		bytesPerDay: 1 << 20,
		metaBytes:   3 << 20,
		jobs:        map[string]*fakeJobResult{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.problems {
			t.Errorf("fake bigquery: %s", p)
		}
	})
	return f
}

func (f *fakeBigQuery) problem(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.problems = append(f.problems, msg)
	f.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
		"code": 400, "message": msg, "status": "INVALID_ARGUMENT",
		"errors": []any{map[string]any{"reason": "invalidQuery", "message": msg, "domain": "global"}},
	}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	fakePath = regexp.MustCompile(`^(?:/bigquery/v2)?/projects/([^/]+)/(jobs|queries)(?:/([^/]+))?$`)
	// A constant partition filter: TIMESTAMP literals on `timestamp`.
	reLower = regexp.MustCompile(`timestamp >= TIMESTAMP '(\d{4}-\d{2}-\d{2}) 00:00:00 UTC'`)
	reUpper = regexp.MustCompile(`timestamp < TIMESTAMP '(\d{4}-\d{2}-\d{2}) 00:00:00 UTC'`)
)

func (f *fakeBigQuery) serve(w http.ResponseWriter, r *http.Request) {
	m := fakePath.FindStringSubmatch(r.URL.Path)
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/bigquery/v2"))
	f.mu.Unlock()
	if m == nil {
		f.problem(w, "unexpected request %s %s", r.Method, r.URL.Path)
		return
	}
	if m[1] != f.project {
		f.problem(w, "project %q, want %q", m[1], f.project)
		return
	}
	switch {
	case r.Method == http.MethodPost && m[2] == "jobs" && m[3] == "":
		f.jobsInsert(w, r)
	case r.Method == http.MethodGet && m[2] == "queries" && m[3] != "":
		f.getQueryResults(w, r, m[3])
	case r.Method == http.MethodGet && m[2] == "jobs" && m[3] != "":
		f.jobsGet(w, r, m[3])
	default:
		f.problem(w, "unexpected request %s %s", r.Method, r.URL.Path)
	}
}

// wire types of the requests, decoded by hand from the API's JSON.
type wireParam struct {
	Name          string `json:"name"`
	ParameterType struct {
		Type      string `json:"type"`
		ArrayType *struct {
			Type string `json:"type"`
		} `json:"arrayType"`
	} `json:"parameterType"`
	ParameterValue struct {
		Value       *string `json:"value"`
		ArrayValues []struct {
			Value string `json:"value"`
		} `json:"arrayValues"`
	} `json:"parameterValue"`
}

type wireQuery struct {
	Query              string      `json:"query"`
	UseLegacySQL       *bool       `json:"useLegacySql"`
	QueryParameters    []wireParam `json:"queryParameters"`
	MaximumBytesBilled string      `json:"maximumBytesBilled"`
	ParameterMode      string      `json:"parameterMode"`
}

func (f *fakeBigQuery) jobsInsert(w http.ResponseWriter, r *http.Request) {
	var job struct {
		JobReference  map[string]any `json:"jobReference"`
		Configuration struct {
			DryRun bool      `json:"dryRun"`
			Query  wireQuery `json:"query"`
		} `json:"configuration"`
	}
	var raw map[string]any
	if err := decodeTwice(r, &job, &raw); err != nil {
		f.problem(w, "jobs.insert: %v", err)
		return
	}
	if job.Configuration.Query.Query == "" {
		f.problem(w, "jobs.insert: not a query job")
		return
	}
	if !job.Configuration.DryRun && f.denyJobs {
		msg := "Quota exceeded: Your project exceeded quota for free query bytes scanned."
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
			"code": 403, "message": msg, "status": "PERMISSION_DENIED",
			"errors": []any{map[string]any{"reason": "quotaExceeded", "domain": "usageLimits", "message": msg}},
		}})
		return
	}
	loc, _ := job.JobReference["location"].(string)
	id, _ := job.JobReference["jobId"].(string)
	if id == "" {
		f.problem(w, "jobs.insert without a job id")
		return
	}
	q, res, ok := f.execute(w, "jobs.insert", job.Configuration.DryRun, loc, job.Configuration.Query)
	if !ok {
		return
	}
	q.JobID = id
	res.ref = map[string]any{"projectId": f.project, "jobId": id, "location": loc}
	res.config, _ = raw["configuration"].(map[string]any)
	f.mu.Lock()
	f.queries = append(f.queries, q)
	if !q.DryRun {
		if _, dup := f.jobs[id]; dup {
			f.mu.Unlock()
			writeJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{
				"code": 409, "message": "Already Exists: Job " + f.project + ":" + loc + "." + id, "status": "ALREADY_EXISTS",
				"errors": []any{map[string]any{"reason": "duplicate", "message": "Already Exists: Job " + id}},
			}})
			return
		}
		if f.incomplete {
			res.pending = 1
		}
		f.jobs[id] = res
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, f.jobResource(res, q.DryRun))
}

func (f *fakeBigQuery) getQueryResults(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	res := f.jobs[id]
	f.mu.Unlock()
	if res == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"code": 404, "message": "Not found: Job " + f.project + ":" + id, "status": "NOT_FOUND",
			"errors": []any{map[string]any{"reason": "notFound", "message": "Not found: Job " + id}},
		}})
		return
	}
	if loc := r.URL.Query().Get("location"); loc != res.ref["location"] {
		f.problem(w, "getQueryResults: location %q, want %q", loc, res.ref["location"])
		return
	}
	limit := -1
	if v := r.URL.Query().Get("maxResults"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	f.mu.Lock()
	pending := res.pending > 0
	if pending {
		res.pending--
	}
	res.int64Time = r.URL.Query().Get("formatOptions.useInt64Timestamp") == "true"
	f.mu.Unlock()
	if pending {
		writeJSON(w, http.StatusOK, map[string]any{
			"kind": "bigquery#getQueryResultsResponse", "jobReference": res.ref, "jobComplete": false,
		})
		return
	}
	resp := f.resultsBody(res, limit)
	resp["kind"] = "bigquery#getQueryResultsResponse"
	writeJSON(w, http.StatusOK, resp)
}

func (f *fakeBigQuery) jobsGet(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	res := f.jobs[id]
	f.mu.Unlock()
	if res == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
			"code": 404, "message": "Not found: Job " + id, "status": "NOT_FOUND",
		}})
		return
	}
	body := f.jobResource(res, false)
	// Partial responses: ?fields=status,statistics keeps those only.
	if fields := r.URL.Query().Get("fields"); fields != "" {
		keep := map[string]any{}
		for _, k := range strings.Split(fields, ",") {
			if v, ok := body[k]; ok {
				keep[k] = v
			}
		}
		body = keep
	}
	writeJSON(w, http.StatusOK, body)
}

func (f *fakeBigQuery) jobResource(res *fakeJobResult, dryRun bool) map[string]any {
	bytes := strconv.FormatInt(res.bytes, 10)
	query := map[string]any{"totalBytesProcessed": bytes, "statementType": "SELECT", "cacheHit": false}
	if !dryRun {
		query["totalBytesBilled"] = bytes
	}
	state := "DONE"
	f.mu.Lock()
	if res.pending > 0 {
		state = "RUNNING"
	}
	f.mu.Unlock()
	return map[string]any{
		"kind":          "bigquery#job",
		"id":            f.project + ":" + fmt.Sprint(res.ref["location"]) + "." + fmt.Sprint(res.ref["jobId"]),
		"jobReference":  res.ref,
		"configuration": res.config,
		"status":        map[string]any{"state": state},
		"statistics": map[string]any{
			"creationTime":        "1704067200000",
			"totalBytesProcessed": bytes,
			"query":               query,
		},
	}
}

func (f *fakeBigQuery) resultsBody(res *fakeJobResult, limit int) map[string]any {
	rows := []any{}
	for i, row := range res.rows {
		if limit >= 0 && i >= limit {
			break
		}
		cells := []any{}
		for c, v := range row {
			if s, ok := v.(string); ok && res.types[c] == "TIMESTAMP" && !res.int64Time {
				// Without useInt64Timestamp the API sends float seconds.
				us, _ := strconv.ParseInt(s, 10, 64)
				v = strconv.FormatFloat(float64(us)/1e6, 'E', -1, 64)
			}
			cells = append(cells, map[string]any{"v": v})
		}
		rows = append(rows, map[string]any{"f": cells})
	}
	return map[string]any{
		"jobReference": res.ref,
		"schema":       map[string]any{"fields": res.schema},
		"rows":         rows,
		"totalRows":    strconv.Itoa(len(res.rows)),
		"jobComplete":  true,
	}
}

// execute validates a query and computes its result.
func (f *fakeBigQuery) execute(w http.ResponseWriter, api string, dryRun bool, location string, wq wireQuery) (fakeQuery, *fakeJobResult, bool) {
	q := fakeQuery{API: api, DryRun: dryRun, SQL: wq.Query, Location: location}
	if wq.MaximumBytesBilled != "" {
		n, err := strconv.ParseInt(wq.MaximumBytesBilled, 10, 64)
		if err != nil {
			f.problem(w, "maximumBytesBilled %q is not an int64 string", wq.MaximumBytesBilled)
			return q, nil, false
		}
		q.MaxBytesBilled = n
	}
	q.UseLegacySQL = wq.UseLegacySQL
	for _, p := range wq.QueryParameters {
		t := p.Name + ":" + p.ParameterType.Type
		if p.ParameterType.ArrayType != nil {
			t += "<" + p.ParameterType.ArrayType.Type + ">"
		}
		q.ParamTypes = append(q.ParamTypes, t)
	}
	if wq.UseLegacySQL == nil || *wq.UseLegacySQL {
		f.problem(w, "query does not set useLegacySql=false")
		return q, nil, false
	}
	params := map[string]wireParam{}
	for _, p := range wq.QueryParameters {
		params[p.Name] = p
	}
	var res *fakeJobResult
	switch {
	case strings.Contains(wq.Query, ".file_downloads`"):
		q.Kind = "downloads"
		lo, hi := reLower.FindStringSubmatch(wq.Query), reUpper.FindStringSubmatch(wq.Query)
		if lo == nil || hi == nil {
			f.problem(w, "downloads query without a constant TIMESTAMP partition filter:\n%s", wq.Query)
			return q, nil, false
		}
		q.Start, q.End = lo[1], hi[1]
		if !strings.Contains(wq.Query, "file.project IN UNNEST(@packages)") {
			f.problem(w, "downloads query does not filter file.project IN UNNEST(@packages):\n%s", wq.Query)
			return q, nil, false
		}
		if !strings.Contains(wq.Query, "GROUP BY file.project, DATE(timestamp)") {
			f.problem(w, "downloads query does not group by project and day")
			return q, nil, false
		}
		names, ok := f.packagesParam(w, wq)
		if !ok {
			return q, nil, false
		}
		q.Packages = names
		start, err1 := time.Parse(time.DateOnly, q.Start)
		end, err2 := time.Parse(time.DateOnly, q.End)
		if err1 != nil || err2 != nil || !start.Before(end) {
			f.problem(w, "bad partition window [%s, %s)", q.Start, q.End)
			return q, nil, false
		}
		// The dry run's estimate, like BigQuery's, ignores clustering: it
		// is the partitions' bytes whatever the packages.
		days := int64(end.Sub(start) / (24 * time.Hour))
		res = &fakeJobResult{
			bytes: days * f.bytesPerDay,
			types: []string{"STRING", "DATE", "INTEGER"},
			schema: []map[string]any{
				{"name": "package", "type": "STRING", "mode": "NULLABLE"},
				{"name": "download_date", "type": "DATE", "mode": "NULLABLE"},
				{"name": "downloads", "type": "INTEGER", "mode": "NULLABLE"},
			},
		}
		sorted := slices.Sorted(slices.Values(names))
		for _, n := range slices.Compact(sorted) {
			var dates []string
			for d := range f.downloads[n] {
				if d >= q.Start && d < q.End {
					dates = append(dates, d)
				}
			}
			sort.Strings(dates)
			for _, d := range dates {
				res.rows = append(res.rows, []any{n, d, strconv.FormatInt(f.downloads[n][d], 10)})
			}
		}
	case strings.Contains(wq.Query, ".distribution_metadata`"):
		q.Kind = "metadata"
		if !strings.Contains(wq.Query, "IN UNNEST(@packages)") {
			f.problem(w, "metadata query does not filter IN UNNEST(@packages)")
			return q, nil, false
		}
		names, ok := f.packagesParam(w, wq)
		if !ok {
			return q, nil, false
		}
		q.Packages = names
		if f.failMeta && !dryRun {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code": 400, "message": "Resources exceeded during query execution", "status": "INVALID_ARGUMENT",
				"errors": []any{map[string]any{"reason": "resourcesExceeded", "message": "Resources exceeded during query execution", "domain": "global"}},
			}})
			return q, nil, false
		}
		res = &fakeJobResult{
			bytes: f.metaBytes,
			types: []string{"STRING", "STRING", "TIMESTAMP", "STRING", "STRING", "STRING", "INTEGER"},
			schema: []map[string]any{
				{"name": "package", "type": "STRING", "mode": "NULLABLE"},
				{"name": "latest_version", "type": "STRING", "mode": "NULLABLE"},
				{"name": "latest_version_uploaded_at", "type": "TIMESTAMP", "mode": "NULLABLE"},
				{"name": "requires_python", "type": "STRING", "mode": "NULLABLE"},
				{"name": "license", "type": "STRING", "mode": "NULLABLE"},
				{"name": "summary", "type": "STRING", "mode": "NULLABLE"},
				{"name": "releases", "type": "INTEGER", "mode": "NULLABLE"},
			},
		}
		names = slices.Clone(q.Packages)
		sort.Strings(names)
		for _, n := range names {
			m, ok := f.meta[n]
			if !ok {
				continue
			}
			res.rows = append(res.rows, []any{n, m.version,
				strconv.FormatInt(m.uploaded.UnixMicro(), 10),
				nilIfEmpty(m.requiresPython), nilIfEmpty(m.license), nilIfEmpty(m.summary),
				strconv.FormatInt(m.releases, 10)})
		}
	default:
		f.problem(w, "unexpected query:\n%s", wq.Query)
		return q, nil, false
	}
	if f.mangle != nil {
		f.mangle(q.Kind, res)
	}
	return q, res, true
}

// packagesParam checks that the query's only parameter is the
// ARRAY<STRING> @packages, none of whose values is spliced into the text,
// and returns its values.
func (f *fakeBigQuery) packagesParam(w http.ResponseWriter, wq wireQuery) ([]string, bool) {
	if len(wq.QueryParameters) != 1 {
		f.problem(w, "want one ARRAY<STRING> parameter @packages, got %+v", wq.QueryParameters)
		return nil, false
	}
	p := wq.QueryParameters[0]
	if p.Name != "packages" || p.ParameterType.Type != "ARRAY" ||
		p.ParameterType.ArrayType == nil || p.ParameterType.ArrayType.Type != "STRING" {
		f.problem(w, "want one ARRAY<STRING> parameter @packages, got %+v", wq.QueryParameters)
		return nil, false
	}
	var names []string
	for _, v := range p.ParameterValue.ArrayValues {
		names = append(names, v.Value)
		if strings.Contains(wq.Query, "'"+v.Value+"'") || strings.Contains(wq.Query, `"`+v.Value+`"`) {
			f.problem(w, "package %q spliced into the query text", v.Value)
			return nil, false
		}
	}
	return names, true
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func decodeTwice(r *http.Request, typed, raw any) error {
	var buf json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&buf); err != nil {
		return err
	}
	if err := json.Unmarshal(buf, typed); err != nil {
		return err
	}
	return json.Unmarshal(buf, raw)
}

// received returns the queries received, dry runs or real ones.
func (f *fakeBigQuery) received(dryRun bool) []fakeQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeQuery
	for _, q := range f.queries {
		if q.DryRun == dryRun {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return strings.Join(out[i].Packages, ",") < strings.Join(out[j].Packages, ",")
	})
	return out
}

func (f *fakeBigQuery) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
