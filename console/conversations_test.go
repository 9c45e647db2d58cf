package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/todoku/todoku/console"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// waitingConversation has user ask for a person and returns the
// conversation once it waits.
func (g *rig) waitingConversation(user string) storage.ConversationRow {
	g.t.Helper()
	userSays(g.t, g.w, user, "確認コードが届きません")
	userSays(g.t, g.w, user, "人と話したい")
	var conv storage.ConversationRow
	eventually(g.t, user+" waits for a person", func() bool {
		rows, err := g.db.ListConversations(context.Background(), storage.ConversationFilter{UserID: user}, nil, 1)
		if err != nil || len(rows) == 0 || rows[0].Owner != "waiting" {
			return false
		}
		conv = rows[0]
		return true
	})
	return conv
}

func (g *rig) conversation(id int64) *storage.ConversationRow {
	g.t.Helper()
	c, err := g.db.ConversationByID(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

func TestTakeOverReplyHandBack(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		user := "U" + strings.Repeat("a", 32)
		conv := g.waitingConversation(user)
		path := fmt.Sprintf("/conversations/%d", conv.ID)

		staff := g.signedIn("sato", console.RoleStaff)
		if r := staff.get("/queue"); r.code != 200 || !strings.Contains(r.body, path) || !strings.Contains(r.body, "人と話したい") {
			t.Fatalf("the queue does not list the waiting conversation: %d", r.code)
		}
		r := staff.get(path)
		if r.code != 200 || !strings.Contains(r.body, "確認コードが届きません") || !strings.Contains(r.body, `class="msg out bot"`) ||
			!strings.Contains(r.body, `class="qr`) || !strings.Contains(r.body, "担当する") {
			t.Fatalf("transcript = %d", r.code)
		}
		if r := staff.post(path+"/takeover", nil); r.code != http.StatusSeeOther {
			t.Fatalf("takeover = %d", r.code)
		}
		if c := g.conversation(conv.ID); c.Owner != "staff" || c.AssignedTo != "sato" {
			t.Fatalf("after takeover: owner %s assigned %q", c.Owner, c.AssignedTo)
		}
		// Another member sees who has it.
		other := g.signedIn("suzuki", console.RoleStaff)
		if r := other.post(path+"/takeover", nil); r.code != http.StatusSeeOther || !strings.Contains(r.loc, "taken=sato") {
			t.Fatalf("second takeover = %d %q", r.code, r.loc)
		}
		if r := other.post(path+"/messages", url.Values{"text": {"横から失礼します"}}); !strings.Contains(r.loc, "err=notmine") {
			t.Fatalf("a reply from someone who does not own it = %d %q", r.code, r.loc)
		}

		r = staff.get(path)
		if !strings.Contains(r.body, `id="composer"`) {
			t.Fatal("the owner has no reply box")
		}
		if r := staff.post(path+"/messages", url.Values{"text": {"担当の佐藤です。状況を確認しますね。"}}); r.code != http.StatusSeeOther || !strings.Contains(r.loc, "ok=sent") {
			t.Fatalf("reply = %d %q", r.code, r.loc)
		}
		eventually(t, "the staff reply is pushed", func() bool {
			for _, p := range g.sent.pushes(user) {
				if strings.Contains(p, "担当の佐藤です") {
					return true
				}
			}
			return false
		})
		before := g.sent.count(user)
		userSays(t, g.w, user, "ありがとうございます")
		eventually(t, "the user's message is logged", func() bool {
			return strings.Contains(staff.get(path).body, "ありがとうございます")
		})
		if n := g.sent.count(user); n != before {
			t.Fatalf("the bot answered while staff own the conversation (%d deliveries, want %d)", n, before)
		}
		page := staff.get(path).body
		if !strings.Contains(page, `class="msg out staff"`) || !strings.Contains(page, "sato（スタッフ）") {
			t.Fatal("the staff message is not shown with its author")
		}

		if r := staff.post(path+"/handback", url.Values{"outcome": {"resolved"}}); r.code != http.StatusSeeOther || !strings.Contains(r.loc, "ok=handback") {
			t.Fatalf("hand back = %d %q", r.code, r.loc)
		}
		eventually(t, "the conversation is handed back", func() bool {
			c := g.conversation(conv.ID)
			return c.Owner == "bot" && c.Status == "closed" && c.Outcome == "resolved"
		})
		eventually(t, "the user is told, by push, that the bot takes over again", func() bool {
			for _, p := range g.sent.pushes(user) {
				if strings.Contains(p, "担当者からのご案内は以上です") {
					return true
				}
			}
			return false
		})
		before = g.sent.count(user)
		userSays(t, g.w, user, "コードが届かない")
		eventually(t, "the bot answers again", func() bool { return g.sent.count(user) > before })

		actions := auditActions(t, db)
		for _, a := range []string{"conversation.view", "conversation.takeover", "conversation.reply", "conversation.handback"} {
			if !actions[a] {
				t.Errorf("audit log lacks %s", a)
			}
		}
		es, _ := db.AuditEntries(context.Background(), 0, 1000)
		for _, e := range es {
			if strings.Contains(e.Detail, "佐藤") || strings.Contains(e.Detail, "ありがとう") {
				t.Errorf("audit detail holds message content: %+v", e)
			}
		}
	})
}

