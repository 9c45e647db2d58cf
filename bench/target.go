package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/bot/linefake"
)

// echoModule is the SDK's echo bot, built from the module version in go.mod.
const echoModule = "github.com/line/line-bot-sdk-go/v8/examples/echo_bot"

// Target kinds.
const (
	kindEcho   = "echo"
	kindTodoku = "todoku"
)

// binaries are the programs under test, built once per bench run.
type binaries struct {
	Dir    string
	Todoku string
	Echo   string
}

// build compiles todoku from this module and, with echo, the SDK's echo bot,
// unmodified, from the same SDK version (it is a dependency of this module).
func build(ctx context.Context, dir string, echo bool) (*binaries, error) {
	b := &binaries{Dir: dir, Todoku: filepath.Join(dir, "todoku")}
	if err := goBuild(ctx, b.Todoku, "./cmd/todoku"); err != nil {
		return nil, err
	}
	if echo {
		var err error
		if b.Echo, err = buildEcho(ctx, dir); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// buildEcho builds the SDK's examples/echo_bot into dir.
func buildEcho(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "echo_bot")
	return out, goBuild(ctx, out, echoModule)
}

func goBuild(ctx context.Context, out, pkg string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s: %v\n%s", out, pkg, err, b)
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the bench from inside the todoku module")
	}
	return filepath.Dir(mod), nil
}

// target is one server process under load.
type target struct {
	Name  string
	Kind  string
	Bin   string
	DBURL string // todoku only
	// Direct makes todoku call the fake over plain HTTP (LINE_API_BASE_URL)
	// instead of https://api.line.me through the TLS proxy.
	Direct  bool
	Workers int // todoku's WORKERS; 0: its default
	LogPath string

	addr string
	cmd  *exec.Cmd
	done chan error
}

// URL is the webhook URL.
func (t *target) URL() string { return "http://" + t.addr + "/callback" }

// PID is the server's process id (0 when not running).
func (t *target) PID() int {
	if t.cmd == nil || t.cmd.Process == nil {
		return 0
	}
	return t.cmd.Process.Pid
}

// freePort returns a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv is the environment without anything that would steer a target:
// todoku's settings, the echo bot's, proxies and certificates.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k = strings.ToUpper(k); k {
		case "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "PORT", "LINE_CHANNEL_TOKEN":
			continue
		}
		if slices.Contains(app.Variables(), k) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Start runs the target against the rig and waits until it answers.
func (t *target) Start(ctx context.Context, r *rig) error {
	if t.addr == "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		t.addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	_, port, _ := net.SplitHostPort(t.addr)
	env := cleanEnv()
	switch t.Kind {
	case kindEcho:
		env = append(env, "PORT="+port, "LINE_CHANNEL_SECRET="+Secret, "LINE_CHANNEL_TOKEN="+linefake.DefaultToken,
			"HTTPS_PROXY="+r.ProxyURL, "SSL_CERT_FILE="+r.Proxy.CAFile)
	case kindTodoku:
		env = append(env, "ADDR="+t.addr, "DATABASE_URL="+t.DBURL, "LINE_CHANNEL_SECRET="+Secret,
			"LINE_CHANNEL_ACCESS_TOKEN="+linefake.DefaultToken, "LOG_LEVEL=warn", "LOG_FORMAT=json")
		if t.Direct {
			env = append(env, "LINE_API_BASE_URL="+r.FakeURL)
		} else {
			env = append(env, "LINE_API_BASE_URL=https://"+lineHost, "HTTPS_PROXY="+r.ProxyURL, "SSL_CERT_FILE="+r.Proxy.CAFile)
		}
		if t.Workers > 0 {
			env = append(env, "WORKERS="+strconv.Itoa(t.Workers))
		}
	default:
		return fmt.Errorf("unknown target kind %q", t.Kind)
	}
	args := []string{}
	if t.Kind == kindTodoku {
		args = append(args, "serve")
	}
	cmd := exec.Command(t.Bin, args...)
	cmd.Env = env
	if t.LogPath != "" {
		f, err := os.OpenFile(t.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", t.Name, err)
	}
	t.cmd = cmd
	t.done = make(chan error, 1)
	go func() { t.done <- cmd.Wait() }()
	return t.waitReady(ctx)
}

func (t *target) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	for time.Now().Before(deadline) {
		select {
		case err := <-t.done:
			t.done <- err
			return fmt.Errorf("%s exited at start: %v (log: %s)", t.Name, err, t.LogPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if t.Kind == kindEcho {
			if c, err := net.DialTimeout("tcp", t.addr, time.Second); err == nil {
				c.Close()
				return nil
			}
			continue
		}
		res, err := client.Get("http://" + t.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not ready after 90 s (log: %s)", t.Name, t.LogPath)
}

// Stop ends the target with SIGTERM (SIGKILL after 30 s).
func (t *target) Stop() error {
	if t.cmd == nil {
		return nil
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-t.done:
		t.cmd = nil
		return ignoreSignalExit(err)
	case <-time.After(30 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
		t.cmd = nil
		return errors.New("did not stop within 30 s of SIGTERM; killed")
	}
}

// Kill ends the target with SIGKILL, as a crash would.
func (t *target) Kill() {
	if t.cmd == nil {
		return
	}
	_ = t.cmd.Process.Kill()
	<-t.done
	t.cmd = nil
}

func ignoreSignalExit(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return nil
		}
	}
	return err
}
