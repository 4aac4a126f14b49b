package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/rogpeppe/go-internal/testscript"
)

var (
	update = flag.Bool("update", false, "rewrite the expected output in the txtar scripts from the actual output")
)

// TestMain lets the scripts exec "quarry": testscript re-runs this test
// binary as the command, which calls run exactly as main does.
func TestMain(m *testing.M) {
	testscript.Main(closingBrowser{m}, map[string]func(){
		"quarry": func() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// closingBrowser stops the test binary's shared browser (see chrome) once
// the tests have run: testscript.Main exits the process after Run.
type closingBrowser struct{ m *testing.M }

func (c closingBrowser) Run() int {
	defer chrome.Close()
	return c.m.Run()
}

// TestScripts runs the end-to-end CLI scripts in testdata/script: each one a
// small project built on DuckDB and checked by its output and by querying
// the result. After an intended change of output, rewrite the expected
// sections with: go test ./cmd/quarry -run TestScripts -update (and review
// the diff).
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams("testdata/script", *update))
}

func scriptParams(dir string, updateScripts bool) testscript.Params {
	return testscript.Params{
		Dir:           dir,
		UpdateScripts: updateScripts,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"duckq":     cmdDuckq,
			"duckexec":  cmdDuckexec,
			"exits":     cmdExits,
			"jsonq":     cmdJsonq,
			"jsonlines": cmdJsonlines,
			"progress":  cmdProgress,
			"techpulse": cmdTechpulse,
			"docsql":    cmdDocSQL,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: sleep DURATION")
				}
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
	}
}

// cmdExits implements `exits CODE PROG ARGS...`: it runs PROG like exec and
// fails unless it exits with CODE; stdout and stderr are kept for the
// commands that follow, as after exec. (exec's ! only says "not zero".)
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdDuckq implements `duckq DBFILE SQL`: it opens the DuckDB file read-only,
// runs SQL and prints the rows one a line, values separated by |, NULL as
// NULL. With !, the query must fail (its error goes to stderr).
func cmdDuckq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: duckq DBFILE SQL")
	}
	out, err := duckQuery(ts.MkAbs(args[0]), args[1])
	if err != nil {
		if neg {
			fmt.Fprintln(ts.Stderr(), err)
			return
		}
		ts.Fatalf("duckq: %v", err)
	}
	if neg {
		ts.Fatalf("duckq: query succeeded unexpectedly")
	}
	fmt.Fprint(ts.Stdout(), out)
}

// cmdDuckexec implements `duckexec DBFILE SQL`: it runs SQL, statements
// that return no rows, against the DuckDB file, read-write (a script's way
// to land a generated history).
func cmdDuckexec(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: duckexec DBFILE SQL")
	}
	path := ts.MkAbs(args[0])
	if _, err := os.Stat(path); err != nil {
		ts.Fatalf("duckexec: %v", err) // DuckDB would create it
	}
	db, err := sql.Open("duckdb", path)
	ts.Check(err)
	defer db.Close()
	if _, err := db.Exec(args[1]); err != nil {
		ts.Fatalf("duckexec: %v", err)
	}
}

func duckQuery(path, query string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err // DuckDB would create it
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return "", err
	}
	defer db.Close()
	rows, err := db.Query(query)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			b.WriteString(formatValue(v, types[i].DatabaseTypeName()))
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return b.String(), nil
}

func formatValue(v any, dbType string) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case duckdb.Decimal:
		return formatDecimal(v)
	case time.Time:
		switch dbType {
		case "DATE":
			return v.Format(time.DateOnly)
		case "TIME":
			return v.Format("15:04:05.999999")
		case "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS":
			return v.Format("2006-01-02 15:04:05.999999999")
		}
		return v.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// formatDecimal prints a DECIMAL with exactly its scale's digits, as DuckDB
