package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/staffhours"
	"github.com/todoku/todoku/storage/storagetest"
)

// chromium finds Debian's chromium (.ci/run installs it). Without it the
// browser test fails in CI and is skipped elsewhere.
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("TODOKU_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
	return ""
}

// seedUser has user say each text in turn, waiting for each answer.
func seedUser(t *testing.T, s *e2eServer, fake *linefake.Server, user string, texts ...string) {
	t.Helper()
	for i, text := range texts {
		tok := user[len(user)-6:] + "-" + string(rune('a'+i))
		fake.ExpectToken(tok, user)
		if code, body := s.post(t, e2eBody(e2eText(user, text, tok, time.Now())), "sign"); code != 200 {
			t.Fatalf("webhook: %d %s", code, body)
		}
		if !fake.WaitFor(func(c linefake.Call) bool { return c.ReplyToken() == tok }, 15*time.Second) {
			t.Fatalf("%s: no answer to %q", user, text)
		}
	}
}

// TestConsoleInBrowser drives the console in Debian's chromium: sign in,
// filter the list, open a conversation, take it over, reply (the fake LINE
// API receives the push), see the user's answer arrive live, hand back. It
// saves a screenshot of every page at a phone's width and a laptop's, in
// $TODOKU_SCREENSHOTS (or the test's temporary directory).
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	execPath := chromium(t)
	shots := os.Getenv("TODOKU_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	fake := linefake.New()
	defer fake.Close()
	cfg := testConfig(t, storagetest.SQLiteURL(t), fake)
	cfg.AdminUser, cfg.AdminPassword = "admin", "e2e-admin-password"
	cfg.StaffHours, _ = staffhours.Parse("Mon-Fri 10:00-18:00 Asia/Tokyo")
	a := newTestApp(t, cfg, Options{})
	s := startServe(t, a)

	users := []struct{ id, name string }{
		{"U1a2b3c4d5e6f708192a3b4c5d6e7f801", "田中 美咲"},
		{"U2b3c4d5e6f708192a3b4c5d6e7f80912", "佐藤 健"},
		{"U3c4d5e6f708192a3b4c5d6e7f8091a23", "山本 さくら"},
		{"U4d5e6f708192a3b4c5d6e7f8091a2b34", "中村 翔太"},
	}
	seedUser(t, s, fake, users[2].id, "確認コードのメールが届かないです", "迷惑メールフォルダも見ました")
	seedUser(t, s, fake, users[3].id, "パスワードを忘れてサインインできません")
	seedUser(t, s, fake, users[0].id, "Outlookの確認コードが届きません", "人と話したい")
	seedUser(t, s, fake, users[1].id, "機種変更してからSMSの認証コードが来ません", "担当者と話せますか")
	for _, u := range users { // as the LINE profile would name them
		if err := a.DB.Gorm().Exec("UPDATE users SET display_name = ? WHERE id = ?", u.name, u.id).Error; err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "ja-JP"),
	)...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()

	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// shoot saves the current page at both widths.
	shoot := func(name string) {
		t.Helper()
		for _, w := range []struct {
			suffix   string
			viewport chromedp.Action[chromedp.Void]
		}{
			{"laptop", chromedp.EmulateViewport(1280, 860)},
			{"phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait)},
		} {
			run("screenshot "+name, w.viewport, chromedp.Sleep(200*time.Millisecond)) // let the layout settle
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(shots, name+"-"+w.suffix+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run("back to laptop width", chromedp.EmulateViewport(1280, 860))
	}

	run("open the console", chromedp.EmulateViewport(1280, 860),
		chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(`input[name=name]`))
	shoot("signin")
	run("sign in",
		chromedp.SendKeys(`input[name=name]`, "admin"),
		chromedp.SendKeys(`input[name=password]`, "e2e-admin-password"),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitVisible(`#queue`))
	queue := text(`#queue`)
	if !strings.Contains(queue, "田中 美咲") || !strings.Contains(queue, "佐藤 健") {
		t.Fatalf("the queue does not show both waiting users: %q", queue)
	}
	shoot("queue")

	run("search the list",
		chromedp.Navigate(s.base+"/conversations"), chromedp.WaitVisible(`input[name=q]`))
	shoot("conversations")
	run("filter",
		chromedp.SendKeys(`input[name=q]`, "機種変更"),
		chromedp.SetValue(`select[name=owner]`, "waiting"),
		chromedp.Submit(`input[name=q]`),
		chromedp.WaitVisible(`.filter-actions a.ghost`)) // 条件をクリア: only on the filtered page
	rows := text(`.conv-table tbody`)
	if !strings.Contains(rows, "佐藤 健") || strings.Contains(rows, "田中 美咲") {
		t.Fatalf("filtered list: %q", rows)
	}
	shoot("conversations-filtered")

	run("open the conversation", chromedp.Click(`.conv-table tbody a`), chromedp.WaitVisible(`#takeover`))
	shoot("transcript")
	run("take over", chromedp.Click(`#takeover`), chromedp.WaitVisible(`#reply-text`))
	const staffText = "担当の佐藤です。機種変更の前の電話番号は、まだお使いでしょうか？"
	run("reply", chromedp.SendKeys(`#reply-text`, staffText), chromedp.Submit(`#reply-text`),
		chromedp.WaitVisible(`.msg.out.staff`))
	if !fake.WaitFor(func(c linefake.Call) bool {
		return linefake.IsPush(c) && c.To() == users[1].id && strings.Contains(string(c.Body), staffText)
	}, 15*time.Second) {
		t.Fatal("the fake LINE API did not receive the staff reply as a push")
	}

	// The user answers; it appears in the open page without a reload.
	seen := time.Now()
	if code, _ := s.post(t, e2eBody(e2eText(users[1].id, "いえ、前の番号はもう解約しました", "late-token", time.Now())), "sign"); code != 200 {
		t.Fatal("webhook")
	}
	run("the user's answer appears live", chromedp.WaitVisible(`//div[contains(@class,"bubble") and contains(., "解約しました")]`))
	t.Logf("the user's message appeared in the staff member's page %v after the webhook", time.Since(seen).Round(10*time.Millisecond))
	run("add a note and a tag",
		chromedp.SendKeys(`textarea[name=text][aria-label="メモ"]`, "旧番号は解約済み。回復フォームを案内する。"),
		chromedp.Submit(`textarea[name=text][aria-label="メモ"]`),
		chromedp.WaitVisible(`.notes`),
		chromedp.SendKeys(`input[name=tag]`, "機種変更"),
		chromedp.Submit(`input[name=tag]`),
		chromedp.WaitVisible(`.tag`))
	shoot("transcript-staff")

	run("hand back",
		chromedp.SetValue(`.handback select[name=outcome]`, "resolved"),
		chromedp.Submit(`.handback select[name=outcome]`),
		chromedp.WaitVisible(`.status-card.closed`))
	shoot("transcript-closed")

	for _, p := range []string{"accounts", "tokens", "audit"} {
		run("open "+p, chromedp.Navigate(s.base+"/admin/"+p), chromedp.WaitVisible(`main h1`))
		shoot(p)
	}
	run("open the password page", chromedp.Navigate(s.base+"/account/password"), chromedp.WaitVisible(`input[name=current]`))
	shoot("password")
	t.Logf("screenshots in %s", shots)
}
