package understand

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/todoku/todoku/knowledge"
	"github.com/todoku/todoku/knowledge/understand/linear"
)

// Model settings, measured by cross-validation over the pack's examples
// (model_eval_test.go).
const (
	// modelTemp divides the model's logits: trained with weight decay on a
	// few examples per intent, it is too modest; at 0.5 the negative log
	// likelihood of held-out examples is lowest and its probabilities
	// match how often it is right (of readings at 0.9 or more, 90%).
	modelTemp = 0.5
	// modelShare is the model's share of a reading's score where it raises
	// the matcher's (see blend).
	modelShare = 0.3
	// answerWeight is the weight of a question's own answer examples
	// against the generic examples of the answer intents.
	answerWeight = 2
)

// model is the classifier trained at New from the pack's examples: the
// examples of every intent and the answers of every question.
type model struct {
	ids     map[string]int32 // feature → id
	lin     *linear.Model
	classes []int          // class → intent index
	words   map[string]int // word → examples of the domain that have it (see features)
	temp    float64        // divides the logits (modelTemp)
}

// analysis is what the model reads of a text.
type analysis struct {
	question bool
	cw       []word   // content words (see analyze)
	words    []string // word features (see wordFeatures)
	chars    string   // normalised, kana folded
	reading  []string // bigrams of the kana reading
}

// analyse reads a text once for the model.
func (m *Matcher) analyse(text string) (analysis, bool) {
	n := m.normalize(text)
	if n == "" {
		return analysis{}, false
	}
	cw, wf, _, _ := m.read(n, kanaWritten(n))
	return analysis{question: isQuestion(text), cw: cw, words: wf, chars: FoldKana(n), reading: readingGrams(n)}, true
}

// features returns the model's features of an analysed text: character
// bigrams and trigrams (and single kanji) of the normalised text, words
// after synonyms and their bigrams, bigrams of its kana reading, and
// signals (a question, a negation, how many words; a noun the domain does
// not know, see strayNoun, and how many of its words the domain does not
// know, see outOfDomain). Where the text answers question asks, the word
// features and signals also count conjoined with it, so that the
// question's own answer examples teach what answers it. known says which
// words are of the domain.
func (a analysis) features(m *Matcher, asks string, known func(string) bool) []string {
	var fs []string
	for _, chunk := range strings.Fields(a.chars) {
		rs := []rune("^" + chunk + "$")
		for i := range rs {
			if i+2 <= len(rs) {
				fs = append(fs, "c:"+string(rs[i:i+2]))
			}
			if i+3 <= len(rs) {
				fs = append(fs, "c:"+string(rs[i:i+3]))
			}
			if unicode.Is(unicode.Han, rs[i]) {
				fs = append(fs, "c:"+string(rs[i]))
			}
		}
	}
	for _, g := range a.reading {
		fs = append(fs, "r:"+g)
	}
	var ctx []string
	prev := "^"
	for _, w := range a.words {
		ctx = append(ctx, "w:"+w, "b:"+prev+"_"+w)
		prev = w
	}
	ctx = append(ctx, "b:"+prev+"_$")
	if m.strayNounIn(a.cw, known) {
		ctx = append(ctx, "s:stray")
	}
	if share, n := m.outOfDomainIn(a.words, known); n >= 2 {
		ctx = append(ctx, "s:ood"+strconv.Itoa(int(4*share)))
	}
	if a.question {
		ctx = append(ctx, "s:question")
	}
	if slices.Contains(a.words, Neg) {
		ctx = append(ctx, "s:neg")
	}
	if endsNegated(a.words) {
		ctx = append(ctx, "s:negend")
	}
	ctx = append(ctx, "s:words"+strconv.Itoa(min(contentWords(a.words), 6)))
	fs = append(fs, ctx...)
	if asks != "" {
		for _, f := range ctx {
			fs = append(fs, "q:"+asks+"|"+f)
		}
	}
	slices.Sort(fs)
	return slices.Compact(fs)
}

