// Package fakesnow runs the fakesnow Snowflake emulator
// (https://github.com/tekumara/fakesnow, a Python package) for Go tests. It
// installs a pinned version into <repo root>/.venv when needed, starts it on
// a free port of 127.0.0.1, waits until it accepts connections and stops it
// (its whole process group) afterwards.
//
// Tests reach the emulator through a small HTTP proxy in front of it, which
//
//   - records every statement with the QUERY_TAG sent along with it (the
//     emulator accepts the parameter but ignores it), so tests can check
//     what a client sends; and
//   - emulates ALTER TABLE a SWAP WITH b, which the emulator cannot parse,
//     with three renames. Unlike Snowflake's swap this is not atomic, which
//     does not matter to a test that runs one statement at a time.
//
// Everything else goes to the emulator untouched.
//
// Under CI=true any failure to install or start the emulator fails the test
// that needs it; elsewhere such a test is skipped with a message saying how
// to install the emulator.
package fakesnow

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the fakesnow release the tests are verified with; the full
// set of pinned Python packages is in requirements.txt.
const Version = "0.12.1"

//go:embed requirements.txt
var requirements string

// Endpoint is where a test connects: host and port of the proxy in front of
// the emulator, spoken to over plain http with any account, user and
// password.
type Endpoint struct {
	Host string
	Port int

	srv *Server
}

// Statements returns every statement sent so far, oldest first.
func (e Endpoint) Statements() []Statement {
	if e.srv == nil {
		return nil
	}
	return e.srv.rec.statements()
}

// Output returns the last lines the emulator printed, for diagnosing a
// failed test.
func (e Endpoint) Output() string {
	if e.srv == nil {
		return ""
	}
	return e.srv.out.String()
}

// Statement is one statement a client sent.
type Statement struct {
	SQL      string
	QueryTag string // the QUERY_TAG parameter sent with it; "" when none
}

// Server is a running emulator and its proxy.
type Server struct {
	cmd   *exec.Cmd
	stdin io.Closer    // held open while the emulator should live; see watchdog
	exit  chan error   // receives the process's exit
	out   *tailBuffer  // what the emulator printed
	proxy *http.Server // the recording proxy
	rec   *recorder

	endpoint  Endpoint
	closeOnce sync.Once
	closeErr  error
}

// Endpoint returns where clients connect.
func (s *Server) Endpoint() Endpoint { return s.endpoint }

// startTimeout bounds how long the emulator may take to accept connections;
// it normally takes a second or two, most of it Python importing duckdb and
// sqlglot.
const startTimeout = 90 * time.Second

// Launch installs the emulator if needed and starts it. The caller must
// Close it.
func Launch(ctx context.Context) (*Server, error) {
	python, script, err := install(ctx)
	if err != nil {
		return nil, err
	}
	// A port picked here could be taken before the emulator binds it;
	// another attempt with another port makes that race harmless.
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, python, script)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return s, err
		}
	}
}

// watchdog runs the fakesnow console script (argv[1]) with the remaining
// arguments, and exits as soon as its stdin reaches end of file: the Go test
// binary holds the other end, so when that process dies without stopping
// the emulator (killed by a test timeout, say) the emulator does not outlive
// it.
const watchdog = `
import os, runpy, sys, threading

def _watch():
    sys.stdin.buffer.read()
    os._exit(0)

threading.Thread(target=_watch, daemon=True).start()
script = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
`

func start(ctx context.Context, python, script string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("fakesnow: pick a port: %w", err)
	}
	out := &tailBuffer{max: 64 << 10}
	cmd := exec.Command(python, "-c", watchdog, script, "--server", "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	setProcessGroup(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("fakesnow: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fakesnow: start %s: %w", script, err)
	}
	s := &Server{cmd: cmd, stdin: stdin, exit: make(chan error, 1), out: out, rec: &recorder{}}
	go func() { s.exit <- cmd.Wait() }()

	backend := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := s.waitReady(ctx, backend); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.startProxy(backend); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls until the emulator accepts connections, it exits, or
// startTimeout passes.
func (s *Server) waitReady(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case err := <-s.exit:
			s.exit <- err // for stop
			return fmt.Errorf("fakesnow exited before accepting connections (%v); its output:\n%s", err, s.out)
		case <-ctx.Done():
			return fmt.Errorf("fakesnow did not accept connections on %s within %s; its output:\n%s", addr, startTimeout, s.out)
		case <-tick.C:
		}
	}
}

// Close stops the proxy and the emulator.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.proxy != nil {
			s.proxy.Close()
		}
		s.closeErr = s.stop()
	})
	return s.closeErr
}

// stop kills the emulator's process group and waits for it to exit.
func (s *Server) stop() error {
	killProcessGroup(s.cmd)
	s.stdin.Close()
	select {
	case <-s.exit:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("fakesnow (pid %d) did not exit after being killed", s.cmd.Process.Pid)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts an emulator for tb alone, stopped when tb ends.
func Start(tb testing.TB) Endpoint {
	tb.Helper()
	s, err := Launch(context.Background())
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("fakesnow output (last lines):\n%s", s.out)
		}
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s.Endpoint()
}

// shared is the emulator of Shared, one per test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's emulator, starting it on first use. Tests
// sharing it should keep apart by using their own database (the emulator
// creates the database a session logs in to). Stop it by calling RunMain
// from TestMain; otherwise it ends with the test binary (see watchdog).
func Shared(tb testing.TB) Endpoint {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Launch(context.Background()) })
	if shared.err != nil {
		unavailable(tb, shared.err)
	}
	return shared.srv.Endpoint()
}

// RunMain runs the tests of m and then stops the emulator Shared started, if
// any. Use it from TestMain: os.Exit(fakesnow.RunMain(m)).
func RunMain(m *testing.M) int {
	code := m.Run()
	if s := shared.srv; s != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "fakesnow output (last lines):\n%s\n", s.out)
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	return code
}

// unavailable fails tb under CI=true, where the emulator tier must run, and
// skips it elsewhere, saying how to get the emulator.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("the fakesnow emulator is required when CI=true, but it could not be installed or started: %v", err)
		return
	}
	tb.Skipf("skipping: the fakesnow emulator could not be installed or started: %v\n"+
		"These tests install it themselves when python3 (with venv and pip) and PyPI are reachable; or install it by hand, from the repository root:\n"+
		"  python3 -m venv .venv && .venv/bin/pip install -r internal/fakesnow/requirements.txt", err)
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// tailBuffer keeps the last max bytes of the lines written to it, leaving
// out uvicorn's access log ("INFO: ... POST /queries/v1/query-request"),
// one line per request, which would bury the errors worth reading.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	partial []byte // a line not ended yet
	buf     []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		line := b.partial[:i+1]
		if !bytes.HasPrefix(line, []byte("INFO:")) {
			b.buf = append(b.buf, line...)
		}
		b.partial = b.partial[i+1:]
	}
	if over := len(b.buf) - b.max; over > 0 {
		// Cut at a line start so the first line shown is whole.
		if i := bytes.IndexByte(b.buf[over:], '\n'); i >= 0 {
			over += i + 1
		}
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf) + string(b.partial)
}
