package understand

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/todoku/todoku/knowledge"
)

// loadPack reads a pack with yaml.v3 directly, so that these tests depend on
// the model only, not on the loader.
func loadPack(tb testing.TB, path string) *knowledge.Pack {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read pack: %v", err)
	}
	var p knowledge.Pack
	if err := yaml.Unmarshal(data, &p); err != nil {
		tb.Fatalf("parse %s: %v", path, err)
	}
	return &p
}

var (
	testMatcherOnce sync.Once
	testMatcher     *Matcher
)

func newTestMatcher(tb testing.TB) *Matcher {
	tb.Helper()
	testMatcherOnce.Do(func() { testMatcher = New(loadPack(tb, "testdata/pack.yaml")) })
	return testMatcher
}

func TestUnderstandTestPack(t *testing.T) {
	m := newTestMatcher(t)
	askMethod := []string{"email", "sms", "app"}
	yesNo := []string{"yes", "no"}
	tests := []struct {
		text    string
		expects []string
		want    string // top intent at or above DefaultThreshold; "" for none
	}{
		{"こんにちは！", nil, "greeting"},
		{"確認コードが届きません", nil, "code_missing"},
		{"コード来ないんだけど", nil, "code_missing"},
		{"ｺｰﾄﾞがこない", nil, "code_missing"},
		{"迷惑メールにもないです", nil, "email_missing"},
		{"スパムフォルダも見た", nil, "email_missing"},
		{"ショートメールが来ません", nil, "sms_missing"},
		{"ＳＭＳがこない", nil, "sms_missing"},
		{"Authenticatorのコードが違うって", nil, "app_trouble"},
		{"オーセンティケーターに通知が来ない", nil, "app_trouble"},
		{"そのメアドはもう使えない", nil, "no_longer"},
		{"すべての情報が不明を選ぶとどうなる？", nil, "what_no_longer"},
		{"30日も待つの？", nil, "waiting"},
		{"担当の人と話したいです", nil, "human"},
		{"最初からやり直したい", nil, "restart"},
		// Answers count only where the node expects them.
		{"メール", askMethod, "email"},
		{"SMSです", askMethod, "sms"},
		{"ショートメール", askMethod, "sms"},
		{"アプリ", askMethod, "app"},
		{"はい", yesNo, "yes"},
		{"うん", yesNo, "yes"},
		{"いいえ", yesNo, "no"},
		{"はい", nil, ""},
		// A short negated reply answers no where no is expected.
		{"見てないです", yesNo, "no"},
		{"まだやってません", yesNo, "no"},
		// One unknown word: not understood.
		{"xyzzy", nil, ""},
		// Gibberish is not understood either, not out of scope.
		{"ほげほげ", nil, ""},
		{"ふがふが", nil, ""},
		// Several words no intent uses: out of scope however worded.
		{"明日の株価が知りたい", nil, "other_topics"},
		{"おすすめのラーメン屋さんは？", nil, "other_topics"},
		// Unknown words around known ones do not make it out of scope.
		{"昨日から何回やってもコードが来ない", nil, "code_missing"},
		{"😢", nil, ""},
		// A question never reads as the answer yes.
		{"お願いしますか？", yesNo, ""},
		{"はい？", yesNo, "yes"},
		// Short text written in kana reads as the word it spells.
		{"めーる", askMethod, "email"},
		// A sentence that says it clearly counts when the whole text is vague.
		{"いろいろ試してみたけどよくわからなくて。30日も待つの？", nil, "waiting"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			ms := m.Understand(tt.text, tt.expects)
			got := ""
			if len(ms) > 0 && ms[0].Score >= DefaultThreshold {
				got = ms[0].Intent
			}
			if got != tt.want {
				t.Fatalf("Understand(%q, %v) top = %q, want %q (candidates %v)", tt.text, tt.expects, got, tt.want, ms)
			}
		})
	}
}

