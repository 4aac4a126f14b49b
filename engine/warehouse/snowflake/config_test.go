package snowflake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
)

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestNewConfigNamesEveryMissingSetting(t *testing.T) {
	_, err := NewConfig(Options{Target: "prod", Settings: map[string]string{"type": "snowflake", "threads": "8"}, Env: mapEnv(nil)})
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	want := "snowflake target prod: missing account, user, warehouse, database and password (or private_key_path): " +
		"set them under target prod in project.yaml, or SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_WAREHOUSE, " +
		"SNOWFLAKE_DATABASE and SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH) in the environment"
	if msg != want {
		t.Errorf("error:\n%s\nwant:\n%s", msg, want)
	}
	_, err = NewConfig(Options{Target: "prod", Settings: map[string]string{"account": "a", "user": "u", "database": "d", "password": "p"}})
	if want := "snowflake target prod: missing warehouse: set it under target prod in project.yaml, or SNOWFLAKE_WAREHOUSE in the environment"; err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	for _, optional := range []string{"schema", "role", "host"} {
		if strings.Contains(msg, optional+":") {
			t.Errorf("optional %s reported missing: %s", optional, msg)
		}
	}
}

func TestNewConfigSettingsAndEnvironment(t *testing.T) {
	env := mapEnv(map[string]string{
		"SNOWFLAKE_ACCOUNT": "xy12345.eu-central-1", "SNOWFLAKE_USER": "env_user", "SNOWFLAKE_PASSWORD": "env-pass",
		"SNOWFLAKE_WAREHOUSE": "compute_wh", "SNOWFLAKE_DATABASE": "analytics", "SNOWFLAKE_SCHEMA": "public",
		"SNOWFLAKE_ROLE": "transformer", "SNOWFLAKE_HOST": "127.0.0.1", "SNOWFLAKE_PORT": "8443",
		"SNOWFLAKE_PROTOCOL": "HTTP", "SNOWFLAKE_MAX_RETRY_COUNT": "2", "SNOWFLAKE_REQUEST_TIMEOUT": "45",
	})
	// The target's own keys win over the environment; empty ones (an
	// unset ${VAR}) do not.
	cfg, err := NewConfig(Options{Target: "prod", Env: env, Settings: map[string]string{
		"type": "snowflake", "user": "quarry_ci", "warehouse": "", "login_timeout": "2m",
		"client_timeout": "90s", "disable_telemetry": "true", "transient": "false", "query_tag": "nightly",
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Driver
	for _, c := range []struct{ got, want any }{
		{d.Account, "xy12345.eu-central-1"}, {d.User, "quarry_ci"}, {d.Password, "env-pass"},
		{d.Warehouse, "compute_wh"}, {d.Database, "analytics"}, {d.Schema, "public"}, {d.Role, "transformer"},
		{d.Host, "127.0.0.1"}, {d.Port, 8443}, {d.Protocol, "http"}, {d.MaxRetryCount, 2},
		{d.RequestTimeout, 45 * time.Second}, {d.LoginTimeout, 2 * time.Minute}, {d.ClientTimeout, 90 * time.Second},
		{d.DisableTelemetry, true}, {d.Authenticator, sf.AuthTypeSnowflake}, {d.Application, "quarry"},
		{d.Tracing, "fatal"}, {cfg.Transient, false}, {cfg.QueryTag, "nightly"},
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

// writeKey writes a fresh RSA key in the PEM form blockType names.
func writeKey(t *testing.T, blockType string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	if blockType == "PRIVATE KEY" {
		if der, err = x509.MarshalPKCS8PrivateKey(key); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "rsa_key.p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestNewConfigKeyPair(t *testing.T) {
	base := map[string]string{"account": "a", "user": "u", "warehouse": "w", "database": "d", "password": "ignored-when-a-key-is-set"}
	for _, blockType := range []string{"PRIVATE KEY", "RSA PRIVATE KEY"} {
		settings := map[string]string{"private_key_path": writeKey(t, blockType)}
		for k, v := range base {
			settings[k] = v
		}
		cfg, err := NewConfig(Options{Target: "prod", Settings: settings})
		if err != nil {
			t.Fatalf("%s: %v", blockType, err)
		}
		if cfg.Driver.Authenticator != sf.AuthTypeJwt || cfg.Driver.PrivateKey == nil || cfg.Driver.Password != "" {
			t.Errorf("%s: authenticator %v, key set %v, password set %v", blockType, cfg.Driver.Authenticator, cfg.Driver.PrivateKey != nil, cfg.Driver.Password != "")
		}
	}
	// The path may come from SNOWFLAKE_PRIVATE_KEY_PATH alone.
	cfg, err := NewConfig(Options{Target: "prod", Settings: map[string]string{"account": "a", "user": "u", "warehouse": "w", "database": "d"},
		Env: mapEnv(map[string]string{"SNOWFLAKE_PRIVATE_KEY_PATH": writeKey(t, "PRIVATE KEY")})})
	if err != nil || cfg.Driver.PrivateKey == nil {
		t.Errorf("key from the environment: %v", err)
	}
}

// TestSecretsNeverInErrors provokes every kind of failure with a password
// and a key around, and checks that neither shows up in an error.
func TestSecretsNeverInErrors(t *testing.T) {
	const password = "Tr0ub4dor&3-not-for-logs"
	const keyContent = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-secret-key-material"
	dir := t.TempDir()
	garbled := filepath.Join(dir, "garbled.p8")
	if err := os.WriteFile(garbled, []byte("-----BEGIN PRIVATE KEY-----\n"+keyContent+"\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noPEM := filepath.Join(dir, "raw.key")
	if err := os.WriteFile(noPEM, []byte(keyContent), 0o600); err != nil {
		t.Fatal(err)
	}
	encrypted := filepath.Join(dir, "enc.p8")
	if err := os.WriteFile(encrypted, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte(keyContent)}), 0o600); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{"account": "acct", "user": "u", "warehouse": "w", "database": "d", "password": password}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: want an error", what)
			return
		}
		for _, secret := range []string{password, keyContent, "secret-key-material"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error reveals a secret: %v", what, err)
			}
		}
	}
	for name, settings := range map[string]map[string]string{
		"missing user":     with("user", ""),
		"unknown key":      with("passwd", password),
		"bad port":         with("port", password),
		"bad protocol":     with("protocol", "ftp"),
		"bad timeout":      with("request_timeout", "soon"),
		"bad bool":         with("transient", "maybe"),
		"garbled key":      with("private_key_path", garbled),
		"not PEM":          with("private_key_path", noPEM),
		"encrypted key":    with("private_key_path", encrypted),
		"missing key file": with("private_key_path", filepath.Join(dir, "nope.p8")),
	} {
		_, err := NewConfig(Options{Target: "prod", Settings: settings})
		check(name, err)
	}

	// A connection that fails: nothing listens on the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	settings := with("host", "127.0.0.1", "port", strconv.Itoa(port), "protocol", "http",
		"login_timeout", "2s", "max_retry_count", "1", "disable_telemetry", "true")
	_, err = Open(context.Background(), Options{Target: "prod", Settings: settings})
	check("connection refused", err)
	if err != nil && !strings.Contains(err.Error(), "connect to snowflake account acct as u: ") {
		t.Errorf("err = %v, want the account and user named", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "0": 0, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"-1", "-5s", "soon", ""} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

// A login that fails reports the time it actually waited and the setting
// that bounded it, not gosnowflake's "timeout after 5m0s" whatever the
// wait: against a listener that accepts and never answers, login_timeout
// ends it; against a closed port, the driver's retries do.
func TestLoginFailureReportsTheWait(t *testing.T) {
	t.Parallel()
	base := map[string]string{"account": "acct", "user": "u", "password": "pw", "warehouse": "wh", "database": "db",
		"host": "127.0.0.1", "protocol": "http", "disable_telemetry": "true"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() }) // the subtests run after this function returns
	go func() {
		var held []net.Conn // accepted, never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(unavailable.Close)
	unavailablePort := unavailable.Listener.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     *regexp.Regexp
		max      time.Duration
	}{
		{"never answers", with("port", strconv.Itoa(silent.Addr().(*net.TCPAddr).Port), "login_timeout", "1500ms"),
			regexp.MustCompile(`: no login after 1\.[5-9]s: login_timeout \(1\.5s\) ran out; check host, port and network, or raise login_timeout`), 5 * time.Second},
		{"closed port", with("port", strconv.Itoa(closedPort), "login_timeout", "20s", "max_retry_count", "1"),
			regexp.MustCompile(`: gave up after [0-9.]+m?s \(the driver retries up to max_retry_count=1 times within login_timeout=20s\): .*connection refused`), 15 * time.Second},
		{"503 to every attempt", with("port", strconv.Itoa(unavailablePort), "login_timeout", "20s", "max_retry_count", "1"),
			regexp.MustCompile(`: gave up after [0-9.]+m?s \(the driver retries up to max_retry_count=1 times within login_timeout=20s\): no success in 2 attempts\. HTTP Status: 503\.$`), 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Open(context.Background(), Options{Target: "prod", Settings: tc.settings})
			el := time.Since(start)
			if err == nil {
				t.Fatal("connected")
			}
			if !tc.want.MatchString(err.Error()) || strings.Contains(err.Error(), "5m0s") {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
			if el > tc.max {
				t.Errorf("took %s", el)
			}
			t.Logf("%s: %v", el, err)
		})
	}
}