// does (1.50 for DECIMAL(10,2)).
func formatDecimal(d duckdb.Decimal) string {
	digits := new(big.Int).Abs(d.Value).String()
	sign := ""
	if d.Value.Sign() < 0 {
		sign = "-"
	}
	scale := int(d.Scale)
	if scale == 0 {
		return sign + digits
	}
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

// cmdJsonq implements `jsonq [-s] FILE PATH [FIELD...]`, to check the JSON
// artifacts under target/. PATH is dotted (nodes.*.name); a key holding dots
// is written in brackets (nodes[model.shop.orders].config); * stands for
// every element of an array or every value of an object (in key order); a
// missing key is null. Each value PATH reaches is printed on its own line:
// strings bare, null as NULL, anything else as compact JSON. With FIELDs
// (dotted paths too), each value prints as its fields separated by |, e.g.
// `jsonq -s target/run_results.json results.* unique_id status`. -s sorts
// the lines.
func cmdJsonq(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonq")
	}
	sortLines := len(args) > 0 && args[0] == "-s"
	if sortLines {
		args = args[1:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: jsonq [-s] FILE PATH [FIELD...]")
	}
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc); err != nil {
		ts.Fatalf("jsonq: %s: %v", args[0], err)
	}
	vals, err := jsonPath(doc, args[1])
	ts.Check(err)
	var lines []string
	for _, v := range vals {
		if len(args) == 2 {
			lines = append(lines, jsonText(v))
			continue
		}
		var fields []string
		for _, f := range args[2:] {
			got, err := jsonPath(v, f)
			ts.Check(err)
			if len(got) != 1 {
				ts.Fatalf("jsonq: field %s: %d values, want 1", f, len(got))
			}
			fields = append(fields, jsonText(got[0]))
		}
		lines = append(lines, strings.Join(fields, "|"))
	}
	if sortLines {
		slices.Sort(lines)
	}
	for _, l := range lines {
		fmt.Fprintln(ts.Stdout(), l)
	}
}

func jsonPath(v any, path string) ([]any, error) {
	cur := []any{v}
	for _, seg := range splitPath(path) {
		var next []any
		for _, c := range cur {
			switch c := c.(type) {
			case map[string]any:
				if seg == "*" {
					keys := make([]string, 0, len(c))
					for k := range c {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					for _, k := range keys {
						next = append(next, c[k])
					}
					continue
				}
				next = append(next, c[seg]) // a missing key is null
			case []any:
				if seg == "*" {
					next = append(next, c...)
					continue
				}
				i, err := strconv.Atoi(seg)
				if err != nil || i < 0 || i >= len(c) {
					return nil, fmt.Errorf("jsonq %s: %q is not an index of an array of %d", path, seg, len(c))
				}
				next = append(next, c[i])
			default:
				return nil, fmt.Errorf("jsonq %s: cannot take %q of %s", path, seg, jsonText(c))
			}
		}
		cur = next
	}
	return cur, nil
}

// splitPath splits a.b[c.d].e into a, b, c.d, e.
func splitPath(path string) []string {
	var segs []string
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, path[1:end])
			path = path[min(end+1, len(path)):]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// envelope is what every line of --log-format json carries (docs/logs.md).
var envelope = []string{"v", "ts", "level", "event", "msg"}

// cmdJsonlines implements `jsonlines [-s] [-e EVENT] FILE [FIELD...]`, to
// check --log-format json output: it fails unless every line of FILE is a
// JSON object with the envelope (v 1, ts in RFC 3339, level info, warn or
// error, a non-empty event, msg). Then, for each line whose event is EVENT
// (every line without -e), it prints its FIELDs (dotted paths, as jsonq's)
// separated by |, failing when a line lacks one (null is a value). -s
// sorts the lines, for events whose order threads decide.
func cmdJsonlines(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! jsonlines")
	}
	sortLines := len(args) > 0 && args[0] == "-s"
	if sortLines {
		args = args[1:]
	}
	event := ""
	if len(args) > 1 && args[0] == "-e" {
		event, args = args[1], args[2:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: jsonlines [-s] [-e EVENT] FILE [FIELD...]")
	}
	text := ts.ReadFile(args[0])
	if text == "" {
		ts.Fatalf("jsonlines: %s is empty", args[0])
	}
	var out []string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			ts.Fatalf("jsonlines: %s:%d is not a JSON object (%v): %s", args[0], i+1, err, line)
		}
		for _, k := range envelope {
			if _, ok := obj[k]; !ok {
				ts.Fatalf("jsonlines: %s:%d has no %q: %s", args[0], i+1, k, line)
			}
		}
		ev, _ := obj["event"].(string)
		level, _ := obj["level"].(string)
		stamp, _ := obj["ts"].(string)
		_, msgOK := obj["msg"].(string)
		if _, err := time.Parse(time.RFC3339Nano, stamp); err != nil || obj["v"] != 1.0 || ev == "" || !msgOK ||
			!slices.Contains([]string{"info", "warn", "error"}, level) {
			ts.Fatalf("jsonlines: %s:%d: a bad envelope: %s", args[0], i+1, line)
		}
		if event != "" && ev != event {
			continue
		}
		var fields []string
		for _, f := range args[1:] {
			v, ok := jsonField(obj, f)
			if !ok {
				ts.Fatalf("jsonlines: %s:%d (%s) has no field %s: %s", args[0], i+1, ev, f, line)
			}
			fields = append(fields, jsonText(v))
		}
		if len(fields) > 0 {
			out = append(out, strings.Join(fields, "|"))
		}
	}
	if sortLines {
		slices.Sort(out)
	}
	for _, l := range out {
		fmt.Fprintln(ts.Stdout(), l)
	}
}

