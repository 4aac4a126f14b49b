package warehouse

import (
	"regexp"
	"strings"
)

// Type families: what a model contract compares. A declared type and a
// produced one match when they are in the same family, so a contract may
// be written in Snowflake's spelling or DuckDB's and hold on both
// warehouses, and a column's width or precision (VARCHAR(20), BIGINT
// against INTEGER, TIMESTAMP_NS) never breaks it. docs/analysts.md lists
// them for users.
const (
	FamilyInteger     = "integer"     // tinyint..hugeint, int, bigint, number(p,0), number
	FamilyDecimal     = "decimal"     // decimal/numeric/number with a scale above 0, bare decimal/numeric
	FamilyFloat       = "float"       // float, double, real
	FamilyText        = "text"        // varchar, text, string, char
	FamilyBoolean     = "boolean"     // boolean, bool
	FamilyDate        = "date"        // date
	FamilyTimestamp   = "timestamp"   // timestamp, timestamp_ntz, datetime (no time zone)
	FamilyTimestampTZ = "timestamptz" // timestamptz, timestamp_ltz, timestamp_tz, with time zone
	FamilyTime        = "time"        // time
	FamilyJSON        = "json"        // json, variant, object, array
	FamilyBinary      = "binary"      // blob, binary, varbinary, bytea
)

var families = map[string]string{}

func init() {
	for family, names := range map[string]string{
		FamilyInteger: "tinyint smallint integer int bigint hugeint utinyint usmallint uinteger ubigint uhugeint " +
			"int1 int2 int4 int8 int16 int32 int64 int128 short long signed byteint number",
		FamilyDecimal:     "decimal numeric",
		FamilyFloat:       "float float4 float8 double real double_precision",
		FamilyText:        "varchar text string char character nvarchar nchar nvarchar2 char_varying character_varying nchar_varying bpchar",
		FamilyBoolean:     "boolean bool logical",
		FamilyDate:        "date",
		FamilyTimestamp:   "timestamp timestamp_ntz datetime timestamp_s timestamp_ms timestamp_ns timestamp_us timestamp_without_time_zone",
		FamilyTimestampTZ: "timestamptz timestamp_ltz timestamp_tz timestamp_with_time_zone",
		FamilyTime:        "time time_ntz time_without_time_zone",
		FamilyJSON:        "json variant object array",
		FamilyBinary:      "blob binary varbinary bytea",
	} {
		for _, n := range strings.Fields(names) {
			families[n] = family
		}
	}
}

// typeName splits a SQL type into its name, lower case with its words
// joined by '_' ("double precision" → double_precision), and the
// arguments in its parentheses.
var typeName = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_ ]*?)\s*(?:\(\s*([^)]*)\))?\s*$`)

// TypeFamily returns the family of a SQL type as DuckDB or Snowflake
// spells it. A type in none of the families (an interval, a struct, a
// list) is its own family: its name, lower case, spaces collapsed, so
// only the same type matches it.
func TypeFamily(t string) string {
	m := typeName.FindStringSubmatch(t)
	if m == nil {
		return strings.Join(strings.Fields(strings.ToLower(t)), " ")
	}
	name := strings.Join(strings.Fields(strings.ToLower(m[1])), "_")
	family, ok := families[name]
	if !ok {
		return strings.Join(strings.Fields(strings.ToLower(t)), " ")
	}
	switch name {
	case "number", "decimal", "numeric":
		// The scale tells whole numbers from fractions: NUMBER(38,0) is
		// Snowflake's integer. Without one, NUMBER means NUMBER(38,0) and
		// DECIMAL and NUMERIC are taken as written: decimals.
		if _, scale, ok := strings.Cut(m[2], ","); ok {
			if strings.TrimSpace(scale) == "0" {
				return FamilyInteger
			}
			return FamilyDecimal
		}
		if m[2] != "" { // a precision alone: scale 0
			return FamilyInteger
		}
	}
	return family
}
