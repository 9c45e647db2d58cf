package dialog

import (
	"strings"
	"testing"
	"time"

	"github.com/todoku/todoku/redact"
)

// family is one kind of reply to one question of the product's pack: every
// phrasing in texts is sent from the state reached by setup (text, or
// [tap:LABEL] for a quick reply of the previous turn) and must land on one
// of topics (and on node, when set). The phrasings are written for this
// test, not taken from any evaluation set: they guard whole families of
// wording, not sentences.
type family struct {
	name   string
	setup  []string
	topics []string
	node   string
	texts  []string
}

func testFamilies(t *testing.T, families []family) {
	t.Helper()
	e := loadRealEngine(t)
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			st, last, now := State{}, []Reply(nil), t0
			for _, l := range f.setup {
				now = now.Add(time.Minute)
				res := e.Step(st, familyInput(t, l, last, now))
				st, last = res.State, res.Replies
			}
			for _, text := range f.texts {
				res := e.Step(st, familyInput(t, text, last, now.Add(time.Minute)))
				if !contains(f.topics, res.Trace.ToTopic) || (f.node != "" && res.State.Node != f.node) {
					t.Errorf("on %s, %q → node %s (topic %s, %s, intent %s %.2f), want topic %s node %q",
						st.Node, text, res.State.Node, res.Trace.ToTopic, res.Trace.Reason, res.Trace.Intent, res.Trace.Score, strings.Join(f.topics, "|"), f.node)
				}
			}
		})
	}
}

// familyInput turns a setup line into an input: [tap:LABEL] taps the quick
// reply of the previous turn whose label contains LABEL.
func familyInput(t *testing.T, l string, last []Reply, now time.Time) Input {
	t.Helper()
	if label, ok := strings.CutPrefix(l, "[tap:"); ok {
		data, found := tapLabel(last, strings.TrimSuffix(label, "]"))
		if !found {
			t.Fatalf("no quick reply labelled %q among %q", label, labels(last))
		}
		return Input{Kind: InputPostback, Data: data, Time: now}
	}
	return Input{Kind: InputText, Text: redact.Text(l), Time: now}
}

// TestLossStatementFamilies: a reply that says the address, number or phone
// is gone (no longer there, no longer had or used, cancelled) is about
// replacing the method, whatever the question was; a bare negation stays the
// answer no to the question.
func TestLossStatementFamilies(t *testing.T) {
	junk := []string{"確認コードが届かない", "[tap:メール]"}           // 迷惑メール フォルダーに届いていましたか？
	smsSettings := []string{"SMSのコードが来ない", "[tap:合っている]"} // checklist, 届きましたか？
	app := []string{"認証アプリのコードが使えません"}                    // これで解決しましたか？
	testFamilies(t, []family{
		{name: "junk folder question, address gone", setup: junk, topics: []string{"replace_method"}, texts: []string{
			"そのアドレスはもう持っていません",
			"あのメアド、もう使ってないです",
			"そのメールは解約しました",
			"そのアドレスは今は使っていません",
			"昔のアドレスなのでもう手元にないです",
			"届く先のメールアドレスがもう存在しないんです",
		}},
		{name: "junk folder question, plain no", setup: junk, topics: []string{"email_check"}, node: "email_address_check", texts: []string{
			"ないです",
			"見当たりませんでした",
			"迷惑メールにも入っていません",
			"迷惑メールも見たけどありません",
		}},
		{name: "SMS checklist, phone gone", setup: smsSettings, topics: []string{"replace_method"}, texts: []string{
			"その携帯はもう持ってないです",
			"その番号はもう使われていません",
			"前に使ってた携帯の番号です",
			"その番号はもう解約しました",
		}},
		{name: "SMS checklist, plain no", setup: smsSettings, topics: []string{"sms_check"}, node: "sms_abroad", texts: []string{
			"届いてないです",
			"だめでした",
			"まだ来ません",
		}},
		{name: "authenticator question, old phone gone", setup: app, topics: []string{"replace_method", "authenticator"}, texts: []string{
			"前のスマホはもう持っていません",
			"古い携帯はもう手元にないんです",
		}},
	})
}

