package understand

import (
	"math"
	"testing"
)

// BenchmarkUnderstand understands one typical first message with the real pack.
func BenchmarkUnderstand(b *testing.B) {
	_, m := newRealMatcher(b)
	texts := []string{
		"Outlookにログインしようとしたらコードが届かなくて入れない",
		"迷惑メールにもないです",
		"はい",
		"30日も待つの？",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Understand(texts[i%len(texts)], []string{"yes", "no"})
	}
}

// BenchmarkNew builds the matcher for the real pack (once per process in the
// product, at start).
func BenchmarkNew(b *testing.B) {
	p, _ := newRealMatcher(b)
	b.ReportAllocs()
	for b.Loop() {
		New(p)
	}
}

func FuzzNormalizeUnderstand(f *testing.F) {
	for _, s := range []string{
		"", "確認コードが届きません", "ｺｰﾄﾞ", "[code]", "[", "]]", "[code", "a@b.c", "t***@example.com",
		"メ〜〜ル", "ーーー", "〜", "😢🙇‍♀️", "\xff\xfe", "はい", "SMS", "３０日", "ワンタイムパスワード",
		"スパムフォルダメールフォルダ", "これ以上使いません", "ぁ", "ヵヶヴ",
	} {
		f.Add(s)
	}
	m := newTestMatcher(f)
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize not idempotent: %q → %q → %q", s, n, Normalize(n))
		}
		ms := m.Understand(s, []string{"yes", "no", "email", "sms", "app"})
		for i, match := range ms {
			if math.IsNaN(match.Score) || match.Score < 0 || match.Score > 1 {
				t.Fatalf("Understand(%q): score %v out of [0,1]", s, match.Score)
			}
			if i > 0 && ms[i-1].Score < match.Score {
				t.Fatalf("Understand(%q): not sorted: %v", s, ms)
			}
		}
	})
}
