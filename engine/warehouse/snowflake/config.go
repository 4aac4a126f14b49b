package snowflake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
)

// Options are what Open needs to connect: the settings of one target of
// project.yaml and the environment they fall back to.
type Options struct {
	// Target names the target, for messages (e.g. "prod").
	Target string
	// Settings are the target's keys with ${VAR} references already
	// expanded; an empty value counts as unset.
	Settings map[string]string
	// Env reads the environment: every setting left unset in the target
	// falls back to SNOWFLAKE_<KEY>, e.g. SNOWFLAKE_ACCOUNT for account.
	Env func(string) (string, bool)
	// Threads is how many statements the caller runs at once; the
	// connection pool keeps that many sessions open.
	Threads int
}

// Setting keys, with what each one sets. type and threads belong to the
// engine and are accepted here so that a target's keys can be passed whole.
const (
	keyAccount          = "account"
	keyUser             = "user"
	keyPassword         = "password"
	keyPrivateKeyPath   = "private_key_path"
	keyWarehouse        = "warehouse"
	keyDatabase         = "database"
	keySchema           = "schema"
	keyRole             = "role"
	keyHost             = "host"
	keyPort             = "port"
	keyProtocol         = "protocol"
	keyQueryTag         = "query_tag"
	keyTransient        = "transient"
	keyLoginTimeout     = "login_timeout"
	keyRequestTimeout   = "request_timeout"
	keyClientTimeout    = "client_timeout"
	keyMaxRetryCount    = "max_retry_count"
	keyDisableTelemetry = "disable_telemetry"
	keyTracing          = "tracing"
)

// knownKeys are the settings Open understands; any other key is an error,
// so that a misspelled key is not silently ignored.
var knownKeys = []string{
	keyAccount, keyClientTimeout, keyDatabase, keyDisableTelemetry, keyHost, keyLoginTimeout,
	keyMaxRetryCount, keyPassword, keyPort, keyPrivateKeyPath, keyProtocol, keyQueryTag,
	keyRequestTimeout, keyRole, keySchema, keyTracing, keyTransient, keyUser, keyWarehouse,
}

// Settings returns the target keys this package reads, for the engine to
// refuse any other key when the project is loaded.
func Settings() []string { return slices.Clone(knownKeys) }

// engineKeys are target keys the engine reads itself.
var engineKeys = []string{"schema_prefix", "threads", "type"}

// required are the settings a connection cannot do without, besides a
// password or a private key. The warehouse is required although Snowflake
// would fall back to the user's default one: a build that stops halfway
// because no warehouse is running is worse than a clear error up front.
var required = []string{keyAccount, keyUser, keyWarehouse, keyDatabase}

// Config is a connection configuration built from Options.
type Config struct {
	// Driver is gosnowflake's configuration, secrets included: never print
	// it.
	Driver sf.Config
	// QueryTag is the query_tag setting, added to every statement's tag.
	QueryTag string
	// Transient makes the tables quarry rebuilds transient (no Fail-safe,
	// one day of Time Travel at most): they can always be rebuilt, so
	// paying to keep their history buys nothing. Default true.
	Transient bool
}

