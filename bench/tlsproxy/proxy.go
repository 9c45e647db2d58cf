// Package tlsproxy is a tiny HTTPS_PROXY for benchmarks: it accepts CONNECT
// to a fixed set of hosts (api.line.me:443), terminates TLS there with a
// certificate signed by a CA it makes at start (written to a PEM file for
// SSL_CERT_FILE), and serves the decrypted requests with a local handler
// (the fake Messaging API). A program with no endpoint setting, such as the
// SDK's echo bot, thus talks to the fake unmodified. Loopback only: it never
// dials anywhere.
package tlsproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Proxy is a CONNECT proxy that terminates TLS for its hosts.
type Proxy struct {
	// CAFile is the PEM file of the CA that signed the hosts' certificate.
	CAFile string
	// CAPool holds the CA (for in-process clients).
	CAPool *x509.CertPool

	hosts   map[string]bool
	tlsConf *tls.Config
	ln      net.Listener
	outer   *http.Server
	inner   *http.Server
	conns   *connListener
	connect int64
	mu      sync.Mutex
}

// New makes a CA and a certificate for hosts (host names, without ports),
// writes the CA to dir/ca.pem, and returns a proxy that serves the hosts'
// requests with backend. Start it with Listen.
func New(dir string, backend http.Handler, hosts ...string) (*Proxy, error) {
	if len(hosts) == 0 {
		return nil, errors.New("tlsproxy: no hosts")
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "todoku bench local CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	p := &Proxy{
		CAFile: caFile,
		CAPool: pool,
		hosts:  map[string]bool{},
		tlsConf: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
	}
	for _, h := range hosts {
		p.hosts[h+":443"] = true
	}
	p.conns = newConnListener()
	// Handshakes cut short by a client that gave up are expected under
	// load: keep them out of the bench's output.
	quiet := log.New(io.Discard, "", 0)
	p.inner = &http.Server{Handler: backend, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	p.outer = &http.Server{Handler: http.HandlerFunc(p.serveProxy), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet}
	return p, nil
}

// Listen starts the proxy on addr (e.g. 127.0.0.1:0) and returns its
// address for HTTPS_PROXY (http://ADDR).
func (p *Proxy) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	p.ln = ln
	go func() { _ = p.outer.Serve(ln) }()
	go func() { _ = p.inner.Serve(p.conns) }()
	return ln.Addr().String(), nil
}

// Connects returns how many CONNECT tunnels were opened.
func (p *Proxy) Connects() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connect
}

// Close stops the proxy and every tunnel.
func (p *Proxy) Close() error {
	err := p.outer.Close()
	p.conns.Close()
	if e := p.inner.Close(); err == nil {
		err = e
	}
	return err
}

func (p *Proxy) serveProxy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "only CONNECT is supported", http.StatusMethodNotAllowed)
		return
	}
	if !p.hosts[r.Host] {
		http.Error(w, "host not served by this proxy", http.StatusForbidden)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	p.mu.Lock()
	p.connect++
	p.mu.Unlock()
	var raw net.Conn = conn
	if buf != nil && buf.Reader.Buffered() > 0 {
		raw = &prefixConn{Conn: conn, r: buf.Reader}
	}
	if !p.conns.push(tls.Server(raw, p.tlsConf)) {
		conn.Close()
	}
}

// prefixConn reads what the hijacked reader buffered before the connection.
type prefixConn struct {
	net.Conn
	r interface{ Read([]byte) (int, error) }
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener hands hijacked TLS connections to the inner server.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