func TestUnderstandAnswersOnlyWhenExpected(t *testing.T) {
	m := newTestMatcher(t)
	for _, match := range m.Understand("はい、メールです", []string{"yes"}) {
		if match.Intent == "email" || match.Intent == "sms" || match.Intent == "app" {
			t.Fatalf("answer %q returned though not expected", match.Intent)
		}
	}
}

func TestUnderstandScoresSortedAndBounded(t *testing.T) {
	m := newTestMatcher(t)
	for _, text := range []string{"コードが来ない", "メール", "はい", "担当者", "a", "30日"} {
		ms := m.Understand(text, []string{"yes", "no", "email", "sms", "app"})
		if len(ms) > maxResults {
			t.Fatalf("%q: %d results, want at most %d", text, len(ms), maxResults)
		}
		for i, match := range ms {
			if match.Score < 0 || match.Score > 1 {
				t.Fatalf("%q: score %v out of [0,1]", text, match.Score)
			}
			if i > 0 && ms[i-1].Score < match.Score {
				t.Fatalf("%q: results not sorted: %v", text, ms)
			}
		}
	}
}

func TestSynonymsAndAliases(t *testing.T) {
	m := newTestMatcher(t)
	tests := []struct{ in, want string }{
		{"メアドに", "メールアドレス"},
		{"ショートメールが", "sms"},
		{"テキストメッセージ", "sms"},
		{"スマホ", "携帯"},
		{"authenticator", "認証アプリ"},
		{"これ以上使わない", "これ以上使いません"},
		{"とどかない", "届く~ない ない"},
		{"届いた", "届く"},
	}
	for _, tt := range tests {
		got := ""
		for i, f := range m.wordFeatures(Normalize(tt.in)) {
			if i > 0 {
				got += " "
			}
			got += f
		}
		if got != tt.want {
			t.Fatalf("wordFeatures(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnderstandConcurrent(t *testing.T) {
	m := newTestMatcher(t)
	want := m.Understand("迷惑メールにもない", nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got := m.Understand("迷惑メールにもない", nil)
				if len(got) != len(want) || got[0] != want[0] {
					t.Errorf("concurrent result %v, want %v", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestRespell(t *testing.T) {
	m := newTestMatcher(t)
	tests := []struct{ in, want string }{
		{"こーどがこない", "コードがこない"},
		{"めーるあどれすにとどかない", "メールアドレスにとどかない"},
		{"すまほ", "スマホ"},
		{"ふつうのぶん", "ふつうのぶん"},
	}
	for _, tt := range tests {
		if got := m.respell(Normalize(tt.in)); got != tt.want {
			t.Fatalf("respell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKanaWritten(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"かくにんこーどがとどかない", true},
		{"こーどがこない", true},
		{"確認コードが届かない", false},
		{"はい", false},
		{"コードがとどかないんですけど", true},
		{"認証コードが届かないです", false},
	}
	for _, tt := range tests {
		if got := kanaWritten(Normalize(tt.in)); got != tt.want {
			t.Fatalf("kanaWritten(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestKanaWrittenText checks that text written in hiragana finds the intent
// its kanji and katakana spelling finds.
func TestKanaWrittenText(t *testing.T) {
	m := newTestMatcher(t)
	for _, tt := range []struct{ kana, written string }{
		{"こーどがとどかない", "コードが届かない"},
		{"めいわくめーるにもない", "迷惑メールにもない"},
	} {
		k, w := m.Understand(tt.kana, nil), m.Understand(tt.written, nil)
		if len(k) == 0 || len(w) == 0 || k[0].Intent != w[0].Intent {
			t.Fatalf("%q → %v, %q → %v: want the same best intent", tt.kana, k, tt.written, w)
		}
	}
}

func TestIsQuestion(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"いつから使える？", true},
		{"消えちゃう?", true},
		{"変更できますか", true},
		{"大丈夫でしょうか。", true},
		{"はい？", false},
		{"はい", false},
		{"届きました！", false},
		{"まだです", false},
		{"じゃあどうすれば", true},
		{"どうしたらいいの", true},
		{"それでいいです", false},
	}
	for _, tt := range tests {
		if got := isQuestion(tt.text); got != tt.want {
			t.Errorf("isQuestion(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestSentences(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"やっぱり自分でやります。コードが届かないです", []string{"やっぱり自分でやります", "コードが届かないです"}},
		{"届いた！ありがとう！", []string{"届いた", "ありがとう"}},
		{"コードが届かない", nil},
		{"コードが届かない。", nil},
		{"SMS\n30日って何?", []string{"sms", "30日って何"}},
		{"二度とこうなりたくない😩対策おしえて", []string{"二度とこうなりたくない", "対策おしえて"}},
	}
	for _, tt := range tests {
		got := (&Matcher{}).sentences(tt.text)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("sentences(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestClauseSpans: a text of several clauses (ending at punctuation or
// after a conjunctive particle) is read in runs of up to two clauses.
func TestClauseSpans(t *testing.T) {
	_, m := newRealMatcher(t)
	tests := []struct {
		text string
		want []string
	}{
		{"コードが届かない", nil},
		{"試したけど、来ないし、疲れた", []string{"試したけど", "試したけど 来ないし", "来ないし", "来ないし 疲れた", "疲れた"}},
		{"見たけどない", []string{"見たけど", "ない"}},
	}
	for _, tt := range tests {
		got := m.clauseSpans(m.normalize(tt.text))
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("clauseSpans(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestNoYesFromQuestionsOrNegations: a question is no answer unless the
// answer has question examples, and a negated text is never yes.
func TestNoYesFromQuestionsOrNegations(t *testing.T) {
	m := newTestMatcher(t)
	for _, text := range []string{"お願いしますか？", "お願いしません", "そうですかね？"} {
		for _, match := range m.Understand(text, []string{"yes", "no"}) {
			if match.Intent == "yes" {
				t.Errorf("%q reads as yes (%v)", text, match.Score)
			}
		}
	}
	if ms := m.Understand("お願いします", []string{"yes", "no"}); len(ms) == 0 || ms[0].Intent != "yes" {
		t.Errorf("お願いします: %v, want yes first", ms)
	}
}

func TestFailureIf(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"それでも来なかったら？", true},
		{"待ってもダメならどうする？", true},
		{"どれも使えなかったら？", true},
		{"コードが届かない場合は？", true},
		{"30日も待つの？", false},
		{"選んだらどうなる？", false},
		{"届いたらどうする？", false},
	}
	for _, tt := range tests {
		if got := failureIf(Normalize(tt.text)); got != tt.want {
			t.Errorf("failureIf(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestFailureIfReadsAsNo: "what if it still does not come?" asks where the
// no branch of the current question leads; elsewhere it answers nothing.
func TestFailureIfReadsAsNo(t *testing.T) {
	m := newTestMatcher(t)
	ms := m.Understand("それでも届かなかったら？", []string{"yes", "no"})
	if len(ms) == 0 || ms[0].Intent != "no" || ms[0].Score < DefaultThreshold {
		t.Fatalf("with no expected: %v, want no first at or above the threshold", ms)
	}
	for _, match := range m.Understand("それでも届かなかったら？", nil) {
		if match.Intent == "no" || match.Intent == "yes" {
			t.Fatalf("without expects: %v reads as an answer", match)
		}
	}
	for _, match := range m.Understand("届いたら次はどうする？", []string{"yes", "no"}) {
		if match.Intent == "no" {
			t.Fatalf("届いたら次はどうする？ reads as no (%v)", match.Score)
		}
	}
}

// TestBotWordsAreDomain: words the bot itself uses in its messages are no
// evidence for the out-of-scope reading.
func TestBotWordsAreDomain(t *testing.T) {
	const text = "電波は普通に入ってます"
	p := loadPack(t, "testdata/pack.yaml")
	if ms := New(p).Understand(text, nil); len(ms) == 0 || ms[0].Intent != "other_topics" {
		t.Fatalf("before the bot says 電波: %v, want other_topics first", ms)
	}
	cp := *p
	cp.Nodes = append([]knowledge.Node(nil), p.Nodes...)
	cp.Nodes = append(cp.Nodes, knowledge.Node{ID: "sms_settings", Topic: "sms_check", Messages: []knowledge.Message{{Text: "電波が届く場所にいるか確かめてください"}}})
	for _, match := range New(&cp).Understand(text, nil) {
		if match.Intent == "other_topics" && match.Score >= DefaultThreshold {
			t.Fatalf("after the bot says 電波: other_topics at %v", match.Score)
		}
	}
}

// TestTie: a lead under tieLead over another meaning is a tie; intents of the
// same meaning do not compete.
func TestTie(t *testing.T) {
	_, m := newRealMatcher(t)
	tests := []struct {
		res  []knowledge.Match
		want bool
	}{
		{[]knowledge.Match{{Intent: "sms_check", Score: 0.64}, {Intent: "replace_method", Score: 0.63}}, true},
		{[]knowledge.Match{{Intent: "sms_check", Score: 0.80}, {Intent: "replace_method", Score: 0.63}}, false},
		{[]knowledge.Match{{Intent: "sms_check", Score: 0.64}}, false},
	}
	for _, tt := range tests {
		if got := m.tie(tt.res); got != tt.want {
			t.Errorf("tie(%v) = %v, want %v", tt.res, got, tt.want)
		}
	}
}

// TestNoPick: a negated text that names two of the expected choices picks
// neither; one choice alone is still a pick.
func TestNoPick(t *testing.T) {
	_, m := newRealMatcher(t)
	expects := []string{"email", "sms", "call", "app", "unknown"}
	tests := []struct{ text, want string }{
		{"メールかSMSかわからない", "unknown"},
		{"SMSかアプリか分かりません", "unknown"},
		{"SMSです", "sms"},
		{"SMSじゃなくてメールです", "email"},
	}
	for _, tt := range tests {
		// The best answer reading (a topic may come first: the engine
		// prefers answers that are nearly as good).
		got := ""
		for _, match := range m.Understand(tt.text, expects) {
			if slices.Contains(expects, match.Intent) {
				if match.Score >= DefaultThreshold {
					got = match.Intent
				}
				break
			}
		}
		if got != tt.want {
			t.Errorf("%q: best answer %q, want %s", tt.text, got, tt.want)
		}
	}
}

// TestNoDoneFromNegations: "it was in the junk folder" says it arrived; "it
// was not in the junk folder" never does.
func TestNoDoneFromNegations(t *testing.T) {
	_, m := newRealMatcher(t)
	expects := []string{"yes", "done", "no"}
	for _, match := range m.Understand("迷惑メールに入ってないです", expects) {
		if match.Intent == "done" || match.Intent == "yes" {
			t.Errorf("迷惑メールに入ってないです reads as %s (%v)", match.Intent, match.Score)
		}
	}
	if ms := m.Understand("届きました", expects); len(ms) == 0 || ms[0].Intent != "done" {
		t.Errorf("届きました: %v, want done first", ms)
	}
}

// TestStatesLoss: a negation of having or using, or no longer, states that
// something is gone; a bare negation of another verb does not.
func TestStatesLoss(t *testing.T) {
	m := newTestMatcher(t)
	tests := []struct {
		in   string
		want bool
	}{
		{"もう届かないです", true},
		{"もうないんです", true},
		{"その携帯はもう持ってない", true},
		{"そのメアドは使ってません", true},
		{"手元にないです", true},
		{"見てないです", false},
		{"迷惑メールにもないです", false},
		{"届いてません", false},
	}
	for _, tt := range tests {
		if got := statesLoss(m.wordFeatures(Normalize(tt.in))); got != tt.want {
			t.Errorf("statesLoss(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestNoLongerAndClauses: もう is a word only where a negation follows in
// its clause (no longer), not where it means already or more; a negation
// after a conjunctive particle (けど, のに, が) negates its own clause, not
// the word before the particle.
func TestNoLongerAndClauses(t *testing.T) {
	m := newTestMatcher(t)
	tests := []struct {
		in, want string
		loss     bool
	}{
		{"もう教えちゃいました", "教える", false},
		{"もう一回送ってみた", "1 回 送る", false},
		{"もう届かないです", "もう 届く~ない ない", true},
		{"もうないんです", "もう~ない ない", true},
		{"その携帯はもう持ってない", "携帯 もう 持つ~ない ない", true},
		{"もう試したけど届かない", "試す 届く~ない ない", false},
		{"もう見たけどないです", "見る ない", false},
		{"探したのにありませんでした", "探す ない", false},
		{"確認しましたがありません", "確認 ない", false},
		{"見てないです", "見る~ない ない", false},
	}
	for _, tt := range tests {
		f := m.wordFeatures(Normalize(tt.in))
		if got := strings.Join(f, " "); got != tt.want {
			t.Errorf("wordFeatures(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := statesLoss(f); got != tt.loss {
			t.Errorf("statesLoss(%q) = %v, want %v", tt.in, got, tt.loss)
		}
	}
}

// TestAcknowledged: an opening acknowledgement or thanks is split off when
// something follows it; an opening that negates, asks or says something else
// is not.
func TestAcknowledged(t *testing.T) {
	m := newTestMatcher(t)
	tests := []struct{ text, rest string }{
		{"わかりました、次はどうすれば？", "次はどうすれば？"},
		{"了解です　30日も待つの？", "30日も待つの？"},
		{"ありがとうございます。SMSが来ません", "SMSが来ません"},
		{"なるほど！担当の人と話したい", "担当の人と話したい"},
		{"OK, 最初からやり直したい", "最初からやり直したい"},
		{"わかりました", ""},
		{"わかりました、、", ""},
		{"わかりません、どれですか", ""},
		{"いいえ、迷惑メールにもない", ""},
		{"メール、届きません", ""},
		{"届かない、どうしよう", ""},
	}
	for _, tt := range tests {
		rest, ok := m.acknowledged(tt.text)
		if rest != tt.rest || ok != (tt.rest != "") {
			t.Errorf("acknowledged(%q) = %q, %v, want %q", tt.text, rest, ok, tt.rest)
		}
	}
}

// TestUnrelatedNotConfident: questions about something the pack does not know
// (another app, a dish, a device) that share one action word with an example
// (作り方, 反応しない, 解約, 変えたい) land on no topic of ours at or above the
// threshold; questions about our domain with an unknown noun beside a noun
// of ours still land.
func TestUnrelatedNotConfident(t *testing.T) {
	p, m := newRealMatcher(t)
	for _, text := range []string{
		"ハヤシライスの作り方",
		"リモコンが反応しない",
		"Spotifyの解約方法",
		"iPadの壁紙を変えたい",
		"明日の天気が知りたい",
		"エクセルで表を並べ替えるには？",
		"Kindleで本を買いたい",
	} {
		ms := m.Understand(text, nil)
		if len(ms) > 0 && ms[0].Score >= DefaultThreshold && topicOf(p, ms[0].Intent) != "out_of_scope" {
			t.Errorf("%q → %s (%.2f), want out_of_scope or nothing confident", text, ms[0].Intent, ms[0].Score)
		}
	}
	for _, tt := range []struct{ text, topic string }{
		{"旅行先でSMSのコードが受け取れない", "sms_check"},
		{"ドコモから楽天モバイルに変えたらSMSが来ない", "sms_check"},
		{"退職した会社のアドレスに確認コードが送られる", "replace_method"},
		{"試行回数が多すぎると出てコードが送れない", "delay_resend"},
	} {
		ms := m.Understand(tt.text, nil)
		if len(ms) == 0 || ms[0].Score < DefaultThreshold || topicOf(p, ms[0].Intent) != tt.topic {
			t.Errorf("%q → %v, want %s", tt.text, ms, tt.topic)
		}
	}
}

// TestStrayNoun: a text with a noun the pack does not know that names a
// thing, and no thing of ours it is about, is about something else; a
// number, a noun used as an adverb or an unknown noun modifying one of ours
// is no such noun. A thing of ours that only says where (Outlookで), or that
// the unknown noun owns (Zoomのパスワード), does not make the text ours.
func TestStrayNoun(t *testing.T) {
	_, m := newRealMatcher(t)
	tests := []struct {
		text string
		want bool
	}{
		{"ハヤシライスの作り方", true},
		{"キーボードが反応しない", true},
		{"ジムを解約したい", true},
		{"今度から困らないようにしたい", false},
		{"5分待っても来ない", false},
		{"キーボードで確認コードを入力できない", false},
		{"試行回数が多すぎる", false},
		// Our thing only says where, the unknown one is the object; the
		// unknown thing owns ours; ours owns the unknown one.
		{"Outlookでメールの並び順を変えたい", true},
		{"Zoomのパスワードを変更したい", true},
		{"LINEの友達からコード送ってって言われた", false},
		{"アカウントの中身は消えませんか", false},
		{"too many requests と出る", false},
	}
	for _, tt := range tests {
		ws, _, _ := m.analyze(m.normalize(tt.text))
		if got := m.strayNoun(ws); got != tt.want {
			t.Errorf("strayNoun(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

// TestNegatedSynonymGroups: a synonym group whose members are all negated
// (届かない, 来ない, 受信できない) keeps the negation when it rewrites them, so
// that such a text is negated (never yes) and a short one answers no.
func TestNegatedSynonymGroups(t *testing.T) {
	_, m := newRealMatcher(t)
	for _, text := range []string{"受信できません", "今は受信できないです", "使えません", "もう届かない"} {
		if f := m.wordFeatures(Normalize(text)); !slices.Contains(f, Neg) {
			t.Errorf("wordFeatures(%q) = %v: the negation is lost", text, f)
		}
		for _, match := range m.Understand(text, []string{"yes", "no", "unknown", "done"}) {
			if match.Intent == "yes" || match.Intent == "done" {
				t.Errorf("%q reads as %s (%.2f)", text, match.Intent, match.Score)
			}
		}
	}
	// The label group (これ以上使いません, すべての情報が不明) is a name, not
	// a negation.
	if f := m.wordFeatures(Normalize("すべての情報が不明を選ぶ")); slices.Contains(f, Neg) {
		t.Errorf("すべての情報が不明を選ぶ: %v, want no negation", f)
	}
}

// TestContrastTail: what follows the last contrast (a conjunctive けど, が,
// のに or a conjunction でも, しかし) is the tail; ダメ and 無理 are negations.
func TestContrastTail(t *testing.T) {
	tests := []struct{ text, tail string }{
		{"再起動しましたがダメです", "ダメです"},
		{"機内モードはオフです。でもまだ来ません", "まだ来ません"},
		{"見たけど、なかった", "なかった"},
		{"電波はあるのに届かない", "届かない"},
		{"メールが来ない", ""},
		{"メールが来ないけど", ""},
		{"SMSが届きます", ""},
	}
	for _, tt := range tests {
		if got := contrastTail(Normalize(tt.text)); got != Normalize(tt.tail) {
			t.Errorf("contrastTail(%q) = %q, want %q", tt.text, got, Normalize(tt.tail))
		}
	}
	for _, text := range []string{"ダメでした", "無理です", "だめ"} {
		if ws := Words(Normalize(text)); !slices.Equal(ws, []string{Neg}) {
			t.Errorf("Words(%q) = %v, want [%s]", text, ws, Neg)
		}
	}
}

// TestNegatedDesire: not wanting to do something (繰り返したくない,
// ロックされたくない) negates the verb, as not doing it (繰り返さないように
// したい) does; たい stays a word of its own.
func TestNegatedDesire(t *testing.T) {
	_, m := newRealMatcher(t)
	tests := []struct{ text, want string }{
		{"同じ失敗を繰り返したくない", "失敗 繰り返す~ない たい ない"},
		{"もうロックされたくない", "もう ロック~ない たい ない"},
		{"繰り返さないようにしたい", "繰り返す~ない ない たい"},
		{"人と話したい", "人 話す たい"},
	}
	for _, tt := range tests {
		if got := strings.Join(m.wordFeatures(m.normalize(tt.text)), " "); got != tt.want {
			t.Errorf("wordFeatures(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestRespellOnlyWhenBetter: hiragana kagome reads as words of the pack
// (かかりますか: かかる) is not respelt into other words (係), while hiragana
// it splits into fragments (なんにち) is.
func TestRespellOnlyWhenBetter(t *testing.T) {
	_, m := newRealMatcher(t)
	tests := []struct{ text, want string }{
		{"あとどれくらいかかりますか", "かかる"},
		{"まだかかりそうですか", "かかる"},
		{"かくにんこーどがとどかない", "確認コード"},
	}
	for _, tt := range tests {
		n := m.normalize(tt.text)
		_, wf, _, _ := m.read(n, kanaWritten(n))
		if !slices.Contains(wf, tt.want) {
			t.Errorf("read(%q) = %v, want %s among them", tt.text, wf, tt.want)
		}
	}
}

// TestUnderstandReply: a reply that takes up its question's words answers
// it (yes, or no where it negates them or says the thing asked about is
// gone), never yes where it speaks of the past; naming two of the expected
// choices picks one of them.
func TestUnderstandReply(t *testing.T) {
	_, m := newRealMatcher(t)
	yesNo := []string{"yes", "no", "unknown", "done"}
	methods := []string{"email", "sms", "call", "app", "unknown"}
	const (
		address = "そのアドレスで、今もメールを受信できますか？"
		number  = "その番号は、今お使いの携帯電話の番号と合っていますか？"
		method  = "確認コードは、どの方法で受け取る設定になっていますか？"
	)
	tests := []struct {
		text, question string
		expects        []string
		want           []string // acceptable best intents; nil: neither yes nor no
	}{
		{"そのアドレスなら毎日使っていて、メールもちゃんと受信できてます", address, yesNo, []string{"yes"}},
		{"携帯をなくしてしまって今は持ってません", number, yesNo, []string{"no"}},
		{"その番号、前に使ってた携帯のだ", number, yesNo, nil},
		{"SMSもメールもどっちも登録してる", method, methods, []string{"email", "sms"}},
	}
	for _, tt := range tests {
		ms := m.UnderstandReply(tt.text, tt.expects, tt.question)
		best := ""
		if len(ms) > 0 {
			best = ms[0].Intent
		}
		switch {
		case tt.want == nil && (best == "yes" || best == "no"):
			t.Errorf("%q → %v, want neither yes nor no first", tt.text, ms)
		case tt.want != nil && !slices.Contains(tt.want, best):
			t.Errorf("%q → %v, want %v first", tt.text, ms, tt.want)
		}
	}
	// Without its question, the first reply is no yes: the question's
	// words are what make it one.
	if ms := m.Understand(tests[0].text, yesNo); len(ms) > 0 && ms[0].Intent == "yes" {
		t.Errorf("without the question, %q → %v", tests[0].text, ms)
	}
}

// TestReadIsUnderstandReply: Read with a context reads as UnderstandReply
// with its expects and question text.
func TestReadIsUnderstandReply(t *testing.T) {
	_, m := newRealMatcher(t)
	const q = "そのアドレスで、今もメールを受信できますか？"
	expects := []string{"yes", "no", "unknown"}
	for _, text := range []string{"はい、今も普通に受信できています", "30日も待つの？", "もう使ってないです"} {
		got := m.Read(knowledge.Query{Text: text, Expects: expects, Question: q})
		want := m.UnderstandReply(text, expects, q)
		if !slices.Equal(got.Matches, want) {
			t.Errorf("Read(%q) = %v, want %v", text, got.Matches, want)
		}
	}
}
