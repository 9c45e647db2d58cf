package flowgraph

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Geometry of the drawing, in pixels.
const (
	laneLabelW = 128.0
	left       = laneLabelW + 24
	top        = 92.0 // title and legend above the lanes
	colW       = 236.0
	rowH       = 58.0
	lanePad    = 10.0
	nodeW      = 170.0
	nodeH      = 44.0
	margin     = 24.0
)

// Options are how the picture is labelled and linked.
type Options struct {
	// Title is the picture's first line (the pack and the period).
	Title string
	// Link, when set, is where a click on a node leads (the console's list
	// of the conversations that reached it); "" for none.
	Link func(node string) string
}

// Size is the drawing's width and height in pixels.
func (g *Graph) Size() (w, h float64) {
	w = left + float64(g.cols-1)*colW + nodeW + margin
	h = top + margin
	if n := len(g.lanes); n > 0 {
		l := g.lanes[n-1]
		h = l.y + l.h + margin
	}
	return max(w, 720), h
}

// SVG writes the picture as a standalone SVG document (it also works
// inline in HTML).
func (g *Graph) SVG(w io.Writer, opt Options) error {
	b := bufio.NewWriter(w)
	width, height := g.Size()
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="flowgraph" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s">`+"\n",
		num(width), num(height), num(width), num(height), esc(opt.Title))
	b.WriteString(style)
	b.WriteString(defs)
	fmt.Fprintf(b, `<rect class="bg" x="0" y="0" width="%s" height="%s"/>`+"\n", num(width), num(height))
	fmt.Fprintf(b, `<text class="title" x="%s" y="30">%s</text>`+"\n", num(margin), esc(opt.Title))
	g.legend(b)

	for i, l := range g.lanes {
		class := "lane"
		if i%2 == 1 {
			class = "lane alt"
		}
		label := l.topic
		if l.topic == Entry {
			label = "開始"
		}
		fmt.Fprintf(b, `<rect class="%s" x="0" y="%s" width="%s" height="%s"/>`+"\n", class, num(l.y), num(width), num(l.h))
		fmt.Fprintf(b, `<text class="lanelabel" x="%s" y="%s">%s</text>`+"\n", num(margin), num(l.y+lanePad+nodeH/2+4), esc(fit(label, laneLabelW-margin, 12)))
	}

	// Arrows without traffic first, the busiest last (on top).
	for _, e := range g.edges {
		// Ways back (その他の方法, 戻る) nobody took would only tangle the picture.
		if e.n == 0 && e.to.layer > e.from.layer {
			g.arrow(b, e)
		}
	}
	for _, e := range g.byTraffic() {
		g.arrow(b, e)
	}
	for _, n := range g.nodes {
		g.box(b, n, opt)
	}
	for _, e := range g.byTraffic() {
		g.label(b, e)
	}
	b.WriteString("</svg>\n")
	return b.Flush()
}

