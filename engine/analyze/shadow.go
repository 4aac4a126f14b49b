package analyze

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	// The shadow catalog is an in-memory DuckDB: its binder is a complete
	// SQL analyser, already linked into quarry.
	"github.com/duckdb/duckdb-go/v2"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// shadow is an in-memory DuckDB in which every relation the analysed SQL
// reads exists as an empty table of the right shape. Nothing in it holds
// data, so binding a statement costs the same whatever the depth of the
// graph above it.
type shadow struct {
	db      *sql.DB
	conn    *sql.Conn
	schemas map[string]bool
}

func openShadow(ctx context.Context) (*shadow, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("open the analyser's in-memory database: %w", err)
	}
	// One connection: an in-memory database lives as long as it does.
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open the analyser's in-memory database: %w", err)
	}
	return &shadow{db: db, conn: conn, schemas: map[string]bool{}}, nil
}

func (s *shadow) Close() error {
	return errors.Join(s.conn.Close(), s.db.Close())
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// create makes rel an empty table with cols. A type DuckDB does not know
// (a Snowflake type pinned on a seed, say) makes it fail.
func (s *shadow) create(ctx context.Context, rel warehouse.Relation, cols []warehouse.Column) error {
	name := quote(rel.Name)
	if rel.Schema != "" {
		key := strings.ToLower(rel.Schema)
		if !s.schemas[key] {
			if _, err := s.conn.ExecContext(ctx, "create schema if not exists "+quote(rel.Schema)); err != nil {
				return err
			}
			s.schemas[key] = true
		}
		name = quote(rel.Schema) + "." + name
	}
	var b strings.Builder
	b.WriteString("create or replace table ")
	b.WriteString(name)
	b.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
		b.WriteByte(' ')
		b.WriteString(shadowType(c.Type))
	}
	b.WriteString(")")
	_, err := s.conn.ExecContext(ctx, b.String())
	return err
}

// shadowType is a column type as DuckDB spells it: the portable names and
// the types the analyser reads back are DuckDB's own; Snowflake's (from a
// property file's data_type, or a Snowflake build's catalog) are mapped to
// the DuckDB type that behaves alike.
func shadowType(t string) string {
	t = warehouse.ColumnType(t, "TIMESTAMP")
	upper := strings.ToUpper(t)
	base, args, _ := strings.Cut(upper, "(")
	switch strings.TrimSpace(base) {
	case "TEXT", "STRING", "CHAR", "CHARACTER", "NCHAR", "NVARCHAR", "NVARCHAR2", "CHAR VARYING", "NCHAR VARYING":
		return "VARCHAR"
	case "NUMBER", "NUMERIC":
		if args == "" {
			return "DECIMAL(38,0)"
		}
		return "DECIMAL(" + args
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE PRECISION", "REAL":
		return "DOUBLE"
	case "TIMESTAMP_NTZ", "DATETIME":
		return "TIMESTAMP"
	case "TIMESTAMP_LTZ", "TIMESTAMP_TZ":
		return "TIMESTAMPTZ"
	case "VARIANT", "OBJECT", "ARRAY":
		return "JSON"
	case "BINARY", "VARBINARY":
		return "BLOB"
	}
	return t
}

// describe binds one statement, running nothing, and returns the columns
// it produces; a statement that does not bind gives a *bindError. The
// columns are read off the prepared statement; only a column of a nested
// or aliased type (a list, a struct, JSON), whose SQL spelling the driver
// does not give, costs a DESCRIBE as well.
func (s *shadow) describe(ctx context.Context, stmt string) ([]warehouse.Column, error) {
	var cols []warehouse.Column
	nested := false
	err := s.conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("the DuckDB driver cannot prepare statements")
		}
		ps, err := prep.PrepareContext(ctx, stmt)
		if err != nil {
			return parseBindError(err, stmt, 0)
		}
		defer ps.Close()
		st, ok := ps.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("the DuckDB driver prepared a %T", ps)
		}
		n, err := st.ColumnCount()
		if err != nil {
			return err
		}
		for i := range n {
			name, err := st.ColumnName(i)
			if err != nil {
				return err
			}
			info, err := st.ColumnTypeInfo(i)
			if err != nil {
				return err
			}
			typ, ok := scalarType(info)
			nested = nested || !ok
			cols = append(cols, warehouse.Column{Name: name, Type: typ})
		}
		return nil
	})
	if err != nil || !nested {
		return cols, err
	}
	return s.describeQuery(ctx, stmt)
}

// scalarType spells a column's type as DESCRIBE does, for the types whose
// spelling the driver gives; false for the others.
func scalarType(info duckdb.TypeInfo) (string, bool) {
	if info.Alias() != "" {
		return "", false
	}
	t := info.InternalType()
	if t == duckdb.TYPE_DECIMAL {
		d, ok := info.Details().(*duckdb.DecimalDetails)
		if !ok {
			return "", false
		}
		return fmt.Sprintf("DECIMAL(%d,%d)", d.Width, d.Scale), true
	}
	name, ok := scalarTypes[t]
	return name, ok
}

