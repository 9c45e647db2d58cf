package understand

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ikawaha/kagome-dict/ipa"
	"github.com/ikawaha/kagome/v2/tokenizer"
)

var (
	tokOnce sync.Once
	tok     *tokenizer.Tokenizer
)

// Tokenizer returns the process-wide kagome tokenizer with the IPA
// dictionary. It is built on first use (about a second and 90 MB) and shared
// afterwards; it is safe for concurrent use.
func Tokenizer() *tokenizer.Tokenizer {
	tokOnce.Do(func() {
		t, err := tokenizer.New(ipa.Dict(), tokenizer.OmitBosEos())
		if err != nil {
			// Only a nil dictionary makes New fail; the embedded one never is.
			panic("understand: kagome tokenizer: " + err.Error())
		}
		tok = t
	})
	return tok
}

// Neg is the term that stands for a negation (ない, ません, ず, 無い): it is
// kept because 届かない and 届いた mean different things.
const Neg = "ない"

// word is one content word of a text.
type word struct {
	s      string
	joined bool // directly follows the previous word, with nothing dropped between
	noun   bool
	before bool // a negation that negates the next word (English "not arrive")
	// clause: the first word after a conjunctive particle (見たけどない,
	// 届いたのに使えない): a negation here negates its own clause, not the
	// word before the particle.
	clause bool
	// sep: a space came before the word in the normalised text (punctuation,
	// an emoji, a line break or the user's own space).
	sep bool
	pos int // byte offset in the normalised text of the token it comes from
	// particle: the case or topic particle right after the word (が, を, は,
	// で, に, の), "" when none follows it.
	particle string
	// manner: an adverb, a noun used as one (ちゃんと, まだ, 毎日, 今) or a
	// dependent noun (のほうでは): it says how, when or where, not what.
	manner bool
}

// Stop lists: content-word base forms that carry no meaning for matching.
var (
	stopVerbs = map[string]bool{"する": true, "いる": true, "ある": true, "おる": true, "れる": true, "られる": true, "せる": true, "させる": true, "やる": true}
	stopNouns = map[string]bool{"の": true, "ん": true, "こと": true, "もの": true, "はず": true, "わけ": true, "ところ": true, "よう": true, "まま": true, "うち": true, "さん": true, "様": true, "さま": true, "ため": true, "みたい": true}
	// auxVerbs are verbs that follow て and add only aspect or politeness
	// (送ってしまう, 見ている, 教えてください). Other non-independent verbs
	// (送り直す, 要求しすぎる) keep their meaning.
	auxVerbs = map[string]bool{"いる": true, "おる": true, "しまう": true, "ちゃう": true, "じゃう": true, "おく": true, "とく": true, "みる": true, "いく": true, "ゆく": true, "くれる": true, "くださる": true, "もらう": true, "いただく": true, "もらえる": true, "いただける": true, "あげる": true, "やる": true, "ある": true, "なさる": true, "られる": true, "れる": true, "せる": true, "させる": true, "てる": true, "でる": true, "とる": true, "どる": true, "ちまう": true}
	// negNouns are the nouns of a negative verdict (ダメ, 無理): read as Neg.
	negNouns = map[string]bool{"ダメ": true, "だめ": true, "駄目": true, "無理": true}
	// negAux are the negations; へん and ひん are the Kansai ones
	// (届かへん, できひん), which IPADIC tags as auxiliaries too.
	negAux = map[string]bool{"ない": true, "ぬ": true, "ん": true, "無い": true, "へん": true, "ひん": true}
	// frameWords say how a question is asked, not what it is about
	// (場合は, やり方, よろしいでしょうか, 恐れ入りますが, すみませんが; also どう before
	// する, see beforeDo): in a
	// small pack each occurs in one or two topics by chance and would weigh
	// like a topic word. Nouns of the form verb+方 (書き方, 使い方) count as
	// their verb (see howVerb).
	frameWords = map[string]bool{"場合": true, "仕方": true, "よろしい": true, "恐れ入る": true, "すみません": true, "すいません": true,
		// Hedges (たぶんSMSだと思う) say how sure the user is, not what about.
		"たぶん": true, "多分": true, "おそらく": true, "恐らく": true, "思う": true, "かも": true,
		// When (ログインのときのコード, 送る時に, 変更の際は) frames a
		// situation like 場合 does.
		"とき": true, "時": true, "際": true}
	kanjiNum = map[string]string{"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10"}
)

