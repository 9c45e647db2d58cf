package understand

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ikawaha/kagome/v2/tokenizer"

	"github.com/todoku/todoku/knowledge"
)

// DefaultThreshold is the score below which the dialog must not act on a
// match silently (it asks again instead).
//
// How scores are calibrated. For each intent, two channels are scored in
// [0, 1]: content words (base forms, negation, synonyms) and character
// bigrams of the text and of its content words (unknown words, typos, odd
// splits); text written in hiragana is also read through the examples'
// kana readings. A channel's score is half the
// weighted Dice overlap with the intent's best example phrase and half the
// share of the text's weight found anywhere in the intent's examples. A
// feature weighs its BM25 IDF over the pack's meanings (topics, commands,
// answers), so words of one topic count most and words of every topic next
// to nothing. 1 means the text says what an example says; 0, nothing in
// common. The raw score is the mean of the two channels, plus a bonus for
// expected answers (more for one- or two-word replies). Text whose words are
// mostly unknown to every intent but the fallback one, with no anchor noun
// of the domain, gains evidence for the fallback intent (out of scope).
// Finally the best candidate gains its lead over the best candidate with
// another meaning, at most half its own score: a reading that stands out is
// more likely right than one that barely leads. It does not when the text
// names a thing the pack does not know and no thing of ours (カレーの作り方,
// キーボードが反応しない; see strayNoun), unless it is the fallback intent:
// standing out among our topics then only means one action word matched.
//
// Measured with the Microsoft pack over the 345 first messages of the
// development set and the three held-out sets: at 0.5, 325 land on an
// expected topic, 9 on a wrong one and 11 stay below; at 0.45 it would be
// 327 and 12, at 0.6 314 and 6. In 5-fold cross-validation over the pack's
// own examples (much harder: a fifth of the examples missing) about 67% pass
// and 17% are wrong.
const DefaultThreshold = 0.5

// AnswerNo is the answer intent id that short negated replies (見てない)
// count for where a node expects it; packs name their "no" answer so.
const AnswerNo = "no"

// AnswerYes is the answer intent id for "yes"; a negated text never counts
// for it.
const AnswerYes = "yes"

// AnswerDone is the answer intent id for "it worked, it arrived"; like yes, a
// negated text (迷惑メールに入ってないです) never counts for it.
const AnswerDone = "done"

// AnswerUnknown is the answer intent id for "I don't know"; a negated text
// that names two or more of the other expected answers (メールかSMSかわからない)
// picks none of them and counts for it.
const AnswerUnknown = "unknown"

// maxResults bounds the candidates Understand returns.
const maxResults = 5

// Scoring weights, chosen by 5-fold cross-validation over the pack's examples
// (cv_test.go). See DefaultThreshold for what the score means.
const (
	wordWeight       = 0.5  // share of the word channel; the rest is bigrams
	exampleShare     = 0.5  // share of the best example (Dice); the rest is intent coverage
	oovWordShare     = 0.5  // weight of an unseen word relative to the rarest known word
	oovNounShare     = 1.0  // same for an unseen noun: what the text is about
	oovGramShare     = 0.3  // same for unseen bigrams
	answerBonus      = 0.1  // added to expected answers (はい, メール, SMS)
	shortBonus       = 0.1  // added again when the text is one or two words
	leadWeight       = 1.0  // share of the lead over another meaning added to the best score
	oodScale         = 1.2  // scale of the out-of-domain evidence for the fallback intent
	oodMin           = 0.6  // share of unknown words from which there is such evidence
	oodMax           = 0.6  // most such evidence can weigh (two or more words needed)
	echoNo           = 0.4  // raw score of "no" for a short negated reply where no is expected
	anchorMinIntents = 2    // intents a noun must appear in to be an anchor
	kanaMin          = 6    // runes from which text can be read as kana-written
	kanaShare        = 0.7  // share of hiragana that makes text kana-written
	sentenceShare    = 0.9  // weight of one sentence's reading against the whole text's
	choiceMin        = 0.3  // raw score from which an expected choice counts as named
	noPickShare      = 0.5  // weight left to choices named together in a negated text
	tieLead          = 0.05 // lead over another meaning under which the whole text's reading is a tie
	echoMin          = 0.5  // share of a reply's weight in the question's words from which it answers it
	echoScore        = 0.4  // raw score of yes or no for such a reply at echoMin
	echoGain         = 0.4  // and what each more share of echo adds
	clauseShare      = 0.9  // weight of a run of clauses' reading against the whole text's
	maxClauseSpan    = 2    // most consecutive clauses read together
	clauseMinWords   = 6    // content words from which a text is read clause by clause
)

// Matcher scores free text against the intents of one pack. Build it with New;
// it is read-only afterwards and safe for concurrent use.
type Matcher struct {
	intents []intentInfo
	byID    map[string]int

	// loan: the pack is Japanese, so English loanwords typed in Latin
	// letters are respelt in katakana (see respellLoanwords).
	loan bool

	lex   lexicon               // katakana words of the pack, to split unknown runs
	syn   map[string][]synEntry // first word of a member → members, longest first
	alias map[string]string     // kana reading (hiragana) → vocabulary word
	vocab map[string]bool       // words of the examples, after synonyms
	// spell maps the hiragana reading (three runes or more) of vocabulary
	// words and synonym members to their written form, to read text
	// written in hiragana (see respell); spellMax is its longest key in runes.
	spell    map[string]string
	spellMax int

	words channel
	grams channel
	// reads indexes the bigrams of the examples' kana readings, for text
	// written in hiragana (かくにんこーどがとどかない), which kagome cannot
	// split into the words the examples use.
	reads channel

	// fallback is the topic intent leading to the pack's fallback node
	// (out_of_scope), or -1; domain holds the words of every other intent.
	fallback int
	domain   map[string]bool
	// anchors are nouns of several intents that the fallback intent never
	// uses (確認コード, 通知, メール): text with one is about our domain.
	anchors map[string]bool
	// things are the anchors that name things, not actions (確認コード,
	// not 変更 or 設定; see isThing and verbalNoun): a text with a noun the
	// pack does not know needs one of them to be about our domain (see
	// strayNoun).
	things map[string]bool
	// names are the words that name each choice answer (メール, sms,
	// 認証アプリ): its one-word examples.
	names map[int][]string
	// questions holds the content words of the last message of every node
	// (the question a reply answers; see UnderstandReply).
	questions map[string][]string

	// said are the words of the domain the bot's own messages use.
	said map[string]bool

	// model is the classifier trained on the pack's examples; its reading
	// and the matcher's are blended (see blend).
	model *model
}

type intentInfo struct {
	id   string
	kind string
	// asks: an answer intent with a question among its examples; only such
	// answers can be read from a question (see Understand).
	asks bool
	// meaning is where the intent leads: the target node's topic, a command
	// or an answer. Intents with the same meaning do not compete.
	meaning string
}

// synEntry is one synonym member as words, and the group's canonical word.
type synEntry struct {
	words []word
	canon string
	// neg: every member of the group is negated (届かない, 来ない, 受信
	// できない), so the canonical word stands for a negated predicate and
	// keeps the negation (see applySynonyms).
	neg bool
}

// channel is an index over one kind of feature (words or character bigrams).
type channel struct {
	ids       map[string]int32
	idf       []float64
	oov       float64   // query-side weight of a feature the pack never uses
	nounOOV   float64   // same for a noun (see isNounLike), when not 0
	postings  [][]int32 // feature → examples containing it
	intentsOf [][]int32 // feature → intents containing it
	exIntent  []int32   // example → intent
	exMass    []float64 // example → Σ idf of its features
}

