package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// database writes a DuckDB file holding the statements' result.
func database(t *testing.T, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.duckdb")
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

func TestSameRows(t *testing.T) {
	quarry := database(t,
		"create schema left_side", "create schema right_side",
		"create table left_side.model_00000 as select 0 as id, 0 as value",
		"create table right_side.model_00001 as select 1 as id, 100 as value union all select * from left_side.model_00000")
	// dbt's schemas are prefixed; SQLMesh publishes views over tables in
	// sqlmesh__ schemas, which are not compared.
	dbt := database(t,
		"create schema main_left_side", "create schema main_right_side",
		"create table main_left_side.model_00000 as select 0 as id, 0 as value",
		"create table main_right_side.model_00001 as select 1 as id, 100 as value union all select 0, 0")
	sqlmesh := database(t,
		"create schema sqlmesh__left_side", "create schema left_side", "create schema right_side",
		"create table sqlmesh__left_side.left_side__model_00000__123 as select 0 as id, 0 as value",
		"create view left_side.model_00000 as select * from sqlmesh__left_side.left_side__model_00000__123",
		"create view right_side.model_00001 as select 1 as id, 100 as value union all select 0, 0")
	for _, peer := range []string{dbt, sqlmesh} {
		if err := sameRows(quarry, peer, 2); err != nil {
			t.Errorf("same rows, but: %v", err)
		}
	}

	wrongSum := database(t,
		"create table model_00000 as select 0 as id, 0 as value",
		"create table model_00001 as select 1 as id, 100 as value union all select 0, 1")
	if err := sameRows(quarry, wrongSum, 2); err == nil || !strings.Contains(err.Error(), "model_00001") {
		t.Errorf("a different sum passed: %v", err)
	}
	missing := database(t, "create table model_00000 as select 0 as id, 0 as value")
	if err := sameRows(quarry, missing, 2); err == nil {
		t.Error("a missing table passed")
	}
}
