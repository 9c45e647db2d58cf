package tlsproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func newProxy(t *testing.T) (*Proxy, string) {
	t.Helper()
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen-Host", r.Host)
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body))
	})
	p, err := New(t.TempDir(), backend, "api.line.me")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := p.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, "http://" + addr
}

func client(t *testing.T, proxyURL string, roots *x509.CertPool) *http.Client {
	t.Helper()
	u, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(u),
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}}
}

func TestProxyServesHostThroughTLS(t *testing.T) {
	p, proxyURL := newProxy(t)
	c := client(t, proxyURL, p.CAPool)
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 20 {
		wg.Go(func() {
			res, err := c.Post("https://api.line.me/v2/bot/message/reply", "application/json", strings.NewReader("x"+strings.Repeat("y", i)))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if want := "POST /v2/bot/message/reply x" + strings.Repeat("y", i); string(b) != want || res.Header.Get("X-Seen-Host") != "api.line.me" {
				errs <- "got " + string(b) + " host " + res.Header.Get("X-Seen-Host")
			}
			if res.TLS == nil || res.TLS.PeerCertificates[0].DNSNames[0] != "api.line.me" {
				errs <- "not TLS with the api.line.me certificate"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if p.Connects() < 1 {
		t.Fatalf("%d CONNECT tunnels", p.Connects())
	}
}

func TestProxyCAFileIsPEM(t *testing.T) {
	p, proxyURL := newProxy(t)
	b, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CA file is not a PEM certificate: %q", b)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA file: %v, IsCA=%v", err, ca != nil && ca.IsCA)
	}
	// A client trusting only the file's CA gets through (what SSL_CERT_FILE does).
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	res, err := client(t, proxyURL, pool).Get("https://api.line.me/v2/bot/info")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestProxyRefuses(t *testing.T) {
	p, proxyURL := newProxy(t)
	// A client without the CA must not trust the certificate.
	if _, err := client(t, proxyURL, x509.NewCertPool()).Get("https://api.line.me/v2/bot/info"); err == nil {
		t.Error("a client without the CA accepted the certificate")
	}
	// Other hosts are never tunnelled (the proxy dials nowhere).
	if _, err := client(t, proxyURL, p.CAPool).Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT to another host: err %v, want Forbidden", err)
	}
	// Plain proxying is not supported.
	res, err := client(t, proxyURL, p.CAPool).Get("http://api.line.me/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("plain HTTP through the proxy: status %d, want 405", res.StatusCode)
	}
}
