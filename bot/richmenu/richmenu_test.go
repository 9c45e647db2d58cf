package richmenu_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/bot/richmenu"
	"github.com/todoku/todoku/knowledge"
)

func pack(t *testing.T, id string) *knowledge.Pack {
	t.Helper()
	p, err := knowledge.EmbeddedPack(id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImage: the image of each embedded pack's menu is a PNG of LINE's size,
// under LINE's 1 MB, with something drawn in every area.
func TestImage(t *testing.T) {
	for _, id := range []string{"microsoft-ja", "microsoft-en"} {
		t.Run(id, func(t *testing.T) {
			m := pack(t, id).RichMenu
			b, err := richmenu.Image(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > 1<<20 {
				t.Errorf("image is %d bytes; LINE takes at most 1 MB", len(b))
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(knowledge.RichMenuWidth, m.Height()) {
				t.Fatalf("image is %v, want 2500x%d", got, m.Height())
			}
			for i, cell := range richmenu.Cells(m) {
				if n := darkPixels(img, cell); n < 2000 {
					t.Errorf("area %d (%s): %d dark pixels, want a drawn label", i+1, m.Areas[i].Label, n)
				}
			}
			if dir := os.Getenv("RICHMENU_IMAGE_DIR"); dir != "" { // to look at it
				_ = os.WriteFile(dir+"/"+id+".png", b, 0o644)
			}
		})
	}
}

func darkPixels(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			if cr, cg, cb, _ := img.At(x, y).RGBA(); cr+cg+cb < 3*0x6000 {
				n++
			}
		}
	}
	return n
}

// TestCells: the areas tile the whole image without overlapping; a shorter
// last row shares its width.
func TestCells(t *testing.T) {
	choices := func(n int) []knowledge.Choice {
		out := make([]knowledge.Choice, n)
		for i := range out {
			out[i] = knowledge.Choice{Label: "a", Command: "restart"}
		}
		return out
	}
	for _, tt := range []struct {
		size    string
		columns int
		areas   int
	}{{knowledge.SizeCompact, 3, 6}, {knowledge.SizeCompact, 3, 5}, {knowledge.SizeFull, 4, 9}, {knowledge.SizeCompact, 1, 1}} {
		m := &knowledge.RichMenu{Size: tt.size, Columns: tt.columns, Areas: choices(tt.areas)}
		cells := richmenu.Cells(m)
		if len(cells) != tt.areas {
			t.Fatalf("%+v: %d cells", tt, len(cells))
		}
		area := 0
		for i, c := range cells {
			area += c.Dx() * c.Dy()
			for _, o := range cells[i+1:] {
				if c.Overlaps(o) {
					t.Errorf("%+v: cells %v and %v overlap", tt, c, o)
				}
			}
		}
		if area != knowledge.RichMenuWidth*m.Height() {
			t.Errorf("%+v: cells cover %d pixels of %d", tt, area, knowledge.RichMenuWidth*m.Height())
		}
	}
}

func TestMissingGlyphs(t *testing.T) {
	m := &knowledge.RichMenu{Size: knowledge.SizeCompact, Columns: 1, Areas: []knowledge.Choice{{Label: "𠮷野家で確認", Command: "restart"}}}
	missing, err := richmenu.Missing(m)
	if err != nil || string(missing) != "𠮷" {
		t.Fatalf("Missing = %q, %v; want 𠮷", string(missing), err)
	}
	if _, err := richmenu.Image(m); err == nil || !strings.Contains(err.Error(), "𠮷") {
		t.Fatalf("Image with a missing glyph: %v", err)
	}
}

// TestApply publishes the pack's menu on the fake Messaging API: the calls
// in order, nothing but two reads on a second run, and a changed menu
// replacing (and deleting) the old one.
func TestApply(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	c, err := richmenu.NewClient(fake.Token(), fake.URL(), fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	apply := func(p *knowledge.Pack) richmenu.Result {
		t.Helper()
		img, err := richmenu.Image(p.RichMenu)
		if err != nil {
			t.Fatal(err)
		}
		req, err := richmenu.Request(p, img)
		if err != nil {
			t.Fatal(err)
		}
		fake.Reset()
		res, err := richmenu.Apply(context.Background(), c, req, img, "image/png")
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	calls := func() []string {
		var out []string
		for _, call := range fake.Calls() {
			p := call.Path
			if i := strings.Index(p, "richmenu-"); i >= 0 {
				p = p[:i] + "{id}" + p[i+len("richmenu-")+32:]
			}
			out = append(out, call.Method+" "+p)
		}
		return out
	}

	p := pack(t, "microsoft-ja")
	first := apply(p)
	want := []string{
		"GET /v2/bot/user/all/richmenu", "GET /v2/bot/richmenu/list",
		"POST /v2/bot/richmenu", "POST /v2/bot/richmenu/{id}/content", "POST /v2/bot/user/all/richmenu/{id}",
	}
	if got := calls(); !slices.Equal(got, want) {
		t.Fatalf("first apply called\n%v\nwant\n%v", got, want)
	}
	menus, def := fake.RichMenus()
	if len(menus) != 1 || def != first.ID || menus[0].ImageType != "image/png" || first.Replaced != "" {
		t.Fatalf("after the first apply: %d menus, default %q (result %+v)", len(menus), def, first)
	}
	if areas := menus[0].Request["areas"].([]any); len(areas) != len(p.RichMenu.Areas) {
		t.Errorf("%d areas, want %d", len(areas), len(p.RichMenu.Areas))
	}
	if !strings.Contains(string(fake.Calls()[2].Body), `"data":"go=ask_method","displayText":"コードが届かない"`) {
		t.Errorf("the first area is not a postback to ask_method showing its label: %s", fake.Calls()[2].Body)
	}

	again := apply(p)
	if got := calls(); !again.Unchanged || again.ID != first.ID || len(got) != 2 {
		t.Fatalf("second apply: %+v, calls %v; want unchanged after two reads", again, got)
	}

	changed := pack(t, "microsoft-ja")
	menu := *changed.RichMenu
	menu.Areas = slices.Clone(menu.Areas)
	menu.Areas[5].Label = "はじめから"
	changed.RichMenu = &menu
	third := apply(changed)
	want = append(want, "DELETE /v2/bot/richmenu/{id}")
	if got := calls(); !slices.Equal(got, want) || third.Replaced != first.ID || !slices.Equal(third.Deleted, []string{first.ID}) {
		t.Fatalf("changed menu: %+v, calls\n%v\nwant\n%v", third, got, want)
	}
	menus, def = fake.RichMenus()
	if len(menus) != 1 || def != third.ID {
		t.Fatalf("after the change: %d menus, default %q, want only %q", len(menus), def, third.ID)
	}

	live, err := richmenu.Show(context.Background(), c)
	if err != nil || live.Menu == nil || live.Menu.RichMenuId != third.ID || live.Pack != "microsoft-ja" {
		t.Fatalf("Show = %+v, %v", live, err)
	}
	if d := richmenu.Describe(live.Menu); len(d) != 6 || !strings.Contains(d[5], "はじめから → cmd=restart") {
		t.Errorf("Describe = %q", d)
	}
}

// TestApplyRefusedImage: a menu whose image LINE refuses is deleted again,
// and the default stays as it was.
func TestApplyRefusedImage(t *testing.T) {
	fake := linefake.New()
	defer fake.Close()
	c, _ := richmenu.NewClient(fake.Token(), fake.URL(), fake.URL())
	p := pack(t, "microsoft-ja")
	wrong := image.NewRGBA(image.Rect(0, 0, 800, 270))
	var b bytes.Buffer
	_ = png.Encode(&b, wrong)
	req, _ := richmenu.Request(p, b.Bytes())
	if _, err := richmenu.Apply(context.Background(), c, req, b.Bytes(), "image/png"); err == nil {
		t.Fatal("an image of the wrong size was accepted")
	}
	menus, def := fake.RichMenus()
	if len(menus) != 0 || def != "" {
		t.Fatalf("after a refused image: %d menus, default %q", len(menus), def)
	}
	if last := fake.Calls()[len(fake.Calls())-1]; last.Method != http.MethodDelete {
		t.Errorf("last call %s %s, want the DELETE of the half-made menu", last.Method, last.Path)
	}
}

func TestSplit(t *testing.T) {
	for in, want := range map[string]string{
		"回復フォームについて":       "回復フォーム|について",
		"コードが届かない":         "コードが|届かない",
		"30日の待機期間":         "30日の|待機期間",
		"Talk to a person": "Talk to|a person",
		"メールや電話が使えない":      "メールや|電話が使えない",
		"アカウント":            "アカウ|ント",
	} {
		if got := strings.Join(richmenu.Split(in), "|"); got != want {
			t.Errorf("split(%q) = %q, want %q", in, got, want)
		}
	}
}