// TestTakeOverRace: of many staff pressing at once, exactly one gets it.
func TestTakeOverRace(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		conv := g.waitingConversation("Urace")
		const n = 8
		tokens := make([]string, n)
		for i := range tokens {
			tok, err := (console.Accounts{DB: db}).CreateToken(context.Background(), fmt.Sprintf("racer%d", i), console.RoleStaff, "test")
			if err != nil {
				t.Fatal(err)
			}
			tokens[i] = tok
		}
		codes := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				codes[i] = g.client().do("POST", fmt.Sprintf("/api/v1/conversations/%d/takeover", conv.ID), nil,
					map[string]string{"Authorization": "Bearer " + tokens[i]}).code
			})
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				won++
			case http.StatusConflict:
				lost++
			}
		}
		if won != 1 || lost != n-1 {
			t.Fatalf("takeover race: %d won, %d got 409 (codes %v); want 1 and %d", won, lost, codes, n-1)
		}
	})
}

func TestListFiltersAndSearch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		g.waitingConversation("Uwaiting1")
		userSays(t, g.w, "Ubot1", "SMSが来ません、機種変更しました")
		eventually(t, "two conversations", func() bool {
			rows, _ := db.ListConversations(context.Background(), storage.ConversationFilter{}, nil, 10)
			return len(rows) == 2
		})
		staff := g.signedIn("sato", console.RoleStaff)
		for _, tt := range []struct {
			query      string
			want, not  string
			wantStatus int
		}{
			{"owner=waiting", "Uwaiting1", "Ubot1", 200},
			{"owner=bot", "Ubot1", "Uwaiting1", 200},
			{"q=" + url.QueryEscape("機種変更"), "Ubot1", "Uwaiting1", 200}, // FTS5 trigram / pg_trgm
			{"q=" + url.QueryEscape("機種"), "Ubot1", "Uwaiting1", 200},   // two characters: LIKE
			{"q=sms", "Ubot1", "Uwaiting1", 200},                        // case-insensitive
			{"q=" + url.QueryEscape("人と話"), "Uwaiting1", "Ubot1", 200},  // what the user wrote
			{"user=Ubot1", "Ubot1", "Uwaiting1", 200},
			{"from=2000-01-01&to=2000-01-02", "", "Ubot1", 200},
			{"owner=nobody", "", "", 400},
		} {
			r := staff.get("/conversations?" + tt.query)
			if r.code != tt.wantStatus {
				t.Errorf("%s: %d, want %d", tt.query, r.code, tt.wantStatus)
				continue
			}
			if tt.want != "" && !strings.Contains(r.body, tt.want) {
				t.Errorf("%s: %s is not listed", tt.query, tt.want)
			}
			if tt.not != "" && strings.Contains(r.body, tt.not) {
				t.Errorf("%s: %s is listed", tt.query, tt.not)
			}
		}
		if !auditActions(t, db)["conversation.search"] {
			t.Error("searches are not audited")
		}
	})
}