var scalarTypes = map[duckdb.Type]string{
	duckdb.TYPE_BOOLEAN: "BOOLEAN", duckdb.TYPE_TINYINT: "TINYINT", duckdb.TYPE_SMALLINT: "SMALLINT",
	duckdb.TYPE_INTEGER: "INTEGER", duckdb.TYPE_BIGINT: "BIGINT", duckdb.TYPE_HUGEINT: "HUGEINT",
	duckdb.TYPE_UTINYINT: "UTINYINT", duckdb.TYPE_USMALLINT: "USMALLINT", duckdb.TYPE_UINTEGER: "UINTEGER",
	duckdb.TYPE_UBIGINT: "UBIGINT", duckdb.TYPE_UHUGEINT: "UHUGEINT", duckdb.TYPE_FLOAT: "FLOAT",
	duckdb.TYPE_DOUBLE: "DOUBLE", duckdb.TYPE_DATE: "DATE", duckdb.TYPE_TIME: "TIME",
	duckdb.TYPE_TIMESTAMP: "TIMESTAMP", duckdb.TYPE_TIMESTAMP_S: "TIMESTAMP_S", duckdb.TYPE_TIMESTAMP_MS: "TIMESTAMP_MS",
	duckdb.TYPE_TIMESTAMP_NS: "TIMESTAMP_NS", duckdb.TYPE_TIMESTAMP_TZ: "TIMESTAMP WITH TIME ZONE",
	duckdb.TYPE_TIME_TZ: "TIME WITH TIME ZONE", duckdb.TYPE_INTERVAL: "INTERVAL", duckdb.TYPE_VARCHAR: "VARCHAR",
	duckdb.TYPE_BLOB: "BLOB", duckdb.TYPE_UUID: "UUID", duckdb.TYPE_BIT: "BIT",
}

// describeQuery runs DESCRIBE of stmt.
func (s *shadow) describeQuery(ctx context.Context, stmt string) ([]warehouse.Column, error) {
	// On a line of its own, so that the lines DuckDB's messages count are
	// the statement's own, one further down.
	rows, err := s.conn.QueryContext(ctx, "describe\n"+stmt)
	if err != nil {
		return nil, parseBindError(err, stmt, 1)
	}
	defer rows.Close()
	var cols []warehouse.Column
	for rows.Next() {
		var name, typ string
		var null, key, dflt, extra any
		if err := rows.Scan(&name, &typ, &null, &key, &dflt, &extra); err != nil {
			return nil, fmt.Errorf("read the analysed columns: %w", err)
		}
		cols = append(cols, warehouse.Column{Name: name, Type: typ})
	}
	if err := rows.Err(); err != nil {
		return nil, parseBindError(err, stmt, 1)
	}
	return cols, nil
}

// bindError is DuckDB's account of a statement it could not bind.
type bindError struct {
	Class   string // "Binder Error", "Catalog Error", "Parser Error", ...
	Message string // the message, without the class and the source excerpt
	Line    int    // 1-based, in the statement; 0 when DuckDB gave none
	Col     int    // 1-based byte column; 0 when unknown
}

func (e *bindError) Error() string { return e.Class + ": " + e.Message }

var (
	classRe = regexp.MustCompile(`^([A-Z][A-Za-z ]* Error): `)
	lineRe  = regexp.MustCompile(`(?m)^LINE (\d+): (.*)\n( *)\^`)
)

// parseBindError splits DuckDB's message into its class, its text and the
// position its excerpt points at. The excerpt of a long line is cut
// around the position, with "..." at the cuts; the column is found by
// looking the excerpt up in the statement's own line.
// skip is how many lines went before stmt in the text DuckDB was given.
func parseBindError(err error, stmt string, skip int) error {
	msg := err.Error()
	m := classRe.FindStringSubmatch(msg)
	if m == nil {
		return &bindError{Class: "Error", Message: strings.TrimSpace(msg)}
	}
	e := &bindError{Class: m[1]}
	body := msg[len(m[0]):]
	if loc := lineRe.FindStringSubmatchIndex(body); loc != nil {
		lineNo, _ := strconv.Atoi(body[loc[2]:loc[3]])
		excerpt := body[loc[4]:loc[5]]
		caret := (loc[7] - loc[6]) - len("LINE : ") - (loc[3] - loc[2])
		e.Line = lineNo - skip
		e.Col = column(stmt, e.Line, excerpt, caret)
		body = body[:loc[0]]
	}
	e.Message = tidyMessage(body)
	return e
}

// column finds the 1-based column of the caret in the statement's line,
// given the excerpt DuckDB showed and the caret's offset in it.
func column(stmt string, line int, excerpt string, caret int) int {
	lines := strings.Split(stmt, "\n")
	if line < 1 || line > len(lines) || caret < 0 {
		return 0
	}
	text := strings.TrimRight(lines[line-1], "\r")
	cut := strings.TrimSuffix(excerpt, "...")
	lead := 0
	if strings.HasPrefix(cut, "...") {
		cut, lead = cut[3:], 3
	}
	i := strings.Index(text, cut)
	if i < 0 {
		return 0
	}
	col := i + caret - lead + 1
	if col < 1 || col > len(text)+1 {
		return 0
	}
	return col
}

// tidyMessage keeps DuckDB's message on one line, its candidates in
// parentheses after it, and cuts long lists of function signatures that
// would bury the point.
func tidyMessage(body string) string {
	lines := strings.Split(strings.TrimSpace(body), "\n")
	msg := strings.TrimSuffix(strings.TrimSpace(lines[0]), "!")
	var sigs []string
	inSigs := false
	for _, l := range lines[1:] {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "Candidate functions:"):
			inSigs = true
		case inSigs:
			sigs = append(sigs, l)
		default: // "Candidate bindings: ...", "Did you mean ...?"
			l = strings.Replace(l, ": :", ":", 1)
			msg += " (" + strings.ToLower(l[:1]) + l[1:] + ")"
		}
	}
	if len(sigs) > 0 {
		const shown = 4
		if len(sigs) > shown {
			sigs = append(sigs[:shown:shown], fmt.Sprintf("and %d more", len(sigs)-shown))
		}
		msg += " (candidates: " + strings.Join(sigs, "; ") + ")"
	}
	return msg
}
