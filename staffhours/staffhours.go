// Package staffhours reads STAFF_HOURS, the times when a person answers
// (`Mon-Fri 10:00-18:00 Asia/Tokyo`), and says whether they are open now
// and when they next open. Pure: the caller passes the time in.
package staffhours

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone names must resolve in a container without zoneinfo
)

// Hours is a weekly schedule in one time zone. The zero of *Hours (nil)
// means always staffed.
type Hours struct {
	spans []span
	loc   *time.Location
	src   string
}

// span is one opening: minutes from the start of the week (Sunday 00:00)
// to its end; an end before the start wraps past midnight.
type span struct{ from, to int }

const week = 7 * 24 * 60

var days = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse reads a schedule: comma-separated parts `DAYS HH:MM-HH:MM`, where
// DAYS is a day (Mon), a range (Mon-Fri, Sat-Sun) or a list (Mon/Wed/Fri),
// then optionally an IANA time zone (default Asia/Tokyo). An end at or
// before the start runs past midnight (`Fri 22:00-02:00`). "" returns nil:
// always staffed.
func Parse(s string) (*Hours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	h := &Hours{src: s}
	zone := "Asia/Tokyo"
	fields := strings.Fields(s)
	if last := fields[len(fields)-1]; strings.Contains(last, "/") && !strings.ContainsAny(last, ":") || last == "UTC" {
		zone = last
		s = strings.TrimSpace(strings.TrimSuffix(s, last))
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("STAFF_HOURS: unknown time zone %q", zone)
	}
	h.loc = loc
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 {
			return nil, fmt.Errorf("STAFF_HOURS: %q: want DAYS HH:MM-HH:MM, e.g. Mon-Fri 10:00-18:00", strings.TrimSpace(part))
		}
		ds, err := parseDays(f[0])
		if err != nil {
			return nil, err
		}
		from, to, err := parseTimes(f[1])
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			start := int(d)*24*60 + from
			length := to - from
			if length <= 0 {
				length += 24 * 60
			}
			h.spans = append(h.spans, span{start, start + length})
		}
	}
	return h, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	bad := fmt.Errorf("STAFF_HOURS: %q: days are Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range like Mon-Fri or a list like Mon/Wed", s)
	var out []time.Weekday
	for _, item := range strings.Split(strings.ToLower(s), "/") {
		a, b, isRange := strings.Cut(item, "-")
		da, ok := days[a]
		if !ok {
			return nil, bad
		}
		if !isRange {
			out = append(out, da)
			continue
		}
		db, ok := days[b]
		if !ok {
			return nil, bad
		}
		for d := da; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == db {
				break
			}
		}
	}
	return out, nil
}

func parseTimes(s string) (from, to int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("STAFF_HOURS: %q: want HH:MM-HH:MM", s)
	}
	if from, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if to, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	return from, to, nil
}

func parseClock(s string) (int, error) {
	var hh, mm int
	if n, err := fmt.Sscanf(s, "%d:%d", &hh, &mm); err != nil || n != 2 || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) || len(s) > 5 {
		return 0, fmt.Errorf("STAFF_HOURS: %q is not a time like 09:30", s)
	}
	return hh*60 + mm, nil
}

// minuteOfWeek is t's minute from Sunday 00:00 in the schedule's zone.
func (h *Hours) minuteOfWeek(t time.Time) int {
	t = t.In(h.loc)
	return int(t.Weekday())*24*60 + t.Hour()*60 + t.Minute()
}

// Open reports whether someone answers at t.
func (h *Hours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	m := h.minuteOfWeek(t)
	for _, s := range h.spans {
		// A span may run past the end of the week (Sat 22:00-02:00).
		if (m >= s.from && m < s.to) || (m+week >= s.from && m+week < s.to) {
			return true
		}
	}
	return false
}

// NextOpen returns t when open, else the next time someone answers (in the
// schedule's zone, to the minute). Zero when the schedule has no spans.
func (h *Hours) NextOpen(t time.Time) time.Time {
	if h.Open(t) {
		return t
	}
	if len(h.spans) == 0 {
		return time.Time{}
	}
	m := h.minuteOfWeek(t)
	best := -1
	for _, s := range h.spans {
		d := (s.from - m + week) % week
		if best < 0 || d < best {
			best = d
		}
	}
	start := t.In(h.loc).Truncate(time.Minute)
	// Add the minutes in wall-clock terms, so a DST change (elsewhere than
	// Tokyo) does not shift the opening hour.
	y, mo, d := start.Date()
	return time.Date(y, mo, d, start.Hour(), start.Minute()+best, 0, 0, h.loc)
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location {
	if h == nil {
		return nil
	}
	return h.loc
}

// String returns the schedule as configured ("" when always staffed).
func (h *Hours) String() string {
	if h == nil {
		return ""
	}
	return h.src
}
