package pypi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/quarrydev/quarry/extractors"
	"github.com/quarrydev/quarry/internal/english"
)

// datasetPattern accepts "project.dataset" or "dataset". The dataset ends
// up inside backquotes in SQL text, so nothing else may pass.
var datasetPattern = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9.:-]*[A-Za-z0-9]\.)?[A-Za-z0-9_]+$`)

// bqRun is the BigQuery side of one Extract call.
type bqRun struct {
	*run
	client    *bigquery.Client
	dataset   string
	location  string
	downloads string // `project.dataset.file_downloads`
	metaTable string // `project.dataset.distribution_metadata`
}

// bqJob is one query: its text, parameters and outcome.
type bqJob struct {
	pkgs     []*pkg // the downloads query's packages; nil for the metadata query
	win      window // the downloads query's window
	sql      string
	params   []bigquery.QueryParameter
	estimate int64
	err      error
}

func (e *Extractor) extractBigQuery(ctx context.Context, r *run) error {
	project := lookup(r.getenv, "GOOGLE_CLOUD_PROJECT")
	if project == "" {
		return errors.New("pypi: the bigquery backend needs GOOGLE_CLOUD_PROJECT (the project billed for queries)")
	}
	dataset := lookup(r.getenv, "BIGQUERY_DATASET_ID")
	if dataset == "" {
		dataset = DefaultDataset
	}
	if !datasetPattern.MatchString(dataset) {
		return fmt.Errorf("pypi: BIGQUERY_DATASET_ID %q is not a dataset id (want project.dataset)", dataset)
	}
	location := lookup(r.getenv, "BIGQUERY_LOCATION")
	if location == "" {
		location = DefaultLocation
	}
	client, err := newBigQueryClient(ctx, r, project)
	if err != nil {
		return err
	}
	defer client.Close()
	b := &bqRun{
		run:       r,
		client:    client,
		dataset:   dataset,
		location:  location,
		downloads: "`" + dataset + ".file_downloads`",
		metaTable: "`" + dataset + ".distribution_metadata`",
	}
	return b.extract(ctx, e.bqConcurrency)
}

// newBigQueryClient builds the client so that every API request goes
// through env.HTTP's transport, where --record and --replay hook in:
//
//   - BIGQUERY_API_ENDPOINT set (emulators, tests) or a replay: no
//     authentication at all, env.HTTP as is.
//   - otherwise: an OAuth2 transport (from GOOGLE_APPLICATION_CREDENTIALS,
//     else Application Default Credentials) layered on top of env.HTTP's
//     transport. The API traffic still flows through env.HTTP's transport
//     (so a recording sees it, and must redact the Authorization header as
//     for any token), while the token exchange itself uses the auth
//     library's own client: credentials never reach a recording.
func newBigQueryClient(ctx context.Context, r *run, project string) (*bigquery.Client, error) {
	endpoint := lookup(r.getenv, "BIGQUERY_API_ENDPOINT")
	var opts []option.ClientOption
	switch {
	case endpoint != "":
		if !strings.HasSuffix(endpoint, "/") {
			// The API's paths are resolved relative to the endpoint.
			endpoint += "/"
		}
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication(), option.WithHTTPClient(r.http))
		r.env.Logf("pypi: bigquery endpoint %s (no authentication)", endpoint)
	case r.env.Replaying:
		opts = append(opts, option.WithoutAuthentication(), option.WithHTTPClient(r.http))
	default:
		authOpts := []option.ClientOption{option.WithScopes(bigquery.Scope)}
		if path := lookup(r.getenv, "GOOGLE_APPLICATION_CREDENTIALS"); path != "" {
			credType, err := credentialsType(path)
			if err != nil {
				return nil, err
			}
			// The file is the user's own configuration (their environment
			// names it), not input from a third party.
			authOpts = append(authOpts, option.WithAuthCredentialsFile(credType, path))
		}
		base := r.http.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		rt, err := htransport.NewTransport(ctx, base, authOpts...)
		if err != nil {
			return nil, fmt.Errorf("pypi: bigquery credentials: %w", err)
		}
		hc := *r.http
		hc.Transport = rt
		opts = append(opts, option.WithHTTPClient(&hc))
	}
	client, err := bigquery.NewClient(ctx, project, opts...)
	if err != nil {
		return nil, fmt.Errorf("pypi: bigquery client: %w", err)
	}
	return client, nil
}

// credentialsType reads the "type" of a credentials JSON file.
func credentialsType(path string) (option.CredentialsType, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("pypi: GOOGLE_APPLICATION_CREDENTIALS: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("pypi: GOOGLE_APPLICATION_CREDENTIALS (%s) is not a JSON credentials file: %v", path, err)
	}
	switch f.Type {
	case "service_account", "authorized_user", "impersonated_service_account",
		"external_account", "external_account_authorized_user", "gdc_service_account":
		return option.CredentialsType(f.Type), nil
	default:
		return "", fmt.Errorf("pypi: GOOGLE_APPLICATION_CREDENTIALS (%s) has unsupported credentials type %q", path, f.Type)
	}
}

// timestampLiteral renders midnight UTC of day as a BigQuery TIMESTAMP
// literal. The text comes from a time.Time, never from user input.
func timestampLiteral(day time.Time) string {
	return "TIMESTAMP '" + day.UTC().Format("2006-01-02") + " 00:00:00 UTC'"
}

// downloadsSQL is the query for the daily downloads of every package in
// @packages over w: one query per window, not one per package, so each
// day's partition is read once (the table is clustered by file.project,
// so BigQuery skips the blocks of other projects) and the 10 MB minimum
// billed per query is paid once.
//
// The partition filter on `timestamp` is written as TIMESTAMP literals
// computed here, not as query parameters: BigQuery prunes partitions (and
// sizes its dry-run estimate) only from constant expressions, and literals
// are constant by construction, whatever the planner decides about
// parameters. The window is half-open: from the first day's midnight to the
// midnight after the last day, so today's partial day is never read. The
// packages, the only user-supplied values, are the ARRAY<STRING> parameter
// @packages (normalized names, as file.project holds them).
func downloadsSQL(table string, w window) string {
	return "SELECT file.project AS package, DATE(timestamp) AS download_date, COUNT(*) AS downloads\n" +
		"FROM " + table + "\n" +
		"WHERE timestamp >= " + timestampLiteral(w.start) + "\n" +
		"  AND timestamp < " + timestampLiteral(w.end.AddDate(0, 0, 1)) + "\n" +
		"  AND file.project IN UNNEST(@packages)\n" +
		"GROUP BY file.project, DATE(timestamp)\n" +
		"ORDER BY package, download_date"
}

// metadataSQL is the query for the packages' metadata, one row per package
// found: the latest version is the most recently released final version
// (pre-releases only when there is nothing else), its release time is the
// first upload of one of its files, and requires_python, license and
// summary come from that version's most recent file. releases counts
// distinct versions. Names are compared PEP 503-normalized. One query for
// all packages: the table has no partitions, so each query scans the same
// columns whatever the package.
func metadataSQL(table string) string {
	return `WITH files AS (
  SELECT LOWER(REGEXP_REPLACE(name, r'[-_.]+', '-')) AS package,
    version, upload_time, requires_python, license, summary
  FROM ` + table + `
  WHERE LOWER(REGEXP_REPLACE(name, r'[-_.]+', '-')) IN UNNEST(@packages)
),
versions AS (
  SELECT package, version,
    MIN(upload_time) AS uploaded_at,
    ARRAY_AGG(STRUCT(requires_python, license, summary) ORDER BY upload_time DESC LIMIT 1)[OFFSET(0)] AS meta,
    REGEXP_CONTAINS(LOWER(version), r'[0-9]\.?(a|b|c|rc|alpha|beta|pre|preview|dev)[0-9]*') AS prerelease
  FROM files
  GROUP BY package, version
)
SELECT package,
  latest.version AS latest_version,
  latest.uploaded_at AS latest_version_uploaded_at,
  latest.meta.requires_python AS requires_python,
  latest.meta.license AS license,
  latest.meta.summary AS summary,
  releases
