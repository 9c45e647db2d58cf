package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/staffhours"
	"github.com/todoku/todoku/storage/storagetest"
)

// TestStaffHoursReachTheDialog: outside STAFF_HOURS a user who asks for a
// person is told when someone will answer; within them, that someone is on
// it; and the conversation waits in the queue either way.
func TestStaffHoursReachTheDialog(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tt := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"off duty", time.Date(2026, 12, 4, 20, 0, 0, 0, tokyo), "12月7日（月）の10時以降に"}, // a Friday evening
		{"on duty", time.Date(2026, 12, 4, 11, 0, 0, 0, tokyo), "担当者が順番に確認しています"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, storagetest.SQLiteURL(t), nil)
			cfg.StaffHours, _ = staffhours.Parse("Mon-Fri 10:00-18:00 Asia/Tokyo")
			a := newTestApp(t, cfg, Options{Sender: retSender{}})
			user := "U0000000000000000000000000005a0f"
			var said string
			for i, text := range []string{"確認コードが届きません", "人と話したい"} {
				turn, err := a.Processor.HandleNow(context.Background(), bot.Event{ID: tt.name + string(rune('a'+i)), Type: "message",
					SourceType: "user", UserID: user, ChatID: user, MessageType: "text", Text: text, Timestamp: tt.at.Add(time.Duration(i) * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range turn.Messages {
					said += string(m)
				}
			}
			if !strings.Contains(said, tt.want) {
				t.Fatalf("the handoff does not say %q: %s", tt.want, said)
			}
			if n, _ := a.DB.WaitingCount(context.Background()); n != 1 {
				t.Fatalf("%d conversations wait, want 1", n)
			}
		})
	}
}
