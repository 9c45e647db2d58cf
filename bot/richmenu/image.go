// Package richmenu publishes a knowledge pack's rich menu (the menu under the
// chat's input field) through the Messaging API: the menu object and its
// image, both built from the pack, so that an operator changes the menu by
// editing the pack and running `todoku richmenu apply`.
package richmenu

import (
	"bytes"
	_ "embed"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/todoku/todoku/knowledge"
)

// fontData is Noto Sans CJK JP Bold, cut down to kana, the common kanji and
// the packs' characters (font/subset.sh; SIL Open Font License, font/OFL.txt).
//
//go:embed font/NotoSansCJKjp-Bold-subset.otf
var fontData []byte

var parsedFont = sync.OnceValues(func() (*sfnt.Font, error) { return opentype.Parse(fontData) })

// Colours of the generated image: white tiles with a green top edge on a
// light grey ground, dark text.
var (
	ground = color.RGBA{0xEE, 0xF1, 0xF4, 0xFF}
	tile   = color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}
	accent = color.RGBA{0x06, 0xC7, 0x55, 0xFF} // LINE green
	ink    = color.RGBA{0x1F, 0x29, 0x37, 0xFF}
)

const (
	gap        = 12 // pixels of ground between tiles and at the edges
	accentSize = 14 // height of a tile's top edge
	padding    = 48 // pixels of tile kept free around a label
	maxFont    = 104
	minFont    = 48
)

// Cells returns each area's rectangle, in order: the areas fill rows of
// m.Columns, and a shorter last row shares its width. The image's tiles and
// the menu's tap areas are the same rectangles.
func Cells(m *knowledge.RichMenu) []image.Rectangle {
	rows := m.Rows()
	if rows == 0 {
		return nil
	}
	h := m.Height()
	out := make([]image.Rectangle, 0, len(m.Areas))
	for r := 0; r < rows; r++ {
		n := min(m.Columns, len(m.Areas)-r*m.Columns)
		y0, y1 := r*h/rows, (r+1)*h/rows
		for c := 0; c < n; c++ {
			out = append(out, image.Rect(c*knowledge.RichMenuWidth/n, y0, (c+1)*knowledge.RichMenuWidth/n, y1))
		}
	}
	return out
}

