package fakesnow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	sf "github.com/snowflakedb/gosnowflake"
)

func TestParseSwap(t *testing.T) {
	for _, tc := range []struct {
		sql, a, b string
		ok        bool
	}{
		{"ALTER TABLE public.t SWAP WITH public.t__stage", "public.t", "public.t__stage", true},
		{"alter table if exists \"My Schema\".\"t.x\"  swap  with  s.\"y\"\"z\";\n", `"My Schema"."t.x"`, `s."y""z"`, true},
		{"ALTER TABLE t RENAME TO u", "", "", false},
		{"select 'ALTER TABLE a SWAP WITH b'", "", "", false},
	} {
		a, b, ok := parseSwap(tc.sql)
		if a != tc.a || b != tc.b || ok != tc.ok {
			t.Errorf("parseSwap(%q) = %q, %q, %v; want %q, %q, %v", tc.sql, a, b, ok, tc.a, tc.b, tc.ok)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	b.Write([]byte("line one\nline two\nthr"))
	b.Write([]byte("ee\nINFO: access\n"))
	if got := b.String(); got != "three\n" {
		t.Errorf("tail = %q", got)
	}
	b.Write([]byte("partial"))
	if got := b.String(); got != "three\npartial" {
		t.Errorf("tail = %q", got)
	}
}

func open(t *testing.T, e Endpoint, database string) *sql.DB {
	t.Helper()
	db := sql.OpenDB(sf.NewConnector(sf.SnowflakeDriver{}, sf.Config{
		Account: "fakesnow", User: "u", Password: "p", Database: database, Schema: "s",
		Protocol: "http", Host: e.Host, Port: e.Port,
		DisableTelemetry: true, MaxRetryCount: 1, RequestTimeout: 10 * time.Second, Tracing: "fatal",
	}))
	t.Cleanup(func() { db.Close() })
	return db
}

// TestEmulator starts the emulator and checks what the proxy adds: the
// statement log with query tags, and SWAP WITH.
func TestEmulator(t *testing.T) {
	e := Start(t)
	db := open(t, e, "proxy_test")
	ctx := sf.WithQueryTag(context.Background(), `{"app":"test"}`)
	for _, s := range []string{
		"create or replace table s.a as select 'a' as v",
		"create or replace table s.b as select 'b' as v",
		"alter table s.a swap with s.b",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for table, want := range map[string]string{"s.a": "b", "s.b": "a"} {
		var got string
		if err := db.QueryRowContext(ctx, "select v from "+table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s holds %q after the swap, want %q", table, got, want)
		}
	}
	// A failed swap changes nothing.
	if _, err := db.ExecContext(ctx, "alter table s.a swap with s.missing"); err == nil {
		t.Error("swap with a missing table succeeded")
	}
	var v string
	if err := db.QueryRowContext(ctx, "select v from s.a").Scan(&v); err != nil || v != "b" {
		t.Errorf("after a failed swap: %q, %v", v, err)
	}

	var tagged int
	for _, st := range e.Statements() {
		if strings.Contains(st.SQL, "swap with s.b") {
			tagged++
			if st.QueryTag != `{"app":"test"}` {
				t.Errorf("query tag = %q", st.QueryTag)
			}
		}
	}
	if tagged != 1 {
		t.Errorf("recorded the swap %d times, want once: %v", tagged, e.Statements())
	}
}

// TestWatchdog checks that the emulator exits when the test binary's end of
// its stdin closes, as it does when the binary dies.
func TestWatchdog(t *testing.T) {
	s, err := Launch(context.Background())
	if err != nil {
		unavailable(t, err)
	}
	defer s.Close()
	s.stdin.Close()
	select {
	case <-s.exit:
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator kept running after its stdin closed")
	}
	s.exit <- nil // for Close
}

// recordingTB records how unavailable reports instead of ending the test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordingTB) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestUnavailableFailsOnlyInCI(t *testing.T) {
	cause := errors.New("no python3 on PATH")
	t.Setenv("CI", "true")
	r := &recordingTB{TB: t}
	unavailable(r, cause)
	if r.skip != "" || !strings.Contains(r.fatal, "required when CI=true") || !strings.Contains(r.fatal, cause.Error()) {
		t.Errorf("CI=true: fatal %q, skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "")
	r = &recordingTB{TB: t}
	unavailable(r, cause)
	if r.fatal != "" || !strings.Contains(r.skip, cause.Error()) || !strings.Contains(r.skip, ".venv/bin/pip install -r internal/fakesnow/requirements.txt") {
		t.Errorf("outside CI: fatal %q, skip %q", r.fatal, r.skip)
	}
}