func TestKeysetPagination(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	for i := range 53 {
		userSays(t, g.w, fmt.Sprintf("Upage%02d", i), "こんにちは")
	}
	eventually(t, "53 conversations", func() bool {
		rows, _ := g.db.ListConversations(context.Background(), storage.ConversationFilter{}, nil, 100)
		return len(rows) == 53
	})
	tok, _ := (console.Accounts{DB: g.db}).CreateToken(context.Background(), "pager", console.RoleStaff, "test")
	seen := map[int64]bool{}
	cursor := ""
	for page := 0; ; page++ {
		r := g.client().do("GET", "/api/v1/conversations?cursor="+cursor, nil, map[string]string{"Authorization": "Bearer " + tok})
		var body struct {
			Conversations []struct{ ID int64 }
			Next          *string
		}
		if r.code != 200 || json.Unmarshal([]byte(r.body), &body) != nil {
			t.Fatalf("page %d: %d %s", page, r.code, r.body)
		}
		for _, c := range body.Conversations {
			if seen[c.ID] {
				t.Fatalf("conversation %d on two pages", c.ID)
			}
			seen[c.ID] = true
		}
		if body.Next == nil {
			break
		}
		cursor = *body.Next
	}
	if len(seen) != 53 {
		t.Fatalf("pages held %d conversations, want 53", len(seen))
	}
}

func TestExport(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		conv := g.waitingConversation("Uexport")
		staff := g.signedIn("sato", console.RoleStaff)
		r := staff.get("/conversations/export.csv?owner=waiting")
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(r.body, "\ufeff")), "\n")
		if r.code != 200 || len(lines) != 2 || !strings.HasPrefix(lines[0], "id,user_id,") || !strings.HasPrefix(lines[1], fmt.Sprint(conv.ID)+",Uexport,") {
			t.Fatalf("CSV export = %d %q", r.code, r.body)
		}
		if !strings.Contains(r.hdr.Get("Content-Disposition"), "attachment") {
			t.Fatal("CSV is not a download")
		}
		r = staff.get("/conversations/export.jsonl")
		sc := bufio.NewScanner(strings.NewReader(r.body))
		n := 0
		for sc.Scan() {
			var rec struct {
				Conversation struct{ ID int64 }
				Messages     []struct{ Author, Text string }
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("JSONL line %d: %v", n, err)
			}
			if rec.Conversation.ID == conv.ID && (len(rec.Messages) < 3 || rec.Messages[0].Text != "確認コードが届きません") {
				t.Fatalf("JSONL transcript: %+v", rec.Messages)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("JSONL has %d lines, want 1", n)
		}
		if !auditActions(t, db)["conversation.export"] {
			t.Error("exports are not audited")
		}
	})
}

