package staffhours_test

import (
	"testing"
	"time"

	"github.com/todoku/todoku/staffhours"
)

func TestHours(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// 2026-12-04 is a Friday.
	tests := []struct {
		spec, now string
		open      bool
		next      string
	}{
		{"Mon-Fri 10:00-18:00 Asia/Tokyo", "2026-12-04 09:59", false, "2026-12-04 10:00"},
		{"Mon-Fri 10:00-18:00 Asia/Tokyo", "2026-12-04 10:00", true, "2026-12-04 10:00"},
		{"Mon-Fri 10:00-18:00", "2026-12-04 18:00", false, "2026-12-07 10:00"},
		{"Mon-Fri 10:00-18:00, Sat 10:00-13:00", "2026-12-04 19:30", false, "2026-12-05 10:00"},
		{"Mon/Wed 09:00-12:00", "2026-12-03 08:00", false, "2026-12-07 09:00"},
		{"Fri 22:00-02:00", "2026-12-05 01:30", true, "2026-12-05 01:30"},
		{"Sat-Sun 00:00-24:00", "2026-12-06 23:59", true, "2026-12-06 23:59"},
		{"Mon-Fri 01:00-02:00 UTC", "2026-12-04 10:30", true, "2026-12-04 10:30"}, // 01:30 UTC
	}
	for _, tt := range tests {
		h, err := staffhours.Parse(tt.spec)
		if err != nil {
			t.Fatalf("%q: %v", tt.spec, err)
		}
		now := at(tt.now)
		if got := h.Open(now); got != tt.open {
			t.Errorf("%q at %s: open %v, want %v", tt.spec, tt.now, got, tt.open)
		}
		if got := h.NextOpen(now); !got.Equal(at(tt.next)) {
			t.Errorf("%q at %s: next %s, want %s", tt.spec, tt.now, got.In(tokyo).Format("2006-01-02 15:04"), tt.next)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"Mon-Fri", "Mon-Fri 10-18", "Funday 10:00-11:00", "Mon 25:00-26:00", "Mon 10:00-18:00 Mars/Base"} {
		if _, err := staffhours.Parse(spec); err == nil {
			t.Errorf("Parse(%q) accepted", spec)
		}
	}
	h, err := staffhours.Parse("")
	if h != nil || err != nil || !h.Open(time.Now()) {
		t.Errorf("unset: %v, %v; want nil (always open)", h, err)
	}
}