// jsonField follows a dotted path through objects, telling a missing key
// from a null one.
func jsonField(v any, path string) (any, bool) {
	for _, seg := range splitPath(path) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

var (
	progressLine = regexp.MustCompile(`^\d\d:\d\d:\d\d  \d+ of (\d+) (\S+)\s+(.+?) \.{3,} \[(.*)\]$`)
	duration     = regexp.MustCompile(`(^|, )\d+\.\d+s$`)
)

// cmdProgress implements `progress [FILE]`: it reads the output of the last
// exec (or FILE) and prints its progress lines without their volatile
// parts (clock, position, dots, durations), sorted because threads finish
// in any order, then the summary line. Everything else is dropped: check it
// with stdout regexps before calling progress.
//
//	12:00:01  3 of 4 OK   view staging.x .......... [2 rows, 0.02s]
//
// becomes "OK    view staging.x [2 rows] (of 4)".
func cmdProgress(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: progress [FILE]")
	}
	file := "stdout"
	if len(args) == 1 {
		file = args[0]
	}
	var lines []string
	var summary []string
	for _, l := range strings.Split(ts.ReadFile(file), "\n") {
		if strings.HasPrefix(l, "Done. ") {
			summary = append(summary, l)
			continue
		}
		m := progressLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		out := fmt.Sprintf("%-5s %s", m[2], m[3])
		if detail := duration.ReplaceAllString(m[4], ""); detail != "" {
			out += " [" + detail + "]"
		}
		lines = append(lines, out+" (of "+m[1]+")")
	}
	slices.Sort(lines)
	for _, l := range append(lines, summary...) {
		fmt.Fprintln(ts.Stdout(), l)
	}
}

// cmdTechpulse implements `techpulse DIR`: it copies the project this
// repository ships (project.yaml, models, seeds, tests, macros and the
// sample recording) into DIR, so scripts run the real datamart offline.
func cmdTechpulse(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: techpulse DIR")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	ts.Check(err)
	dst := ts.MkAbs(args[0])
	for _, part := range []string{"project.yaml", "models", "seeds", "tests", "macros", "testdata/sample"} {
		src := filepath.Join(root, part)
		st, err := os.Stat(src)
		if os.IsNotExist(err) {
			continue
		}
		ts.Check(err)
		if !st.IsDir() {
			b, err := os.ReadFile(src)
			ts.Check(err)
			ts.Check(os.MkdirAll(dst, 0o755))
			ts.Check(os.WriteFile(filepath.Join(dst, part), b, 0o644))
			continue
		}
		ts.Check(os.CopyFS(filepath.Join(dst, part), os.DirFS(src)))
	}
}

// cmdDocSQL implements `docsql DOC DBFILE`: it runs every ```sql block of
// the repository's DOC (e.g. docs/analysts.md) against DBFILE, and fails
// unless each runs and returns rows, so the docs' examples stay true.
func cmdDocSQL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: docsql DOC DBFILE")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", args[0]))
	ts.Check(err)
	blocks := 0
	for _, part := range strings.Split(string(doc), "```sql\n")[1:] {
		query, _, ok := strings.Cut(part, "```")
		if !ok {
			ts.Fatalf("%s: unterminated sql block", args[0])
		}
		blocks++
		out, err := duckQuery(ts.MkAbs(args[1]), query)
		if err != nil {
			ts.Fatalf("%s: example %d fails: %v\n%s", args[0], blocks, err, query)
		}
		if strings.TrimSpace(out) == "" {
			ts.Fatalf("%s: example %d returns no rows:\n%s", args[0], blocks, query)
		}
	}
	if blocks == 0 {
		ts.Fatalf("%s has no sql examples", args[0])
	}
	fmt.Fprintf(ts.Stdout(), "%d examples ran\n", blocks)
}
