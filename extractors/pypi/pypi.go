// Package pypi is quarry's PyPI extractor: daily download counts and
// package metadata for the packages listed in seeds/pypi_packages.csv
// (columns technology_id, package).
//
// It has two backends:
//
//   - bigquery: the public PyPI dataset (file_downloads and
//     distribution_metadata), billed to GOOGLE_CLOUD_PROJECT. Exact counts
//     and package metadata: one downloads query per window for all the
//     packages, and one metadata query (docs/pypi-bigquery.md).
//   - pypistats: the pypistats.org JSON API. No credentials, downloads only
//     (the last 180 days, without mirrors); the metadata columns of
//     pypi_packages stay null.
//
// Settings (project.yaml, extractors.pypi; string values may use ${VAR}):
//
//	backend: auto               # auto (default) | bigquery | pypistats
//	lookback_days: 30           # first load: this many complete UTC days up to yesterday
//	maximum_bytes_billed: 10737418240
//	                            # bytes, per BigQuery query (default 10 GiB): a query whose
//	                            # dry-run estimate is higher is refused (node error), and the
//	                            # real job carries it as maximumBytesBilled
//
// Environment: GOOGLE_CLOUD_PROJECT, GOOGLE_APPLICATION_CREDENTIALS,
// BIGQUERY_DATASET_ID (default bigquery-public-data.pypi), BIGQUERY_LOCATION
// (default US), BIGQUERY_API_ENDPOINT (emulators and tests: no
// authentication), PYPISTATS_API_URL (default https://pypistats.org/api).
//
// "auto" picks bigquery when GOOGLE_CLOUD_PROJECT is set and credentials
// are present (GOOGLE_APPLICATION_CREDENTIALS names a readable file, or
// BIGQUERY_API_ENDPOINT is set), pypistats otherwise.
//
// Loads are incremental per package: the window starts the day after the
// last download_date already landed for the package and ends yesterday (UTC):
// today's partial day is never landed. A package without history gets
// lookback_days days; a package already landed up to yesterday is skipped
// without a request. Days the source does not report (no downloads, or not
// published yet) are not landed, so a late day is picked up by the next run.
package pypi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// Name is the extractor's name in project.yaml (extractors: pypi).
const Name = "pypi"

// Landing table names.
const (
	TableDownloads = "pypi_downloads_daily"
	TablePackages  = "pypi_packages"
)

// Result.Source values, one per backend.
const (
	SourceBigQuery  = "bigquery"
	SourcePypistats = "pypistats"
)

// Defaults for settings and environment variables.
const (
	DefaultLookbackDays       = 30
	DefaultMaximumBytesBilled = int64(10 << 30) // 10 GiB
	DefaultDataset            = "bigquery-public-data.pypi"
	DefaultLocation           = "US"
	DefaultPypistatsURL       = "https://pypistats.org/api"
)

var (
	_ extractors.Extractor    = (*Extractor)(nil)
	_ extractors.Configurable = (*Extractor)(nil)
	_ extractors.Endpointed   = (*Extractor)(nil)
	_ extractors.Factory      = Factory
)

// Extractor implements extractors.Extractor for PyPI. Use New (the zero
// value works too, with the same defaults).
type Extractor struct {
	// limiter paces pypistats.org requests; nil means a fresh limiter
	// per Extract call (see newPypistatsLimiter).
	limiter *rate.Limiter
	// spendWait maps a wait between pypistats attempts to the time
	// backoff.Retry's timer really spends on it, and noteWait is told each
	// wait as scheduled: backoff/v5 takes no fake clock, so tests spend
	// nothing and note the waits. nil: waits are spent in full.
	spendWait func(time.Duration) time.Duration
	noteWait  func(time.Duration)
	// bqConcurrency bounds concurrent BigQuery jobs.
	bqConcurrency int
}

// New returns a PyPI extractor.
func New() *Extractor {
	return &Extractor{bqConcurrency: 4}
}

// Factory makes a PyPI extractor; it has the type extractors.Factory.
func Factory() extractors.Extractor { return New() }

// Name implements extractors.Extractor.
func (e *Extractor) Name() string { return Name }

// KeyColumn implements extractors.Extractor: items are named by package.
func (e *Extractor) KeyColumn() string { return "package" }

// Tables implements extractors.Extractor.
func (e *Extractor) Tables() []extractors.Table {
	return []extractors.Table{
		{Name: TableDownloads, Columns: []warehouse.Column{
			{Name: "technology_id", Type: "varchar"},
			{Name: "package", Type: "varchar"},
			{Name: "download_date", Type: "date"},
			{Name: "downloads", Type: "bigint"},
		}},
		{Name: TablePackages, Columns: []warehouse.Column{
			{Name: "technology_id", Type: "varchar"},
			{Name: "package", Type: "varchar"},
			{Name: "latest_version", Type: "varchar"},
			{Name: "latest_version_uploaded_at", Type: "timestamp"},
			{Name: "requires_python", Type: "varchar"},
			{Name: "license", Type: "varchar"},
			{Name: "summary", Type: "varchar"},
			{Name: "releases", Type: "bigint"},
		}, Key: "package"}, // change-only when project.yaml asks: metadata changes with releases only
	}
}