// New precomputes everything the matcher needs from p: synonym table, kana
// aliases, and the example index. It tokenises every example once.
func New(p *knowledge.Pack) *Matcher {
	m := &Matcher{
		byID:  make(map[string]int, len(p.Intents)),
		syn:   make(map[string][]synEntry),
		alias: make(map[string]string),
		vocab: make(map[string]bool),
		loan:  isJapaneseLanguage(p.Language),
	}
	for _, in := range p.Intents {
		kind := in.Kind
		if kind == "" {
			kind = knowledge.KindTopic
		}
		if _, dup := m.byID[in.ID]; dup {
			continue
		}
		m.byID[in.ID] = len(m.intents)
		m.intents = append(m.intents, intentInfo{id: in.ID, kind: kind, meaning: meaningOf(p, in, kind), asks: slices.ContainsFunc(in.Examples, isQuestion)})
	}
	var texts []string
	for _, in := range p.Intents {
		texts = append(texts, in.Examples...)
		texts = append(texts, in.Keywords...)
	}
	for _, g := range p.Synonyms {
		texts = append(texts, g...)
	}
	m.lex = buildLexicon(texts, m.normalize)
	m.buildSynonyms(p.Synonyms)

	// Every example (and keyword) becomes one document of each channel.
	type doc struct {
		intent int32
		words  []string
		grams  []string
		reads  []string
	}
	var docs []doc
	for _, in := range p.Intents {
		idx, ok := m.byID[in.ID]
		if !ok || m.intents[idx].id != in.ID {
			continue
		}
		phrases := append(slices.Clone(in.Examples), in.Keywords...)
		for _, ph := range phrases {
			n := m.normalize(ph)
			if n == "" {
				continue
			}
			ws, gs := m.features(n)
			for _, w := range ws {
				if !strings.ContainsAny(w, "+~") {
					m.vocab[w] = true
				}
			}
			docs = append(docs, doc{intent: int32(idx), words: ws, grams: gs, reads: readingGrams(n)})
		}
	}
	m.buildAliases()
	m.buildSpellings(p.Synonyms)
	m.fallback = -1
	for i, in := range m.intents {
		if in.kind == knowledge.KindTopic && p.Intent(in.id).Target == p.Fallback && p.Fallback != "" {
			m.fallback = i
			break
		}
	}
	m.domain = make(map[string]bool)
	m.anchors = make(map[string]bool)
	m.things = make(map[string]bool)
	inFallback := make(map[string]bool)
	intentsWith := make(map[string]map[int32]bool)
	for _, d := range docs {
		for _, w := range d.words {
			if int(d.intent) == m.fallback {
				inFallback[w] = true
				continue
			}
			m.domain[w] = true
			if intentsWith[w] == nil {
				intentsWith[w] = make(map[int32]bool)
			}
			intentsWith[w][d.intent] = true
		}
	}
	for w, ins := range intentsWith {
		if len(ins) >= anchorMinIntents && !inFallback[w] && isNounLike(w) {
			m.anchors[w] = true
			if isThing(w) && !verbalNoun(w) {
				m.things[w] = true
			}
		}
	}
	// What the bot itself says is our domain too: a reply that takes up
	// the words of its messages (電波は入ってます after a checklist about
	// signal) is about the conversation, not out of scope.
	m.questions = make(map[string][]string)
	m.said = make(map[string]bool)
	for _, nd := range p.Nodes {
		for i, msg := range nd.Messages {
			wf := m.wordFeatures(m.normalize(msg.Text))
			if i == len(nd.Messages)-1 {
				m.questions[msg.Text] = contentOnly(wf)
			}
			if nd.ID == p.Fallback {
				continue
			}
			for _, w := range wf {
				if w != Neg && !strings.ContainsAny(w, "+~[") && !inFallback[w] {
					m.domain[w] = true
					m.said[w] = true
				}
			}
		}
	}

	nIntents := len(m.intents)
	group := make([]int, nIntents)
	groups := map[string]int{}
	for i, in := range m.intents {
		g, ok := groups[in.meaning]
		if !ok {
			g = len(groups)
			groups[in.meaning] = g
		}
		group[i] = g
	}
	m.names = make(map[int][]string)
	for _, d := range docs {
		in := m.intents[d.intent]
		if in.kind == knowledge.KindAnswer && isChoice(in.id) && contentWords(d.words) == 1 && !slices.Contains(d.words, Neg) && !slices.Contains(m.names[int(d.intent)], d.words[0]) {
			m.names[int(d.intent)] = append(m.names[int(d.intent)], d.words[0])
		}
	}
	m.words = newChannel(len(docs), func(i int) (int32, []string) { return docs[i].intent, docs[i].words }, oovWordShare, group, len(groups))
	m.words.nounOOV = oovNounShare * m.words.oov / oovWordShare // oov is oovWordShare × the highest IDF
	m.grams = newChannel(len(docs), func(i int) (int32, []string) { return docs[i].intent, docs[i].grams }, oovGramShare, group, len(groups))
	m.reads = newChannel(len(docs), func(i int) (int32, []string) { return docs[i].intent, docs[i].reads }, oovGramShare, group, len(groups))
	m.model = m.trainModel(p)
	return m
}

func newChannel(nDocs int, doc func(int) (int32, []string), oovShare float64, group []int, nGroups int) channel {
	c := channel{ids: make(map[string]int32), exIntent: make([]int32, nDocs), exMass: make([]float64, nDocs)}
	for i := range nDocs {
		intent, feats := doc(i)
		c.exIntent[i] = intent
		for _, f := range feats {
			id, ok := c.ids[f]
			if !ok {
				id = int32(len(c.postings))
				c.ids[f] = id
				c.postings = append(c.postings, nil)
				c.intentsOf = append(c.intentsOf, nil)
			}
			if p := c.postings[id]; len(p) == 0 || p[len(p)-1] != int32(i) {
				c.postings[id] = append(p, int32(i))
			}
			if p := c.intentsOf[id]; len(p) == 0 || p[len(p)-1] != intent {
				// Documents come grouped by intent, so a repeat is always last.
				c.intentsOf[id] = append(p, intent)
			}
		}
	}
	// A feature weighs what it says about what is meant: the BM25 inverse
	// document frequency over meanings (the examples of all intents leading
	// to one topic together being one document; group maps intents to
	// meanings). A word of one topic weighs most; ない, in nearly every
	// topic, next to nothing.
	n := float64(nGroups)
	c.idf = make([]float64, len(c.postings))
	maxIDF := 0.0
	for id, ins := range c.intentsOf {
		var gs []int
		for _, in := range ins {
			if !slices.Contains(gs, group[in]) {
				gs = append(gs, group[in])
			}
		}
		df := float64(len(gs))
		c.idf[id] = math.Log(1 + (n-df+0.5)/(df+0.5))
		maxIDF = max(maxIDF, c.idf[id])
	}
	c.oov = oovShare * maxIDF
	for i := range nDocs {
		_, feats := doc(i)
		seen := make(map[int32]bool, len(feats))
		for _, f := range feats {
			id := c.ids[f]
			if !seen[id] {
				seen[id] = true
				c.exMass[i] += c.idf[id]
			}
		}
	}
	return c
}

// meaningOf names where an intent leads, so that two intents leading to the
// same topic are not counted as rival readings.
func meaningOf(p *knowledge.Pack, in knowledge.Intent, kind string) string {
	node := ""
	switch kind {
	case knowledge.KindAnswer:
		return "answer:" + in.ID
	case knowledge.KindCommand:
		if in.Command != knowledge.CommandHandoff {
			return "command:" + in.Command
		}
		node = p.Handoff
	default:
		node = in.Target
	}
	if n := p.Node(node); n != nil && n.Topic != "" {
		return "topic:" + n.Topic
	}
	return "node:" + node
}

