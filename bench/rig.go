package main

import (
	"net"
	"net/http"
	"os"
	"time"

	"github.com/todoku/todoku/bench/loadgen"
	"github.com/todoku/todoku/bench/tlsproxy"
	"github.com/todoku/todoku/bot/linefake"
)

// Secret is the channel secret the targets check signatures with.
const Secret = "todoku-bench-channel-secret-0001"

// lineHost is the host the SDK calls by default.
const lineHost = "api.line.me"

// rig is the LINE side of one run: the fake Messaging API on its own
// loopback listener, tapped by a tracker, and the TLS-terminating CONNECT
// proxy in front of the same fake for programs that call
// https://api.line.me.
type rig struct {
	Fake     *linefake.Server
	Tracker  *loadgen.Tracker
	FakeURL  string // http://127.0.0.1:PORT, for LINE_API_BASE_URL
	Proxy    *tlsproxy.Proxy
	ProxyURL string // http://127.0.0.1:PORT, for HTTPS_PROXY
	srv      *http.Server
	dir      string
}

// newRig starts a fake and a proxy; fakeAddr may fix the fake's address
// ("" picks a free loopback port).
func newRig(fakeAddr string) (*rig, error) {
	if fakeAddr == "" {
		fakeAddr = "127.0.0.1:0"
	}
	dir, err := os.MkdirTemp("", "todoku-bench-rig-")
	if err != nil {
		return nil, err
	}
	r := &rig{Fake: linefake.New(), Tracker: loadgen.NewTracker(), dir: dir}
	h := loadgen.Sink(r.Fake.Handler(), r.Tracker)
	ln, err := net.Listen("tcp", fakeAddr)
	if err != nil {
		r.Fake.Close()
		return nil, err
	}
	r.FakeURL = "http://" + ln.Addr().String()
	r.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	r.Proxy, err = tlsproxy.New(dir, h, lineHost)
	if err != nil {
		r.Close()
		return nil, err
	}
	addr, err := r.Proxy.Listen("127.0.0.1:0")
	if err != nil {
		r.Close()
		return nil, err
	}
	r.ProxyURL = "http://" + addr
	return r, nil
}

// Close stops everything the rig started.
func (r *rig) Close() {
	if r.Proxy != nil {
		r.Proxy.Close()
	}
	if r.srv != nil {
		r.srv.Close()
	}
	r.Fake.Close()
	os.RemoveAll(r.dir)
}
