package retention

import (
	"strings"
	"testing"
	"time"
)

func TestParseSpan(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"36h": 36 * time.Hour, "14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"5y": 5 * 365 * 24 * time.Hour, "forever": Forever, " 7d ": 7 * 24 * time.Hour,
	} {
		if got, err := ParseSpan(in); err != nil || got != want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1d", "1.5d", "14", "14m", "14days", "never", "99999999999999y"} {
		if _, err := ParseSpan(in); err == nil || !strings.Contains(err.Error(), "14d") {
			t.Errorf("ParseSpan(%q): err = %v, want one naming the forms", in, err)
		}
	}
	if s := FormatSpan(365 * 24 * time.Hour); s != "1y" {
		t.Errorf("FormatSpan(365d) = %s", s)
	}
}

func TestCheck(t *testing.T) {
	d := func(s string) time.Duration { v, _ := ParseSpan(s); return v }
	if tier, err := Check(map[string]time.Duration{"all": d("14d"), "daily": d("1y"), "weekly": d("forever")}); err != nil {
		t.Errorf("in order: %s %v", tier, err)
	}
	tier, err := Check(map[string]time.Duration{"all": d("14d"), "daily": d("7d")})
	if tier != "daily" || err == nil || err.Error() != "daily (7d) must be longer than all (14d): each tier keeps the loads older than the tier before it" {
		t.Errorf("out of order: %s %v", tier, err)
	}
	if tier, err := Check(map[string]time.Duration{"all": d("forever"), "weekly": d("forever")}); tier != "weekly" || err == nil {
		t.Errorf("after forever: %s %v", tier, err)
	}
	if _, err := Check(nil); err == nil || !strings.Contains(err.Error(), "all, daily, weekly") {
		t.Errorf("empty: %v", err)
	}
}

// TestDecideYearOfHourlyLoads judges a year of hourly loads with every
// tier: it keeps the last 14 days whole, then one a day, then one a week.
func TestDecideYearOfHourlyLoads(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var loads []Load
	for h := range 24 * 400 {
		at := now.Add(-time.Duration(h) * time.Hour)
		loads = append(loads, Load{ID: at.Format("20060102T15"), At: at})
	}
	day := 24 * time.Hour
	p := New(map[string]time.Duration{"all": 14 * day, "daily": 90 * day, "weekly": 365 * day})
	keep, drop := p.Decide(loads, now)
	if len(keep)+len(drop) != len(loads) {
		t.Fatalf("%d + %d loads, want %d", len(keep), len(drop), len(loads))
	}
	for _, l := range keep {
		age := now.Sub(l.At)
		lastOfDay := l.At.Hour() == 23
		y, w := l.At.ISOWeek()
		next := l.At.Add(time.Hour)
		ny, nw := next.ISOWeek()
		lastOfWeek := y != ny || w != nw
		switch {
		case age < 14*day:
		case age < 90*day && lastOfDay:
		case age < 365*day && lastOfWeek:
		default:
			t.Errorf("kept %s (age %v)", l.ID, age)
		}
	}
	// 14 days of 24 loads (the 14-days-old hour excluded), 76 days' last
	// loads, then the weeks of the rest of the year.
	if got := len(keep); got < 14*24+76+38 || got > 14*24+76+40 {
		t.Errorf("kept %d loads", got)
	}
	for _, l := range drop {
		if now.Sub(l.At) < 14*day {
			t.Errorf("dropped %s, younger than 14d", l.ID)
		}
	}
}

func TestDecideKeepsNewest(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	old := []Load{{"a", now.AddDate(-3, 0, 0)}, {"b", now.AddDate(-2, 0, 0)}, {"c", now.AddDate(-2, 0, 0)}}
	keep, drop := New(map[string]time.Duration{"all": time.Hour}).Decide(old, now)
	if len(keep) != 1 || keep[0].ID != "c" || len(drop) != 2 {
		t.Errorf("keep %v drop %v, want only the newest (the greater id of two at one time)", keep, drop)
	}
	keep, _ = New(map[string]time.Duration{"all": Forever}).Decide(old, now)
	if len(keep) != 3 {
		t.Errorf("forever kept %v", keep)
	}
	if k, d := (Policy{}).Decide(nil, now); k != nil || d != nil {
		t.Error("no loads")
	}
}

func TestPolicyString(t *testing.T) {
	p := New(map[string]time.Duration{"all": 14 * 24 * time.Hour, "weekly": Forever})
	if s := p.String(); s != "{all: 14d, weekly: forever}" {
		t.Errorf("String = %s", s)
	}
}