// Words returns the content words of normalised text: base forms (届き, 届か
// → 届く), particles, auxiliaries and symbols dropped, negations kept as Neg,
// redaction markers ([code]) kept as they are. It applies no synonyms.
func Words(normalized string) []string {
	ws := words(normalized, nil, nil)
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.s
	}
	return out
}

// words splits normalised text into content words, appending to dst. lex,
// when not nil, splits katakana runs kagome does not know into known words.
func words(s string, lex lexicon, dst []word) []word {
	off := 0 // offset of s in the text
	for s != "" {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return tokenizeWords(s, off, lex, dst)
		}
		if i > 0 {
			dst = tokenizeWords(s[:i], off, lex, dst)
		}
		s, off = s[i:], off+i
		if loc := markerRe.FindStringIndex(s); loc != nil && loc[0] == 0 {
			dst = append(dst, word{s: s[:loc[1]], sep: true, pos: off})
			s, off = s[loc[1]:], off+loc[1]
			continue
		}
		s, off = s[1:], off+1
	}
	return dst
}

func tokenizeWords(s string, off int, lex lexicon, dst []word) []word {
	if strings.TrimSpace(s) == "" {
		return dst
	}
	joined := false
	clause := false  // a conjunctive particle came since the last word
	sep := off > 0   // a space came since the last word
	lastTok := -1    // the token the last word came from
	skipNeg := false // the next negation belongs to かもしれない, not to a word
	toks := Tokenizer().Analyze(s, tokenizer.Normal)
	for ti, t := range toks {
		if t.Class == tokenizer.DUMMY {
			continue
		}
		surface := t.Surface
		if strings.TrimSpace(surface) == "" {
			joined, sep = false, true
			if lastTok == ti-1 {
				lastTok = ti // a particle may follow a Latin word after a space
			}
			continue
		}
		pos := off + t.Position
		pos0, _ := t.FeatureAt(0)
		pos1, _ := t.FeatureAt(1)
		base, _ := t.BaseForm()
		if base == "" || base == "*" {
			base = surface
		}
		keep := ""
		noun := false
		manner := pos0 == "副詞" || pos0 == "名詞" && (pos1 == "副詞可能" || pos1 == "非自立")
		if isASCIIWord(surface) {
			// Latin words: kagome knows none; read them as English.
			switch w := englishWord(surface); {
			case w == "":
				joined = false
			case w == Neg:
				dst = append(dst, word{s: Neg, before: true, sep: sep, pos: pos})
				joined, sep, lastTok = false, false, ti
			default:
				dst = append(dst, word{s: w, joined: joined, noun: true, sep: sep, pos: pos})
				joined, sep, lastTok = true, false, ti
			}
			continue
		}
		if pos0 == "助詞" && (pos1 == "接続助詞" && clauseParticles[surface] || surface == "に" && afterPredicateNo(toks[:ti])) {
			clause = true
		}
		if (pos0 == "助詞" || pos0 == "接続詞" && surface == "で") && lastTok == ti-1 && len(dst) > 0 && dst[len(dst)-1].particle == "" {
			// After a space (outlook で) IPADIC reads で as a conjunction.
			dst[len(dst)-1].particle = surface
			if pos2, _ := t.FeatureAt(2); pos2 == "引用" {
				dst[len(dst)-1].particle = "って" // quoted: what is said, like って
			}
		}
		switch pos0 {
		case "名詞":
			switch pos1 {
			case "非自立", "特殊":
				if !stopNouns[base] {
					keep = base
				}
			case "数":
				if d, ok := kanjiNum[base]; ok {
					base = d
				}
				keep = base
			case "接尾":
				if !stopNouns[base] {
					keep = base
				}
			default:
				keep = base
			}
			noun = true
			if surface == "ー" {
				keep = ""
			}
			if negNouns[base] {
				// ダメでした, 無理です: a negative verdict says no like a
				// negation does (再起動しましたがダメです is not 'it worked').
				keep, noun = Neg, false
			}
		case "動詞":
			switch {
			case base == "しれる" || base == "知れる":
				// かもしれない (maybe) negates nothing.
				skipNeg = true
			case base == "くる" || base == "来る":
				keep = "来る"
			case base == "ある" && surface == "あっ" && progressive(toks[ti+1:]):
				// あってる, あってます: ある has no progressive; it is 合う
				// spelt in kana (番号あってる).
				keep = "合う"
			case pos1 == "接尾", stopVerbs[base], auxVerbs[base]:
			case base == "出来る":
				keep = "できる"
			default:
				keep = base
			}
		case "形容詞":
			switch {
			case negAux[base] && requestNegation(toks[:ti], toks[ti+1:]):
			case negAux[base]:
				keep = Neg
			case pos1 == "非自立":
			default:
				keep = base
			}
		case "助動詞":
			switch {
			case negAux[base] && requestNegation(toks[:ti], toks[ti+1:]):
			case negAux[base]:
				keep = Neg
			case base == "たい":
				keep = "たい"
			}
		case "副詞", "感動詞":
			keep = base
		case "接頭詞":
			if base != "お" && base != "ご" && base != "御" {
				keep = base
			}
		}
		if noun && keep != "" {
			if v, ok := howVerb(t); ok {
				keep, noun = v, false
			}
		}
		if frameWords[keep] || (keep == "どう" && beforeDo(toks[ti+1:])) {
			keep = ""
		}
		if keep == Neg && skipNeg {
			keep = ""
		}
		if keep != "" {
			skipNeg = false
		}
		if keep == "" {
			joined = false
			continue
		}
		if t.Class == tokenizer.UNKNOWN && lex != nil {
			if parts := lex.split(keep); len(parts) > 1 {
				for _, p := range parts {
					dst = append(dst, word{s: trimLongMark(p), joined: joined, noun: true, clause: clause, sep: sep, pos: pos})
					joined, clause, sep = true, false, false
				}
				lastTok = ti
				continue
			}
		}
		dst = append(dst, word{s: trimLongMark(keep), joined: joined, noun: noun, clause: clause, sep: sep, pos: pos, manner: manner})
		joined, clause, sep = true, false, false
		lastTok = ti
	}
	return dst
}