// byTraffic is the arrows conversations took, least taken first.
func (g *Graph) byTraffic() []*edge {
	var out []*edge
	for _, e := range g.edges {
		if e.n > 0 {
			out = append(out, e)
		}
	}
	// Insertion sort keeps equal counts in the layout's order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].n < out[j-1].n; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// curve is an arrow's cubic Bézier: out of the right side of its source,
// into the left side of its target; arrows that go back (or within a
// column) swing out further.
func curve(e *edge) (p [4][2]float64) {
	x0, y0 := e.from.x+nodeW, e.from.y+nodeH/2
	x1, y1 := e.to.x, e.to.y+nodeH/2
	if e.from.id == Entry {
		x0 = e.from.x + entryW
	}
	d := (x1 - x0) / 2
	if x1 <= x0 {
		d = 70 + math.Min(math.Abs(y1-y0)/4, 60)
	}
	return [4][2]float64{{x0, y0}, {x0 + d, y0}, {x1 - d, y1}, {x1, y1}}
}

func (g *Graph) width(e *edge) float64 {
	if e.n == 0 || g.maxN == 0 {
		return 1
	}
	return 1.5 + 10*math.Sqrt(float64(e.n)/float64(g.maxN))
}

func (g *Graph) arrow(b *bufio.Writer, e *edge) {
	p := curve(e)
	class, marker := "edge static", "url(#a-static)"
	if e.n > 0 {
		class, marker = "edge", "url(#a-traffic)"
	}
	fmt.Fprintf(b, `<path class="%s" d="M%s,%s C%s,%s %s,%s %s,%s" stroke-width="%s" marker-end="%s"><title>%s → %s: %s</title></path>`+"\n",
		class, num(p[0][0]), num(p[0][1]), num(p[1][0]), num(p[1][1]), num(p[2][0]), num(p[2][1]), num(p[3][0]), num(p[3][1]),
		num(g.width(e)), marker, esc(nodeName(e.from)), esc(e.to.id), conversations(e.n))
}

// label writes an arrow's count at its middle.
func (g *Graph) label(b *bufio.Writer, e *edge) {
	p := curve(e)
	x := (p[0][0] + 3*p[1][0] + 3*p[2][0] + p[3][0]) / 8
	y := (p[0][1] + 3*p[1][1] + 3*p[2][1] + p[3][1]) / 8
	fmt.Fprintf(b, `<text class="count" x="%s" y="%s">%s</text>`+"\n", num(x), num(y+4), thousands(e.n))
}

const entryW = 112.0

func (g *Graph) box(b *bufio.Writer, n *node, opt Options) {
	if n.id == Entry {
		starts := 0
		for _, e := range g.edges {
			if e.from == n {
				starts += e.n
			}
		}
		fmt.Fprintf(b, `<g class="entry"><rect x="%s" y="%s" width="%s" height="%s" rx="22"/><text x="%s" y="%s">会話の開始</text>`,
			num(n.x), num(n.y), num(entryW), num(nodeH), num(n.x+entryW/2), num(n.y+19))
		fmt.Fprintf(b, `<text class="sub" x="%s" y="%s">%s</text></g>`+"\n", num(n.x+entryW/2), num(n.y+35), conversations(starts))
		return
	}
	class := "node"
	switch n.kind {
	case "resolved":
		class += " resolved"
	case "handoff":
		class += " handoff"
	case kindDeadEnd:
		class += " deadend"
	}
	if n.dropOff > 0 {
		class += " dropoff"
	}
	href := ""
	if opt.Link != nil {
		href = opt.Link(n.id)
	}
	fmt.Fprintf(b, `<g class="%s" id="node-%s" data-node="%s">`, class, esc(n.id), esc(n.id))
	if href != "" {
		fmt.Fprintf(b, `<a href="%s">`, esc(href))
	}
	fmt.Fprintf(b, `<title>%s</title>`, esc(g.tooltip(n)))
	fmt.Fprintf(b, `<rect class="box" x="%s" y="%s" width="%s" height="%s" rx="7"/>`, num(n.x), num(n.y), num(nodeW), num(nodeH))
	fmt.Fprintf(b, `<rect class="bar" x="%s" y="%s" width="5" height="%s" rx="2"/>`, num(n.x), num(n.y), num(nodeH))
	count := ""
	if n.reached > 0 {
		count = thousands(n.reached)
	}
	idW := nodeW - 22 - textWidth(count, 12) - 6
	fmt.Fprintf(b, `<text class="id" x="%s" y="%s">%s</text>`, num(n.x+13), num(n.y+18), esc(fit(n.id, idW, 12)))
	if count != "" {
		fmt.Fprintf(b, `<text class="reached" x="%s" y="%s">%s</text>`, num(n.x+nodeW-9), num(n.y+18), count)
	}
	sub := n.excerpt
	if n.kind == kindDeadEnd {
		sub = "行き止まり: " + sub
	}
	fmt.Fprintf(b, `<text class="ex" x="%s" y="%s">%s</text>`, num(n.x+13), num(n.y+35), esc(fit(sub, nodeW-22, 10.5)))
	if n.dropOff > 0 {
		tag := "離脱 " + thousands(n.dropOff)
		w := textWidth(tag, 10.5) + 14
		fmt.Fprintf(b, `<rect class="droptag" x="%s" y="%s" width="%s" height="17" rx="8.5"/><text class="droptext" x="%s" y="%s">%s</text>`,
			num(n.x+nodeW-w+6), num(n.y-9), num(w), num(n.x+nodeW-w/2+6), num(n.y+3.5), tag)
	}
	if href != "" {
		b.WriteString(`</a>`)
	}
	b.WriteString("</g>\n")
}

func (g *Graph) tooltip(n *node) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s（トピック %s）", n.id, n.topic)
	switch n.kind {
	case "resolved":
		s.WriteString(" 解決ノード")
	case "handoff":
		s.WriteString(" 担当者へ")
	case kindDeadEnd:
		s.WriteString(" 行き止まり（先に進むボタンも回答もありません）")
	}
	fmt.Fprintf(&s, "\n到達 %s", conversations(n.reached))
	if n.stayed > 0 {
		fmt.Fprintf(&s, "・同じ場所で再入力 %s", conversations(n.stayed))
	}
	if n.dropOff > 0 {
		fmt.Fprintf(&s, "・離脱 %s", conversations(n.dropOff))
	}
	if n.excerpt != "" {
		s.WriteString("\n" + n.excerpt)
	}
	return s.String()
}

