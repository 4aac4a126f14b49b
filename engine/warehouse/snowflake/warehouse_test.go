package snowflake

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/engine/warehouse/warehousetest"
	"github.com/quarrydev/quarry/internal/fakesnow"
)

func fmtValue(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// TestExecQueryAndErrors covers what the conformance suite leaves to the
// dialect: a NUMBER with a scale reads as its text, and errors keep
// Snowflake's error code and SQL state.
func TestExecQueryAndErrors(t *testing.T) {
	w, _ := openEmu(t)
	ctx := context.Background()
	for _, stmt := range []string{
		"CREATE TABLE tests.t (i INTEGER, n NUMBER(10,2))",
		"INSERT INTO tests.t SELECT seq4(), 1.5 FROM TABLE(GENERATOR(ROWCOUNT => 10))",
	} {
		if err := w.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Query(ctx, "SELECT i, n FROM tests.t ORDER BY i", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []any{int64(2), "1.50"}; len(res.Rows) != 3 || !reflect.DeepEqual(res.Rows[2], want) {
		t.Errorf("rows = %#v, want the third %#v", res.Rows, want)
	}

	err = w.Exec(ctx, "SELECT * FROM tests.missing_table")
	if err == nil || !strings.HasPrefix(err.Error(), "exec: 002003 (42S02): ") || !strings.Contains(err.Error(), "MISSING_TABLE") {
		t.Errorf("err = %v", err)
	}
	_, err = w.Query(ctx, "SELEC 1", 0)
	if err == nil || !strings.HasPrefix(err.Error(), "query: 001003 (42000): ") {
		t.Errorf("err = %v", err)
	}
	// A statement failing half-way through CREATE TABLE: the context, then
	// Snowflake's code.
	bad := "SELECT to_number(CASE WHEN seq4() = 5000 THEN 'boom at row' ELSE '1' END) AS id FROM TABLE(GENERATOR(ROWCOUNT => 10000))"
	_, err = w.CreateTable(ctx, warehouse.Relation{Schema: "tests", Name: "t"}, bad)
	if err == nil || !strings.HasPrefix(err.Error(), "create table tests.t: 100") || !strings.Contains(err.Error(), "boom at row") {
		t.Errorf("err = %v, want the context and Snowflake's error code", err)
	}
}

// TestExecLeavesNoOpenTransaction checks that a transaction Exec leaves
// open does not follow its session back into the pool.
//
// On Snowflake, Exec finds it with CURRENT_TRANSACTION(), rolls it back and
// says so. The emulator has no CURRENT_TRANSACTION(), so there Exec cannot
// tell and closes the session instead, which ends the transaction just the
// same; the test accepts either outcome and checks what matters: the next
// statements are not caught in it.
func TestExecLeavesNoOpenTransaction(t *testing.T) {
	w, _ := openEmu(t)
	w.db.SetMaxOpenConns(1) // whatever Exec leaves behind, the next call sees
	ctx := context.Background()
	if err := w.Exec(ctx, "CREATE TABLE tests.t (i INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if err := w.Exec(ctx, "BEGIN"); err != nil && !strings.Contains(err.Error(), "left a transaction open") {
		t.Fatalf("err = %v", err)
	}
	if err := w.Exec(ctx, "INSERT INTO tests.t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	// Seen from other sessions: committed, not pending in an open
	// transaction.
	other, err := Open(ctx, Options{Target: "test", Settings: emulatorSettings(fakesnow.Shared(t), w.cfg.Driver.Database)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	warehousetest.AssertRows(t, other, "SELECT i FROM tests.t", [][]any{{int64(1)}})
}