// benefactives are the verbs of receiving a favour after て (してもらう,
// していただける, してくれる): negated in a question they make a polite
// request (してもらえませんか), not a negation.
var benefactives = map[string]bool{"もらう": true, "もらえる": true, "いただく": true, "いただける": true, "くれる": true, "くださる": true}

// requestNegation reports whether a negation, between the tokens before and
// after it, is the politeness of a request: a て-form and a benefactive
// before it (ます may come between), the question particle か after it
// (です, でしょう may come between): 代わってもらえませんか, 対応していただけない
// でしょうか, 教えてくれないか. Such a text asks for something; it does not
// say that something fails.
func requestNegation(before, after []tokenizer.Token) bool {
	i := len(before) - 1
	for i >= 0 && baseForm(before[i]) == "ます" {
		i--
	}
	if i < 1 || !benefactives[baseForm(before[i])] {
		return false
	}
	if s := before[i-1].Surface; s != "て" && s != "で" {
		return false
	}
	for _, t := range after {
		if pos, _ := t.FeatureAt(0); pos == "助動詞" {
			continue
		}
		return t.Surface == "か" || t.Surface == "かな"
	}
	return false
}

func baseForm(t tokenizer.Token) string {
	b, _ := t.BaseForm()
	return b
}

// clauseParticles are the conjunctive particles that end a clause (but,
// although, because, and): 見たけど | ない. The て of te-forms (使っていない)
// and the conditional ば join a predicate and are not among them.
var clauseParticles = map[string]bool{"けど": true, "けれど": true, "けれども": true, "が": true, "のに": true, "ので": true, "から": true, "し": true, "ものの": true}

// afterPredicateNo reports whether the tokens before a に end in a verb or
// an auxiliary and の: IPADIC splits the conjunction のに (探したのに) so.
func afterPredicateNo(before []tokenizer.Token) bool {
	n := len(before)
	if n < 2 || before[n-1].Surface != "の" {
		return false
	}
	pos, _ := before[n-2].FeatureAt(0)
	return pos == "動詞" || pos == "助動詞"
}

// progressive reports whether the next tokens make a て-form progressive or
// polite form: てる, てた, ている, てます (not a bare て that joins clauses).
func progressive(rest []tokenizer.Token) bool {
	if len(rest) == 0 {
		return false
	}
	switch rest[0].Surface {
	case "てる", "てた", "て":
		if b, _ := rest[0].BaseForm(); b == "てる" {
			return true
		}
	default:
		return false
	}
	if len(rest) < 2 {
		return false
	}
	b, _ := rest[1].BaseForm()
	return b == "いる" || b == "ます" || b == "おる"
}

// beforeDo reports whether the next token is a form of する or やる: どう
// then asks what to do (どうすれば, どうやって), a frame; どうなる (what
// happens) keeps its どう.
func beforeDo(rest []tokenizer.Token) bool {
	if len(rest) == 0 {
		return false
	}
	b, _ := rest[0].BaseForm()
	return b == "する" || b == "やる"
}

