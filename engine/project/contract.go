package project

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/warehouse"
)

// checkContracts requires of every enabled model with an enforced contract
// that its property file declare its columns, each with a data_type: the
// contract is those declarations. The configuration is final only once
// the model's template has run (its config call comes last).
func (p *Project) checkContracts(diags *diag.List) {
	for _, n := range p.byName {
		if n.Type != Model || !n.Config.Enabled || !n.Config.Contract.Enforced {
			continue
		}
		if n.Config.Materialized == "ephemeral" {
			file, line, col := n.ContractPosition()
			diags.Add(file, line, col, "model %s enforces a contract but is ephemeral: it builds no relation to hold to one; make it a view or table, or drop the contract", n.Name)
			continue
		}
		if len(n.Columns) == 0 {
			file, line, col := n.ContractPosition()
			diags.Add(file, line, col, "model %s enforces a contract but declares no columns: list them under columns: in a property file, each with a data_type", n.Name)
			continue
		}
		for _, c := range n.Columns {
			if c.DataType == "" {
				diags.Add(c.File, c.Line, c.Col, "column %s of model %s has no data_type, which its contract requires: add e.g. data_type: varchar", c.Name, n.Name)
			}
		}
	}
}

// ContractPosition is where to report what concerns a model's contract as
// a whole (a column it does not declare): its property file entry, or the
// model's file when none describes it.
func (n *Node) ContractPosition() (file string, line, col int) {
	if n.Entry.File != "" {
		return n.Entry.File, n.Entry.Line, n.Entry.Col
	}
	return n.Path, 0, 0
}

// ContractMismatch is one way a relation's columns break its model's
// contract: a declared column missing, a column the contract does not
// declare, or a column of another type family (warehouse.TypeFamily).
type ContractMismatch struct {
	Doc      *ColumnDoc // the declared column; nil for a column the contract lacks
	Column   string     // the column, as declared or else as produced
	Got      string     // the type produced; "" when the column is missing
	Declared string     // the data_type declared; "" for a column the contract lacks
}

// Message says what is wrong; what names the producer ("the SQL", "the
// built table").
func (m ContractMismatch) Message(what string) string {
	switch {
	case m.Doc == nil:
		return fmt.Sprintf("%s produces column %s (%s), which the contract does not declare: declare it with a data_type, or leave it out of the select", what, m.Column, m.Got)
	case m.Got == "":
		return fmt.Sprintf("the contract declares column %s (%s), which %s does not produce", m.Column, m.Declared, what)
	}
	return fmt.Sprintf("column %s is %s (%s) in %s, but the contract says %s (%s)",
		m.Column, m.Got, warehouse.TypeFamily(m.Got), what, m.Declared, warehouse.TypeFamily(m.Declared))
}

// ContractMismatches compares cols, a relation's columns as produced, with
// the columns n's contract declares: names case-insensitively and in any
// order, types by family. Declared columns come first, in their order,
// then the undeclared ones in cols' order.
func (n *Node) ContractMismatches(cols []warehouse.Column) []ContractMismatch {
	produced := make(map[string]warehouse.Column, len(cols))
	for _, c := range cols {
		produced[strings.ToLower(c.Name)] = c
	}
	var out []ContractMismatch
	declared := map[string]bool{}
	for i := range n.Columns {
		d := &n.Columns[i]
		declared[strings.ToLower(d.Name)] = true
		c, ok := produced[strings.ToLower(d.Name)]
		switch {
		case !ok:
			out = append(out, ContractMismatch{Doc: d, Column: d.Name, Declared: d.DataType})
		case warehouse.TypeFamily(c.Type) != warehouse.TypeFamily(d.DataType):
			out = append(out, ContractMismatch{Doc: d, Column: d.Name, Got: c.Type, Declared: d.DataType})
		}
	}
	for _, c := range cols {
		if !declared[strings.ToLower(c.Name)] {
			out = append(out, ContractMismatch{Column: c.Name, Got: c.Type})
		}
	}
	return slices.Clip(out)
}