// TestAlreadyFamilies: もう before something done (もう教えてしまった, もう
// 送っちゃった) means "already", not "no longer": after the code-safety
// warning, admitting to having shared a code is about code safety.
func TestAlreadyFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "shared after the warning", setup: []string{"電話でコードを教えてと言われました"}, topics: []string{"code_safety"}, node: "safety_shared", texts: []string{
			"もう伝えちゃったかも",
			"実はもう教えてしまいました",
			"さっきもうコードを送ってしまったんですが",
		}},
	})
}

// TestAcknowledgedQuestionFamilies: an acknowledgement or thanks in front of
// a question (わかりました、…？) frames it: the question is answered, not the
// current step sent again; an acknowledgement in front of consent still
// reads as yes.
func TestAcknowledgedQuestionFamilies(t *testing.T) {
	faq := []string{"すべての情報が不明を選んだらどうなりますか"}
	wait := []string{"30日待つ必要があるのはなぜですか"}
	testFamilies(t, []family{
		{name: "prevention after the FAQ", setup: faq, topics: []string{"prevention"}, texts: []string{
			"わかりました、どうやって防げばいいですか",
			"ありがとうございます、今後の対策は？",
			"了解です、では予防のために何をしておけばいいですか",
			"なるほど。今後同じことにならないようにするには？",
			"OK、じゃあ確認方法を増やしておくにはどうしたらいい？",
		}},
		{name: "a person after the FAQ", setup: faq, topics: []string{"handoff"}, texts: []string{
			"ありがとうございます、担当の方と直接話せますか",
			"わかった、それで人に相談できる？",
		}},
		{name: "questions about the wait", setup: wait, topics: []string{"waiting_period"}, texts: []string{
			"わかりました、早める方法はありますか",
			"ありがとう、キャンセルはできる？",
			"了解です、その間ログインできますか",
		}},
		{name: "recovery form after the wait", setup: wait, topics: []string{"recovery_form"}, texts: []string{
			"承知しました。ちなみに回復フォームはどこから出せますか",
			"わかりました、回復フォームの書き方を教えてください",
		}},
		{name: "consent after the FAQ", setup: faq, topics: []string{"replace_method"}, texts: []string{
			"わかりました、やってみます",
			"了解です、お願いします",
		}},
	})
}

// TestNegatedSynonymFamilies: a reply whose negated verb is a synonym of
// 届かない or 使えない (受信できません, 受け取れない, 使用できない) is still a
// negation: the answer no to the question, never yes.
func TestNegatedSynonymFamilies(t *testing.T) {
	address := []string{"確認コードが届かない", "[tap:メール]", "[tap:見つからない]"} // そのアドレスで、今もメールを受信できますか？
	testFamilies(t, []family{
		{name: "address question, cannot receive", setup: address, topics: []string{"replace_method"}, texts: []string{
			"受信できません",
			"今は受信できないです",
			"そのアドレスではもう受け取れません",
			"使用できないです",
		}},
		{name: "address question, can receive", setup: address, topics: []string{"email_check"}, node: "email_more_checks", texts: []string{
			"受信できます",
			"はい、今も使えます",
		}},
	})
}

// TestContrastFamilies: after a contrast (けど, が, のに, でも), the last
// clause answers the question: what was tried before it does not make the
// reply 'it worked', and a verdict like ダメ or 無理 is a no.
func TestContrastFamilies(t *testing.T) {
	checklist := []string{"コードが届かない", "[tap:SMS]", "[tap:合っている]"} // 届きましたか？
	testFamilies(t, []family{
		{name: "SMS checklist, tried but no", setup: checklist, topics: []string{"sms_check"}, node: "sms_abroad", texts: []string{
			"再起動しましたがダメです",
			"Wi-Fiも切りました。でも来ません",
			"設定は全部見ましたが、変わりません",
			"言われた通りにしたけど無理でした",
		}},
		{name: "SMS checklist, tried and it came", setup: checklist, topics: []string{"sms_check"}, node: "sms_resolved", texts: []string{
			"再起動したら来ました",
			"時間はかかったけど届きました",
		}},
		{name: "method question, corrected after a contrast", setup: []string{"コードが届かない"}, topics: []string{"email_check"}, texts: []string{
			"SMSかと思ったけど、メールかもしれません",
		}},
	})
}

// TestSendBlockedAndFormFamilies: 送信できない is 送れない (the resend limit),
// and フォーム alone is the recovery form.
func TestSendBlockedAndFormFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "resend refused", setup: []string{"コードの再送を何回もしてる"}, topics: []string{"delay_resend"}, node: "delay_blocked", texts: []string{
			"「送信できません」と出ます",
			"送れませんって表示されました",
		}},
		{name: "the form", setup: []string{"回復フォームを出したい"}, topics: []string{"recovery_form"}, node: "recovery_form", texts: []string{
			"フォームってどこから出すの？",
			"フォームのリンクを教えてください",
		}},
	})
}

// TestLoanwordFamilies: English loanwords typed in Latin letters (mail,
// code, app, junk folder, login) read like their katakana forms, in a first
// message and as an answer to the method question.
func TestLoanwordFamilies(t *testing.T) {
	method := []string{"コードが届かない"} // どの方法で受け取る設定になっていますか？
	testFamilies(t, []family{
		{name: "first message, email", topics: []string{"email_check"}, texts: []string{
			"gmailにcodeが来ません",
			"mailでverification codeが届かない",
			"junk folderも見たけどmailがない",
			"E-mailで届くはずのcodeがないです",
		}},
		{name: "first message, other methods", topics: []string{"sms_check"}, texts: []string{
			"SMSのcodeが来ないです",
		}},
		{name: "first message, app", topics: []string{"authenticator"}, texts: []string{
			"authenticator appのcodeがエラーになる",
			"appに承認のpushが来ない",
		}},
		{name: "first message, login code", topics: []string{"ask_method"}, texts: []string{
			"accountにloginできない、codeが届かない",
		}},
		{name: "method question, mail", setup: method, topics: []string{"email_check"}, texts: []string{
			"mail",
			"mailです",
			"e-mailで受け取る設定です",
		}},
		{name: "method question, app", setup: method, topics: []string{"authenticator"}, texts: []string{
			"appです",
			"authenticator appで承認するやつ",
		}},
	})
}

// TestWhenFrameFamilies: とき, 時 and 際 (when) frame the situation like 場合:
// a code that does not come "when signing in" is the code question, not the
// recovery form (whose examples happen to say 受け取れないとき).
func TestWhenFrameFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "first message, code at sign-in", topics: []string{"ask_method"}, texts: []string{
			"サインインのときのコードが届きません",
			"サインインするときの確認コードがきません",
			"Outlookに入るときの番号が来ない",
			"ログインの際のセキュリティコードが来ない",
			"ログインする時のコードが届かないんです",
		}},
		{name: "first message, nothing works", topics: []string{"recovery_form"}, texts: []string{
			"どの確認方法も使えないときはどうしたらいい？",
		}},
	})
}

// TestPoliteRequestFamilies: a negated benefactive in a question
// (してもらえませんか, していただけないでしょうか, してくれませんか) is a polite
// request: asking for a person, by phone or directly, is the handoff, not a
// failure to read as no or as the recovery form.
func TestPoliteRequestFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "first message, a person please", topics: []string{"handoff"}, texts: []string{
			"担当の人に電話で対応してもらえませんか",
			"人に直接相談に乗っていただけないでしょうか",
			"オペレーターにつないでくれませんか",
			"直接話を聞いてもらえないですか",
			"電話で詳しい人に説明してもらえませんか",
		}},
		{name: "on the SMS question, a person please", setup: []string{"SMSが届かない"}, topics: []string{"handoff"}, texts: []string{
			"よくわからないので担当者に代わってもらえませんか",
			"人に電話で見てもらえないでしょうか",
		}},
	})
}

// TestLongMessageFamilies: a long first message that tells a story around
// its point (what the user was doing, how long, how tired) is read clause
// by clause when the whole is diluted: the run of clauses that says most
// decides. An emoji ends a sentence like 。 does.
func TestLongMessageFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "code does not come, told at length", topics: []string{"ask_method"}, texts: []string{
			"昨日の夜からずっとOutlookに入ろうとしてるんだけど、確認コードが全然届かなくて、もう仕事に遅れそうで本当に焦ってます",
			"仕事で急いでるのに、サインインしようとしたらコードが来ない、もう朝から何もできてなくてイライラしてる",
			"久しぶりにパソコン開いてメール見ようとしたら、認証コードがいるらしくて、でもそのコードがいつまでたっても届かないんです、昼休みが終わっちゃう",
		}},
		{name: "code does not come, waiting told at length", topics: []string{"ask_method", "delay_resend"}, texts: []string{
			"なんか知らんけどOutlook開いたら本人確認せえって出て、コード待ってるのに全然来やんし、ほんまもう朝から何回もやってて意味わからん",
			"いや聞いてくださいよ、マイクロソフトのアカウントにログインしようとしたら確認コードが必要って言われて、でも待っても待っても届かなくて、かれこれ1時間くらいこの状態です",
		}},
		{name: "email code, told at length", topics: []string{"email_check"}, texts: []string{
			"さっきからずっと試してるんですけど、メールに届くはずのコードが一向に来なくて、迷惑メールも見たし、もう疲れました",
		}},
		{name: "an emoji ends a sentence", topics: []string{"prevention"}, texts: []string{
			"もう本当に最悪😭今後の対策を知りたいです",
			"ひどい目にあった😡再発防止の方法を教えて",
		}},
	})
}

// TestOfferedStepFamilies: a reply that takes one of the steps the current
// buttons offer, in words of its own, needs a little less confidence than a
// jump elsewhere (see localFactor).
func TestOfferedStepFamilies(t *testing.T) {
	wait := []string{"30日の待機期間って何ですか"} // 何について知りたいですか？ (期間中にできること, 古い連絡先への通知, 変更を取り消したい)
	testFamilies(t, []family{
		{name: "waiting period, during the wait", setup: wait, topics: []string{"waiting_period"}, node: "waiting_during", texts: []string{
			"その間Gmailのメールって読める？",
			"待ってるあいだOneDriveの写真は開けますか",
			"その期間中もOutlookのメールは見られますか",
		}},
		{name: "waiting period, notices", setup: wait, topics: []string{"waiting_period"}, node: "waiting_notifications", texts: []string{
			"前のアドレスにお知らせが届いたのはなぜ？",
		}},
		{name: "replacing, what the choice does", setup: []string{"登録したメールアドレスがもう使えない"}, topics: []string{"faq_no_longer_use"}, texts: []string{
			"それ押したら今までのメールは消えちゃう？",
			"それを選ぶと写真とかのデータはどうなるんですか",
		}},
		{name: "first message: the menu's buttons are not offered yet", topics: []string{"welcome", "out_of_scope"}, texts: []string{
			"Hotmailで署名を作りたい",
		}},
		{name: "email still missing, the next step", setup: []string{"メールでコードが来ない", "[tap:見つからない]", "[tap:はい]", "[tap:まだ]"}, topics: []string{"delay_resend"}, texts: []string{
			"少し時間をおいてからもう一度送ってみます",
		}},
	})
}

// TestPreventionFamilies: never again (二度と…たくない, 繰り返したくない),
// 対策, 予防 and 防止 say the user wants to prevent a repeat; not wanting
// something is wanting it not to happen.
func TestPreventionFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "first message, never again", topics: []string{"prevention"}, texts: []string{
			"もう二度とロックされたくないので、今からできる対策は？",
			"こんな思いは二度とごめんです。防ぐ方法ありますか",
			"次に同じ目にあわないよう準備しておきたい",
			"同じトラブルが再発しないようにしたいです",
			"同じ失敗を繰り返したくない",
			"二度とログインできなくなるのは嫌なので対策を知りたい",
			"締め出されるのを防止するために今できることは？",
		}},
	})
}

// TestHowLongFamilies: how many days (何日, 何週間, 数日) something takes is
// the 30-day wait, after replacing a method or as a first message; how long
// a code takes stays the delay, and waiting days for a code is the delay too.
func TestHowLongFamilies(t *testing.T) {
	replace := []string{"登録したメールアドレスがもう使えない"} // 今、このアカウントにサインインできる状態ですか？
	testFamilies(t, []family{
		{name: "after replacing, how many days", setup: replace, topics: []string{"waiting_period"}, texts: []string{
			"了解です。切り替わるまで何日ぐらいかかる？",
			"それは何週間くらいで終わりますか",
			"ありがとうございます、手続きに何日必要ですか",
			"反映まで数日かかりますか",
		}},
		{name: "first message, how many days", topics: []string{"waiting_period"}, texts: []string{
			"新しい電話番号が使えるまで何日待てばいい？",
			"セキュリティ情報の置き換えって何日くらいで終わるの",
		}},
		{name: "a code, how long", topics: []string{"delay_resend", "ask_method"}, texts: []string{
			"何日も待ってるのにコードが届かない",
			"確認コードって届くまで何分くらいかかるもの？",
		}},
		{name: "on the delay, how long to wait", setup: []string{"コードを何回も再送した"}, topics: []string{"delay_resend"}, texts: []string{
			"あとどのくらい待てばいいんでしょう",
		}},
	})
}

// TestAcknowledgedThenQuestionFamilies: thanks or an acknowledgement in
// front of a question that is understood (ありがとうございます。…は何日？) is
// that question: the thanks do not close the conversation.
func TestAcknowledgedThenQuestionFamilies(t *testing.T) {
	replace := []string{"登録したメールアドレスがもう使えない"}
	testFamilies(t, []family{
		{name: "thanks, then a question about the wait", setup: replace, topics: []string{"waiting_period"}, texts: []string{
			"ありがとうございました。ちなみに保留中ってどういう意味ですか",
			"了解です。切り替わるまで何日ぐらいかかる？",
			"ありがとう。待ってる間ってメール使えるの？",
		}},
		{name: "thanks, then asking for a person", setup: replace, topics: []string{"handoff"}, texts: []string{
			"ありがとうございました。人と直接話すこともできますか",
		}},
		{name: "thanks, then other questions", setup: replace, topics: []string{"prevention"}, texts: []string{
			"ありがとうございます。回復用コードはどこで見られますか？",
			"助かりました。次から困らないためには何をすればいい？",
		}},
	})
}

// TestPhoneGoneFamilies: on the SMS question (is the number shown yours
// now?), a phone or number that is gone (解約, 機種変更して手元にない, 番号が
// 変わった, なくした) is about replacing the method, not the bare answer no.
func TestPhoneGoneFamilies(t *testing.T) {
	sms := []string{"SMSが来ません"} // その番号は、今お使いの携帯電話の番号と合っていますか？
	testFamilies(t, []family{
		{name: "SMS question, phone or number gone", setup: sms, topics: []string{"replace_method"}, texts: []string{
			"その携帯はもう解約しちゃいました",
			"機種変更して前のスマホは手元にないです",
			"番号が変わったので前の番号はもうないです",
			"去年番号を変えました",
			"その電話、もう使ってなくて",
			"昔のガラケーの番号なんです",
			"携帯をなくしてしまって今は持ってません",
		}},
		{name: "SMS question, plain answers", setup: sms, topics: []string{"sms_check"}, texts: []string{
			"合ってます",
			"たぶん同じ番号です",
			"はい、今使ってる番号です",
		}},
	})
}

// TestEchoReplyFamilies: a reply that takes up the question's own words
// (the usual Japanese answer: 受信できますか？ – 受信できています) answers it:
// yes where it negates none of them, no where it negates one; and a reply
// naming two of the offered methods picks one of them.
func TestEchoReplyFamilies(t *testing.T) {
	address := []string{"確認コードが届かない", "[tap:メール]", "[tap:見つからない]"} // そのアドレスで、今もメールを受信できますか？
	sms := []string{"SMSが来ません"}                                    // その番号は、今お使いの携帯電話の番号と合っていますか？
	replace := []string{"登録したメールアドレスがもう使えない"}                      // 今、このアカウントにサインインできる状態ですか？
	testFamilies(t, []family{
		{name: "address question, yes in its words", setup: address, topics: []string{"email_check"}, node: "email_more_checks", texts: []string{
			"そのアドレスなら毎日使っていて、メールもちゃんと受信できてます",
			"アドレスは今も生きていて普通にメールを受信しています",
		}},
		{name: "SMS question, yes in its words", setup: sms, topics: []string{"sms_check"}, node: "sms_phone_settings", texts: []string{
			"表示されてる番号は今の携帯の番号と合ってます",
			"番号は今の携帯とぴったり合ってます",
		}},
		{name: "sign-in question, in its words", setup: replace, topics: []string{"replace_method"}, node: "replace_locked_out", texts: []string{
			"今はこのアカウントにサインインできない状態です",
		}},
		{name: "sign-in question, yes in its words", setup: replace, topics: []string{"replace_method"}, node: "replace_signed_in", texts: []string{
			"パソコンのほうではまだサインインできている状態です",
		}},
		{name: "method question, two methods named", setup: []string{"コードが届かない"}, topics: []string{"email_check", "sms_check"}, texts: []string{
			"メールとSMSの両方に設定してあります",
			"SMSもメールもどっちも登録してる",
		}},
	})
}

// TestStrayThingFamilies: a question about a thing the pack does not know,
// where our product only says where (Outlookで…) or the unknown thing owns
// ours, lands on no topic of ours; a thing of ours that is what the text is
// about, or a part of one (アカウントの中身), still does.
func TestStrayThingFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "first message, another feature of the product", topics: []string{"welcome", "out_of_scope"}, texts: []string{
			"Outlookでメールの並び順を変えたい",
			"Outlookでメールの表示順を並べ替えたい",
		}},
		{name: "first message, ours", topics: []string{"email_check"}, texts: []string{
			"Outlookで迷惑メールの設定を変えたい",
		}},
		{name: "first message, a part of ours", topics: []string{"faq_no_longer_use"}, texts: []string{
			"選んだらアカウントの中身は消えませんか",
		}},
	})
}

// TestHowToDoFamilies: asking what to do is one thing however it is said
// (どうしたら, どうすれば, the Kansai どないしたらええ): after a code that
// does not come it is the method question, not the resend of a late code;
// none (一個も, いっこも) is 一つも; both (どっちも, どちらも) is 両方.
func TestHowToDoFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "first message, no code, what to do", topics: []string{"ask_method"}, texts: []string{
			"確認コードが届かないんですけど、どうしたらいいですか",
			"認証コードが来ないけど、どうしたらいい？",
			"セキュリティコードが全然来えへん、どないしたらええ",
			"コードがひとつも届かへんねん、どないすればええの",
			"コードが一個も来ないです。どうしたらいいでしょう",
		}},
		{name: "both methods gone, what to do", setup: []string{"SMSが来ない", "電話番号はもう解約しました"}, topics: []string{"replace_method", "recovery_form"}, texts: []string{
			"メールのほうも使えないんです。どちらも無理ならどうしたらいいですか",
			"両方とも使えへんかったらどないしたらええの",
		}},
	})
}

// TestMaskedDestinationFamilies: on the method question, describing the
// partly hidden destination the screen shows answers it: part of an e-mail
// address is the e-mail, the last digits of a number are the SMS.
func TestMaskedDestinationFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "part of an address", setup: []string{"コードが届きません", "よくわからないです"}, topics: []string{"email_check"}, texts: []string{
			"メアドの頭の何文字かだけ表示されてます",
			"画面にはアドレスの一部しか出てないです",
			"メールアドレスの先頭の3文字が見えてる",
		}},
		{name: "last digits of a number", setup: []string{"コードが届きません", "よくわからないです"}, topics: []string{"sms_check"}, texts: []string{
			"電話番号の末尾の2桁だけ表示されてます",
			"携帯番号の下4桁が出てる",
		}},
	})
}

// TestResumeAfterDigressionFamilies: after an off-topic question, text not
// understood there is read as a reply to the step before the digression.
func TestResumeAfterDigressionFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "back to the SMS step", setup: []string{"SMSでコードが来ない", "ところで明日の天気わかりますか"}, topics: []string{"sms_check"}, texts: []string{
			"まあいいや。ショートメールの件ですが、電話番号は間違ってないです",
			"じゃあさっきの話だけど、電話番号はあってます",
			"それはともかく、番号は今の携帯のです",
		}},
		{name: "back to the mail step", setup: []string{"メールでコードが届かない", "おすすめのパソコン教えて"}, topics: []string{"email_check"}, texts: []string{
			"さっきの続きだけど、迷惑メールフォルダも見ました",
			"それはいいとして、迷惑メールにもなかったです",
		}},
	})
}

// TestSentButNothingFamilies: the screen says the code was sent to the
// phone number yet nothing comes is the SMS check; the number being an old
// one is replacing the method.
func TestSentButNothingFamilies(t *testing.T) {
	testFamilies(t, []family{
		{name: "sent to the number, nothing comes", topics: []string{"sms_check"}, texts: []string{
			"スマホの番号に送信しましたと出たのにメッセージが来ません",
			"携帯番号に送ったって表示されてるのに、なんも届かへん",
			"電話番号あてに送りましたと画面に出ますが受信できないです",
		}},
		{name: "sent to an old number", topics: []string{"replace_method"}, texts: []string{
			"昔の電話番号に送られてしまう",
			"もう使ってない携帯番号に送信しましたと出る",
		}},
	})
}
