package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/todoku/todoku/bot/linefake"
)

// TestRichMenuCommand: apply publishes the pack's menu, a second apply
// changes nothing, show describes it, an own image of the wrong size is
// refused before anything is sent.
func TestRichMenuCommand(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", fake.Token())
	t.Setenv("LINE_API_BASE_URL", fake.URL())
	t.Setenv("LINE_API_DATA_BASE_URL", fake.URL())
	rm := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"richmenu"}, args...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := rm("apply")
	if code != 0 || !strings.Contains(out, "is the default now (todoku microsoft-ja ") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	menus, def := fake.RichMenus()
	if len(menus) != 1 || def != menus[0].ID {
		t.Fatalf("after apply: %d menus, default %q", len(menus), def)
	}
	if code, out, _ = rm("apply"); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second apply: exit %d %s", code, out)
	}
	code, out, _ = rm("show")
	if code != 0 || !strings.Contains(out, `chat bar "メニュー", 6 areas`) || !strings.Contains(out, "コードが届かない → go=ask_method") || !strings.Contains(out, "as generated") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}

	// The English pack's menu replaces it, and the old one is deleted.
	if code, out, errs = rm("apply", "-pack", "microsoft-en"); code != 0 || !strings.Contains(out, "deleted "+def) {
		t.Fatalf("apply -pack microsoft-en: exit %d\n%s%s", code, out, errs)
	}

	small := filepath.Join(t.TempDir(), "menu.png")
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 1200, 405)))
	_ = os.WriteFile(small, b.Bytes(), 0o644)
	calls := len(fake.Calls())
	if code, _, errs = rm("apply", "-image", small); code != 1 || !strings.Contains(errs, "is 1200x405; a compact menu is 2500x843") {
		t.Fatalf("apply -image of the wrong size: exit %d %s", code, errs)
	}
	if len(fake.Calls()) != calls {
		t.Errorf("a refused image still called LINE")
	}

	t.Setenv("LINE_CHANNEL_ACCESS_TOKEN", "")
	if code, _, errs = rm("show"); code != 2 || !strings.Contains(errs, "LINE_CHANNEL_ACCESS_TOKEN is not set") {
		t.Fatalf("show without a token: exit %d %s", code, errs)
	}
}
