package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quarrydev/quarry/engine/diag"
	"github.com/quarrydev/quarry/engine/project"
	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/internal/english"
)

// showFormats are the values of quarry show -o.
var showFormats = []string{"table", "json", "csv"}

func (a *app) showCommand() *cobra.Command {
	var sel selection
	var deferState bool
	var inline, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the first rows of a model's select, a seed, a source or an inline query, building nothing",
		Long: `show runs one select against the target and prints its first rows,
materializing nothing. With --select it takes one model (its compiled select,
run as it is: the model's own relation need not exist, only what it reads),
seed or source (its relation); with --inline it takes a query written like a
model (ref, source, var and macros work). The query runs wrapped in a limit
(--limit, default 10; 0 prints every row).

Output (-o): table (aligned columns, NULL for a null; a text value that reads
NULL is quoted), json (an array of objects, keys in column order) or csv (a
header row; a null is an empty field). Exit status: 0, 1 when the query
failed (the error names the compiled SQL), 2 when the selection is not one
node or the query does not compile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.show(cmd.Context(), sel, inline, limit, format, deferState)
		},
	}
	cmd.Flags().StringArrayVarP(&sel.selects, "select", "s", nil, "the one model, seed or source to show")
	cmd.Flags().StringVar(&inline, "inline", "", "a select to run instead, templated like a model (ref, source, var, macros)")
	cmd.Flags().IntVar(&limit, "limit", 10, "how many rows to print; 0 prints them all")
	cmd.Flags().StringVarP(&format, "output", "o", "table", "table, json or csv")
	cmd.Flags().StringVar(&sel.state, "state", "", "the target/ folder of an earlier run (`DIR`), for --defer and the state: and result: selectors")
	registerDeferFlag(cmd, &deferState)
	return cmd
}

// shown is what show runs: the SQL and what it reads.
type shown struct {
	what     string // e.g. "model customer_totals", for messages
	sql      string // the compiled select, unwrapped
	reads    []*project.Node
	selected *project.Node // nil for an inline query
	node     *project.Node // the model or inline query whose select it is; nil for a seed or source
}

func (a *app) show(ctx context.Context, sel selection, inline string, limit int, format string, deferState bool) error {
	switch {
	case !slices.Contains(showFormats, format):
		return &exitError{code: exitLoad, err: fmt.Errorf("show: -o %q: use one of %s", format, strings.Join(showFormats, ", "))}
	case limit < 0:
		return &exitError{code: exitLoad, err: fmt.Errorf("show: --limit %d: give a number of rows, or 0 for all of them", limit)}
	case inline == "" && len(sel.selects) == 0:
		return &exitError{code: exitLoad, err: fmt.Errorf("show: say what to show: --select MODEL, or --inline \"select ...\"")}
	case inline != "" && len(sel.selects) > 0:
		return &exitError{code: exitLoad, err: fmt.Errorf("show: --select and --inline cannot be used together: give one")}
	case deferState && sel.state == "":
		return errDeferNeedsState
	}
	p, err := a.load()
	if err != nil {
		return err
	}
	var q *shown
	if inline != "" {
		q, err = a.inlineQuery(p, inline)
	} else {
		q, err = a.selectedQuery(p, sel)
	}
	if err != nil {
		return err
	}
	wh, err := adapters()[p.Target.Type].Open(ctx, p.Dir, p.Target, 1, a.env)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("connect to target %s: %w", p.Target.Name, err)}
	}
	defer wh.Close()
	if deferState {
		if err := q.deferReads(ctx, p, sel, wh); err != nil {
			return err
		}
	}

	run := q.sql
	if limit > 0 {
		// One row more than asked, to say whether there are more. The
		// newline keeps a trailing line comment from swallowing the ")".
		run = fmt.Sprintf("select * from (\n%s\n) as quarry_show limit %d", q.sql, limit+1)
	}
	res, err := wh.Query(ctx, run, 0)
	if err != nil {
		msg := fmt.Sprintf("show: %s failed: %v", q.what, err)
		if missing := missingRelations(ctx, p, wh, q.reads); len(missing) > 0 {
			msg += fmt.Sprintf("\n\nIt reads %s that %s not been built: %s.", english.Plural(len(missing), "a relation", "relations"),
				english.Plural(len(missing), "has", "have"), strings.Join(missing, ", "))
			switch {
			case q.selected != nil && q.selected.Type == project.Source:
				msg += " A source is loaded outside the project's models (or by an extractor: quarry extract); check its schema and table in its property file."
			case q.selected != nil:
				msg += fmt.Sprintf(" Build %s first: quarry build --select +%s", english.Plural(len(missing), "it", "them"), q.selected.Name)
			default:
				msg += " Build them first with quarry build."
			}
		}
		msg += "\n\nThe compiled SQL:\n" + q.sql
		return &exitError{code: exitFailed, err: errors.New(msg)}
	}
	more := limit > 0 && len(res.Rows) > limit
	if more {
		res.Rows = res.Rows[:limit]
	}
	switch format {
	case "json":
		err = writeJSONRows(a.stdout, res)
	case "csv":
		err = writeCSVRows(a.stdout, res)
	default:
		err = writeTable(a.stdout, res)
		if err == nil {
			err = tableFooter(a.stdout, len(res.Rows), more)
		}
	}
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("show: print the rows: %w", err)}
	}
	if more && format != "table" {
		fmt.Fprintf(a.stderr, "show: the first %d %s; there are more (--limit 0 for all)\n", limit, english.Plural(limit, "row", "rows"))
	}
	return nil
}

// deferReads is show's --defer: what the query reads and this target lacks
// is read from the --state run's relations.
func (q *shown) deferReads(ctx context.Context, p *project.Project, sel selection, wh warehouse.Warehouse) error {
	if q.node == nil {
		return nil // a seed's or source's own relation: nothing read through a ref
	}
	var ids []string
	var extra []*project.Node
	if q.selected != nil {
		ids = []string{q.node.UniqueID}
	} else {
		extra = []*project.Node{q.node} // the inline query is no node of the project
	}
	if _, err := deferRefs(ctx, p, sel, ids, wh, extra...); err != nil {
		return err
	}
	q.sql = p.CompileWith(q.node, q.node.Rendered, nil)
	return p.RefuseSecretValue(q.sql, "the compiled SQL")
}

// selectedQuery is the select of the one node --select names.
func (a *app) selectedQuery(p *project.Project, sel selection) (*shown, error) {
	ids, err := a.choose(p, sel, project.Model, project.Seed, project.Source)
	if err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0:
		return nil, &exitError{code: exitLoad, err: fmt.Errorf("show: %s selects no model, seed or source: show takes one of those", strings.Join(sel.selects, " "))}
	case len(ids) > 1:
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = p.Nodes[id].Name
		}
		return nil, &exitError{code: exitLoad, err: fmt.Errorf("show: %s selects %d nodes (%s): show takes one; name a single model, seed or source",
			strings.Join(sel.selects, " "), len(ids), strings.Join(names, ", "))}
	}
	n := p.Nodes[ids[0]]
	q := &shown{what: string(n.Type) + " " + n.Name, selected: n}
	if n.Type == project.Model {
		q.sql, q.node = n.Compiled, n
		q.reads = parents(p, n)
	} else {
		q.sql = "select * from " + p.Dialect.RelationSQL(n.Relation)
		q.reads = []*project.Node{n}
	}
	return q, nil
}

// inlineQuery compiles --inline; its problems are printed like a model's.
func (a *app) inlineQuery(p *project.Project, sql string) (*shown, error) {
	n, err := p.CompileInline(sql)
	var de *diag.Error
	switch {
	case errors.As(err, &de):
		fmt.Fprintln(a.stderr, de.Error())
		return nil, &exitError{code: exitLoad, err: errors.New("\nnothing ran: fix the query and run again")}
	case err != nil:
		return nil, &exitError{code: exitLoad, err: err}
	}
	return &shown{what: "the inline query", sql: n.Compiled, reads: parents(p, n), node: n}, nil
}

// parents are the relations a model's compiled select reads: its parents,
// and through an ephemeral parent (inlined) that one's parents.
func parents(p *project.Project, n *project.Node) []*project.Node {
	var out []*project.Node
	seen := map[string]bool{}
	var visit func(*project.Node)
	visit = func(n *project.Node) {
		for _, id := range n.DependsOn {
			dep, ok := p.Nodes[id]
			if !ok || seen[id] {
				continue
			}
			seen[id] = true
			if dep.Type == project.Model && dep.Config.Materialized == "ephemeral" {
				visit(dep)
				continue
			}
			out = append(out, dep)
		}
	}
	visit(n)
	return out
}

// missingRelations names the nodes among reads whose relation does not
// exist in wh, e.g. "staging.stg_orders (model stg_orders)".
func missingRelations(ctx context.Context, p *project.Project, wh warehouse.Warehouse, reads []*project.Node) []string {
	var out []string
	for _, n := range reads {
		if kind, err := wh.Lookup(ctx, n.Relation); err == nil && kind == warehouse.KindNone {
			out = append(out, fmt.Sprintf("%s.%s (%s %s)", n.Relation.Schema, n.Relation.Name, n.Type, n.Name))
		}
	}
	slices.Sort(out)
	return out
}

// tableCell is a value as the table prints it: NULL for a null, and a text
// that reads NULL quoted, so the two differ; line breaks and tabs escaped
// to keep the columns aligned.
func tableCell(v any) string {
	if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), "null") {
		return fmt.Sprintf("%q", s)
	}
	return cellEscaper.Replace(cellText(v))
}

var cellEscaper = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`)