// TestLiveUpdates: the transcript's poll answers 204 until something
// changes, then the new thread.
func TestLiveUpdates(t *testing.T) {
	g := newRig(t, storagetest.SQLite(t))
	conv := g.waitingConversation("Ulive")
	staff := g.signedIn("sato", console.RoleStaff)
	v, err := g.db.ConversationVersion(context.Background(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	live := fmt.Sprintf("/conversations/%d/live?v=%s", conv.ID, url.QueryEscape(v))
	if r := staff.get(live); r.code != http.StatusNoContent {
		t.Fatalf("unchanged poll = %d, want 204", r.code)
	}
	userSays(t, g.w, "Ulive", "まだですか")
	eventually(t, "the poll shows the new message", func() bool {
		r := staff.get(live)
		return r.code == 200 && strings.Contains(r.body, "まだですか") && strings.Contains(r.body, `hx-swap-oob`)
	})
}

func TestNotesTagsOutcome(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		g := newRig(t, db)
		conv := g.waitingConversation("Unotes")
		path := fmt.Sprintf("/conversations/%d", conv.ID)
		staff := g.signedIn("sato", console.RoleStaff)
		staff.get(path)
		for _, step := range []struct {
			path string
			form url.Values
		}{
			{"/notes", url.Values{"text": {"電話番号を変更済みとのこと"}}},
			{"/tags", url.Values{"tag": {"要フォロー"}}},
			{"/tags", url.Values{"tag": {"sms"}}},
			{"/tags/delete", url.Values{"tag": {"sms"}}},
			{"/outcome", url.Values{"outcome": {"not_resolved"}}},
		} {
			if r := staff.post(path+step.path, step.form); r.code != http.StatusSeeOther {
				t.Fatalf("%s = %d %s", step.path, r.code, r.body)
			}
		}
		page := staff.get(path).body
		if !strings.Contains(page, "電話番号を変更済みとのこと") || !strings.Contains(page, "要フォロー") || strings.Contains(page, `value="sms"`) {
			t.Fatal("note or tags not shown")
		}
		if c := g.conversation(conv.ID); c.Outcome != "not_resolved" {
			t.Fatalf("outcome %q", c.Outcome)
		}
		if r := staff.get("/conversations?tag=" + url.QueryEscape("要フォロー")); !strings.Contains(r.body, "Unotes") {
			t.Fatal("tag filter")
		}
		if r := staff.post(path+"/outcome", url.Values{"outcome": {"bogus"}}); r.code != http.StatusUnprocessableEntity {
			t.Fatalf("bad outcome = %d", r.code)
		}
		tok, _ := (console.Accounts{DB: db}).CreateToken(context.Background(), "notes", console.RoleStaff, "test")
		auth := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		api := g.client()
		for _, c := range []struct {
			method, path, body string
			want               int
			has                string
		}{
			{"POST", "/notes", `{"text":"APIからのメモ"}`, 201, "APIからのメモ"},
			{"GET", "/notes", "", 200, "電話番号を変更済みとのこと"},
			{"POST", "/tags", `{"tag":"api"}`, 200, `"api"`},
			{"DELETE", "/tags/api", "", 200, `"tags":["要フォロー"]`},
			{"GET", "/tags", "", 200, "要フォロー"},
			{"PUT", "/outcome", `{"outcome":"resolved"}`, 200, `"outcome":"resolved"`},
			{"PUT", "/outcome", `{"outcome":"nope"}`, 422, ""},
		} {
			r := api.doBody(c.method, fmt.Sprintf("/api/v1/conversations/%d%s", conv.ID, c.path), c.body, auth)
			if r.code != c.want || !strings.Contains(r.body, c.has) {
				t.Errorf("%s %s = %d %s", c.method, c.path, r.code, r.body)
			}
		}
	})
}

// TestMissedMessageShown: a message the bot did not answer because it came
// too late (reason "missed", issue 16) says so in the transcript, even for
// a conversation that never reached a step.
func TestMissedMessageShown(t *testing.T) {
	db := storagetest.SQLite(t)
	g := newRig(t, db)
	const user = "U0000000000000000000000000000m155"
	storagetest.Seed(t, db, user, g.now.Add(-72*time.Hour))
	var conv storage.Conversation
	if err := db.Gorm().Where("user_id = ?", user).First(&conv).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm().Model(&storage.Message{}).Where("conversation_id = ? AND direction = ?", conv.ID, storage.DirectionIn).
		Updates(map[string]any{"reason": "missed", "node_after": ""}).Error; err != nil {
		t.Fatal(err)
	}
	staff := g.signedIn("sato", console.RoleStaff)
	if r := staff.get(fmt.Sprintf("/conversations/%d", conv.ID)); r.code != 200 || !strings.Contains(r.body, "未回答") {
		t.Fatalf("transcript: %d, want it to say the message was not answered:\n%s", r.code, r.body)
	}
}
