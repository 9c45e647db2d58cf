package knowledge

import (
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ServiceOther is the service of names that no pack serves (Instagram,
// PayPay, a bank): the router answers them with NodeOtherService.
const ServiceOther = "other"

// NodeOtherService is the node, usually from a part, that says honestly
// that the bot cannot help with a service it has no pack for.
const NodeOtherService = "other_service"

// FactService is the fact that keeps the service the user named or chose.
const FactService = "service"

// particleNo is の as names are compared (see nameKey).
var particleNo = nameKey("の")

// subjectWindow is how many characters after a context name a word about
// codes or signing in may begin for the name to count (LINE新しいスマホでログイン).
const subjectWindow = 8

// Routing is the language data the router reads service names with. A name
// is about the account, and so names the service, unless what follows it
// says otherwise: it is where a code goes (Gmailに届かない), a tool
// (Google Authenticator), a channel (LINEの友達), or negated (Googleじゃなくて).
type Routing struct {
	// Subject are words about codes or signing in (コード, ログイン, 引き継);
	// a context name counts only when one begins within a few characters
	// after it, in the same sentence.
	Subject []string `yaml:"subject"`
	// Destination follows a name that is where a code goes (に, へ, アドレス),
	// unless Access follows it (にログイン).
	Destination []string `yaml:"destination"`
	Access      []string `yaml:"access"`
	// Via after a context name, with Receive later in the sentence, is also
	// where a code goes (ヤフーメールで…受信できない).
	Via     []string `yaml:"via"`
	Receive []string `yaml:"receive"`
	// NotAccount follows a name that is a tool or a channel (認証システム,
	// Authenticator, の友達).
	NotAccount []string `yaml:"not_account"`
	// Negation follows a name the user does not mean (じゃなくて, 以外).
	Negation []string `yaml:"negation"`
	// Skip are fillers skipped right after a name (の方, のほう).
	Skip []string `yaml:"skip"`
	// Stops end a sentence (。, ？).
	Stops []string `yaml:"stops"`
	// Neutral are words that contain a name but name no service (楽天モバイル,
	// a carrier, in 楽天モバイルの番号にSMSが来ない).
	Neutral []string `yaml:"neutral,omitempty"`
}

// Mention is a service named in a text.
type Mention struct {
	Service string // a pack's service, or ServiceOther
	Name    string // the name as the pack lists it
	Negated bool   // the user does not mean it (Googleじゃなくて)
	// Strong: a word about codes or signing in follows it closely
	// (Googleの確認コード), not only the name (マイクロソフト専用ですか).
	Strong bool
}

// Namer finds the services a text names, from the names of a set of packs
// (see Pack.Names). It is read-only after NewNamer.
type Namer struct {
	names   []serviceName // longest first
	routing normRouting
}

type serviceName struct {
	key     string // normalised
	name    string
	service string
	context bool // a ContextNames entry
}

// normRouting is Routing with every word normalised.
type normRouting struct {
	subject, destination, access, via, receive, notAccount, negation, skip, stops []string
}

// NewNamer builds a Namer over the names of packs; routing is the language
// data (nil: the first pack's that has one).
func NewNamer(packs []*Pack, routing *Routing) *Namer {
	nm := &Namer{}
	seen := map[string]bool{}
	add := func(name, service string, context bool) {
		k := nameKey(name)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		nm.names = append(nm.names, serviceName{key: k, name: name, service: service, context: context})
	}
	for _, p := range packs {
		for _, n := range p.Names {
			add(n, p.Service, false)
		}
		for _, n := range p.ContextNames {
			add(n, p.Service, true)
		}
		if routing == nil {
			routing = p.Routing
		}
	}
	for _, p := range packs {
		for _, n := range p.OtherNames {
			add(n, ServiceOther, false)
		}
	}
	if routing != nil {
		for _, n := range routing.Neutral {
			add(n, "", false)
		}
	}
	sort.SliceStable(nm.names, func(i, j int) bool { return len(nm.names[i].key) > len(nm.names[j].key) })
	if routing != nil {
		r := routing
		nm.routing = normRouting{
			subject: keys(r.Subject), destination: keys(r.Destination), access: keys(r.Access),
			via: keys(r.Via), receive: keys(r.Receive), notAccount: keys(r.NotAccount),
			negation: keys(r.Negation), skip: keys(r.Skip), stops: keys(r.Stops),
		}
	}
	return nm
}

func keys(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		if k := nameKey(w); k != "" {
			out = append(out, k)
		}
	}
	// Longest first, so that "のアドレス" is tried before "の".
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Find returns the services text names, in order of first mention, each
// once (a negated mention only when the service is not also meant).
func (nm *Namer) Find(text string) []Mention {
	var out []Mention
	for _, h := range nm.hits(nameKeyText(text)) {
		k := slices.IndexFunc(out, func(m Mention) bool { return m.Service == h.m.Service })
		switch {
		case k < 0:
			out = append(out, h.m)
		case out[k].Negated && !h.m.Negated:
			out[k] = h.m
		case !h.m.Negated && h.m.Strong:
			out[k].Strong = true
		}
	}
	return out
}

// Strip returns text (NFKC) without the names of services it names and the
// fillers right after them (Googleの方も同じです → も同じです), for reading
// what else it says in that service's pack, where its name says nothing.
func (nm *Namer) Strip(text string) string {
	k := nameKeyText(text)
	var b strings.Builder
	last := 0
	for _, h := range nm.hits(k) {
		if h.m.Negated {
			continue
		}
		end := h.end
		for {
			p := prefixOf(k.s[end:], nm.routing.skip)
			if p == "" {
				break
			}
			end += len(p)
		}
		from, to := k.src[h.at], k.src[end]
		if from < last {
			continue
		}
		b.WriteString(k.text[last:from])
		last = to
	}
	b.WriteString(k.text[last:])
	return strings.TrimSpace(b.String())
}

// hit is one name found in a keyed text, at k.s[at:end].
type hit struct {
	at, end int
	m       Mention
}

// hits finds the names that count or are negated, longest first where they
// overlap, in order.
func (nm *Namer) hits(k keyed) []hit {
	s := k.s
	if s == "" {
		return nil
	}
	taken := make([]bool, len(s))
	var hits []hit
	for _, n := range nm.names {
		for from := 0; from < len(s); {
			i := strings.Index(s[from:], n.key)
			if i < 0 {
				break
			}
			i += from
			end := i + len(n.key)
			from = i + 1
			if slices.Contains(taken[i:end], true) || !nameBoundary(s, k.gaps, i, end) {
				continue
			}
			for j := i; j < end; j++ {
				taken[j] = true
			}
			if n.service == "" {
				continue // a neutral word: its span names nothing
			}
			counts, negated, strong := nm.role(s, i, end, n.context)
			if counts || negated {
				hits = append(hits, hit{i, end, Mention{Service: n.service, Name: n.name, Negated: negated, Strong: strong}})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].at < hits[j].at })
	return hits
}

// role says whether the name at s[i:end] is about the account (counts) or
// negated, and whether a word about codes or signing in follows it closely
// (strong); a name that is where a code goes, a tool or a channel is
// neither.
func (nm *Namer) role(s string, i, end int, context bool) (counts, negated, strong bool) {
	r := &nm.routing
	if i > 0 {
		if c := s[i-1]; c == '@' || c == '.' {
			return false, false, false // an address or a web address: a***@gmail.com
		}
	}
	after := s[end:]
	for {
		p := prefixOf(after, r.skip)
		if p == "" {
			break
		}
		after = after[len(p):]
	}
	if prefixOf(after, r.negation) != "" {
		return false, true, false
	}
	if startsWithAny(after, r.notAccount) || startsWithAny(strings.TrimPrefix(after, particleNo), r.notAccount) {
		return false, false, false
	}
	if p := prefixOf(after, r.destination); p != "" && prefixOf(after[len(p):], r.access) == "" {
		return false, false, false
	}
	sentence := after
	for _, stop := range r.stops {
		if k := strings.Index(sentence, stop); k >= 0 {
			sentence = sentence[:k]
		}
	}
	strong = subjectNear(sentence, r.subject)
	if context {
		if p := prefixOf(after, r.via); p != "" && containsAny(sentence, r.receive) {
			return false, false, false
		}
		return strong, false, strong
	}
	return true, false, strong
}

// subjectNear reports whether a subject word begins within subjectWindow
// characters of the start of s.
func subjectNear(s string, subject []string) bool {
	for k, n := 0, 0; k < len(s) && n < subjectWindow; n++ {
		if startsWithAny(s[k:], subject) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[k:])
		k += size
	}
	return false
}

// nameBoundary reports whether s[i:end] stands as a word: a Latin name not
// inside a Latin word (MS in SMS, LINE in online), a katakana name not at
// the end of a katakana word (ライン in オンライン).
// gaps marks the offsets where white space was removed.
func nameBoundary(s string, gaps map[int]bool, i, end int) bool {
	first, _ := utf8.DecodeRuneInString(s[i:])
	last, _ := utf8.DecodeLastRuneInString(s[:end])
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[end:])
	if isLatinAlnum(first) && i > 0 && !gaps[i] && isLatinAlnum(before) {
		return false
	}
	if isLatinAlnum(last) && end < len(s) && !gaps[end] && isLatinAlnum(after) {
		return false
	}
	if isKatakana(first) && i > 0 && !gaps[i] && isKatakana(before) {
		return false
	}
	return true
}