FROM (
  SELECT package,
    ARRAY_AGG(STRUCT(version, uploaded_at, meta) ORDER BY prerelease, uploaded_at DESC LIMIT 1)[OFFSET(0)] AS latest,
    COUNT(*) AS releases
  FROM versions
  GROUP BY package
)
ORDER BY package`
}

func (b *bqRun) query(j *bqJob, dryRun bool) *bigquery.Query {
	q := b.client.Query(j.sql)
	q.Parameters = j.params
	q.Location = b.location
	q.MaxBytesBilled = b.cfg.maxBytes
	q.DryRun = dryRun
	q.Labels = map[string]string{"quarry_extractor": Name}
	q.JobID = jobID(b.env.Now, j, dryRun)
	return q
}

// jobID names a job after the run's clock and the query, so that a replay
// (same clock, same queries) sends byte-identical requests: the client's
// own random job ids, and the random requestId of its jobs.query fast
// path, would never match a recording. Giving a job id makes the client
// use jobs.insert, then getQueryResults. Each real run has its own clock,
// hence its own ids.
func jobID(now time.Time, j *bqJob, dryRun bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%t\n%s\n", now.UTC().Format(time.RFC3339Nano), dryRun, j.sql)
	for _, p := range j.params {
		fmt.Fprintf(h, "%s=%v\n", p.Name, p.Value)
	}
	kind := "metadata"
	if j.pkgs != nil {
		kind = "downloads_" + j.win.start.Format("20060102") + "_" + j.win.end.Format("20060102")
	}
	phase := "run"
	if dryRun {
		phase = "dryrun"
	}
	return fmt.Sprintf("quarry_pypi_%s_%s_%s_%x", kind, phase, now.UTC().Format("20060102T150405"), h.Sum(nil)[:8])
}

// dryRun returns the job's estimate of bytes processed.
func (b *bqRun) dryRun(ctx context.Context, j *bqJob) (int64, error) {
	job, err := b.query(j, true).Run(ctx)
	if err != nil {
		return 0, err
	}
	st := job.LastStatus()
	if st == nil || st.Statistics == nil {
		return 0, errors.New("dry run returned no statistics")
	}
	if err := st.Err(); err != nil {
		return 0, err
	}
	return st.Statistics.TotalBytesProcessed, nil
}

// read runs the job, hands its rows to each, and returns the bytes
// processed and billed.
func (b *bqRun) read(ctx context.Context, j *bqJob, each func(it *bigquery.RowIterator) error) (processed, billed int64, err error) {
	// With a job id set, Query.Read inserts the job (jobs.insert, carrying
	// maximumBytesBilled) and reads its rows with getQueryResults.
	it, err := b.query(j, false).Read(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := each(it); err != nil {
		return 0, 0, err
	}
	// The job's statistics (jobs.get) say what was actually processed and
	// billed; the dry run's estimate stands in if they are unavailable.
	processed, billed = j.estimate, j.estimate
	if job := it.SourceJob(); job != nil {
		if st, err := job.Status(ctx); err == nil && st.Statistics != nil {
			processed = st.Statistics.TotalBytesProcessed
			billed = processed
			if qs, ok := st.Statistics.Details.(*bigquery.QueryStatistics); ok {
				billed = qs.TotalBytesBilled
			}
		} else if err != nil {
			b.env.Logf("pypi: bigquery: statistics of job %s unavailable (%v); counting its estimate", job.ID(), err)
		}
	}
	return processed, billed, nil
}

// The columns each query answers, by name and type: the client fills a
// struct from the columns the answer has and leaves the others at zero, so
// an answer without downloads would land zero downloads. The answer's
// schema is checked before any row of it is used.
var (
	downloadsSchema = map[string]bigquery.FieldType{
		"package":       bigquery.StringFieldType,
		"download_date": bigquery.DateFieldType,
		"downloads":     bigquery.IntegerFieldType,
	}
	metadataSchema = map[string]bigquery.FieldType{
		"package":                    bigquery.StringFieldType,
		"latest_version":             bigquery.StringFieldType,
		"latest_version_uploaded_at": bigquery.TimestampFieldType,
		"requires_python":            bigquery.StringFieldType,
		"license":                    bigquery.StringFieldType,
		"summary":                    bigquery.StringFieldType,
		"releases":                   bigquery.IntegerFieldType,
	}
)

// checkSchema reports the columns of want that schema lacks or types
// otherwise.
func checkSchema(schema bigquery.Schema, want map[string]bigquery.FieldType) error {
	got := map[string]bigquery.FieldType{}
	for _, f := range schema {
		got[strings.ToLower(f.Name)] = f.Type
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t, ok := got[name]
		switch {
		case !ok:
			problems = append(problems, "no column "+name)
		case t != want[name]:
			problems = append(problems, fmt.Sprintf("column %s is %s, not %s", name, t, want[name]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("the answer does not have the query's columns: %s", strings.Join(problems, ", "))
	}
	return nil
}

type downloadRow struct {
	Package   string     `bigquery:"package"`
	Day       civil.Date `bigquery:"download_date"`
	Downloads int64      `bigquery:"downloads"`
}

type metadataRow struct {
	Package        string                 `bigquery:"package"`
	LatestVersion  bigquery.NullString    `bigquery:"latest_version"`
	UploadedAt     bigquery.NullTimestamp `bigquery:"latest_version_uploaded_at"`
	RequiresPython bigquery.NullString    `bigquery:"requires_python"`
	License        bigquery.NullString    `bigquery:"license"`
	Summary        bigquery.NullString    `bigquery:"summary"`
	Releases       int64                  `bigquery:"releases"`
}

// isSystemic reports errors that concern the whole backend rather than one
// package: authentication, permissions, quota, billing.
func isSystemic(err error) bool {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == http.StatusUnauthorized || gerr.Code == http.StatusForbidden
	}
	return false
}

// bqOutcome is what one job read: its packages' days (by normalized
// name) or the packages' metadata, and the bytes the job processed and
// billed.
type bqOutcome struct {
	days              map[string][]dayCount
	metas             map[string]*metadata
	processed, billed int64
}

// extract lands every package in three steps, each waiting for the one
// before: plan the queries, dry-run them all against the byte cap, run
// them, then collect the answers in seed order.
func (b *bqRun) extract(ctx context.Context, concurrency int) error {
	if concurrency < 1 {
		concurrency = 1
	}
	jobs, meta, upToDate := b.planJobs()
	all := append(append([]*bqJob(nil), jobs...), meta)

	// 1. Dry-run every query; no real job is sent until all estimates are
	// known to fit under the cap.
	forEach(all, concurrency, func(j *bqJob) {
		j.estimate, j.err = b.dryRun(ctx, j)
	})
	if be := extractors.OutOfBudget(ctx); be != nil {
		// Nothing was run (dry runs are free): every package is still to do.
		b.res.BigQuery = &extractors.BigQueryUsage{}
		for _, p := range b.pkgs {
			b.addItemError(p, "pypi: bigquery: %v", be)
		}
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	estimate, err := b.checkEstimates(all)
	if err != nil {
		return err
	}

	// 2. Run them.
	var todo []*bqJob
	for _, j := range all {
		if j.err == nil {
			todo = append(todo, j)
		}
	}
	outcomes := b.runJobs(ctx, todo, concurrency)
	if err := ctx.Err(); err != nil && extractors.OutOfBudget(ctx) == nil {
		return err
	}
	for _, j := range todo {
		if j.err != nil && isSystemic(j.err) {
			return fmt.Errorf("pypi: bigquery: %w", j.err)
		}
	}

	// 3. Assemble the result in seed order.
	var processed, billed int64
	for _, o := range outcomes {
		processed += o.processed
		billed += o.billed
	}
	rows := b.collect(jobs, meta, outcomes)
	b.env.Logf("pypi: bigquery: %d download rows; %s processed, %s billed", rows, humanBytes(processed), humanBytes(billed))
	b.res.BigQuery = &extractors.BigQueryUsage{
		Queries: len(todo), BytesEstimated: estimate, BytesProcessed: processed, BytesBilled: billed,
	}
	b.res.Stats = append(b.res.Stats,
		fmt.Sprintf("backend=bigquery queries=%d up_to_date=%d rows=%d", len(todo), upToDate, rows),
		fmt.Sprintf("bytes_estimated=%d bytes_processed=%d bytes_billed=%d", estimate, processed, billed),
	)
	return nil
}

// planJobs builds one downloads query per window for the packages not
// yet landed up to yesterday (packages landed up to the same day share a
// window, so a daily run is one query whatever the number of packages),
// and the one metadata query for every package: metadata is refreshed even
// for packages whose downloads are up to date.
func (b *bqRun) planJobs() (jobs []*bqJob, meta *bqJob, upToDate int) {
	// Keyed by the window's days, not by its time.Time values, whose ==
	// also compares locations and monotonic readings.
	type days struct{ start, end int64 }
	byWindow := map[days]*bqJob{}
	for _, p := range b.pkgs {
		if p.upToDate {
			upToDate++
			continue
		}
		k := days{p.win.start.Unix(), p.win.end.Unix()}
		j := byWindow[k]
		if j == nil {
			j = &bqJob{win: p.win, sql: downloadsSQL(b.downloads, p.win)}
			byWindow[k] = j
			jobs = append(jobs, j)
		}
		j.pkgs = append(j.pkgs, p)
	}
	for _, j := range jobs {
		names := make([]string, len(j.pkgs))
		for i, p := range j.pkgs {
			names[i] = p.name
		}
		j.params = []bigquery.QueryParameter{{Name: "packages", Value: names}}
	}
	names := make([]string, len(b.pkgs))
	for i, p := range b.pkgs {
		names[i] = p.name
	}
	meta = &bqJob{
		sql:    metadataSQL(b.metaTable),
		params: []bigquery.QueryParameter{{Name: "packages", Value: names}},
	}
	if upToDate > 0 {
		b.env.Logf("pypi: bigquery: %d of %d packages already landed up to %s; not queried",
			upToDate, len(b.pkgs), b.today.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	return jobs, meta, upToDate
}

// checkEstimates judges the dry runs while nothing is billed yet: a
// systemic failure (credentials, permissions), every dry run failing, or
// any query estimated over maximum_bytes_billed ends the node before a
// single real job is sent. It returns the total estimate of the queries
// that can run.
func (b *bqRun) checkEstimates(all []*bqJob) (int64, error) {
	failed := 0
	var estimate int64
	var over []*bqJob
	for _, j := range all {
		if j.err != nil {
			if isSystemic(j.err) {
				return 0, fmt.Errorf("pypi: bigquery: %w", j.err)
			}
			failed++
			continue
		}
		estimate += j.estimate
		if j.estimate > b.cfg.maxBytes {
			over = append(over, j)
		}
	}
	if failed == len(all) {
		return 0, fmt.Errorf("pypi: bigquery: every dry run failed: %w", all[0].err)
	}
	if len(over) > 0 {
		j := over[0]
		what := "the metadata query"
		if j.pkgs != nil {
			what = fmt.Sprintf("the downloads query for %s (%s to %s)", fmt.Sprintf("%d %s", len(j.pkgs), english.Plural(len(j.pkgs), "package", "packages")),
				j.win.start.Format(time.DateOnly), j.win.end.Format(time.DateOnly))
		}
		msg := fmt.Sprintf("pypi: bigquery: refusing to run: dry run of %s estimates %d bytes (%s), over maximum_bytes_billed %d bytes (%s)",
			what, j.estimate, humanBytes(j.estimate), b.cfg.maxBytes, humanBytes(b.cfg.maxBytes))
		if len(over) > 1 {
			msg += fmt.Sprintf("; %d more queries are over it too", len(over)-1)
		}
		// The estimate on this clustered table is every row of the days
		// read, whatever the packages: the bill is usually far lower, which
		// is what the user weighs when raising the cap.
		return 0, errors.New(msg + "; nothing was billed. The estimate is an upper bound (BigQuery does not count the blocks clustering skips; docs/pypi-bigquery.md says what a run costs): raise extractors.pypi.maximum_bytes_billed in project.yaml, or lower lookback_days")
	}
	b.env.Logf("pypi: bigquery: %d queries, dry-run estimate %s in total (cap %s per query)",
		len(all)-failed, humanBytes(estimate), humanBytes(b.cfg.maxBytes))
	return estimate, nil
}

// runJobs runs the jobs, at most concurrency at a time, and returns the
// outcome of each that succeeded; a failed job keeps its error in j.err,
// the time budget's own error when the budget cut it off, so that the
// package reads as not extracted rather than failed.
func (b *bqRun) runJobs(ctx context.Context, todo []*bqJob, concurrency int) map[*bqJob]*bqOutcome {
	outcomes := make(map[*bqJob]*bqOutcome, len(todo))
	var mu sync.Mutex
	forEach(todo, concurrency, func(j *bqJob) {
		var o *bqOutcome
		var err error
		if j.pkgs != nil {
			o, err = b.readDownloads(ctx, j)
		} else {
			o, err = b.readMetadata(ctx, j)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if be := extractors.OutOfBudget(ctx); be != nil {
				err = be // cut off, not failed
			}
			j.err = err
			return
		}
		outcomes[j] = o
	})
	return outcomes
}

// readDownloads runs a window's downloads query and splits its answer by
// package. An answer without the query's columns, with a package it did
// not ask for, a negative count or a package's day twice is refused whole:
// landing part of it would pass a wrong number for a measurement.
func (b *bqRun) readDownloads(ctx context.Context, j *bqJob) (*bqOutcome, error) {
	o := &bqOutcome{days: map[string][]dayCount{}}
	asked := map[string]bool{}
	for _, p := range j.pkgs {
		asked[p.name] = true
	}
	var err error
	o.processed, o.billed, err = b.read(ctx, j, func(it *bigquery.RowIterator) error {
		type key struct {
			pkg string
			day civil.Date
		}
		seen := map[key]bool{}
		return eachRow(it, downloadsSchema, func(row *downloadRow) error {
			k := key{row.Package, row.Day}
			switch {
			case !asked[row.Package]:
				return fmt.Errorf("the answer holds package %q, which the query did not ask for", row.Package)
			case row.Downloads < 0:
				return fmt.Errorf("the answer holds negative downloads (%d) for %s on %s", row.Downloads, row.Package, row.Day)
			case seen[k]:
				return fmt.Errorf("the answer holds %s on %s twice", row.Package, row.Day)
			}
			seen[k] = true
			o.days[row.Package] = append(o.days[row.Package], dayCount{
				day:       time.Date(row.Day.Year, row.Day.Month, row.Day.Day, 0, 0, 0, 0, time.UTC),
				downloads: row.Downloads,
			})
			return nil
		})
	})
	return o, err
}

// readMetadata runs the metadata query, keyed by normalized package name.
// As for downloads, an answer without the query's columns or with a row
// that cannot be a package's is refused whole.
func (b *bqRun) readMetadata(ctx context.Context, j *bqJob) (*bqOutcome, error) {
	o := &bqOutcome{metas: map[string]*metadata{}}
	var err error
	o.processed, o.billed, err = b.read(ctx, j, func(it *bigquery.RowIterator) error {
		return eachRow(it, metadataSchema, func(row *metadataRow) error {
			switch {
			case row.Package == "":
				return errors.New("the answer holds a row without package")
			case row.Releases < 0:
				return fmt.Errorf("the answer holds negative releases (%d) for %s", row.Releases, row.Package)
			}
			m := &metadata{
				latestVersion:  row.LatestVersion.StringVal,
				requiresPython: row.RequiresPython.StringVal,
				license:        row.License.StringVal,
				summary:        row.Summary.StringVal,
				releases:       row.Releases,
			}
			if row.UploadedAt.Valid {
				m.uploadedAt = row.UploadedAt.Timestamp.UTC()
			}
			o.metas[normalizeName(row.Package)] = m
			return nil
		})
	})
	return o, err
}

// eachRow reads every row of an answer into a T and visits it, after
// checking that the answer has the query's columns: the iterator knows its
// schema only once the first row (or the end) has been read.
func eachRow[T any](it *bigquery.RowIterator, schema map[string]bigquery.FieldType, visit func(*T) error) error {
	for first := true; ; first = false {
		var row T
		err := it.Next(&row)
		if first && (err == nil || err == iterator.Done) {
			if err := checkSchema(it.Schema, schema); err != nil {
				return err
			}
		}
		if err == iterator.Done {
			return nil
		}
		if err != nil {
			return err
		}
		if err := visit(&row); err != nil {
			return err
		}
	}
}

// collect hands every package its downloads and metadata, or the errors
// of the queries that failed for it, in seed order so that rows and errors
// come out in a stable order whatever order the jobs finished in. It
// returns the number of download rows landed.
//
// A failed metadata query does not undo downloads that landed: for a
// package whose downloads query succeeded (or that was up to date) the
// metadata failure is a Partial item error, so the node warns instead of
// counting the package as failed. pypi_packages gets no row for it in this
// load rather than a row of nulls that would read as "metadata unknown".
func (b *bqRun) collect(jobs []*bqJob, meta *bqJob, outcomes map[*bqJob]*bqOutcome) int {
	byPkg := map[*pkg]*bqJob{}
	for _, j := range jobs {
		for _, p := range j.pkgs {
			byPkg[p] = j
		}
	}
	rows := 0
	for _, p := range b.pkgs {
		downloadsFailed := false
		if j := byPkg[p]; j != nil {
			if j.err != nil {
				downloadsFailed = true
				b.addItemError(p, "pypi: bigquery downloads query: %v", j.err)
			} else {
				rows += b.addDownloads(p, outcomes[j].days[p.name])
			}
		}
		switch {
		case meta.err != nil && !downloadsFailed:
			b.res.Errors = append(b.res.Errors, extractors.ItemError{Item: p.label, Partial: true,
				Err: fmt.Sprintf("pypi: bigquery metadata query: %v (its downloads landed; %s has no row for it in this load)", meta.err, TablePackages)})
		case meta.err != nil:
			b.addItemError(p, "pypi: bigquery metadata query: %v", meta.err)
		case outcomes[meta].metas[p.name] == nil:
			b.addItemError(p, "pypi: package %s not found in %s.distribution_metadata", p.label, b.dataset)
		default:
			b.addPackage(p, outcomes[meta].metas[p.name])
		}
	}
	return rows
}

// forEach calls f for every job, at most limit at a time.
func forEach(jobs []*bqJob, limit int, f func(*bqJob)) {
	var g errgroup.Group
	g.SetLimit(limit)
	for _, j := range jobs {
		g.Go(func() error {
			f(j)
			return nil
		})
	}
	_ = g.Wait()
}
