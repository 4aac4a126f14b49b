package warehouse_test

import (
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

func TestTypeFamily(t *testing.T) {
	for in, want := range map[string]string{
		"BIGINT": "integer", "integer": "integer", "HUGEINT": "integer", "NUMBER(38,0)": "integer",
		"number": "integer", "NUMBER(10)": "integer", "int": "integer", "UBIGINT": "integer",
		"DECIMAL(18,3)": "decimal", "numeric(10, 2)": "decimal", "NUMBER(12,4)": "decimal", "decimal": "decimal",
		"DOUBLE": "float", "float": "float", "REAL": "float", "double precision": "float", "FLOAT8": "float",
		"VARCHAR": "text", "varchar(20)": "text", "TEXT": "text", "string": "text", "CHAR(1)": "text",
		"character varying(5)": "text",
		"BOOLEAN":              "boolean", "bool": "boolean",
		"DATE":      "date",
		"TIMESTAMP": "timestamp", "TIMESTAMP_NTZ": "timestamp", "timestamp_ntz(9)": "timestamp", "TIMESTAMP_NS": "timestamp",
		"datetime":    "timestamp",
		"TIMESTAMPTZ": "timestamptz", "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP_LTZ": "timestamptz", "timestamp_tz(9)": "timestamptz",
		"TIME": "time",
		"JSON": "json", "VARIANT": "json", "object": "json",
		"BLOB": "binary", "BINARY": "binary", "varbinary": "binary",
		"INTERVAL": "interval", "STRUCT(a INTEGER)": "struct(a integer)", "INTEGER[]": "integer[]",
	} {
		if got := warehouse.TypeFamily(in); got != want {
			t.Errorf("TypeFamily(%q) = %q, want %q", in, got, want)
		}
	}
}