func prefixOf(s string, words []string) string {
	for _, w := range words {
		if strings.HasPrefix(s, w) {
			return w
		}
	}
	return ""
}

func startsWithAny(s string, words []string) bool { return prefixOf(s, words) != "" }

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// nameKey is the form names are compared in: NFKC, lower case, hiragana
// as katakana (ぐーぐる is グーグル), white space removed.
func nameKey(s string) string { return nameKeyText(s).s }

// keyed is a text in the form names are compared in (s), with the NFKC
// text it came from and, for every offset of s (and its end), the offset
// in text. gaps marks the offsets of s where a word boundary may be
// although the runes on both sides look alike: white space was removed
// there (Gmail 2SV), or hiragana begins or ends (してるヤフーID: the ル was
// る, so ヤフー starts a word).
type keyed struct {
	s, text string
	src     []int
	gaps    map[int]bool
}

func nameKeyText(text string) keyed {
	text = norm.NFKC.String(text)
	k := keyed{text: text, src: make([]int, 0, len(text)+1)}
	var b strings.Builder
	b.Grow(len(text))
	wasHiragana := false
	for at, r := range text {
		if unicode.IsSpace(r) {
			if k.gaps == nil {
				k.gaps = map[int]bool{}
			}
			k.gaps[b.Len()] = true
			continue
		}
		r = unicode.ToLower(r)
		hiragana := r >= 'ぁ' && r <= 'ゖ'
		if hiragana {
			r += 'ァ' - 'ぁ'
		}
		if hiragana != wasHiragana && b.Len() > 0 {
			if k.gaps == nil {
				k.gaps = map[int]bool{}
			}
			k.gaps[b.Len()] = true
		}
		wasHiragana = hiragana
		for n := utf8.RuneLen(r); n > 0; n-- {
			k.src = append(k.src, at)
		}
		b.WriteRune(r)
	}
	k.src = append(k.src, len(text))
	k.s = b.String()
	return k
}

func isLatinAlnum(r rune) bool { return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

func isKatakana(r rune) bool { return (r >= 'ァ' && r <= 'ヺ') || r == 'ー' }