// settingNames are the keys of extractors.pypi in project.yaml.
var settingNames = []string{"backend", "lookback_days", "maximum_bytes_billed"}

// Settings implements extractors.Configurable: the engine checks
// extractors.pypi in project.yaml against them when the project loads.
func (e *Extractor) Settings() []extractors.Setting {
	out := make([]extractors.Setting, len(settingNames))
	for i, k := range settingNames {
		out[i] = extractors.Setting{Name: k, Check: func(v any, getenv func(string) (string, bool)) error {
			cfg, err := loadConfig(map[string]any{k: v}, getenv)
			if err == nil && k == "backend" {
				_, _, err = chooseBackend(cfg.backend, getenv)
			}
			return err
		}}
	}
	return out
}

// EndpointVars implements extractors.Endpointed.
func (e *Extractor) EndpointVars() []string {
	return []string{"PYPISTATS_API_URL", "BIGQUERY_API_ENDPOINT"}
}

// Backend names, as in the "backend" setting.
const (
	backendAuto      = "auto"
	backendBigQuery  = "bigquery"
	backendPypistats = "pypistats"
)

type config struct {
	backend      string
	lookbackDays int
	maxBytes     int64
}

// window is an inclusive range of UTC days (midnight UTC).
type window struct{ start, end time.Time }

func (w window) contains(day time.Time) bool {
	return !day.Before(w.start) && !day.After(w.end)
}

// pkg is one distinct package (by normalized name) and the seed rows that
// name it.
type pkg struct {
	name     string // PEP 503 normalized name, sent to the backends
	label    string // the package as written in the first seed row naming it
	items    []extractors.Item
	win      window
	upToDate bool
}

// dayCount is one day of downloads.
type dayCount struct {
	day       time.Time
	downloads int64
}

// metadata is one pypi_packages row's metadata columns; nil pointers and
// empty strings land as null.
type metadata struct {
	latestVersion  string
	uploadedAt     time.Time
	requiresPython string
	license        string
	summary        string
	releases       int64
}

// run is the state of one Extract call.
type run struct {
	env    extractors.Env
	cfg    config
	getenv func(string) (string, bool)
	http   *http.Client
	pkgs   []*pkg
	today  time.Time // env.Now's UTC date
	res    *extractors.Result
}

// Extract implements extractors.Extractor.
func (e *Extractor) Extract(ctx context.Context, env extractors.Env, items []extractors.Item) (*extractors.Result, error) {
	r := &run{
		env:    env,
		getenv: env.Getenv,
		http:   env.HTTP,
		res: &extractors.Result{Rows: map[string][][]any{
			TableDownloads: {},
			TablePackages:  {},
		}},
	}
	if r.getenv == nil {
		r.getenv = os.LookupEnv
	}
	if r.http == nil {
		r.http = http.DefaultClient
	}
	if r.env.Logf == nil {
		r.env.Logf = func(string, ...any) {}
	}
	cfg, err := loadConfig(env.Settings, r.getenv)
	if err != nil {
		return nil, err
	}
	r.cfg = cfg
	backend, reason, err := chooseBackend(cfg.backend, r.getenv)
	if err != nil {
		return nil, err
	}
	if cfg.backend == backendAuto {
		r.env.Logf("pypi: backend auto: using %s (%s)", backend, reason)
	} else {
		r.env.Logf("pypi: backend %s", backend)
	}
	r.res.Source = backend

	r.pkgs, r.res.Errors = groupItems(items)
	if len(r.pkgs) == 0 {
		// Nothing valid to collect: every item already has its error.
		return r.res, nil
	}

	now := env.Now
	if now.IsZero() {
		return nil, errors.New("pypi: the run's clock (Env.Now) is not set")
	}
	r.today = utcDate(now)
	if err := r.planWindows(ctx); err != nil {
		return nil, err
	}

	switch backend {
	case backendBigQuery:
		err = e.extractBigQuery(ctx, r)
	default:
		err = e.extractPypistats(ctx, r)
	}
	if err != nil {
		return nil, err
	}
	return r.res, nil
}

