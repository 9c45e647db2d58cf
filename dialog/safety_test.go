package dialog

import "testing"

func TestLooksSecret(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"コードは[code]です", true},
		{"[CODE]", true},
		{"パスワード[password]", true},
		{"[recovery_code]を持っています", true},
		{"123456", true},
		{"コードは1234567です", true},
		{"12345678", true},
		{"１２３４５６", true},
		{"code: 654321.", true},
		{"ABCDE-12345-FGHIJ-67890-KLMNO", true},
		{"abcde12345fghij67890klmno", true},
		{"回復コードは ab3de fgh5j klmn8 pqrs7 uvwx9 です", true},
		{"12345", false},
		{"123456789", false},
		{"090-1234-5678", false},
		{"09012345678", false},
		{"KB5034441 の更新のあと", false},
		{"30日も待つの？", false},
		{"2026年11月25日", false},
		{"コードが届かない", false},
		{"these words never match right there", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := looksSecret(tt.text); got != tt.want {
			t.Errorf("looksSecret(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestLooksSecretWidths(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"ｋｂ１２３４５６７", false},
		{"コード：１２３４５６", true},
		{"ＡＢＣＤＥ－１２３４５－ＦＧＨＩＪ－６７８９０－ＫＬＭＮＯ", true},
		{"[Password]", true},
		{"[コード]", false},
	}
	for _, tt := range tests {
		if got := looksSecret(tt.text); got != tt.want {
			t.Errorf("looksSecret(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func BenchmarkLooksSecret(b *testing.B) {
	for b.Loop() {
		looksSecret("迷惑メールフォルダも確認したけど見当たらないです。どうすればいいですか？")
	}
}