// setting returns a target key, falling back to SNOWFLAKE_<KEY>.
func (o Options) setting(key string) string {
	if v := strings.TrimSpace(o.Settings[key]); v != "" {
		return v
	}
	if o.Env != nil {
		if v, ok := o.Env(envName(key)); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func envName(key string) string { return "SNOWFLAKE_" + strings.ToUpper(key) }

// list joins items as prose: "a", "a and b", "a, b and c".
func list(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// where says where a setting can be given, for error messages.
func (o Options) where(key string) string {
	return fmt.Sprintf("set by %s: under target %s in project.yaml, or %s", key, o.targetName(), envName(key))
}

func (o Options) targetName() string {
	if o.Target == "" {
		return "(unnamed)"
	}
	return o.Target
}

// NewConfig builds the connection configuration from the target's settings
// and the environment. It reports every problem at once, naming each
// setting and where to set it. No error quotes the value of any setting: a
// secret pasted into the wrong key (or a ${VAR} naming the wrong variable)
// must not end up in a terminal or a CI log.
func NewConfig(o Options) (*Config, error) {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(o.Settings)) {
		if !slices.Contains(knownKeys, k) && !slices.Contains(engineKeys, k) {
			problems = append(problems, fmt.Sprintf("unknown setting %q in target %s (known: %s)",
				k, o.targetName(), strings.Join(knownKeys, ", ")))
		}
	}
	var missing, envs []string
	for _, k := range required {
		if o.setting(k) == "" {
			missing, envs = append(missing, k), append(envs, envName(k))
		}
	}
	password, keyPath := o.setting(keyPassword), o.setting(keyPrivateKeyPath)
	if password == "" && keyPath == "" {
		missing = append(missing, "password (or private_key_path)")
		envs = append(envs, "SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH)")
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("missing %s: set %s under target %s in project.yaml, or %s in the environment",
			list(missing), pronoun(len(missing)), o.targetName(), list(envs)))
	}

	cfg := &Config{
		Driver: sf.Config{
			Account:   o.setting(keyAccount),
			User:      o.setting(keyUser),
			Warehouse: o.setting(keyWarehouse),
			Database:  o.setting(keyDatabase),
			Schema:    o.setting(keySchema),
			Role:      o.setting(keyRole),
			Host:      o.setting(keyHost),
			Protocol:  strings.ToLower(o.setting(keyProtocol)),
			// Tells Snowflake's usage views which client ran the statements.
			Application: "quarry",
			// gosnowflake logs every failed statement at level error on
			// stderr, which would interleave with quarry's own report of
			// the same error; "fatal" keeps it quiet unless set otherwise.
			Tracing: "fatal",
		},
		QueryTag:  o.setting(keyQueryTag),
		Transient: true,
	}
	d := &cfg.Driver
	if keyPath != "" {
		// Key-pair authentication wins over a password also set, as the
		// stronger of the two.
		key, err := readPrivateKey(keyPath)
		if err != nil {
			problems = append(problems, fmt.Sprintf("private_key_path: %v", err))
		}
		d.Authenticator, d.PrivateKey = sf.AuthTypeJwt, key
	} else {
		d.Password = password
	}
	if p := d.Protocol; p != "" && p != "http" && p != "https" {
		problems = append(problems, fmt.Sprintf("protocol must be http or https (%s)", o.where(keyProtocol)))
	}
	if v := o.setting(keyPort); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			problems = append(problems, fmt.Sprintf("port must be a number from 1 to 65535 (%s)", o.where(keyPort)))
		}
		d.Port = n
	}
	for _, dur := range []struct {
		key string
		dst *time.Duration
	}{
		{keyLoginTimeout, &d.LoginTimeout},
		{keyRequestTimeout, &d.RequestTimeout},
		{keyClientTimeout, &d.ClientTimeout},
	} {
		if v := o.setting(dur.key); v != "" {
			t, err := parseDuration(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v (%s)", dur.key, err, o.where(dur.key)))
			}
			*dur.dst = t
		}
	}
	if v := o.setting(keyMaxRetryCount); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("max_retry_count must be a whole number (%s)", o.where(keyMaxRetryCount)))
		}
		d.MaxRetryCount = n
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{
		{keyDisableTelemetry, &d.DisableTelemetry},
		{keyTransient, &cfg.Transient},
	} {
		if v := o.setting(b.key); v != "" {
			val, err := strconv.ParseBool(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s must be true or false (%s)", b.key, o.where(b.key)))
			}
			*b.dst = val
		}
	}
	if v := o.setting(keyTracing); v != "" {
		d.Tracing = v
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("snowflake target %s: %s", o.targetName(), strings.Join(problems, "; "))
	}
	return cfg, nil
}

// parseDuration reads "30s", "2m", or a plain number of seconds.
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration like 30s or 2m, or a number of seconds")
	}
	return d, nil
}

// readPrivateKey reads an unencrypted RSA private key in PEM form (PKCS#8,
// as Snowflake's key-pair guide generates it, or PKCS#1). Errors name the
// file but never quote its content.
func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The *PathError names the file and the cause, nothing more.
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block (want a key starting with -----BEGIN PRIVATE KEY-----)", path)
	}
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%s is encrypted; quarry needs an unencrypted key (openssl pkcs8 -topk8 -nocrypt ...), kept readable only by you", path)
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid RSA private key", path)
		}
		return key, nil
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: not a valid PKCS#8 private key", path)
		}
		key, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: Snowflake key-pair authentication needs an RSA key, not %T", path, parsed)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%s holds a PEM block of type %q, not a private key", path, block.Type)
}
