package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarrydev/quarry/engine/warehouse"
	"github.com/quarrydev/quarry/extractors"
)

// changeOnlyLoad is one change-only landing table's share of a load: the
// rows to store and the seen entries to record, which land together.
type changeOnlyLoad struct {
	stored [][]any // rows with their load metadata
	seen   [][]any // entries of extractors.SeenColumns
	// unchanged counts the keys whose row was not stored again.
	unchanged int64
}

// planChangeOnly splits a load's rows of table t (each the extractor's
// values followed by the load metadata) into the rows to store, those
// whose content differs from the row their key last pointed at, and a
// seen entry for every row: it points at the stored row, or at the earlier
// row whose content it repeats. A row without a key value is stored as in
// an append-only load, with no entry (staging reads it as one).
func planChangeOnly(ctx context.Context, wh warehouse.Warehouse, seenRel warehouse.Relation, t extractors.Table, rows [][]any, loadID string, now time.Time, source string) (*changeOnlyLoad, error) {
	keyIdx := slices.IndexFunc(t.Columns, func(c warehouse.Column) bool { return c.Name == t.Key })
	if keyIdx < 0 {
		return nil, fmt.Errorf("table %s has no column %s, its key", t.Name, t.Key)
	}
	latest, err := latestSeen(ctx, wh, seenRel, t.Name)
	if err != nil {
		return nil, err
	}
	plan := &changeOnlyLoad{}
	for _, r := range rows {
		key, ok := r[keyIdx].(string)
		if !ok || key == "" {
			plan.stored = append(plan.stored, r)
			continue
		}
		hash := contentHash(r[:len(t.Columns)])
		rowLoad := loadID
		if prev, ok := latest[key]; ok && prev.hash == hash {
			rowLoad = prev.rowLoadID
			plan.unchanged++
		} else {
			plan.stored = append(plan.stored, r)
		}
		plan.seen = append(plan.seen, []any{t.Name, key, rowLoad, hash, loadID, now, source})
	}
	return plan, nil
}

type seenEntry struct{ rowLoadID, hash string }

// latestSeen reads, per key of a landing table, the latest seen entry: the
// row holding the key's value then, and that value's hash.
func latestSeen(ctx context.Context, wh warehouse.Warehouse, seenRel warehouse.Relation, table string) (map[string]seenEntry, error) {
	q := wh.QuoteIdent
	sql := fmt.Sprintf("select %s, row_load_id, content_hash from %s where landing_table = '%s' "+
		"qualify row_number() over (partition by %s order by _loaded_at desc, _load_id desc) = 1",
		q("key"), wh.RelationSQL(seenRel), strings.ReplaceAll(table, "'", "''"), q("key"))
	res, err := wh.Query(ctx, sql, 0)
	if err != nil {
		return nil, fmt.Errorf("read the keys last seen in %s: %w", table, err)
	}
	out := make(map[string]seenEntry, len(res.Rows))
	for _, r := range res.Rows {
		key, _ := r[0].(string)
		rowLoad, _ := r[1].(string)
		hash, _ := r[2].(string)
		out[key] = seenEntry{rowLoadID: rowLoad, hash: hash}
	}
	return out, nil
}

// contentHash identifies a row's content: each value with its Go type, so
// that "1" and 1, or NULL and "", differ. Only hashes made by this function
// are ever compared, so the encoding need not match the warehouse's.
func contentHash(values []any) string {
	h := sha256.New()
	for _, v := range values {
		var s string
		switch v := v.(type) {
		case nil:
			s = "n"
		case string:
			s = "s" + v
		case int64:
			s = "i" + strconv.FormatInt(v, 10)
		case float64:
			s = "f" + strconv.FormatFloat(v, 'g', -1, 64)
		case bool:
			s = "b" + strconv.FormatBool(v)
		case time.Time:
			s = "t" + v.UTC().Format(time.RFC3339Nano)
		default:
			s = fmt.Sprintf("%T%v", v, v)
		}
		// Length-prefixed, so no value can run into the next.
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	return hex.EncodeToString(h.Sum(nil))
}
