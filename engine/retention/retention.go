// Package retention is the policy that thins a landing table's loads as
// they age: every load while young, then the last of each UTC day, then
// the last of each ISO week, then none. It judges loads by their times and
// knows nothing of warehouses; engine/run applies what it decides.
package retention

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Forever is the span of a tier that keeps its loads however old they get.
const Forever = time.Duration(math.MaxInt64)

// Tiers are the keys of a policy, youngest first.
var Tiers = []string{"all", "daily", "weekly"}

// Policy is one landing table's retention. Each tier keeps loads younger
// than its span that the tiers before it did not; a tier that is not set
// keeps nothing beyond the one before it. The newest load is always kept.
type Policy struct {
	All    time.Duration // every load younger than this
	Daily  time.Duration // then the last load of each UTC day younger than this
	Weekly time.Duration // then the last load of each ISO week younger than this
}

// Load is one load of a landing table: its id and when it landed.
type Load struct {
	ID string
	At time.Time
}

// Decide splits loads into those the policy keeps and those it deletes,
// judging their age against now, each list in the order given. The newest
// load (latest time, then greatest id) is kept whatever its age, and so is
// a load from the future of now.
func (p Policy) Decide(loads []Load, now time.Time) (keep, drop []Load) {
	if len(loads) == 0 {
		return nil, nil
	}
	later := func(a, b Load) bool { return a.At.After(b.At) || a.At.Equal(b.At) && a.ID > b.ID }
	newest := loads[0]
	lastOfDay := map[string]Load{}
	lastOfWeek := map[string]Load{}
	for _, l := range loads {
		if later(l, newest) {
			newest = l
		}
		d, w := dayOf(l.At), weekOf(l.At)
		if cur, ok := lastOfDay[d]; !ok || later(l, cur) {
			lastOfDay[d] = l
		}
		if cur, ok := lastOfWeek[w]; !ok || later(l, cur) {
			lastOfWeek[w] = l
		}
	}
	for _, l := range loads {
		age := now.Sub(l.At)
		kept := l == newest || age < p.All ||
			age < p.Daily && lastOfDay[dayOf(l.At)] == l ||
			age < p.Weekly && lastOfWeek[weekOf(l.At)] == l
		if kept {
			keep = append(keep, l)
		} else {
			drop = append(drop, l)
		}
	}
	return keep, drop
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func weekOf(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// String renders the policy as project.yaml spells it.
func (p Policy) String() string {
	var parts []string
	prev := time.Duration(0)
	for i, d := range []time.Duration{p.All, p.Daily, p.Weekly} {
		if d > prev { // a tier spanning no further than the one before is not set
			parts = append(parts, Tiers[i]+": "+FormatSpan(d))
			prev = d
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// units are the units of a span, in hours.
var units = map[byte]int64{'h': 1, 'd': 24, 'w': 24 * 7, 'y': 24 * 365}

// ParseSpan reads a tier's span: a whole number followed by h (hours),
// d (days), w (weeks) or y (years of 365 days), e.g. 14d, or forever.
func ParseSpan(s string) (time.Duration, error) {
	const want = "must be a number of hours, days, weeks or years (36h, 14d, 8w, 5y) or forever"
	s = strings.TrimSpace(s)
	if s == "forever" {
		return Forever, nil
	}
	if len(s) < 2 {
		return 0, fmt.Errorf("%s, got %q", want, s)
	}
	hours, ok := units[s[len(s)-1]]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if !ok || err != nil || n <= 0 || n > math.MaxInt64/int64(time.Hour)/hours {
		return 0, fmt.Errorf("%s, got %q", want, s)
	}
	return time.Duration(n*hours) * time.Hour, nil
}

// FormatSpan renders a span in years when it is whole years, else days
// or hours.
func FormatSpan(d time.Duration) string {
	if d == Forever {
		return "forever"
	}
	h := int64(d / time.Hour)
	for _, u := range []byte{'y', 'd'} { // not weeks: 14d reads as written
		if h%units[u] == 0 {
			return strconv.FormatInt(h/units[u], 10) + string(u)
		}
	}
	return strconv.FormatInt(h, 10) + "h"
}

// Check reports whether the tiers set (by name) are in order: each longer
// than the ones before it. It returns the first tier out of order and why.
func Check(set map[string]time.Duration) (tier string, err error) {
	prev, prevName := time.Duration(0), ""
	for _, name := range Tiers {
		d, ok := set[name]
		if !ok {
			continue
		}
		if prevName != "" && d <= prev {
			return name, fmt.Errorf("%s (%s) must be longer than %s (%s): each tier keeps the loads older than the tier before it",
				name, FormatSpan(d), prevName, FormatSpan(prev))
		}
		prev, prevName = d, name
	}
	if prevName == "" {
		return "", fmt.Errorf("needs at least one of %s", strings.Join(Tiers, ", "))
	}
	return "", nil
}

// New makes a policy from the tiers set, which Check accepted: a tier not
// set spans as far as the one before it.
func New(set map[string]time.Duration) Policy {
	p := Policy{All: set["all"]}
	p.Daily = max(set["daily"], p.All)
	p.Weekly = max(set["weekly"], p.Daily)
	return p
}
