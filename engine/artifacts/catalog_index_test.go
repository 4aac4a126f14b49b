package artifacts

import (
	"testing"

	"github.com/quarrydev/quarry/engine/warehouse"
)

// foldingDialect renders names as Snowflake's dialect does: plain lower
// case bare (so stored upper case), anything else quoted.
type foldingDialect struct{ warehouse.Dialect }

func (foldingDialect) QuoteIdent(name string) string { return warehouse.QuoteIdent(name, nil) }

// Where two stored names differ only in case, a name finds the one the
// dialect's rendering of it refers to.
func TestCatalogIndexPrefersHowTheNameFolds(t *testing.T) {
	rel := func(schema, name string) warehouse.Relation { return warehouse.Relation{Schema: schema, Name: name} }
	infos := []warehouse.RelationInfo{
		{Relation: rel("S", "orders")}, {Relation: rel("S", "ORDERS")},
		{Relation: rel("S", "Mixed")}, {Relation: rel("S", "MIXED")},
		{Relation: rel("S", "ONLY")},
	}
	find := catalogIndex(foldingDialect{}, infos)
	for _, tc := range []struct {
		in   warehouse.Relation
		want *warehouse.RelationInfo
	}{
		{rel("s", "orders"), &infos[1]}, // bare: ORDERS
		{rel("s", "Mixed"), &infos[2]},  // quoted: exactly Mixed
		{rel("s", "only"), &infos[4]},   // one candidate
		{rel("s", "Only"), &infos[4]},
		{rel("s", "mIXED"), nil}, // quoted, and neither is mIXED
		{rel("s", "absent"), nil},
	} {
		if got := find(tc.in); got != tc.want {
			t.Errorf("find(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
