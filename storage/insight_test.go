package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

var jst = time.FixedZone("JST", 9*60*60)

// insightFixture is a hand-made log of nine conversations around 1–2
// December 2026 (Japan time); TestAnalytics checks the figures worked out
// by hand from it.
func insightFixture(t *testing.T, db *storage.DB) {
	t.Helper()
	at := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, jst).UTC() }
	ptr := func(t time.Time) *time.Time { return &t }
	str := func(s string) *string { return &s }
	yes, no := true, false
	two, five := 2, 5
	type c = storage.Conversation
	convs := []c{
		// 1 December
		{UserID: "U1", Status: "closed", Outcome: str("resolved"), StartedAt: at(1, 9, 0), ResolvedAt: ptr(at(1, 9, 4)),
			Helped: &yes, Rating: &five, Subject: "email_check", Node: "email_resolved", MessageCount: 6},
		{UserID: "U2", Status: "closed", Outcome: str("abandoned"), StartedAt: at(1, 10, 0), Subject: "sms_check", Node: "sms_check", MessageCount: 3},
		{UserID: "U1", Status: "closed", Outcome: str("handed_over"), StartedAt: at(1, 23, 59), WaitedAt: ptr(at(2, 0, 1)), TakenAt: ptr(at(2, 0, 6)),
			HandoffPath: "welcome > ask_method > handoff", Subject: "ask_method", Node: "handoff", MessageCount: 8},
		// 2 December (00:10 in Japan is still 1 December in UTC)
		{UserID: "U3", Status: "open", StartedAt: at(2, 0, 10), Topic: "welcome", Node: "welcome", MessageCount: 2},
		{UserID: "U4", Status: "closed", Outcome: str("not_resolved"), StartedAt: at(2, 12, 0), ResolvedAt: ptr(at(2, 12, 10)),
			Helped: &no, Rating: &two, Subject: "email_check", Node: "email_resolved", MessageCount: 5},
		{UserID: "U5", Status: "open", Owner: "waiting", StartedAt: at(2, 13, 0), WaitedAt: ptr(at(2, 13, 1)),
			HandoffPath: "welcome > ask_method > handoff", Subject: "handoff", Node: "handoff", MessageCount: 4},
		{UserID: "U2", Status: "closed", Outcome: str("resolved"), StartedAt: at(2, 14, 0), ResolvedAt: ptr(at(2, 14, 2)),
			Helped: &yes, Subject: "sms_check", Node: "sms_resolved", MessageCount: 4},
		// Outside the period: 3 December 00:00 and 30 November 23:59 in Japan.
		{UserID: "U6", Status: "closed", Outcome: str("resolved"), StartedAt: at(3, 0, 0), MessageCount: 9},
		{UserID: "U6", Status: "closed", Outcome: str("abandoned"), StartedAt: at(1, 0, 0).Add(-time.Minute), MessageCount: 9},
	}
	g := db.Gorm()
	for i := range convs {
		cv := &convs[i]
		if cv.Owner == "" {
			cv.Owner = "bot"
		}
		cv.PackID = "microsoft-ja"
		cv.LastActivityAt = cv.StartedAt
	}
	// Another pack's conversation in the period.
	convs = append(convs, c{UserID: "U7", Status: "closed", Owner: "bot", Outcome: str("resolved"), PackID: "google-ja",
		StartedAt: at(2, 9, 0), LastActivityAt: at(2, 9, 0), Subject: "sms_check", MessageCount: 2})
	for i := range convs {
		u := storage.User{ID: convs[i].UserID, Kind: "user", CreatedAt: convs[i].StartedAt, UpdatedAt: convs[i].StartedAt}
		if err := g.FirstOrCreate(&u, "id = ?", u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := g.Create(&convs[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnalytics(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		insightFixture(t, db)
		period := storage.Period{From: time.Date(2026, 12, 1, 0, 0, 0, 0, jst), To: time.Date(2026, 12, 3, 0, 0, 0, 0, jst)}
		f, err := db.Analytics(ctx, storage.AnalyticsQuery{Period: period, Pack: "microsoft-ja"})
		if err != nil {
			t.Fatal(err)
		}
		got := []int{f.Conversations, f.Users, f.Resolved, f.HandedOver, f.Abandoned, f.NotResolved, f.InProgress,
			f.Answered, f.Helped, f.Messages, f.Waited, f.Taken}
		want := []int{7, 5, 2, 1, 1, 1, 2, 3, 2, 32, 2, 1}
		if !equalInts(got, want) {
			t.Errorf("conversations, users, resolved, handed over, abandoned, not resolved, in progress, answered, helped, messages, waited, taken\n= %v\nwant %v", got, want)
		}
		if f.Ratings != [5]int{0, 1, 0, 0, 1} {
			t.Errorf("ratings %v", f.Ratings)
		}
		// Resolved after 4, 10 and 2 minutes; one wait of 5 minutes.
		if f.ResolveSeconds == nil || *f.ResolveSeconds != 240 || f.WaitSeconds == nil || *f.WaitSeconds != 300 {
			t.Errorf("medians: resolve %v, wait %v; want 240, 300", deref(f.ResolveSeconds), deref(f.WaitSeconds))
		}
		wantTopics := map[string]int{"email_check": 2, "sms_check": 2, "ask_method": 1, "welcome": 1, "handoff": 1}
		if !equalMaps(f.ByTopic, wantTopics) {
			t.Errorf("by topic %v, want %v", f.ByTopic, wantTopics)
		}
		if want := map[string]int{"sms_check": 1}; !equalMaps(f.DropOff, want) {
			t.Errorf("drop-off %v, want %v", f.DropOff, want)
		}
		if len(f.Paths) != 1 || f.Paths[0].Conversations != 2 || len(f.Paths[0].Nodes) != 3 || f.Paths[0].Nodes[1] != "ask_method" {
			t.Errorf("paths %+v", f.Paths)
		}
		if len(f.Days) != 2 {
			t.Fatalf("days %+v", f.Days)
		}
		d1, d2 := f.Days[0], f.Days[1]
		if !d1.Day.Equal(period.From) || d1.Conversations != 3 || d1.Resolved != 1 || d1.Abandoned != 1 || d1.HandedOver != 1 {
			t.Errorf("1 December: %+v", d1)
		}
		if d2.Conversations != 4 || d2.InProgress != 2 || d2.NotResolved != 1 || d2.Resolved != 1 {
			t.Errorf("2 December: %+v", d2)
		}

		// Every pack; one day (an even number of resolutions: 10 and 2 minutes).
		f, err = db.Analytics(ctx, storage.AnalyticsQuery{Period: storage.Period{From: period.From.AddDate(0, 0, 1), To: period.To}})
		if err != nil {
			t.Fatal(err)
		}
		if f.Conversations != 5 || f.Resolved != 2 || f.ResolveSeconds == nil || *f.ResolveSeconds != 360 || f.WaitSeconds != nil {
			t.Errorf("2 December, every pack: %d conversations, %d resolved, medians %v, %v", f.Conversations, f.Resolved,
				deref(f.ResolveSeconds), deref(f.WaitSeconds))
		}

		// A week without conversations: every day, all zero.
		f, err = db.Analytics(ctx, storage.AnalyticsQuery{Period: storage.Period{From: period.From.AddDate(0, 0, 7), To: period.From.AddDate(0, 0, 14)}})
		if err != nil || f.Conversations != 0 || len(f.Days) != 7 || f.ResolveSeconds != nil {
			t.Errorf("an empty week: %+v, %v", f, err)
		}
	})
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalMaps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
