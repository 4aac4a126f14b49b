package snowflake

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/quarrydev/quarry/internal/fakesnow"
)

// TestMain stops the emulator the tests share.
func TestMain(m *testing.M) { os.Exit(fakesnow.RunMain(m)) }

// emulatorSettings are a target's settings for the emulator at e: any
// account, user and password do, over plain http, with few retries and a
// short request timeout, since a statement the emulator cannot handle fails
// with HTTP 500, which gosnowflake would otherwise retry for minutes.
func emulatorSettings(e fakesnow.Endpoint, database string) map[string]string {
	return map[string]string{
		"account": "fakesnow", "user": "quarry", "password": "emulator-password",
		"warehouse": "compute_wh", "database": database, "schema": "tests",
		"host": e.Host, "port": strconv.Itoa(e.Port), "protocol": "http",
		"disable_telemetry": "true", "max_retry_count": "1",
		"login_timeout": "30s", "request_timeout": "30s",
	}
}

// openEmu opens a warehouse on the shared emulator, in a database of the
// test's own (the emulator creates it at login), with extra settings
// applied as key=value pairs.
func openEmu(t *testing.T, extra ...string) (*Warehouse, fakesnow.Endpoint) {
	t.Helper()
	e := fakesnow.Shared(t)
	settings := emulatorSettings(e, "db_"+strings.ToLower(rand.Text()[:10]))
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		settings[k] = v
	}
	w, err := Open(context.Background(), Options{Target: "test", Settings: settings, Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})
	return w, e
}
