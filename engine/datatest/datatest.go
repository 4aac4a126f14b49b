// Package datatest owns what a data test is, apart from how a project is
// loaded or run: the kinds of test, the catalogue of built-in generic tests
// (their arguments, the checks on them and the SQL each compiles to), the
// warn_if/error_if thresholds and freshness limits, and the judging of a
// failure count or a source's age into pass, warn or fail.
//
// engine/project reads the declarations and makes test nodes with it;
// engine/run judges what a test's query returned with it. It imports
// neither.
package datatest

// The kinds of data test.
const (
	Generic   = "generic"   // a built-in or tests/generic/NAME.sql test declared in a property file
	Singular  = "singular"  // a tests/**/*.sql query of its own
	Freshness = "freshness" // a source's freshness block
)
