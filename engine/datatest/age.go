package datatest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseAge reads a freshness limit: "24h", "90m", "2d" or dbt's
// {count: 2, period: day}.
func ParseAge(v any) (time.Duration, error) {
	switch v := v.(type) {
	case string:
		if days, ok := strings.CutSuffix(v, "d"); ok {
			n, err := strconv.Atoi(days)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 2d", v)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 2d", v)
		}
		return d, nil
	case map[string]any:
		count, ok := v["count"].(int)
		unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[fmt.Sprint(v["period"])]
		if !ok || count <= 0 || unit == 0 {
			return 0, fmt.Errorf("write {count: N, period: minute|hour|day}")
		}
		return time.Duration(count) * unit, nil
	}
	return 0, fmt.Errorf("%v is not a duration like 24h, 90m or 2d", v)
}

// FormatAge writes a duration the way people say ages: 3d, 1d6h, 45m, 30s;
// zero, an unset limit, is "never".
func FormatAge(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	days, hours, mins := d/(24*time.Hour), (d%(24*time.Hour))/time.Hour, (d%time.Hour)/time.Minute
	var b strings.Builder
	for _, part := range []struct {
		n    time.Duration
		unit string
	}{{days, "d"}, {hours, "h"}, {mins, "m"}} {
		if part.n > 0 {
			fmt.Fprintf(&b, "%d%s", part.n, part.unit)
		}
	}
	return b.String()
}