// chooseBackend resolves the backend setting; for auto, reason says why.
func chooseBackend(setting string, getenv func(string) (string, bool)) (backend, reason string, err error) {
	switch setting {
	case backendBigQuery, backendPypistats:
		return setting, "set in project.yaml", nil
	case backendAuto:
	default:
		return "", "", fmt.Errorf("extractors.pypi.backend: unknown backend %q (want auto, bigquery or pypistats)", setting)
	}
	if lookup(getenv, "GOOGLE_CLOUD_PROJECT") == "" {
		return backendPypistats, "GOOGLE_CLOUD_PROJECT is not set", nil
	}
	if lookup(getenv, "BIGQUERY_API_ENDPOINT") != "" {
		return backendBigQuery, "GOOGLE_CLOUD_PROJECT and BIGQUERY_API_ENDPOINT are set", nil
	}
	path := lookup(getenv, "GOOGLE_APPLICATION_CREDENTIALS")
	if path == "" {
		return backendPypistats, "GOOGLE_CLOUD_PROJECT is set but GOOGLE_APPLICATION_CREDENTIALS is not", nil
	}
	if err := readableFile(path); err != nil {
		return backendPypistats, fmt.Sprintf("GOOGLE_APPLICATION_CREDENTIALS is not a readable file: %v", err), nil
	}
	return backendBigQuery, "GOOGLE_CLOUD_PROJECT is set and GOOGLE_APPLICATION_CREDENTIALS is a readable file", nil
}

func readableFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// lookup returns an environment variable's value, "" when unset.
func lookup(getenv func(string) (string, bool), name string) string {
	v, _ := getenv(name)
	return strings.TrimSpace(v)
}

func loadConfig(settings map[string]any, getenv func(string) (string, bool)) (config, error) {
	cfg := config{
		backend:      backendAuto,
		lookbackDays: DefaultLookbackDays,
		maxBytes:     DefaultMaximumBytesBilled,
	}
	for key, raw := range settings {
		switch key {
		case "backend":
			s, err := settingString(key, raw, getenv)
			if err != nil {
				return cfg, err
			}
			if s != "" {
				cfg.backend = strings.ToLower(s)
			}
		case "lookback_days":
			n, err := settingInt(key, raw, getenv)
			if err != nil {
				return cfg, err
			}
			if n < 1 || n > 36600 {
				return cfg, fmt.Errorf("extractors.pypi.lookback_days must be between 1 and 36600, got %d", n)
			}
			cfg.lookbackDays = int(n)
		case "maximum_bytes_billed":
			n, err := settingInt(key, raw, getenv)
			if err != nil {
				return cfg, err
			}
			if n < 1 {
				return cfg, fmt.Errorf("extractors.pypi.maximum_bytes_billed must be a positive number of bytes, got %d", n)
			}
			cfg.maxBytes = n
		default:
			// The engine refuses these when the project loads; this is for
			// callers that build an Env themselves.
			return cfg, fmt.Errorf("extractors.pypi: unknown setting %q (known: %s)", key, strings.Join(settingNames, ", "))
		}
	}
	return cfg, nil
}

func expand(s string, getenv func(string) (string, bool)) string {
	return os.Expand(s, func(k string) string { return lookup(getenv, k) })
}

func settingString(key string, raw any, getenv func(string) (string, bool)) (string, error) {
	switch v := raw.(type) {
	case nil:
		return "", nil
	case string:
		return strings.TrimSpace(expand(v, getenv)), nil
	default:
		return "", fmt.Errorf("extractors.pypi.%s must be a string, got %v", key, raw)
	}
}

func settingInt(key string, raw any, getenv func(string) (string, bool)) (int64, error) {
	switch v := raw.(type) {
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case uint64:
		if v > 1<<62 {
			return 0, fmt.Errorf("extractors.pypi.%s is too large", key)
		}
		return int64(v), nil
	case float64:
		if v != float64(int64(v)) {
			return 0, fmt.Errorf("extractors.pypi.%s must be a whole number, got %v", key, v)
		}
		return int64(v), nil
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(expand(v, getenv)), "_", "")
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("extractors.pypi.%s must be a whole number, got %q", key, v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("extractors.pypi.%s must be a whole number, got %v", key, raw)
	}
}

