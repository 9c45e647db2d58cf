package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/todoku/todoku/storage"
)

// DefaultPGAdmin is the Postgres URL used to create and drop the bench's
// databases (the machine's server: trust auth, user postgres).
const DefaultPGAdmin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// freshDB creates a new database on the server of adminURL and returns its
// URL and a function that drops it.
func freshDB(ctx context.Context, adminURL string) (string, func(), error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, err
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return "", nil, fmt.Errorf("postgres host %q is not loopback: the bench only runs on this machine", h)
	}
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "todoku_bench_" + hex.EncodeToString(b)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: drop database %s: %v\n", name, err)
		}
		admin.Close()
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// processed counts the inbox events a todoku database marked done.
func processed(ctx context.Context, dbURL string) int {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		return -1
	}
	defer db.Close()
	var n int64
	if err := db.Gorm().WithContext(ctx).Raw("SELECT count(*) FROM inbox_events WHERE status = ?", storage.StatusDone).Scan(&n).Error; err != nil {
		return -1
	}
	return int(n)
}

// privatePG is a throwaway PostgreSQL cluster in a temporary directory on
// its own loopback port, so a restart disturbs nobody else's server.
type privatePG struct {
	bin  string
	dir  string
	port int
}

const pgUser = "postgres"

func pgBinDir() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/pg_ctl: PostgreSQL server binaries are not installed")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// asPostgres runs a server binary as the postgres OS user when we are root
// (initdb and postgres refuse to run as root).
func asPostgres(ctx context.Context, name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", pgUser, "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

func startPrivatePG(ctx context.Context) (*privatePG, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "todoku-bench-pg-")
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if out, err := exec.CommandContext(ctx, "chown", pgUser+":", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown %s: %v: %s", dir, err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p := &privatePG{bin: bin, dir: dir, port: port}
	data := filepath.Join(dir, "data")
	if out, err := asPostgres(ctx, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", pgUser, "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := p.ctl(ctx, "start"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// ctl runs pg_ctl start, stop or restart and waits for it.
func (p *privatePG) ctl(ctx context.Context, action string) error {
	data := filepath.Join(p.dir, "data")
	args := []string{"-D", data, "-w", "-t", "60", "-l", filepath.Join(p.dir, "log")}
	if action != "stop" {
		args = append(args, "-o", "-p "+strconv.Itoa(p.port)+" -k "+p.dir+" -c listen_addresses=127.0.0.1 -c max_connections=100")
	}
	if action != "start" {
		args = append(args, "-m", "fast")
	}
	args = append(args, action)
	if out, err := asPostgres(ctx, filepath.Join(p.bin, "pg_ctl"), args...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %v: %s", action, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// AdminURL is the URL of the cluster's postgres database.
func (p *privatePG) AdminURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

func (p *privatePG) Close() {
	_ = p.ctl(context.Background(), "stop")
	os.RemoveAll(p.dir)
}

// systemPGCtl stops or starts the machine's cluster (disturbs every user of it).
func systemPGCtl(ctx context.Context, action string) error {
	vers, _ := filepath.Glob("/etc/postgresql/*")
	if len(vers) == 0 {
		return fmt.Errorf("no /etc/postgresql/* cluster")
	}
	v := filepath.Base(vers[len(vers)-1])
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", v, "main", action).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster %s: %v: %s", action, err, out)
	}
	return nil
}
