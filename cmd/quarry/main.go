// Command quarry builds a SQL-first data project: seeds, extracts, models
// and tests, in dependency order, into DuckDB or Snowflake.
package main

import (
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// quarry is a short-lived process whose heap is mostly the loaded project,
// kept to the end: collecting at 4x rather than 2x the live heap cuts the
// load of a 10,000-model project by a fifth (BENCHMARKS.md) for some 15%
// more memory.
const gcPercent = 400

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}