// writeTable prints res as aligned columns under a header and a rule.
func writeTable(w io.Writer, res *warehouse.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rule := make([]string, len(res.Columns))
	for i, c := range res.Columns {
		rule[i] = strings.Repeat("-", max(len([]rune(c)), 1))
	}
	fmt.Fprintln(tw, strings.Join(res.Columns, "\t"))
	fmt.Fprintln(tw, strings.Join(rule, "\t"))
	cells := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			cells[i] = tableCell(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// tableFooter says how many rows were printed, and whether there are more.
func tableFooter(w io.Writer, rows int, more bool) error {
	var err error
	if more {
		_, err = fmt.Fprintf(w, "\nthe first %d %s; there are more (--limit N to see more, 0 for all)\n", rows, english.Plural(rows, "row", "rows"))
	} else {
		_, err = fmt.Fprintf(w, "\n%d %s\n", rows, english.Plural(rows, "row", "rows"))
	}
	return err
}

// writeCSVRows prints res as CSV with a header; a null is an empty field.
func writeCSVRows(w io.Writer, res *warehouse.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(res.Columns); err != nil {
		return err
	}
	rec := make([]string, len(res.Columns))
	for _, row := range res.Rows {
		for i, v := range row {
			rec[i] = ""
			if v != nil {
				rec[i] = cellText(v)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeJSONRows prints res as a JSON array of objects, one a line, keys in
// the columns' order (encoding/json would sort a map's). A column whose name
// repeats an earlier one's is keyed name_1, name_2, ... as DuckDB names the
// columns of a table created from such a select: an object with a key twice
// would lose one value in most JSON readers.
func writeJSONRows(w io.Writer, res *warehouse.Result) error {
	keys := make([][]byte, len(res.Columns))
	for i, c := range uniqueNames(res.Columns) {
		keys[i], _ = json.Marshal(c) // a string always marshals
	}
	var b strings.Builder
	b.WriteString("[")
	for r, row := range res.Rows {
		if r > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  {")
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			b.Write(keys[i])
			b.WriteString(": ")
			b.Write(jsonValue(v))
		}
		b.WriteString("}")
	}
	if len(res.Rows) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// uniqueNames returns names with each repeat suffixed _1, _2, ... (the
// first suffix that no column has), leaving every first occurrence as it
// is. JSON keys compare exactly, so ID and id are two keys.
func uniqueNames(names []string) []string {
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		taken[n] = true
	}
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		out[i] = n
		if !seen[n] {
			seen[n] = true
			continue
		}
		for k := 1; ; k++ {
			if c := fmt.Sprintf("%s_%d", n, k); !taken[c] {
				out[i], taken[c] = c, true
				break
			}
		}
	}
	return out
}

// jsonValue renders one value: numbers, booleans and null as themselves,
// a decimal as a number with its digits exact, times as text (a date as
// YYYY-MM-DD), lists and maps as JSON, anything else as its text.
func jsonValue(v any) []byte {
	var out any = v
	switch v := v.(type) {
	case nil:
		return []byte("null")
	case time.Time, []byte:
		out = cellText(v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			out = fmt.Sprint(v)
		}
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			out = fmt.Sprint(v)
		}
	case fmt.Stringer:
		s := v.String()
		out = s
		if json.Valid([]byte(s)) && strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.-+eE", r) }) < 0 {
			out = json.Number(s)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprint(v))
	}
	return b
}