// Missing returns the characters of the menu's labels that the embedded
// font cannot draw (kb validate reports them; font/subset.sh adds them, or
// the operator supplies an image).
func Missing(m *knowledge.RichMenu) ([]rune, error) {
	f, err := parsedFont()
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	var out []rune
	seen := map[rune]bool{}
	for _, a := range m.Areas {
		for _, r := range a.Label {
			if seen[r] || r == ' ' || r == '　' {
				continue
			}
			seen[r] = true
			if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// Image draws the menu: 2500 pixels wide, 843 or 1686 high, one tile per
// area with its label, as PNG.
func Image(m *knowledge.RichMenu) ([]byte, error) {
	f, err := parsedFont()
	if err != nil {
		return nil, fmt.Errorf("richmenu: font: %w", err)
	}
	if missing, _ := Missing(m); len(missing) > 0 {
		return nil, fmt.Errorf("richmenu: the embedded font cannot draw %q; give an image of your own", string(missing))
	}
	img := image.NewRGBA(image.Rect(0, 0, knowledge.RichMenuWidth, m.Height()))
	draw.Draw(img, img.Bounds(), image.NewUniform(ground), image.Point{}, draw.Src)
	cells := Cells(m)
	bodies := make([]image.Rectangle, len(cells))
	labels := make([]string, len(cells))
	for i, cell := range cells {
		t := inset(cell, gap/2)
		draw.Draw(img, t, image.NewUniform(tile), image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(t.Min.X, t.Min.Y, t.Max.X, t.Min.Y+accentSize), image.NewUniform(accent), image.Point{}, draw.Src)
		bodies[i] = image.Rect(t.Min.X+padding, t.Min.Y+accentSize+padding/2, t.Max.X-padding, t.Max.Y-padding/2)
		labels[i] = m.Areas[i].Label
	}
	size, err := labelSize(f, bodies, labels)
	if err != nil {
		return nil, err
	}
	face, err := newFace(f, size)
	if err != nil {
		return nil, err
	}
	for i := range cells {
		label(img, face, bodies[i], labels[i], size)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// inset shrinks r by d on every side, and by d more where r touches the
// image's edge, so that the ground around the tiles is even.
func inset(r image.Rectangle, d int) image.Rectangle {
	out := r.Inset(d)
	if r.Min.X == 0 {
		out.Min.X += d
	}
	if r.Min.Y == 0 {
		out.Min.Y += d
	}
	if r.Max.X == knowledge.RichMenuWidth {
		out.Max.X -= d
	}
	if r.Max.Y == knowledge.RichMenuHalfHeight || r.Max.Y == knowledge.RichMenuFullHeight {
		out.Max.Y -= d
	}
	return out
}

// labelSize is the largest font size at which every label fits its tile,
// on one line or on two: one size for all, so the menu looks even.
func labelSize(f *sfnt.Font, boxes []image.Rectangle, labels []string) (int, error) {
	size := maxFont
	for i, text := range labels {
		for ; size >= minFont; size -= 4 {
			face, err := newFace(f, size)
			if err != nil {
				return 0, err
			}
			if lines(face, text, boxes[i], size) != nil {
				break
			}
		}
		if size < minFont {
			return 0, fmt.Errorf("richmenu: label %q does not fit its area even at %d px", text, minFont)
		}
	}
	return size, nil
}

func newFace(f *sfnt.Font, size int) (font.Face, error) {
	return opentype.NewFace(f, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
}

// lines lays text out in box at size: one line when it fits, else two split
// near the middle; nil when neither fits.
func lines(face font.Face, text string, box image.Rectangle, size int) []string {
	for _, ls := range [][]string{{text}, split(text)} {
		if len(ls)*lineHeight(size) <= box.Dy() && fits(face, ls, box.Dx()) {
			return ls
		}
	}
	return nil
}

func lineHeight(size int) int { return size * 13 / 10 }

// label draws text centred in box at size.
func label(dst draw.Image, face font.Face, box image.Rectangle, text string, size int) {
	ls := lines(face, text, box, size)
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(ink), Face: face}
	metrics := face.Metrics()
	lineH := lineHeight(size)
	top := box.Min.Y + (box.Dy()-len(ls)*lineH)/2
	for i, l := range ls {
		w := d.MeasureString(l).Round()
		// Centre each line's ascent and descent within its line height.
		base := top + i*lineH + (lineH+metrics.Ascent.Round()-metrics.Descent.Round())/2
		d.Dot = fixed.P(box.Min.X+(box.Dx()-w)/2, base)
		d.DrawString(l)
	}
}

func fits(face font.Face, lines []string, width int) bool {
	for _, l := range lines {
		if font.MeasureString(face, l).Round() > width {
			return false
		}
	}
	return true
}

// split cuts a label into two lines: at the space nearest the middle; else,
// in Japanese, at the change of script nearest the middle that is a phrase
// boundary (コードが|届かない, 回復フォーム|について; not 使|えない, where kanji
// runs into its okurigana); else at the middle, never starting a line with
// a character that cannot begin one (ー, small kana, closing punctuation).
func split(text string) []string {
	r := []rune(text)
	if i := nearestSpace(r); i > 0 {
		return []string{strings.TrimSpace(string(r[:i])), strings.TrimSpace(string(r[i:]))}
	}
	mid, best := len(r)/2, -1
	for i := 1; i < len(r); i++ {
		a, b := script(r[i-1]), script(r[i])
		if a == b || a == kanji && b == hiragana || noStart(r[i]) {
			continue
		}
		if best < 0 || abs(i-mid) < abs(best-mid) {
			best = i
		}
	}
	if best < 0 {
		best = (len(r) + 1) / 2
		for best < len(r)-1 && noStart(r[best]) {
			best++
		}
	}
	return []string{string(r[:best]), string(r[best:])}
}

const (
	other = iota
	hiragana
	katakana
	kanji
)

func script(r rune) int {
	switch {
	case r >= 'ぁ' && r <= 'ゖ':
		return hiragana
	case r >= 'ァ' && r <= 'ヺ' || r == 'ー':
		return katakana
	case r >= '一' && r <= '鿿' || r == '々':
		return kanji
	}
	return other
}

func noStart(r rune) bool {
	return strings.ContainsRune("ーっゃゅょぁぃぅぇぉッャュョァィゥェォ、。」）・", r)
}

func nearestSpace(r []rune) int {
	best := -1
	for i, c := range r {
		if c == ' ' && (best < 0 || abs(i-len(r)/2) < abs(best-len(r)/2)) {
			best = i
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
