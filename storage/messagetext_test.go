package storage

import (
	"encoding/json"
	"testing"
)

func TestMessageText(t *testing.T) {
	tests := []struct {
		raw, typ, text string
	}{
		{`{"type":"text","text":"こんにちは"}`, "text", "こんにちは"},
		{`{"type":"template","altText":"代替","template":{"type":"buttons","title":"題","text":"本文"}}`, "template", "題\n本文"},
		{`{"type":"template","altText":"代替","template":{"type":"buttons","text":"本文だけ"}}`, "template", "本文だけ"},
		{`{"type":"sticker","packageId":"1"}`, "sticker", ""},
		{`not json`, "unknown", ""},
	}
	for _, tt := range tests {
		for pass := range 2 { // the second answer comes from the cache
			typ, text := messageText(json.RawMessage(tt.raw))
			if typ != tt.typ || text != tt.text {
				t.Errorf("pass %d: messageText(%s) = %q, %q; want %q, %q", pass, tt.raw, typ, text, tt.typ, tt.text)
			}
		}
	}
}