func (g *Graph) legend(b *bufio.Writer) {
	y := 62.0
	x := margin
	item := func(w float64, draw string) {
		b.WriteString(draw)
		x += w
	}
	item(0, fmt.Sprintf(`<path class="edge" d="M%s,%s L%s,%s" stroke-width="6" marker-end="url(#a-traffic)"/>`, num(x), num(y-4), num(x+34), num(y-4)))
	item(44, "")
	item(208, fmt.Sprintf(`<text class="legend" x="%s" y="%s">会話の流れ（太さと数字＝会話数）</text>`, num(x), num(y)))
	item(0, fmt.Sprintf(`<path class="edge static" d="M%s,%s L%s,%s" stroke-width="1" marker-end="url(#a-static)"/>`, num(x), num(y-4), num(x+34), num(y-4)))
	item(44, "")
	item(132, fmt.Sprintf(`<text class="legend" x="%s" y="%s">利用のない道筋</text>`, num(x), num(y)))
	for _, k := range []struct{ class, text string }{{"resolved", "解決"}, {"handoff", "担当者へ"}, {"deadend", "行き止まり"}} {
		item(0, fmt.Sprintf(`<g class="node %s"><rect class="box" x="%s" y="%s" width="22" height="14" rx="3"/><rect class="bar" x="%s" y="%s" width="5" height="14" rx="2"/></g>`,
			k.class, num(x), num(y-12), num(x), num(y-12)))
		item(28, "")
		item(textWidth(k.text, 12)+18, fmt.Sprintf(`<text class="legend" x="%s" y="%s">%s</text>`, num(x), num(y), k.text))
	}
	item(0, fmt.Sprintf(`<rect class="droptag" x="%s" y="%s" width="44" height="17" rx="8.5"/><text class="droptext" x="%s" y="%s">離脱</text>`,
		num(x), num(y-13), num(x+22), num(y-0.5)))
	item(52, "")
	item(0, fmt.Sprintf(`<text class="legend" x="%s" y="%s">ここで放置された会話</text>`, num(x), num(y)))
	b.WriteString("\n")
}

const style = `<style>
.flowgraph text{font-family:"Noto Sans CJK JP","Noto Sans JP","Hiragino Sans","Yu Gothic",sans-serif;fill:#1f2933}
.flowgraph .bg{fill:#fff}
.flowgraph .title{font-size:16px;font-weight:700}
.flowgraph .legend{font-size:12px;fill:#52606d}
.flowgraph .lane{fill:#f7f8fa}
.flowgraph .lane.alt{fill:#fff}
.flowgraph .lanelabel{font-size:12px;font-weight:700;fill:#616e7c}
.flowgraph .edge{fill:none;stroke:#1f8a70;stroke-opacity:.55;stroke-linecap:round}
.flowgraph .edge.static{stroke:#9aa5b1;stroke-opacity:.7;stroke-dasharray:4 3}
.flowgraph .edge:hover{stroke-opacity:.9}
.flowgraph .count{font-size:11px;font-weight:700;fill:#0b5e4a;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.flowgraph .node .box{fill:#fff;stroke:#cbd2d9;stroke-width:1.2}
.flowgraph .node .bar{fill:#9aa5b1}
.flowgraph .node.resolved .bar{fill:#2e9e6b}
.flowgraph .node.resolved .box{stroke:#7cc4a1}
.flowgraph .node.handoff .bar{fill:#2f6fde}
.flowgraph .node.handoff .box{stroke:#8fb0ee}
.flowgraph .node.deadend .bar{fill:#d64545}
.flowgraph .node.deadend .box{stroke:#d64545;stroke-dasharray:5 3}
.flowgraph .node.dropoff .box{fill:#fff8f0}
.flowgraph .node a:hover .box{stroke:#1f8a70;stroke-width:2}
.flowgraph .id{font-size:12px;font-weight:700}
.flowgraph .reached{font-size:12px;font-weight:700;fill:#0b5e4a;text-anchor:end}
.flowgraph .ex{font-size:10.5px;fill:#7b8794}
.flowgraph .droptag{fill:#e8730c}
.flowgraph .droptext{font-size:10.5px;font-weight:700;fill:#fff;text-anchor:middle}
.flowgraph .entry rect{fill:#1f2933}
.flowgraph .entry text{fill:#fff;font-size:12px;font-weight:700;text-anchor:middle}
.flowgraph .entry .sub{font-size:10.5px;font-weight:400;fill:#cbd2d9}
</style>
`

const defs = `<defs>
<marker id="a-traffic" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f8a70"/></marker>
<marker id="a-static" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#9aa5b1"/></marker>
</defs>
`

func nodeName(n *node) string {
	if n.id == Entry {
		return "会話の開始"
	}
	return n.id
}

func conversations(n int) string { return thousands(n) + "件" }

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// num writes a coordinate with at most one decimal.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// textWidth estimates a text's width: full-width characters are about one
// em, the rest about 0.6.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		if r < 0x1100 || (r >= 0xff61 && r <= 0xff9f) {
			w += 0.6
		} else {
			w += 1
		}
	}
	return w * size
}

// fit shortens s with … to fit width.
func fit(s string, width, size float64) string {
	if textWidth(s, size) <= width {
		return s
	}
	limit := width - textWidth("…", size)
	var out strings.Builder
	w := 0.0
	for _, r := range s {
		rw := textWidth(string(r), size)
		if w+rw > limit {
			break
		}
		w += rw
		out.WriteRune(r)
	}
	return out.String() + "…"
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func esc(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return xmlEscaper.Replace(s)
}