// buildLexicon collects the katakana words of texts: those kagome knows, whole
// katakana texts (synonyms such as スパム), and the pieces of katakana runs
// kagome does not know, split at the former (メールフォルダ → フォルダ).
func buildLexicon(texts []string, normalize func(string) string) lexicon {
	lex := lexicon{}
	var unknown []string
	for _, t := range texts {
		n := normalize(t)
		if isKanaOnly(n) && utf8.RuneCountInString(n) >= 2 && !isHiraganaOnly(n) {
			lex[n] = true
		}
		for _, tk := range Tokenizer().Tokenize(n) {
			s := tk.Surface
			if utf8.RuneCountInString(s) < 2 || !isKanaOnly(s) || isHiraganaOnly(s) {
				continue
			}
			if tk.Class == tokenizer.UNKNOWN {
				unknown = append(unknown, s)
			} else {
				lex[s] = true
			}
		}
	}
	for _, u := range unknown {
		for _, p := range lex.split(u) {
			lex[p] = true
		}
	}
	return lex
}

// normalize is Normalize, then, for a Japanese pack, the respelling of
// English loanwords typed in Latin letters (see respellLoanwords).
func (m *Matcher) normalize(s string) string { return normalize(s, m.loan) }

// buildSynonyms indexes every member of every group by its first word.
func (m *Matcher) buildSynonyms(groups [][]string) {
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		canon := strings.ReplaceAll(m.normalize(g[0]), " ", "")
		if canon == "" {
			continue
		}
		members := make([][]word, 0, len(g))
		neg := true
		for _, member := range g {
			ws := words(m.normalize(member), m.lex, nil)
			if len(ws) == 0 {
				continue
			}
			members = append(members, ws)
			neg = neg && slices.ContainsFunc(ws, func(w word) bool { return w.s == Neg })
		}
		for _, ws := range members {
			if len(ws) == 1 && ws[0].s == canon {
				// The canonical word as one token needs no rewrite, but
				// keep it as a vocabulary word for kana aliases.
				m.vocab[canon] = true
				continue
			}
			ws[0].joined = false
			m.syn[ws[0].s] = append(m.syn[ws[0].s], synEntry{words: ws, canon: canon, neg: neg})
		}
	}
	for k, es := range m.syn {
		sort.SliceStable(es, func(i, j int) bool { return len(es[i].words) > len(es[j].words) })
		m.syn[k] = es
	}
}

// buildAliases maps the kana reading of every vocabulary word to the word, so
// that とどく or めーる written in kana find 届く and メール.
func (m *Matcher) buildAliases() {
	ambiguous := map[string]bool{}
	for w := range m.vocab {
		if isKanaOnly(w) || strings.HasPrefix(w, "[") {
			continue
		}
		var reading strings.Builder
		ok := true
		for _, t := range Tokenizer().Tokenize(w) {
			r, has := t.Reading()
			if !has || r == "" || r == "*" {
				ok = false
				break
			}
			reading.WriteString(r)
		}
		if !ok {
			continue
		}
		key := FoldKana(reading.String())
		if m.vocab[key] {
			continue
		}
		if prev, dup := m.alias[key]; dup && prev != w {
			ambiguous[key] = true
			continue
		}
		m.alias[key] = w
	}
	for k := range ambiguous {
		delete(m.alias, k)
	}
}

// readingOf returns the hiragana reading of a word or phrase, false when
// kagome has no reading for part of it.
func readingOf(s string) (string, bool) {
	var b strings.Builder
	for _, t := range Tokenizer().Tokenize(s) {
		r, ok := t.Reading()
		if !ok || r == "" || r == "*" {
			return "", false
		}
		b.WriteString(r)
	}
	return FoldKana(b.String()), true
}

// buildSpellings fills spell from the kana aliases, the katakana words of the
// examples and the synonym members written in kanji or katakana (コード →
// こーど, 届かない → とどかない).
func (m *Matcher) buildSpellings(groups [][]string) {
	m.spell = make(map[string]string)
	ambiguous := map[string]bool{}
	add := func(key, w string) {
		if utf8.RuneCountInString(key) < 3 || key == w {
			return
		}
		if prev, dup := m.spell[key]; dup && prev != w {
			ambiguous[key] = true
			return
		}
		m.spell[key] = w
	}
	for k, w := range m.alias {
		add(k, w)
	}
	written := func(w string) {
		switch {
		case w == "" || isHiraganaOnly(w) || strings.IndexFunc(w, isLatin) >= 0:
		case isKanaOnly(w):
			add(FoldKana(w), w)
		default:
			if r, ok := readingOf(w); ok {
				add(r, w)
			}
		}
	}
	for w := range m.vocab {
		if isKanaOnly(w) {
			written(w)
		}
	}
	for _, g := range groups {
		for _, member := range g {
			n := m.normalize(member)
			written(n)
			for _, w := range words(n, m.lex, nil) {
				written(w.s)
			}
		}
	}
	for k := range ambiguous {
		delete(m.spell, k)
	}
	for k := range m.spell {
		m.spellMax = max(m.spellMax, utf8.RuneCountInString(k))
	}
}

