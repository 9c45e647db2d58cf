package redact

import (
	"strings"
	"testing"
)

func BenchmarkText(b *testing.B) {
	in := "Outlookのコードが届きません。メールはtaro@example.com、電話は090-1234-5678です。届いたコードは123456でした"
	for b.Loop() {
		Text(in)
	}
}

func BenchmarkTextLarge(b *testing.B) {
	for _, tc := range []struct{ name, unit string }{
		{"digits", "123456 "}, {"pw", "pw:abc "}, {"mail", "a@b.cd "}, {"plain", "コードが届きません。"}, {"spaced", "1 "},
		{"wide", "コード５８２０１３ "}, {"pw_sentence", "パスワードはたしか abc123 です。"},
	} {
		in := strings.Repeat(tc.unit, 2000)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				Text(in)
			}
		})
	}
}
