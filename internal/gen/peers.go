package gen

import (
	"fmt"
	"strings"
)

// DBTProject writes the project Project writes, in dbt's syntax, into dir
// (which must be empty or absent): dbt_project.yml, a profiles.yml whose
// dev target is the DuckDB file o.Path (for dbt-duckdb, relative to the
// directory dbt runs in), the scaled macro and the scale var, one model per
// file under models/left and models/right with {{ ref('...') }}, and the
// same property files. dbt prefixes custom schemas with the target's, so
// the models land in main_left_side and main_right_side.
func DBTProject(dir string, o Options) error {
	o, err := prepare(dir, o)
	if err != nil {
		return err
	}
	write := writer(dir)
	project := fmt.Sprintf(`name: generated
version: "1.0"
config-version: 2
profile: generated
model-paths: [models]
macro-paths: [macros]
vars: {scale: 100}
models:
  generated:
    +materialized: %s
    left: {+schema: left_side}
    right: {+schema: right_side}
`, o.Materialized)
	if err := write("dbt_project.yml", project); err != nil {
		return err
	}
	profiles := fmt.Sprintf(`generated:
  target: dev
  outputs:
    dev: {type: duckdb, path: %q, threads: %d}
`, o.Path, o.Threads)
	if err := write("profiles.yml", profiles); err != nil {
		return err
	}
	if err := write("macros/scale.sql", "{% macro scaled(x) %}({{ x }} * {{ var('scale') }}){% endmacro %}\n"); err != nil {
		return err
	}
	return writeModels(write, o, syntax{
		tags:       func(group int) string { return fmt.Sprintf("{{ config(tags=['group_%d']) }}", group) },
		scaled:     func(i int) string { return fmt.Sprintf("{{ scaled(%d) }}", i) },
		ref:        func(j int) string { return fmt.Sprintf("{{ ref('%s') }}", modelName(j)) },
		propsStart: "version: 2\nmodels:\n",
	})
}

// SQLMeshProject writes the project Project writes, in SQLMesh's syntax,
// into dir (which must be empty or absent): a config.yaml with a DuckDB
// gateway on o.Path (relative to the project) and the scale variable, and
// one model per file, named left_side.model_NNNNN or right_side.…, of
// kind FULL for tables and VIEW for views, built o.Threads at a time. A prod plan publishes each model
// as a view in that schema over a table in sqlmesh__<schema>.
func SQLMeshProject(dir string, o Options) error {
	o, err := prepare(dir, o)
	if err != nil {
		return err
	}
	write := writer(dir)
	config := fmt.Sprintf(`gateways:
  local:
    connection: {type: duckdb, database: %q, concurrent_tasks: %d}
default_gateway: local
model_defaults: {dialect: duckdb}
variables: {scale: 100}
`, o.Path, o.Threads)
	if err := write("config.yaml", config); err != nil {
		return err
	}
	kind := "FULL"
	if o.Materialized == "view" {
		kind = "VIEW"
	}
	audits := ""
	if o.Tests {
		audits = "  audits (not_null(columns := (id))),\n"
	}
	body, bodyCol := bodyColumns(o)
	qualified := func(i int) string { return schemaOf(folderOf(i)) + "." + modelName(i) }
	for _, m := range graph(o) {
		i := m.i
		var b strings.Builder
		fmt.Fprintf(&b, "MODEL (\n  name %s,\n  kind %s,\n  tags (group_%d),\n%s  description 'Generated model %d.'\n);\n\n",
			qualified(i), kind, i%10, audits, i)
		fmt.Fprintf(&b, "select %d as id, (%d * @VAR('scale')) as value%s\n", i, i, body)
		b.WriteString(upstream(m.refs, bodyCol, o.Narrow, qualified))
		if err := write(fmt.Sprintf("models/%s/%s.sql", m.folder, m.name()), b.String()); err != nil {
			return err
		}
	}
	return nil
}
