// Command quarry builds a SQL-first data project: seeds, extracts, models
// and tests, in dependency order, into DuckDB or Snowflake.
package main

import "os"

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }
