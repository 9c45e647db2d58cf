package understand

import "strings"

// loanwords are English words (and two-word phrases) that Japanese writes as
// katakana loanwords, as people type them in Latin letters in Japanese chat
// (mailでcodeが来ない, appの通知, junk folderにもない). For a Japanese pack
// they are respelt in katakana before anything else reads the text, so that
// they meet the pack's own words and synonyms (メール, コード, アプリ)
// instead of counting as unknown English. Plural -s is accepted. Only
// loanwords whose katakana form means the same in this register are listed;
// a few phrases map to the usual Japanese term (verification code → 確認コード).
var loanwords = map[string]string{
	"mail": "メール", "email": "メール", "code": "コード", "passcode": "コード",
	"app": "アプリ", "application": "アプリ", "account": "アカウント", "password": "パスワード",
	"login": "ログイン", "log in": "ログイン", "logon": "ログイン", "signin": "サインイン", "sign in": "サインイン",
	"message": "メッセージ", "text": "テキスト", "spam": "スパム", "junk": "ジャンク", "folder": "フォルダ",
	"error": "エラー", "block": "ブロック", "blocked": "ブロック", "lock": "ロック", "locked": "ロック",
	"reset": "リセット", "backup": "バックアップ", "support": "サポート", "security": "セキュリティ",
	"request": "リクエスト", "cancel": "キャンセル", "form": "フォーム", "recovery": "リカバリー",
	"operator": "オペレーター", "staff": "スタッフ", "help": "ヘルプ", "menu": "メニュー",
	"push": "プッシュ", "smartphone": "スマホ", "pc": "パソコン",
	"verification code": "確認コード", "security code": "セキュリティコード", "one time password": "ワンタイムパスワード",
}

// loanMaxWords is the most words a loanwords key has.
const loanMaxWords = 3

// respellLoanwords rewrites the Latin words and phrases of loanwords in s
// (folded by NFKC and lower-cased, not yet normalised) in katakana: mailで
// codeが → メールでコードが, as if typed so; two in a row make one compound
// (junk folder → ジャンクフォルダ). Punctuation and other spaces stay as they
// were; other Latin words are left alone.
func respellLoanwords(s string) string {
	if !hasLatinLetter(s) {
		return s
	}
	s = strings.ReplaceAll(s, "e-mail", "email")
	var b strings.Builder
	last := 0     // end of what has been copied to b
	loanEnd := -1 // end of the last loanword respelt
	for i := 0; i < len(s); {
		if !isWordByte(s[i]) || (i > 0 && isWordByte(s[i-1])) {
			i++
			continue
		}
		// A word starts at i: gather up to loanMaxWords words separated
		// by single spaces.
		var ends []int
		for j := i; len(ends) < loanMaxWords; {
			k := j
			for k < len(s) && isWordByte(s[k]) {
				k++
			}
			ends = append(ends, k)
			if k+1 >= len(s) || s[k] != ' ' || !isWordByte(s[k+1]) {
				break
			}
			j = k + 1
		}
		n := 0
		kana := ""
		for w := len(ends); w >= 1 && n == 0; w-- {
			key := s[i:ends[w-1]]
			if k, ok := loanwords[key]; ok {
				n, kana = w, k
			} else if k, ok := loanwords[strings.TrimSuffix(key, "s")]; ok && strings.HasSuffix(key, "s") {
				n, kana = w, k
			}
		}
		if n == 0 || !standsAlone(s, i, ends[n-1]) {
			i = ends[0]
			continue
		}
		if gap := s[last:i]; !(gap == " " && last == loanEnd) {
			b.WriteString(gap)
		} // else two loanwords in a row make one compound (junk folder → ジャンクフォルダ)
		b.WriteString(kana)
		i = ends[n-1]
		last, loanEnd = i, i
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// standsAlone reports whether s[i:j] is a word of its own, not part of a
// redaction marker ([code]), an address or a URL (account.live.com/acsr).
func standsAlone(s string, i, j int) bool {
	if i > 0 && strings.IndexByte("[@./:_", s[i-1]) >= 0 {
		return false
	}
	if j < len(s) {
		switch c := s[j]; {
		case c == ']' || c == '@' || c == '_':
			return false
		case (c == '.' || c == '/' || c == ':') && j+1 < len(s) && isWordByte(s[j+1]):
			return false
		}
	}
	return true
}

// isWordByte reports whether c is part of a Latin word: a lower-case letter
// or a digit (2fa, office365 are single words, none of them loanwords).
func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// hasLatinLetter reports whether s holds a lower-case Latin letter.
func hasLatinLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// isJapaneseLanguage reports whether a pack's BCP 47 language tag is
// Japanese (ja, ja-JP).
func isJapaneseLanguage(tag string) bool {
	tag = strings.ToLower(tag)
	return tag == "ja" || strings.HasPrefix(tag, "ja-")
}