// respell rewrites, in text written in hiragana, the longest readings of
// known words in each hiragana run to their written form (かくにんこーどが
// とどかない → 確認コードが届かない), so that kagome can split it as it
// splits the examples.
func (m *Matcher) respell(normalized string) string {
	rs := []rune(normalized)
	var b strings.Builder
	for i := 0; i < len(rs); {
		if !isHiragana(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		best := 0
		for j := min(len(rs), i+m.spellMax); j >= i+3; j-- {
			if _, ok := m.spell[string(rs[i:j])]; ok {
				best = j
				break
			}
		}
		if best == 0 {
			b.WriteRune(rs[i])
			i++
			continue
		}
		b.WriteString(m.spell[string(rs[i:best])])
		i = best
	}
	return b.String()
}

// applySynonyms rewrites every synonym member in ws to its canonical word,
// longest member first, and kana spellings of known words to those words.
func (m *Matcher) applySynonyms(ws []word) []word {
	out := ws[:0:0]
	for i := 0; i < len(ws); {
		matched := false
		for _, e := range m.syn[ws[i].s] {
			if matchAt(ws, i, e.words) {
				out = append(out, word{s: e.canon, joined: ws[i].joined, noun: true, clause: ws[i].clause, sep: ws[i].sep, pos: ws[i].pos, particle: ws[i+len(e.words)-1].particle})
				if e.neg {
					// 受信できません → 届かない, still a negation: it is
					// what no, 'not yes' and 'no longer' are read from.
					out = append(out, word{s: Neg, joined: true, pos: ws[i].pos})
				}
				i += len(e.words)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		w := ws[i]
		if !m.vocab[w.s] && isKanaOnly(w.s) {
			if a, ok := m.alias[FoldKana(w.s)]; ok {
				w.s = a
			}
		}
		out = append(out, w)
		i++
	}
	return out
}

// matchAt reports whether member occurs in ws at i: same words, and joined
// where the member's words are joined (negations may be apart).
func matchAt(ws []word, i int, member []word) bool {
	if i+len(member) > len(ws) {
		return false
	}
	for k, mw := range member {
		w := ws[i+k]
		if w.s != mw.s {
			return false
		}
		if k > 0 && mw.joined && !w.joined && mw.s != Neg {
			return false
		}
	}
	return true
}

// features returns the word-channel and bigram-channel features of
// normalised text (see wordFeatures and gramFeatures). The bigrams are those
// of the text as written and those of its content words after synonyms
// (届きません and 来ない both give 届か, かな, ない), so that bigrams still
// catch typos and unknown words but no longer favour an example for sharing
// particles, politeness or the same conjugation.
func (m *Matcher) features(normalized string) (wf, gf []string) {
	_, wf, gf = m.analyze(normalized)
	return wf, gf
}

// analyze is features, also returning the content words after synonyms.
func (m *Matcher) analyze(normalized string) (ws []word, wf, gf []string) {
	ws = dropAlready(m.applySynonyms(words(normalized, m.lex, nil)))
	gf = gramFeatures(normalized)
	for _, w := range ws {
		gf = appendGrams(gf, w.s)
	}
	return ws, featuresOf(ws), gf
}

// wordFeatures returns the word-channel features of normalised text: content
// words after synonyms, a negated word as its own feature (届かない → 届く~ない,
// which does not match 届いた), and the negation itself.
func (m *Matcher) wordFeatures(normalized string) []string {
	return featuresOf(dropAlready(m.applySynonyms(words(normalized, m.lex, nil))))
}

// noLonger is the adverb that means "no longer" before a negation
// (もう使っていない, もうありません: what replacing a method is about) and
// "already" or "more" elsewhere (もう教えてしまった, もう一回).
const noLonger = "もう"

// dropAlready removes noLonger where no negation follows it in its clause
// (もう見たけど | ない: already looked, not there): "already" and
// "more" say how or when, not what about, and would otherwise count for the
// topic whose examples say "no longer" (もう教えてしまったかも read as
// replacing the method).
func dropAlready(ws []word) []word {
	out := ws
	for i := len(ws) - 1; i >= 0; i-- {
		if ws[i].s != noLonger || negatedInClause(ws[i+1:]) {
			continue
		}
		if &out[0] == &ws[0] {
			out = slices.Clone(ws)
		}
		out = slices.Delete(out, i, i+1)
		if i < len(out) {
			out[i].joined = false
		}
	}
	return out
}

func featuresOf(ws []word) []string {
	feats := make([]string, 0, 2*len(ws))
	last := -1 // index in feats of the last word a negation may follow
	negNext := false
	for _, w := range ws {
		if w.s == Neg {
			feats = append(feats, w.s)
			if w.before {
				negNext = true
			} else if last >= 0 && !w.clause {
				feats[last] += "~" + Neg
			}
			last = -1
			continue
		}
		if negNext {
			feats = append(feats, w.s+"~"+Neg)
			negNext = false
			last = -1
			continue
		}
		feats = append(feats, w.s)
		if w.s == desire && last >= 0 {
			// 繰り返したくない: not wanting to repeat is wanting not to
			// repeat (繰り返さないようにしたい): the negation goes to the
			// verb, past たい.
			continue
		}
		last = len(feats) - 1
	}
	return feats
}

// desire is the word of the auxiliary たい (want to).
const desire = "たい"

// gramFeatures returns the character bigrams of normalised text, kana folded
// to hiragana, within space-separated chunks; a one-character chunk is its own
// feature and a redaction marker is one feature.
func gramFeatures(normalized string) []string {
	var feats []string
	for _, chunk := range strings.Fields(normalized) {
		feats = appendGrams(feats, chunk)
	}
	return feats
}

// readingGrams returns the bigrams of the kana reading of normalised text
// (確認コード → かくにんこーど), kana folded to hiragana. Words without a
// reading (unknown to kagome, Latin) are taken as written.
func readingGrams(normalized string) []string {
	var feats []string
	for _, chunk := range strings.Fields(normalized) {
		if chunk[0] == '[' {
			continue
		}
		var b strings.Builder
		for _, t := range Tokenizer().Tokenize(chunk) {
			r, ok := t.Reading()
			if !ok || r == "" || r == "*" {
				r = t.Surface
			}
			b.WriteString(r)
		}
		feats = appendGrams(feats, FoldKana(b.String()))
	}
	return feats
}

// kanaWritten reports whether normalised text is written mostly in hiragana:
// at least kanaMin runes, of which no more than two kanji and at least
// kanaShare hiragana.
func kanaWritten(normalized string) bool {
	total, hira, kanji := 0, 0, 0
	for _, r := range normalized {
		switch {
		case r == ' ':
			continue
		case isHiragana(r) || r == 'ー':
			hira++
		case unicode.Is(unicode.Han, r):
			kanji++
		}
		total++
	}
	return total >= kanaMin && kanji <= 2 && float64(hira) >= kanaShare*float64(total)
}

// appendGrams appends the bigrams of one chunk (no spaces) to feats.
func appendGrams(feats []string, chunk string) []string {
	if chunk[0] == '[' && markerRe.MatchString(chunk) {
		return append(feats, chunk)
	}
	rs := []rune(chunk)
	if len(rs) == 1 {
		return append(feats, FoldKana(chunk))
	}
	for i := 0; i+1 < len(rs); i++ {
		feats = append(feats, FoldKana(string(rs[i:i+2])))
	}
	return feats
}

// query is a text's features in one channel: known feature ids and the total
// weight of the text (known and unknown features).
type query struct {
	ids  []int32
	mass float64
	seen float64 // the part of mass of known features
}

// known returns the share of the query's weight that the pack's examples
// use.
func (q query) known() float64 {
	if q.mass == 0 {
		return 0
	}
	return q.seen / q.mass
}

func (c *channel) query(feats []string) query {
	var q query
	for i, f := range feats {
		if slices.Contains(feats[:i], f) {
			continue // texts are short: a scan beats a map
		}
		if id, ok := c.ids[f]; ok {
			q.ids = append(q.ids, id)
			q.mass += c.idf[id]
			q.seen += c.idf[id]
		} else if c.nounOOV > 0 && isNounLike(f) {
			q.mass += c.nounOOV
		} else {
			q.mass += c.oov
		}
	}
	return q
}

// score fills out[intent] with the channel's score in [0, 1]:
// exampleShare × the best weighted Dice overlap with one example, plus the
// rest × the share of the text's weight found anywhere in the intent.
func (c *channel) score(q query, out []float64, exAcc []float64, cov []float64) {
	clear(out)
	if q.mass == 0 {
		return
	}
	clear(exAcc)
	clear(cov)
	for _, id := range q.ids {
		w := c.idf[id]
		for _, ex := range c.postings[id] {
			exAcc[ex] += w
		}
		for _, in := range c.intentsOf[id] {
			cov[in] += w
		}
	}
	for ex, shared := range exAcc {
		if shared == 0 {
			continue
		}
		dice := 2 * shared / (q.mass + c.exMass[ex])
		in := c.exIntent[ex]
		out[in] = max(out[in], dice)
	}
	for in := range out {
		out[in] = exampleShare*out[in] + (1-exampleShare)*cov[in]/q.mass
	}
}

// scratch holds per-call score buffers, so that Understand allocates little.
var scratch = sync.Pool{New: func() any { return new([]float64) }}

// Understand returns the intents text may mean, best first, with scores in
// [0, 1] (see DefaultThreshold). Topic and command intents are always
// candidates; answer intents only when listed in expects, and then they are
// preferred, the more so for short texts (はい, メール, SMSです).
//
// Text of several sentences that is not understood as a whole (やっぱり自分
// でやります。コードが届かないです), or whose two best meanings tie, is read
// again sentence by sentence: a topic or command that one sentence says
// clearly counts, a little discounted, where the other sentences diluted it
// (SMSが受け取れない。番号は間違ってないはず is about SMS, not a changed number).
// An emoji ends a sentence too. A long text (six content words or more)
// still not understood is then read in runs of one or two clauses (ending at
// punctuation or a conjunctive particle such as けど, し): the run that reads
// best is the text's point, a little discounted, where the story around it
// (朝からずっとやってて疲れた) diluted it; not for a text about a thing the
// pack does not know.
//
// A question (…使える？, 何もしなくて大丈夫？) does not answer the bot's
// question: it reads as an answer only where one of the answer's examples is
// itself a question, or as no where it asks what to do if something fails
// (それでも来なかったら？, see failureIf). A text that negates something (バックアップはしてな
// かったと思う) never reads as yes.
//
// A text that opens with an acknowledgement (わかりました、…, ありがとうござい
// ます。…, 了解です …; see acknowledged) is read without it too, and the
// better reading counts: the acknowledgement frames what follows.
func (m *Matcher) Understand(text string, expects []string) []knowledge.Match {
	return m.reading(text, expects, "", "")
}

// Read reads q.Text where q says: the intents it may mean (see
// UnderstandReply) and the facts it states.
func (m *Matcher) Read(q knowledge.Query) knowledge.Reading {
	return knowledge.Reading{Matches: m.reading(q.Text, q.Expects, q.Question, q.Asks)}
}

// UnderstandReply is Understand for a reply to question, the bot's last
// message: a reply that takes up the question's own words (the usual way to
// answer in Japanese: 受信できますか？ – 受信できています) answers it, yes
// where it negates none of them and does not speak of the past (前に使って
// た), no where it negates one of them or says that what it asks about is
// gone (see statesLoss); and a reply that names two
// or more of the expected choices (メールとSMSの両方です) picks the one it
// names best rather than a topic its other words share.
func (m *Matcher) UnderstandReply(text string, expects []string, question string) []knowledge.Match {
	return m.reading(text, expects, question, "")
}

// reading is UnderstandReply with the model's reading of the text, as an
// answer to the question asks, blended in (see blend).
func (m *Matcher) reading(text string, expects []string, question, asks string) []knowledge.Match {
	var qw []string
	if question != "" && len(expects) > 0 {
		qw = m.questionWords(question)
	}
	res := m.blended(text, expects, qw, asks)
	if rest, ok := m.acknowledged(text); ok {
		// A question after the acknowledgement decides when it is
		// understood: 了解です。何日かかる？ asks how long, it does not close
		// the talk.
		if r := m.blended(rest, expects, qw, asks); len(r) > 0 && (len(res) == 0 || r[0].Score > res[0].Score || (r[0].Score >= DefaultThreshold && isQuestion(rest))) {
			return r
		}
	}
	return res
}

// ackWords are the words of acknowledgements and thanks (わかりました, 了解です,
// 承知しました, かしこまりました, なるほど, ありがとう, はい, OK).
var ackWords = map[string]bool{"わかる": true, "分かる": true, "了解": true, "承知": true, "かしこまる": true, "なるほど": true, "ありがとう": true,
	"どうも": true, "はい": true, "ええ": true, "うん": true, "ok": true, "オッケー": true, "理解": true, "納得": true, "thank": true, "thanks": true}

// ackMin is the raw score of yes or done from which a clause reads as an
// acknowledgement in the pack's own words.
const ackMin = 0.6

// acknowledged splits a text that opens with an acknowledgement, up to the
// first punctuation or space (わかりました、次からどうすれば防げますか), and
// returns what follows it, if anything. The opening is an
// acknowledgement when it neither asks nor negates, has at most two words,
// and its words are all words of acknowledgement or it reads as yes or done
// by the pack's examples.
func (m *Matcher) acknowledged(text string) (string, bool) {
	text = strings.TrimSpace(text)
	i := strings.IndexFunc(text, func(r rune) bool {
		switch r {
		case '、', ',', '，', '。', '．', '！', '!', '\n':
			return true
		}
		return unicode.IsSpace(r)
	})
	if i <= 0 {
		return "", false
	}
	lead := text[:i]
	_, size := utf8.DecodeRuneInString(text[i:])
	rest := strings.TrimSpace(text[i+size:])
	if isQuestion(lead) {
		return "", false
	}
	wf := m.wordFeatures(m.normalize(lead))
	if len(wf) == 0 || len(wf) > 2 || slices.Contains(wf, Neg) || m.normalize(rest) == "" {
		return "", false
	}
	all := true
	for _, w := range wf {
		all = all && ackWords[w]
	}
	if !all {
		k := len(m.intents)
		buf := make([]float64, 3*k+2*len(m.words.exIntent))
		raw := buf[:k]
		m.rawScores(m.normalize(lead), nil, raw, buf[k:])
		best := 0.0
		for _, id := range []string{AnswerYes, AnswerDone} {
			if j, ok := m.byID[id]; ok && m.intents[j].kind == knowledge.KindAnswer {
				best = max(best, raw[j])
			}
		}
		if best < ackMin {
			return "", false
		}
	}
	return rest, true
}

// questionWords returns the content words of a question of the bot
// (precomputed for the pack's own messages).
func (m *Matcher) questionWords(question string) []string {
	if qw, ok := m.questions[question]; ok {
		return qw
	}
	return contentOnly(m.wordFeatures(m.normalize(question)))
}

// contentOnly returns the words among word features: no negation, no
// negated compound, no marker, each once.
func contentOnly(feats []string) []string {
	var out []string
	for _, f := range feats {
		if f != Neg && !strings.ContainsAny(f, "+~[") && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// blended is the matcher's reading of text (see understand) blended with
// the model's (see blend).
func (m *Matcher) blended(text string, expects, qw []string, asks string) []knowledge.Match {
	model, stray := m.model.predictStray(m, text, asks, expects)
	return m.blend(m.understand(text, expects, qw), model, asks != "", stray)
}

func (m *Matcher) understand(text string, expects []string, qw []string) []knowledge.Match {
	n := m.normalize(text)
	if n == "" || len(m.intents) == 0 {
		return nil
	}
	k := len(m.intents)
	bp := scratch.Get().(*[]float64)
	defer scratch.Put(bp)
	need := 3*k + 2*len(m.words.exIntent)
	if cap(*bp) < need {
		*bp = make([]float64, need)
	}
	buf := (*bp)[:need]
	raw := buf[:k]
	work := buf[k:]
	wf, cw := m.rawScores(n, expects, raw, work)
	stray := m.strayNoun(cw)
	short := contentWords(wf) <= 2
	question := isQuestion(text)
	negated := slices.Contains(wf, Neg)
	if tail := contrastTail(n); tail != "" && len(expects) > 0 {
		// 再起動しましたがダメです, 機内モードはオフです。でも来ません: after
		// a contrast, the last clause answers the question; the clauses
		// before it only say what was tried.
		part := make([]float64, k)
		twf, _ := m.rawScores(tail, expects, part, work)
		for i, in := range m.intents {
			if in.kind == knowledge.KindAnswer {
				raw[i] = max(raw[i], part[i])
			}
		}
		negated = negated || slices.Contains(twf, Neg)
	}
	ifFails := question && failureIf(n)
	if no, ok := m.byID[AnswerNo]; ok && ifFails && slices.Contains(expects, AnswerNo) {
		// それでも来なかったら？ asks where the "no" branch of the current
		// question leads: its words (来ない) only echo the conversation,
		// so no reads at least as well as any topic they name.
		raw[no] = max(raw[no], echoNo, slices.Max(raw))
	}
	if negated && endsNegated(wf) && slices.Contains(expects, AnswerUnknown) {
		m.noPick(raw, expects)
	}
	if len(qw) > 0 && !question {
		m.echoAnswer(raw, expects, wf, cw, qw, negated)
	}
	if !negated {
		m.bothPick(raw, expects, wf)
	}
	res := m.rank(raw, expects, short, question, negated, ifFails, stray)
	if len(res) > 0 && res[0].Score >= DefaultThreshold && !m.tie(res) {
		return res
	}
	if parts := m.sentences(text); len(parts) > 1 {
		part := make([]float64, k)
		for _, sn := range parts {
			m.rawScores(sn, expects, part, work)
			for i, in := range m.intents {
				if in.kind != knowledge.KindAnswer && i != m.fallback {
					raw[i] = max(raw[i], sentenceShare*part[i])
				}
			}
		}
		res = m.rank(raw, expects, short, question, negated, ifFails, stray)
	}
	if len(res) > 0 && res[0].Score >= DefaultThreshold && !m.tie(res) {
		return res
	}
	if contentWords(wf) < clauseMinWords || stray {
		// Only a long text is diluted by what surrounds its point, and a
		// text about something the pack does not know stays so in part.
		return res
	}
	if spans := m.clauseSpans(n); len(spans) > 0 {
		// The run of clauses that reads best is the text's point; its
		// reading, a little discounted, counts where the whole text's is
		// weaker.
		part, best := make([]float64, k), make([]float64, k)
		top := 0.0
		for _, sn := range spans {
			m.rawScores(sn, expects, part, work)
			s := 0.0
			for i, in := range m.intents {
				if in.kind != knowledge.KindAnswer && i != m.fallback {
					s = max(s, part[i])
				}
			}
			if s > top {
				top = s
				copy(best, part)
			}
		}
		for i, in := range m.intents {
			if in.kind != knowledge.KindAnswer && i != m.fallback {
				raw[i] = max(raw[i], clauseShare*best[i])
			}
		}
		res = m.rank(raw, expects, short, question, negated, ifFails, stray)
	}
	return res
}

// clauseSpans returns the texts of the runs of up to maxClauseSpan
// consecutive clauses of normalised text n, the whole text excepted, or nil
// when n is one clause. Clauses end at spaces (punctuation, emoji, line
// breaks) and after conjunctive particles (けど, し, のに).
func (m *Matcher) clauseSpans(n string) []string {
	ws := words(n, m.lex, nil)
	var starts []int
	for i, w := range ws {
		if i == 0 || w.sep || w.clause {
			if len(starts) == 0 || w.pos > starts[len(starts)-1] {
				starts = append(starts, w.pos)
			}
		}
	}
	if len(starts) < 2 {
		return nil
	}
	starts[0] = 0
	starts = append(starts, len(n))
	k := len(starts) - 1
	var out []string
	for a := 0; a < k; a++ {
		for b := a + 1; b <= min(k, a+maxClauseSpan); b++ {
			if a == 0 && b == k {
				continue
			}
			if sn := strings.TrimSpace(n[starts[a]:starts[b]]); sn != "" {
				out = append(out, sn)
			}
		}
	}
	return out
}

// contrastParticles and contrastConjunctions mark a contrast: what follows
// them says how it turned out (試したけど来ない, オフです。でも来ません).
var (
	contrastParticles    = map[string]bool{"けど": true, "けれど": true, "けれども": true, "が": true, "のに": true}
	contrastConjunctions = map[string]bool{"でも": true, "しかし": true, "だけど": true, "けど": true, "けれど": true, "けれども": true, "ところが": true, "ですが": true, "だが": true}
)

// contrastTail returns what follows the last contrast in normalised text n
// (ダメです in 再起動しましたがダメです), or "" when there is none or nothing
// follows it.
func contrastTail(n string) string {
	end := -1
	toks := Tokenizer().Tokenize(n)
	for i, t := range toks {
		pos0, _ := t.FeatureAt(0)
		pos1, _ := t.FeatureAt(1)
		if (pos0 == "助詞" && (pos1 == "接続助詞" && contrastParticles[t.Surface] || t.Surface == "に" && afterPredicateNo(toks[:i]))) || (pos0 == "接続詞" && contrastConjunctions[t.Surface]) {
			end = t.Position + len(t.Surface)
		}
	}
	if end < 0 {
		return ""
	}
	return strings.TrimSpace(n[end:])
}

// echoAnswer reads a reply that takes up the words of the question qw (at
// least echoMin of its weight) as an answer to it: yes when it is not
// negated, no when it negates one of the question's words or says that
// something is gone (see statesLoss).
func (m *Matcher) echoAnswer(raw []float64, expects, wf []string, cw []word, qw []string, negated bool) {
	echo, total := 0.0, 0.0
	negEcho, thing := false, false // a question's word negated; a question's noun taken up
	for i, f := range wf {
		w, neg := strings.CutSuffix(f, "~"+Neg)
		if neg && slices.Contains(qw, w) {
			negEcho = true
		}
		if neg || f == Neg || strings.ContainsAny(f, "+~[") || slices.Contains(wf[:i], f) ||
			slices.ContainsFunc(cw, func(x word) bool { return x.manner && x.s == f }) {
			// Adverbs say how or when (ちゃんと, まだ, 毎日), not what.
			continue
		}
		weight := m.words.oov
		if id, ok := m.words.ids[f]; ok {
			weight = m.words.idf[id]
		}
		total += weight
		if slices.Contains(qw, f) {
			echo += weight
			thing = thing || isNounLike(f)
		}
	}
	if total == 0 {
		return
	}
	id, share := AnswerYes, echo/total
	switch {
	case statesLoss(wf) && thing:
		// Saying that the thing the question asks about is gone
		// (携帯をなくして今は持ってません on 今お使いの携帯電話の番号と合って
		// いますか？) answers no, fully.
		id, share = AnswerNo, 1
	case share < echoMin:
		return
	case negEcho:
		id = AnswerNo
	case negated || slices.ContainsFunc(wf, pastWords.has):
		// その番号、前に使ってた携帯のだ takes up the question's words
		// about the past: no yes to a question about now.
		return
	}
	if i, ok := m.byID[id]; ok && m.intents[i].kind == knowledge.KindAnswer && slices.Contains(expects, id) {
		raw[i] = max(raw[i], echoScore+echoGain*(share-echoMin))
	}
}

// wordSet is a set of words.
type wordSet map[string]bool

func (s wordSet) has(w string) bool { return s[w] }

// pastWords place what a reply says in the past (前に使ってた, 昔の番号,
// 以前のアドレス, 古い携帯).
var pastWords = wordSet{"前": true, "昔": true, "以前": true, "古い": true, "元": true, "旧": true, "去年": true, "当時": true}

// bothPick reads a text that names two or more of the expected choices
// (メールとSMSの両方です, SMSもアプリも設定してる; see names) as the one it
// reads best:
// naming the question's options answers it, whatever topic the rest of its
// words (両方) share.
func (m *Matcher) bothPick(raw []float64, expects, wf []string) {
	named, best := 0, -1
	for _, id := range expects {
		if i, ok := m.byID[id]; ok && isChoice(id) && slices.ContainsFunc(m.names[i], func(w string) bool { return slices.Contains(wf, w) }) {
			named++
			if best < 0 || raw[i] > raw[best] {
				best = i
			}
		}
	}
	if named < 2 {
		return
	}
	top := 0.0
	for i, in := range m.intents {
		if in.kind != knowledge.KindAnswer {
			top = max(top, raw[i])
		}
	}
	raw[best] = max(raw[best], top)
}

// noPick halves the choices a text ending in a negation names together
// (メールかSMSかわからない, SMSだったかアプリだったか覚えてない): naming two of
// them is no pick, and the unknown answer's own words then decide.
func (m *Matcher) noPick(raw []float64, expects []string) {
	named := 0
	for _, id := range expects {
		if i, ok := m.byID[id]; ok && isChoice(id) && raw[i] >= choiceMin {
			named++
		}
	}
	if named < 2 {
		return
	}
	for _, id := range expects {
		if i, ok := m.byID[id]; ok && isChoice(id) && raw[i] >= choiceMin {
			raw[i] *= noPickShare
		}
	}
}

// endsNegated reports whether the last word of word features is a negation
// (メールかSMSかわからない, not アプリじゃなくてメール).
func endsNegated(feats []string) bool {
	last := ""
	for _, f := range feats {
		if !strings.ContainsAny(f, "+~") {
			last = f
		}
	}
	return last == Neg
}

// isChoice reports whether answer id picks one option of several (メール,
// SMS), unlike yes, no, unknown and done.
func isChoice(id string) bool {
	switch id {
	case AnswerYes, AnswerNo, AnswerUnknown, AnswerDone:
		return false
	}
	return true
}

// tie reports whether the best reading leads the best one of another meaning
// by less than tieLead.
func (m *Matcher) tie(res []knowledge.Match) bool {
	meaning := m.intents[m.byID[res[0].Intent]].meaning
	for _, r := range res[1:] {
		if m.intents[m.byID[r.Intent]].meaning != meaning {
			return res[0].Score-r.Score < tieLead
		}
	}
	return false
}

// rank turns raw scores into matches, best first: expected answers gain
// their bonus (see Understand for the answers a question or a negation
// cannot be), the best is calibrated, and at most maxResults are kept.
func (m *Matcher) rank(raw []float64, expects []string, short, question, negated, ifFails, stray bool) []knowledge.Match {
	var res []knowledge.Match
	for i, in := range m.intents {
		s := raw[i]
		if in.kind == knowledge.KindAnswer {
			asks := in.asks || (ifFails && in.id == AnswerNo)
			if !slices.Contains(expects, in.id) || (question && !asks) || (negated && (in.id == AnswerYes || in.id == AnswerDone)) {
				continue
			}
			if s > 0 {
				s += answerBonus
				if short {
					s += shortBonus
				}
			}
		}
		if s <= 0.01 {
			continue
		}
		res = append(res, knowledge.Match{Intent: in.id, Score: s})
	}
	sort.SliceStable(res, func(i, j int) bool { return res[i].Score > res[j].Score })
	if len(res) > 0 && (!stray || m.byID[res[0].Intent] == m.fallback) {
		// A reading of a text about something the pack does not know
		// gains no lead (see strayNoun), unless it is the fallback one.
		m.calibrate(res)
	}
	clampScores(res)
	if len(res) > maxResults {
		res = res[:maxResults]
	}
	return res
}

// rawScores fills raw (one score per intent) for normalised text n, before
// answer bonuses and calibration, and returns its word features and whether
// it names a thing the pack does not know (see strayNoun). work is scratch
// space of 2×intents + 2×examples.
func (m *Matcher) rawScores(n string, expects []string, raw, work []float64) ([]string, []word) {
	k := len(m.intents)
	kana := kanaWritten(n)
	cw, wf, gf, wq := m.read(n, kana)
	gq := m.grams.query(gf)

	ws, gs := work[:k], work[k:2*k]
	exAcc := work[2*k : 2*k+len(m.words.exIntent)]
	cov := work[2*k+len(m.words.exIntent):][:k]
	m.words.score(wq, ws, exAcc, cov)
	m.grams.score(gq, gs, exAcc, cov)
	if kana {
		// Bigrams of the reading stand in for the written ones wherever
		// they match better: the text spells in kana what examples write
		// in kanji or katakana.
		rs := work[2*k+len(m.words.exIntent):][:k] // cov is free again
		tmp := make([]float64, k)
		m.reads.score(m.reads.query(readingGrams(n)), tmp, exAcc, rs)
		for i := range gs {
			gs[i] = max(gs[i], tmp[i])
		}
	}

	bestIn := 0.0
	for i, in := range m.intents {
		s := wordWeight*ws[i] + (1-wordWeight)*gs[i]
		raw[i] = s
		if i != m.fallback && (in.kind != knowledge.KindAnswer || slices.Contains(expects, in.id)) {
			bestIn = max(bestIn, s)
		}
	}
	if m.fallback >= 0 {
		// Text about something else entirely (今日の天気は, エクセルの使い方)
		// has mostly words no intent of ours uses and matches nothing well:
		// that is evidence for the fallback intent however it is worded.
		if r, n := m.outOfDomain(wf); r >= oodMin && n >= 2 {
			raw[m.fallback] = max(raw[m.fallback], min(oodMax, oodScale*r*(1-bestIn)))
		}
	}
	if no, ok := m.byID[AnswerNo]; ok && m.intents[no].kind == knowledge.KindAnswer && slices.Contains(expects, AnswerNo) && negatedEcho(wf) && !statesLoss(wf) {
		// 見てない, やってません: a short reply that negates a verb answers a
		// yes/no question with no, whatever the verb; but not one that
		// says something is gone (そのアドレスはもうありません): that is a
		// statement, for the answer's own examples or a topic to read.
		raw[no] = max(raw[no], echoNo)
	}
	return wf, cw
}

// read analyses normalised text n (see analyze) and queries the word
// channel. Text written in hiragana (kana, or short and all kana) is also
// read respelt (see respell): hiragana that kagome split into fragments
// (かくにんこーど) reads as the words it spells; but a reading kagome made
// sense of (まだかかりそうですか: かかる, not 係) stays unless the respelt
// one finds more of the text among the pack's words, or as much in fewer
// words (確認コード, not 書く + 個).
func (m *Matcher) read(n string, kana bool) (cw []word, wf, gf []string, wq query) {
	cw, wf, gf = m.analyze(n)
	wq = m.words.query(wf)
	if kana || shortKana(n) {
		if r := m.respell(n); r != n {
			rcw, rwf, _ := m.analyze(r)
			rq := m.words.query(rwf)
			if d := rq.known() - wq.known(); d > 1e-9 || (d > -1e-9 && contentWords(rwf) < contentWords(wf)) {
				cw, wf, wq = rcw, rwf, rq
			}
		}
	}
	return cw, wf, gf, wq
}

// sentences splits text at sentence ends (。！？!?, line breaks, and emoji,
// which end sentences in chat: 二度とこんな目にあいたくない😩対策おしえて) and
// returns the normalised sentences that hold something, or nil when there is
// only one.
func (m *Matcher) sentences(text string) []string {
	parts := strings.FieldsFunc(text, func(r rune) bool {
		switch r {
		case '。', '．', '！', '？', '!', '?', '\n':
			return true
		}
		return r >= 0x2000 && unicode.Is(unicode.So, r)
	})
	var out []string
	for _, p := range parts {
		if n := m.normalize(p); n != "" {
			out = append(out, n)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// isQuestion reports whether text asks something: it ends in a question mark
// (…使える？, 消えちゃう?), in a polite question ending (…ですか, …ますか) or
// in asking what to do (じゃあどうすれば, どうしたらいいの). A question is not the answer yes, whatever words it shares with one.
func isQuestion(text string) bool {
	t := strings.TrimRightFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || r == '。' || r == '…' || r == '・' || unicode.Is(unicode.So, r)
	})
	if strings.HasSuffix(t, "?") || strings.HasSuffix(t, "？") {
		return utf8.RuneCountInString(t) > 4 // はい？ is not a question about anything
	}
	for _, end := range []string{"ですか", "ますか", "でしょうか", "かな", "どうすれば", "どうしたら", "すればいい", "したらいい", "いいの"} {
		if strings.HasSuffix(t, end) {
			return true
		}
	}
	return false
}

// failureEnds are the endings of a condition that something fails
// (来なかったら, 使えないなら, だめだったら), in normalised text.
var failureEnds = []string{"なかったら", "なければ", "ないなら", "ない場合", "ないとき", "ない時", "だめなら", "だめだったら", "駄目なら", "無理なら", "無理だったら", "ませんでしたら"}

// failureIf reports whether normalised text (a question) asks what to do if
// something fails: それでも来なかったら？, 待ってもだめならどうする？. Such a
// question reads as the answer no: it asks where that branch leads.
func failureIf(normalized string) bool {
	n := FoldKana(normalized)
	for _, end := range failureEnds {
		if strings.Contains(n, FoldKana(end)) {
			return true
		}
	}
	return false
}

// shortKana reports a short text written in kana only (めーる, あぷり): too
// short for kanaWritten, yet kagome splits it into pieces that mean nothing
// unless it is respelled as the word it reads as.
func shortKana(normalized string) bool {
	return utf8.RuneCountInString(normalized) >= 3 && isHiraganaOnly(strings.ReplaceAll(normalized, " ", ""))
}

// calibrate turns the best raw score into a confidence: a reading that stands
// out from every reading with another meaning is more likely right than one
// that barely leads, so the best score gains its lead over the best rival
// (leadWeight of it, at most half the score itself, so that a weak match
// with no rival stays weak). Scores are clamped to [0, 1]; order is kept.
func (m *Matcher) calibrate(res []knowledge.Match) {
	if len(res) == 0 {
		return
	}
	best := res[0].Score
	meaning := m.intents[m.byID[res[0].Intent]].meaning
	rival := 0.0
	for _, r := range res[1:] {
		if m.intents[m.byID[r.Intent]].meaning != meaning {
			rival = r.Score
			break
		}
	}
	res[0].Score = best + leadWeight*min(best-rival, best/2)
}

// clampScores clamps scores to [0, 1].
func clampScores(res []knowledge.Match) {
	for i := range res {
		res[i].Score = min(1, max(0, res[i].Score))
	}
}

// strayNoun reports whether a text's words hold a noun that no intent but
// the fallback one uses and the bot never says (カレー, キーボード, 壁紙, 署名),
// and no noun of the domain that names a thing (see things) it is about: the
// text is about something the pack does not know, so that one of its words
// matching an example (作り方, 反応しない, 変えたい) is weak evidence. An
// unknown noun that modifies a known one (試行回数: 試行 + 回数) is no such
// noun, nor one a thing of ours owns (アカウントの中身). A thing of ours does
// not count when it only says where or with what (Outlookで署名を設定したい:
// で, に, から) while the unknown noun is the subject or object, nor when the
// unknown noun owns it (Zoomのパスワード).
func (m *Matcher) strayNoun(ws []word) bool {
	return m.strayNounIn(ws, func(w string) bool { return m.domain[w] })
}

// strayNounIn is strayNoun with the words of the domain those known says.
func (m *Matcher) strayNounIn(ws []word, known func(string) bool) bool {
	strays, core := 0, false
	stray := func(i int) bool {
		w := ws[i]
		if !isNounLike(w.s) || known(w.s) || strings.HasPrefix(w.s, "[") || m.things[w.s] {
			return false
		}
		if i+1 < len(ws) && ws[i+1].joined && isNounLike(ws[i+1].s) && known(ws[i+1].s) {
			return false
		}
		if i > 0 && m.things[ws[i-1].s] && ws[i-1].particle == "の" {
			return false // アカウントの中身: a part of a thing of ours
		}
		return isThing(w.s)
	}
	isStray := make([]bool, len(ws))
	for i := range ws {
		if isStray[i] = stray(i); isStray[i] {
			strays++
			core = core || coreRole(ws[i].particle)
		}
	}
	if strays == 0 {
		return false
	}
	for i, w := range ws {
		if !m.things[w.s] {
			continue
		}
		if i > 0 && isStray[i-1] && ws[i-1].particle == "の" {
			// Zoomのパスワードを: the unknown noun's thing.
			core = core || coreRole(w.particle)
			continue
		}
		if coreRole(w.particle) {
			return false
		}
	}
	// Things of ours, if any, only say where or with what.
	for _, w := range ws {
		if m.things[w.s] {
			return core
		}
	}
	return true
}

// coreRole reports whether a noun followed by particle p is what its clause
// is about: its subject, object or topic (が, を, は, も, って), or bare;
// not a place, means or owner (で, に, から, へ, と, の).
func coreRole(p string) bool {
	switch p {
	case "", "が", "を", "は", "も", "って":
		return true
	}
	return false
}

// verbalNoun reports whether w is a noun that names an action (変更, 設定,
// 追加, バックアップ: サ変 nouns): like a verb, it says what is done, which
// any subject may share, not what the text is about.
func verbalNoun(w string) bool {
	toks := Tokenizer().Tokenize(w)
	if len(toks) != 1 {
		return false
	}
	pos1, _ := toks[len(toks)-1].FeatureAt(1)
	return pos1 == "サ変接続"
}

// isThing reports whether noun w names a thing: not a number, a pronoun,
// a suffix or a noun used as an adverb (今度, 昨日, 最近), which say when or
// how much, not what about.
func isThing(w string) bool {
	if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return false
	}
	toks := Tokenizer().Tokenize(w)
	if len(toks) != 1 {
		return true
	}
	switch pos1, _ := toks[0].FeatureAt(1); pos1 {
	case "副詞可能", "数", "代名詞", "接尾", "非自立":
		return false
	}
	return true
}

// outOfDomain returns the share of the text's distinct content words that no
// intent but the fallback one uses (1 for 今日の天気は: 今日, 天気; 0 for
// コードが来ない), and the number of such words. Text with an anchor word of
// the domain has none (コードの有効期限が切れた).
func (m *Matcher) outOfDomain(feats []string) (share float64, words int) {
	return m.outOfDomainIn(feats, func(w string) bool { return m.domain[w] })
}

// outOfDomainIn is outOfDomain with the words of the domain those known says.
func (m *Matcher) outOfDomainIn(feats []string, known func(string) bool) (share float64, words int) {
	total, unknown := 0, 0
	for i, f := range feats {
		if m.anchors[f] {
			return 0, 0
		}
		if f == Neg || strings.ContainsAny(f, "+~[") || slices.Contains(feats[:i], f) {
			continue
		}
		// Short hiragana words are what kagome makes of gibberish
		// (ほげほげ → ほる, げ): they say nothing either way.
		if isHiraganaOnly(f) && utf8.RuneCountInString(f) < 3 {
			continue
		}
		total++
		switch {
		case !known(f):
			unknown++
		case isNounLike(f):
			// A noun of ours says what the text is about: it weighs
			// like two other words.
			total++
		}
	}
	if total == 0 {
		return 0, 0
	}
	return float64(unknown) / float64(total), total
}

// isNounLike reports whether a word looks like a noun rather than a verb,
// adjective or function word: it does not end in hiragana (確認コード, 通知,
// sms, but not 届く, わかる, たい).
func isNounLike(w string) bool {
	if w == "" || w == Neg || strings.ContainsAny(w, "+~[") {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(w)
	return !isHiragana(r)
}

// negatedEcho reports whether word features are a short negated reply: one or
// two words ending in a negation (見てない, 届いてません, ないです).
func negatedEcho(feats []string) bool {
	last := ""
	for _, f := range feats {
		if !strings.ContainsAny(f, "+~") {
			last = f
		}
	}
	return last == Neg && contentWords(feats) <= 3
}

// negatedInClause reports whether a negation comes in ws before the next
// clause (もう使っていない, not もう見たけど | ない).
func negatedInClause(ws []word) bool {
	for i, w := range ws {
		if w.s == Neg {
			return true
		}
		if i+1 < len(ws) && ws[i+1].clause {
			return false
		}
	}
	return false
}

// lossVerbs are the predicates of having and using: negated (持っていない,
// 使っていない, 手元にない), they say that something is gone, not merely no.
var lossVerbs = map[string]bool{"持つ": true, "所有": true, "所持": true, "手元": true, "使う": true, "使用": true, "利用": true,
	"use": true, "own": true} // English stems (see englishWord): I don't use it

// statesLoss reports whether word features say that something is no longer
// there or no longer had: noLonger before a negation (もうありません, もう
// 届かない; see dropAlready) or a negated verb of having or using.
func statesLoss(feats []string) bool {
	for _, f := range feats {
		w, negated := strings.CutSuffix(f, "~"+Neg)
		if w == noLonger || (negated && lossVerbs[w]) {
			return true
		}
	}
	return false
}

// contentWords counts the words among word features (not the compounds).
func contentWords(feats []string) int {
	n := 0
	for _, f := range feats {
		if !strings.ContainsAny(f, "+~") {
			n++
		}
	}
	return n
}