// trainModel fits the classifier over every intent's examples and keywords
// and every question's answer examples.
func (m *Matcher) trainModel(p *knowledge.Pack) *model {
	type doc struct {
		intent int
		asks   string
		weight float32
		a      analysis
	}
	var docs []doc
	add := func(id, asks string, weight float32, texts ...string) {
		idx, ok := m.byID[id]
		if !ok {
			return
		}
		for _, t := range texts {
			if a, ok := m.analyse(t); ok {
				docs = append(docs, doc{idx, asks, weight, a})
			}
		}
	}
	for _, in := range p.Intents {
		add(in.ID, "", 1, in.Examples...)
		add(in.ID, "", 1, in.Keywords...)
	}
	for _, q := range p.Questions {
		for _, ans := range q.Answers {
			add(ans.Answer, q.ID, answerWeight, ans.Examples...)
		}
	}
	md := &model{ids: map[string]int32{}, words: map[string]int{}, temp: modelTemp}
	for _, d := range docs {
		if d.intent == m.fallback {
			continue
		}
		for i, w := range d.a.words {
			if !slices.Contains(d.a.words[:i], w) {
				md.words[w]++
			}
		}
	}
	classOf := map[int]int32{}
	exs := make([]linear.Example, 0, len(docs))
	for _, d := range docs {
		c, ok := classOf[d.intent]
		if !ok {
			c = int32(len(md.classes))
			classOf[d.intent] = c
			md.classes = append(md.classes, d.intent)
		}
		// Each example is read as if it were new (leave one out): a word
		// only it has is unknown to the domain, as the words of a text no
		// example has will be, so that the signals learn what such words
		// say.
		self := 0
		if d.intent != m.fallback {
			self = 1
		}
		fs := d.a.features(m, d.asks, func(w string) bool { return md.words[w] > self || m.said[w] })
		ids := make([]int32, len(fs))
		for i, f := range fs {
			id, ok := md.ids[f]
			if !ok {
				id = int32(len(md.ids))
				md.ids[f] = id
			}
			ids[i] = id
		}
		exs = append(exs, linear.Example{Features: ids, Class: c, Weight: d.weight})
	}
	md.lin = linear.Train(exs, len(md.ids), len(md.classes), linear.Options{})
	return md
}

// predict returns the model's reading of a text asked where q says:
// probabilities over the topic and command intents and the answers q
// expects, best first.
func (md *model) predict(m *Matcher, text, asks string, expects []string) []knowledge.Match {
	res, _ := md.predictStray(m, text, asks, expects)
	return res
}

// predictStray is predict, also saying whether the text is about a thing
// the pack does not know (see strayNoun).
func (md *model) predictStray(m *Matcher, text, asks string, expects []string) ([]knowledge.Match, bool) {
	a, ok := m.analyse(text)
	if !ok || md == nil {
		return nil, false
	}
	var ids []int32
	for _, f := range a.features(m, asks, func(w string) bool { return md.words[w] > 0 || m.said[w] }) {
		if id, ok := md.ids[f]; ok {
			ids = append(ids, id)
		}
	}
	z := make([]float64, len(md.classes))
	allowed := make([]bool, len(md.classes))
	for c, i := range md.classes {
		in := m.intents[i]
		allowed[c] = in.kind != knowledge.KindAnswer || slices.Contains(expects, in.id)
	}
	md.lin.Scores(ids, z)
	linear.Softmax(z, allowed, md.temp)
	res := make([]knowledge.Match, 0, len(md.classes))
	for c, i := range md.classes {
		if allowed[c] {
			res = append(res, knowledge.Match{Intent: m.intents[i].id, Score: z[c]})
		}
	}
	sortMatches(res)
	return res, m.strayNoun(a.cw)
}

// sortMatches sorts matches best first, ties by intent id.
func sortMatches(ms []knowledge.Match) {
	slices.SortFunc(ms, func(a, b knowledge.Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.Intent, b.Intent)
	})
}

// blend lets the model's reading raise the matcher's: each topic or command
// intent scores the more of the matcher's score and modelShare of the
// model's probability plus the rest of the matcher's score. Answers keep the
// matcher's score unless the model learnt them from the question's own
// answer examples (answers true). A text about a thing the pack does not
// know (stray, see strayNoun) keeps the matcher's reading, but for the
// fallback intent. At most maxResults, best first.
func (m *Matcher) blend(matcher, model []knowledge.Match, answers, stray bool) []knowledge.Match {
	if model == nil {
		return matcher
	}
	out := slices.Clone(matcher)
	for _, x := range model {
		k := m.byID[x.Intent]
		if (!answers && m.intents[k].kind == knowledge.KindAnswer) || (stray && k != m.fallback) {
			continue
		}
		i := slices.IndexFunc(out, func(y knowledge.Match) bool { return y.Intent == x.Intent })
		if i < 0 {
			out = append(out, knowledge.Match{Intent: x.Intent})
			i = len(out) - 1
		}
		out[i].Score = max(out[i].Score, (1-modelShare)*out[i].Score+modelShare*x.Score)
	}
	sortMatches(out)
	out = slices.DeleteFunc(out, func(x knowledge.Match) bool { return x.Score <= 0.01 })
	if len(out) > maxResults {
		out = out[:maxResults]
	}
	return out
}
