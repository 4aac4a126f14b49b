package analyze

import "github.com/quarrydev/quarry/engine/project"

// contract checks an analysed model against its enforced contract: each
// mismatch is reported at the declared column in the property file, or,
// for a column the contract does not declare, at the model's entry there.
// A model whose analysis is unchecked is left to the check the run makes
// on the built relation.
func (a *analyser) contract(n *project.Node) {
	if n.Type != project.Model || !n.Config.Contract.Enforced || !n.Analysis.Checked || n.Analysis.Columns == nil || !a.report[n.UniqueID] {
		return
	}
	for _, m := range n.ContractMismatches(n.Analysis.Columns) {
		msg := "model " + n.Name + ": " + m.Message("its SQL")
		if m.Doc != nil {
			a.diags.Add(m.Doc.File, m.Doc.Line, m.Doc.Col, "%s", msg)
			continue
		}
		file, line, col := n.ContractPosition()
		a.diags.Add(file, line, col, "%s", msg)
	}
}