// namePattern is a valid distribution name (PEP 508).
var namePattern = regexp.MustCompile(`^(?i:[a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)

var separators = regexp.MustCompile(`[-_.]+`)

// normalizeName is PEP 503's normalized name: what BigQuery's file.project
// holds and what pypistats.org looks up.
func normalizeName(name string) string {
	return strings.ToLower(separators.ReplaceAllString(name, "-"))
}

// groupItems collects the distinct packages named by items, in order of
// first appearance, and an item error for each unusable item.
func groupItems(items []extractors.Item) ([]*pkg, []extractors.ItemError) {
	var (
		pkgs   []*pkg
		errs   []extractors.ItemError
		byName = map[string]*pkg{}
	)
	for _, it := range items {
		name := strings.TrimSpace(it.Fields["package"])
		if name == "" {
			name = strings.TrimSpace(it.Key)
		}
		if name == "" {
			errs = append(errs, extractors.ItemError{Item: it.Key, Err: "pypi: seed row has no package"})
			continue
		}
		if !namePattern.MatchString(name) {
			errs = append(errs, extractors.ItemError{Item: name, Err: fmt.Sprintf("pypi: %q is not a valid PyPI package name", name)})
			continue
		}
		n := normalizeName(name)
		p := byName[n]
		if p == nil {
			p = &pkg{name: n, label: name}
			byName[n] = p
			pkgs = append(pkgs, p)
		}
		p.items = append(p.items, it)
	}
	return pkgs, errs
}

func utcDate(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// planWindows sets each package's window from the last landed day.
func (r *run) planWindows(ctx context.Context) error {
	last, err := r.lastLanded(ctx)
	if err != nil {
		return err
	}
	yesterday := r.today.AddDate(0, 0, -1)
	for _, p := range r.pkgs {
		start := yesterday.AddDate(0, 0, 1-r.cfg.lookbackDays)
		if d, ok := last[p.name]; ok {
			start = d.AddDate(0, 0, 1)
		}
		p.win = window{start: start, end: yesterday}
		p.upToDate = start.After(yesterday)
	}
	return nil
}

// lastLanded reads the last landed download_date per normalized package.
func (r *run) lastLanded(ctx context.Context) (map[string]time.Time, error) {
	if r.env.Query == nil || r.env.Landing == nil {
		r.env.Logf("pypi: no warehouse query available; loading %d days for every package", r.cfg.lookbackDays)
		return nil, nil
	}
	sql := "select package, max(download_date) from " + r.env.Landing(TableDownloads) + " group by package"
	res, err := r.env.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("pypi: reading the last landed day per package: %w", err)
	}
	last := map[string]time.Time{}
	if res == nil {
		return last, nil
	}
	for _, row := range res.Rows {
		if len(row) < 2 || row[1] == nil {
			continue
		}
		var name string
		switch v := row[0].(type) {
		case string:
			name = v
		case []byte:
			name = string(v)
		default:
			continue
		}
		day, err := asDate(row[1])
		if err != nil {
			return nil, fmt.Errorf("pypi: last landed day of %s: %w", name, err)
		}
		n := normalizeName(name)
		if prev, ok := last[n]; !ok || day.After(prev) {
			last[n] = day
		}
	}
	return last, nil
}

func asDate(v any) (time.Time, error) {
	switch d := v.(type) {
	case time.Time:
		// A DATE read back by a driver is midnight in some zone: keep
		// its calendar day.
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
	case string:
		if len(d) >= 10 {
			return time.Parse(time.DateOnly, d[:10])
		}
		return time.Time{}, fmt.Errorf("not a date: %q", d)
	case []byte:
		return asDate(string(d))
	default:
		return time.Time{}, fmt.Errorf("unexpected date value of type %T", v)
	}
}

// addItemError records a failure of one package.
func (r *run) addItemError(p *pkg, format string, args ...any) {
	r.res.Errors = append(r.res.Errors, extractors.ItemError{Item: p.label, Err: fmt.Sprintf(format, args...)})
}

// addDownloads lands days for every seed row naming p, dropping any day
// outside p's window (in particular today's partial day).
func (r *run) addDownloads(p *pkg, days []dayCount) int {
	n := 0
	for _, d := range days {
		if !p.win.contains(d.day) {
			continue
		}
		for _, it := range p.items {
			r.res.Rows[TableDownloads] = append(r.res.Rows[TableDownloads], []any{
				nullable(it.Fields["technology_id"]), packageValue(it, p), d.day, d.downloads,
			})
			n++
		}
	}
	return n
}

// addPackage lands p's pypi_packages rows; m nil means metadata unknown.
func (r *run) addPackage(p *pkg, m *metadata) {
	for _, it := range p.items {
		row := []any{nullable(it.Fields["technology_id"]), packageValue(it, p), nil, nil, nil, nil, nil, nil}
		if m != nil {
			row[2] = nullable(m.latestVersion)
			if !m.uploadedAt.IsZero() {
				row[3] = m.uploadedAt.UTC()
			}
			row[4] = nullable(m.requiresPython)
			row[5] = nullable(m.license)
			row[6] = nullable(m.summary)
			row[7] = m.releases
		}
		r.res.Rows[TablePackages] = append(r.res.Rows[TablePackages], row)
	}
}

// packageValue is the package as the seed row writes it, so landed rows
// join back to the seed.
func packageValue(it extractors.Item, p *pkg) string {
	if v := strings.TrimSpace(it.Fields["package"]); v != "" {
		return v
	}
	if v := strings.TrimSpace(it.Key); v != "" {
		return v
	}
	return p.label
}

func nullable(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return s
}

// humanBytes renders n bytes in binary units, e.g. "1.5 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
