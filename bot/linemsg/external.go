package linemsg

import (
	"net/url"
	"regexp"
	"strings"
)

// External returns the web link u with LINE's openExternalBrowser=1, which
// opens it in the phone's browser instead of LINE's in-app one: signing in to
// Microsoft there often fails or loses the session. Other links (postbacks,
// line://, a URL that does not parse) are returned as they are.
func External(u string) string {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return u
	}
	p, err := url.Parse(u)
	if err != nil || p.Query().Has("openExternalBrowser") {
		return u
	}
	if p.RawQuery != "" {
		p.RawQuery += "&"
	}
	p.RawQuery += "openExternalBrowser=1"
	return p.String()
}

// linkRe finds web links in a text bubble; sentence punctuation right after
// one is trimmed off by externalText.
var linkRe = regexp.MustCompile(`https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+`)

// externalText applies External to every link in a text bubble.
func externalText(s string) string {
	if !strings.Contains(s, "http") {
		return s
	}
	return linkRe.ReplaceAllStringFunc(s, func(link string) string {
		trimmed := strings.TrimRight(link, ".,;:!?')")
		return External(trimmed) + link[len(trimmed):]
	})
}
