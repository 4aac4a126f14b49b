package project_test

import (
	"strings"
	"testing"

	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
)

func TestContractMismatches(t *testing.T) {
	n := &project.Node{Name: "m", Columns: []project.ColumnDoc{
		{Name: "id", DataType: "number(38,0)"},
		{Name: "Name", DataType: "varchar(20)"},
		{Name: "amount", DataType: "number(10,2)"},
		{Name: "gone", DataType: "date"},
	}}
	got := n.ContractMismatches([]warehouse.Column{
		{Name: "extra", Type: "INTEGER"},
		{Name: "amount", Type: "DOUBLE"},
		{Name: "name", Type: "VARCHAR"},
		{Name: "ID", Type: "BIGINT"},
	})
	var msgs []string
	for _, m := range got {
		msgs = append(msgs, m.Message("the SQL"))
	}
	want := []string{
		"column amount is DOUBLE (float) in the SQL, but the contract says number(10,2) (decimal)",
		"the contract declares column gone (date), which the SQL does not produce",
		"the SQL produces column extra (INTEGER), which the contract does not declare: declare it with a data_type, or leave it out of the select",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("mismatches:\ngot:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
	if ms := n.ContractMismatches([]warehouse.Column{{Name: "gone", Type: "DATE"}, {Name: "amount", Type: "DECIMAL(18,3)"},
		{Name: "NAME", Type: "TEXT"}, {Name: "id", Type: "HUGEINT"}}); len(ms) != 0 {
		t.Errorf("a matching relation breaks the contract: %v", ms)
	}
}