// howVerb reads a noun of the form verb stem + 方 (書き方, 作り方, 使い方:
// how to write, make, use) as the verb (書く, 作る, 使う): 方 only frames
// the question. It returns "" for a stop verb (やり方) and false when t is
// no such noun.
func howVerb(t tokenizer.Token) (string, bool) {
	stem, ok := strings.CutSuffix(t.Surface, "方")
	if !ok || stem == "" {
		return "", false
	}
	if r, ok := t.Reading(); !ok || !strings.HasSuffix(r, "カタ") {
		return "", false
	}
	// The stem alone reads as a noun (使い, 作り); before ます it is the verb.
	ts := Tokenizer().Tokenize(stem + "ます")
	if len(ts) != 2 || ts[0].Surface != stem {
		return "", false
	}
	if pos, _ := ts[0].FeatureAt(0); pos != "動詞" {
		return "", false
	}
	base, _ := ts[0].BaseForm()
	if stopVerbs[base] || auxVerbs[base] {
		return "", true
	}
	return base, true
}

// trimLongMark drops the final long-vowel mark of a katakana word of four or
// more characters (サーバー → サーバ, フォルダー → フォルダ), the usual
// spelling variation of loanwords.
func trimLongMark(s string) string {
	if !strings.HasSuffix(s, "ー") {
		return s
	}
	n := 0
	for _, r := range s {
		if !isKatakana(r) && r != 'ー' {
			return s
		}
		n++
	}
	if n >= 4 {
		return strings.TrimSuffix(s, "ー")
	}
	return s
}

// lexicon holds katakana words (two runes or more) known to a pack. kagome
// reads a run of katakana it does not know as one word (スパムフォルダ); split
// cuts such a run at the pack's own words (スパム + フォルダ).
type lexicon map[string]bool

// split returns the pieces of a katakana run: pack words, longest first from
// the left, and the unknown stretches between them. It returns nil when s is
// not all katakana, when no pack word occurs in it, or when a piece would be a
// single character (メ + アド is no reading of メアド).
func (lex lexicon) split(s string) []string {
	rs := []rune(s)
	if len(rs) < 4 || !isKanaOnly(s) {
		return nil
	}
	var parts []string
	start := 0 // start of the pending unknown stretch
	found := false
	for i := 0; i < len(rs); {
		best := 0
		for j := len(rs); j >= i+2; j-- {
			if (i > 0 || j < len(rs)) && lex[string(rs[i:j])] {
				best = j
				break
			}
		}
		if best == 0 {
			i++
			continue
		}
		if start < i {
			parts = append(parts, string(rs[start:i]))
		}
		parts = append(parts, string(rs[i:best]))
		found = true
		i, start = best, best
	}
	if !found {
		return nil
	}
	if start < len(rs) {
		parts = append(parts, string(rs[start:]))
	}
	for _, p := range parts {
		if utf8.RuneCountInString(p) < 2 {
			return nil
		}
	}
	return parts
}

func isASCIIWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// englishStop are English function words that carry no meaning for matching.
var englishStop = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the i me my myself we our us you your it its itself they them their
		he him his she her is are was were be been being am do does did doing to of in on at for with
		from by and or but so if this that these those there here have has had having will would shall
		should can could may might must just please any some about as into than then too very also
		still yet m s t d ll re ve im`) {
		englishStop[w] = true
	}
}

// englishWord returns the stem of an English word, Neg for a negation, or ""
// for a function word. The stemmer is deliberately small (plural -s, -ed,
// -ing, final -e, -y): it only has to make the pack's examples and the user's
// text agree (arrive, arrives, arrived, arriving → arriv).
func englishWord(w string) string {
	switch {
	case len(w) < 2 || englishStop[w]:
		return ""
	case w == "not" || w == "no" || w == "never":
		return Neg
	}
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && len(w) > 3 && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	switch {
	case strings.HasSuffix(w, "ing") && len(w) >= 6:
		w = w[:len(w)-3]
	case strings.HasSuffix(w, "ed") && len(w) >= 5:
		w = w[:len(w)-2]
	}
	if n := len(w); n >= 4 && w[n-1] == w[n-2] && !strings.ContainsRune("lsz", rune(w[n-1])) {
		w = w[:n-1] // stopped → stopp → stop
	}
	switch n := len(w); {
	case n > 3 && w[n-1] == 'e':
		w = w[:n-1]
	case n > 3 && w[n-1] == 'y':
		w = w[:n-1] + "i"
	}
	return w
}
