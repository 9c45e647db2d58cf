// Package redacttest holds secrets as people write them (issue 9), for tests
// that send them through the whole service and check that they were masked
// everywhere.
package redacttest

import (
	"fmt"
	"strings"
	"testing"
)

// Form is a message with a secret in it, and the part that must never be
// stored or logged.
type Form struct{ Text, Secret string }

// Written are secrets as people write them on a phone.
var Written = []Form{
	{"コードは 5 8 2 0 1 3 です", "5 8 2 0 1 3"},
	{"582-013って出ました", "582-013"},
	{"５８２０１３", "５８２０１３"},
	{"58２０13が届きました", "58２０13"},
	{"届いたコードは582013なんですけど入れてもだめ", "582013"},
	{"パスワードは、hanako1955でございます", "hanako1955"},
	{"パスは sakura0401", "sakura0401"},
	{"パスワードはたしか sakura0401 だったと思います", "sakura0401"},
	{"pw sakura0401", "sakura0401"},
	{"ぱすわーどは ｓａｋｕｒａ０４０１ です", "ｓａｋｕｒａ０４０１"},
	{"回復コードは ab1de fghij klmno pqrst uvwx1 です", "fghij klmno"},
	{"回復コードは abcde fghij klmno pqrst uvwxy です", "fghij klmno"},
	{"ＡＢ１ＤＥ－ＦＧＨＩＪ－ＫＬＭＮＯ－ＰＱＲＳＴ－ＵＶＷＸ１", "ＦＧＨＩＪ"},
	{"hanako1955がパスワードです", "hanako1955"},
	{"hanako1955 でございます", "hanako1955"},
}

// Plain look a little like secrets and are not: they are stored as written.
var Plain = []string{"下2桁は78です", "30日も待たないといけないんですか", "iPhone 15 を使っています"}

// CheckNoSecret fails t for each Written secret found in text (also as JSON
// escapes it), naming where the text came from.
func CheckNoSecret(t testing.TB, where, text string) {
	t.Helper()
	for _, f := range Written {
		for _, s := range []string{f.Secret, strings.Trim(fmt.Sprintf("%+q", f.Secret), `"`)} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q from %q", where, s, f.Text)
			}
		}
	}
}
