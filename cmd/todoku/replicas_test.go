package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/bot/linefake"
	"github.com/todoku/todoku/storage"
	"github.com/todoku/todoku/storage/storagetest"
)

// The replica test's load: repUsers users with repPerUser text events each,
// repDupShare of them delivered a second time.
const (
	repReplicas = 3
	repUsers    = 200
	repPerUser  = 25
	repDupShare = 0.10
	repSenders  = 24  // concurrent webhook requests, as LINE's delivery fleet would
	repRate     = 400 // events a second offered (about what three replicas handle on two busy cores)
	repSecret   = "replica-test-channel-secret-0123"
	repWorkers  = 4 // WORKERS of each replica: 3×(2×4+8) = 48 connections at most, within max_connections beside other tests
)

var repTexts = []string{
	"確認コードが届きません", "二段階認証のコードが来ない", "迷惑メールフォルダも確認したけど見当たらない",
	"SMSでコードが届かない", "携帯にショートメールが来ません", "機種変更したら認証アプリが使えなくなった",
	"何回も再送したのに届かない", "はい", "いいえ", "メールです", "もう使っていないアドレスです",
	"すべての情報が不明って何ですか", "30日も待つんですか", "回復フォームの書き方を教えて",
	"人と話したい", "最初から", "戻る", "ありがとうございます", "パスワード忘れた", "よくわからない",
}

// repEvent is one text event of the load.
type repEvent struct {
	id, token, text, user string
	user0, seq            int   // user index, position in the user's messages
	ts                    int64 // LINE timestamp (ms), fixed at the first send
	dup                   bool  // delivered a second time, as a redelivery
	acked                 atomic.Bool
}

func (e *repEvent) json(redelivery bool) map[string]any {
	return map[string]any{
		"type": "message", "mode": "active", "timestamp": e.ts,
		"source":          map[string]any{"type": "user", "userId": e.user},
		"webhookEventId":  e.id,
		"deliveryContext": map[string]any{"isRedelivery": redelivery},
		"replyToken":      e.token,
		"message":         map[string]any{"id": "m" + e.id, "type": "text", "quoteToken": "q" + e.id, "text": e.text},
	}
}

// repReplica is one `todoku serve` process.
type repReplica struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	addr string
	log  *os.File
	done chan struct{}
}

// repCluster is the replicas, the binary and their shared settings.
type repCluster struct {
	t        *testing.T
	bin, dir string
	env      []string
	replicas []*repReplica
}

func repFreePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// start starts replica i (again) and waits until /readyz answers 200. It
// runs on other goroutines than the test's, so it returns errors.
func (c *repCluster) start(i int) error {
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(c.dir, fmt.Sprintf("replica%d.log", i)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, "serve")
	cmd.Dir = c.dir
	cmd.Env = append(slices.Clone(c.env), "ADDR="+r.addr)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmd, r.log, r.done = cmd, f, done
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("replica %d exited at start: %s", i, c.logTail(i))
		default:
		}
		if res, err := client.Get("http://" + r.addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("replica %d not ready in 60 s: %s", i, c.logTail(i))
}

// kill sends SIGKILL to replica i and waits until it is gone.
func (c *repCluster) kill(i int) {
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	r.log.Close()
}

// stopAll stops every replica with SIGTERM (graceful), SIGKILL after 30 s.
func (c *repCluster) stopAll() {
	for i, r := range c.replicas {
		r.mu.Lock()
		if r.cmd != nil && r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(30 * time.Second):
				c.t.Errorf("replica %d did not stop within 30 s of SIGTERM", i)
				_ = r.cmd.Process.Kill()
				<-r.done
			}
			r.log.Close()
		}
		r.mu.Unlock()
	}
}

func (c *repCluster) logTail(i int) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("replica%d.log", i)))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// repBuild builds the binary once, as a deployment would run it.
func repBuild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "todoku")
	start := time.Now()
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// repEnv is the parent's environment without todoku's settings, plus the
// replicas' shared settings.
func repEnv(dbURL string, fake *linefake.Server) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LINE_") || strings.HasPrefix(name, "TODOKU_") || slices.Contains(app.Variables(), name) {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"DATABASE_URL="+dbURL,
		"LINE_CHANNEL_SECRET="+repSecret,
		"LINE_CHANNEL_ACCESS_TOKEN="+fake.Token(),
		"LINE_API_BASE_URL="+fake.URL(),
		"LOG_FORMAT=json", "LOG_LEVEL=warn", fmt.Sprint("WORKERS=", repWorkers),
	)
}

// repStats counts what the senders did.
type repStats struct {
	requests, redeliveries, failedAttempts, acked atomic.Int64
	restarted                                     atomic.Bool
	afterRestart                                  [repReplicas]atomic.Int64 // 200s per replica after the restart
}

// TestReplicasOnePostgres is issue 4's scale-out check: three `todoku serve`
// processes on one Postgres, webhook requests spread across them at random,
// 10% of the events redelivered (sometimes to another replica), one replica
// killed with SIGKILL mid-load and restarted on the same port. Afterwards
// every event has exactly one reply, none was processed twice, and each
// user's replies arrived in the order of their messages.
func TestReplicasOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and sends 5,000 events; not with -short")
	}
	if os.Getenv(storagetest.EnvPostgres) == "" {
		t.Skip(storagetest.EnvPostgres + " is not set")
	}
	testStart := time.Now()
	dbURL := storagetest.PostgresURL(t)
	db := storagetest.Open(t, dbURL) // migrated once here; the replicas find it current
	bin := repBuild(t)
	fake := linefake.New()
	defer fake.Close()

	// The replicas name themselves, so their connections can be counted.
	appName := fmt.Sprintf("todoku_rep_%d", os.Getpid())
	c := &repCluster{t: t, bin: bin, dir: t.TempDir(), env: repEnv(dbURL+"&application_name="+appName, fake)}
	for range repReplicas {
		c.replicas = append(c.replicas, &repReplica{addr: repFreePort(t)})
	}
	defer c.stopAll()
	startAt := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, repReplicas)
	for i := range c.replicas {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d replicas ready in %v", repReplicas, time.Since(startAt).Round(time.Millisecond))

	// The load: per user, events in order; users interleaved.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	users := make([][]*repEvent, repUsers)
	var all []*repEvent
	for u := range users {
		uid := fmt.Sprintf("U%032x", rng.Uint64()<<32|uint64(u))
		for k := range repPerUser {
			e := &repEvent{
				id:    fmt.Sprintf("01REP%05d%04d%012X", u, k, rng.Uint64()&0xffffffffffff),
				token: fmt.Sprintf("%032x", rng.Uint64()) + fmt.Sprintf("%016x", rng.Uint64()),
				text:  repTexts[rng.IntN(len(repTexts))],
				user:  uid, user0: u, seq: k,
			}
			fake.ExpectToken(e.token, uid)
			users[u] = append(users[u], e)
			all = append(all, e)
		}
	}
	for _, i := range rng.Perm(len(all))[:int(float64(len(all))*repDupShare)] {
		all[i].dup = true
	}
	total := len(all)

	var st repStats
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: repSenders, IdleConnTimeout: 30 * time.Second}}
	var rngMu sync.Mutex
	randN := func(n int) int { rngMu.Lock(); defer rngMu.Unlock(); return rng.IntN(n) }

	// post delivers one body, retrying on another replica until one answers
	// 200 (LINE redelivers what was not acknowledged).
	post := func(events []map[string]any) bool {
		body, _ := json.Marshal(map[string]any{"destination": "U0123456789abcdef0123456789abcdef", "events": events})
		m := hmac.New(sha256.New, []byte(repSecret))
		m.Write(body)
		sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
		target := randN(repReplicas)
		for attempt := 1; attempt <= 100; attempt++ {
			st.requests.Add(1)
			req, _ := http.NewRequest(http.MethodPost, "http://"+c.replicas[target].addr+"/callback", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Line-Signature", sig)
			res, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					if st.restarted.Load() {
						st.afterRestart[target].Add(1)
					}
					return true
				}
			}
			st.failedAttempts.Add(1)
			target = (target + 1 + randN(repReplicas-1)) % repReplicas
			time.Sleep(time.Duration(min(attempt, 10)) * 20 * time.Millisecond)
		}
		return false
	}

	// Scheduling: a user is "busy" while a request with their events is in
	// flight, so their events are always acknowledged in order.
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	next := make([]int, repUsers)
	busy := make([]bool, repUsers)
	ready := make([]int, repUsers)
	for i := range ready {
		ready[i] = i
	}
	remaining := repUsers
	take := func() []*repEvent {
		mu.Lock()
		defer mu.Unlock()
		for len(ready) == 0 && remaining > 0 {
			cond.Wait()
		}
		if remaining == 0 {
			return nil
		}
		var batch []*repEvent
		for n := 1 + randN(2); n > 0 && len(ready) > 0; n-- { // one or two users a request
			j := randN(len(ready))
			u := ready[j]
			ready[j] = ready[len(ready)-1]
			ready = ready[:len(ready)-1]
			busy[u] = true
			k := 1 + randN(3)*randN(2) // mostly one event, sometimes two or three
			for ; k > 0 && next[u] < repPerUser; k-- {
				e := users[u][next[u]]
				next[u]++
				batch = append(batch, e)
			}
		}
		now := time.Now().UnixMilli()
		for _, e := range batch {
			if e.seq > 0 {
				now = max(now, users[e.user0][e.seq-1].ts+1)
			}
			e.ts = now
		}
		return batch
	}
	release := func(batch []*repEvent) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[int]bool{}
		for _, e := range batch {
			if seen[e.user0] {
				continue
			}
			seen[e.user0] = true
			busy[e.user0] = false
			if next[e.user0] < repPerUser {
				ready = append(ready, e.user0)
			} else {
				remaining--
			}
		}
		cond.Broadcast()
	}

	// Redeliveries: a copy of an acknowledged event, a moment later, to any
	// replica, marked isRedelivery.
	redeliver := make(chan *repEvent, total)
	var redeliverWG sync.WaitGroup
	var pendingRedeliveries sync.WaitGroup
	for range 4 {
		redeliverWG.Go(func() {
			for e := range redeliver {
				st.redeliveries.Add(1)
				if !post([]map[string]any{e.json(true)}) {
					t.Errorf("redelivery of %s never acknowledged", e.id)
				}
				pendingRedeliveries.Done()
			}
		})
	}

	// The kill: once a quarter of the events are acknowledged, SIGKILL
	// replica 1 (with work in flight: the replicas run behind the senders),
	// and restart it on the same port half a second later.
	const victim = 1
	var killedAt, restartedAt time.Time
	var backlogAtKill int64
	killDone := make(chan struct{})
	go func() {
		defer close(killDone)
		for st.acked.Load() < int64(total/4) {
			time.Sleep(5 * time.Millisecond)
		}
		killedAt = time.Now()
		c.kill(victim)
		db.Gorm().Model(&storage.InboxEvent{}).Where("status = ?", storage.StatusPending).Count(&backlogAtKill)
		time.Sleep(500 * time.Millisecond)
		if err := c.start(victim); err != nil {
			t.Errorf("restart: %v", err)
		}
		restartedAt = time.Now()
		st.restarted.Store(true)
	}()

	// The replicas' PostgreSQL connections, sampled (a bounded pool keeps
	// several replicas within max_connections).
	var peakConns atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var n int64
			db.Gorm().Raw("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ?", appName).Scan(&n)
			if n > peakConns.Load() {
				peakConns.Store(n)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	sendStart := time.Now()
	var offered atomic.Int64
	var senders sync.WaitGroup
	for range repSenders {
		senders.Go(func() {
			for {
				// Keep the last tenth of the load for after the restart,
				// however long the restart takes.
				for !st.restarted.Load() && offered.Load() >= int64(total*9/10) {
					time.Sleep(10 * time.Millisecond)
				}
				batch := take()
				if batch == nil {
					return
				}
				// Pace the load at repRate so that the restarted replica
				// comes back while events are still arriving.
				due := sendStart.Add(time.Duration(offered.Add(int64(len(batch)))) * time.Second / repRate)
				time.Sleep(time.Until(due))
				events := make([]map[string]any, len(batch))
				for i, e := range batch {
					events[i] = e.json(false)
				}
				if !post(events) {
					t.Errorf("a request of %d events was never acknowledged", len(batch))
				}
				for _, e := range batch {
					e.acked.Store(true)
					st.acked.Add(1)
					if e.dup {
						pendingRedeliveries.Add(1)
						time.AfterFunc(time.Duration(randN(2000))*time.Millisecond, func() { redeliver <- e })
					}
				}
				release(batch)
			}
		})
	}
	senders.Wait()
	<-killDone
	pendingRedeliveries.Wait()
	close(redeliver)
	redeliverWG.Wait()
	sendTime := time.Since(sendStart)
	t.Logf("sent %d events (%d redelivered) in %d requests (%d failed attempts, retried) in %v; replica %d killed at +%v with %d events pending in the inbox, ready again at +%v; requests acknowledged per replica after that: %d %d %d",
		total, st.redeliveries.Load(), st.requests.Load(), st.failedAttempts.Load(), sendTime.Round(time.Millisecond),
		victim, killedAt.Sub(sendStart).Round(time.Millisecond), backlogAtKill, restartedAt.Sub(sendStart).Round(time.Millisecond),
		st.afterRestart[0].Load(), st.afterRestart[1].Load(), st.afterRestart[2].Load())
	if st.afterRestart[victim].Load() == 0 {
		t.Errorf("the restarted replica acknowledged no request: the load ended before it was back")
	}

	// Wait until everything acknowledged is processed and delivered.
	ctx := context.Background()
	drainStart := time.Now()
	var pendingIn, pendingOut, inboxRows int64
	for {
		g := db.Gorm().WithContext(ctx)
		g.Model(&storage.InboxEvent{}).Where("status = ?", storage.StatusPending).Count(&pendingIn)
		g.Model(&storage.OutboxRow{}).Where("status = ?", storage.StatusPending).Count(&pendingOut)
		g.Model(&storage.InboxEvent{}).Count(&inboxRows)
		if pendingIn == 0 && pendingOut == 0 && inboxRows >= int64(total) {
			break
		}
		if time.Since(drainStart) > 90*time.Second {
			t.Errorf("not drained 90 s after the last request: %d inbox events and %d outbox rows pending, %d accepted", pendingIn, pendingOut, inboxRows)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	drainTime := time.Since(drainStart)
	close(stopSampling)
	<-sampled

	// What the database says: one inbox row and one inbound message per
	// event, each processed, each with one outbox row.
	type rowT struct {
		WebhookEventID string
		Status         string
		OutStatus      *string
		Via            *string
		RetryKey       *string
	}
	var rows []rowT
	if err := db.Gorm().Raw(`SELECT i.webhook_event_id, i.status, o.status AS out_status, o.via, o.retry_key
		FROM inbox_events i LEFT JOIN outbox o ON o.inbox_event_id = i.id`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	byID := map[string]*repEvent{}
	byToken := map[string]*repEvent{}
	for _, e := range all {
		byID[e.id] = e
		byToken[e.token] = e
	}
	processed, failed, outRows, outSent, viaPush := 0, 0, 0, 0, 0
	keyEvent := map[string]*repEvent{}
	rowsPerEvent := map[string]int{}
	for _, r := range rows {
		rowsPerEvent[r.WebhookEventID]++
		switch r.Status {
		case storage.StatusDone:
			processed++
		case storage.StatusFailed:
			failed++
		}
		if r.OutStatus != nil {
			outRows++
			if *r.OutStatus == storage.StatusSent {
				outSent++
			}
			if r.Via != nil && *r.Via == "push" {
				viaPush++
			}
			if r.RetryKey != nil && byID[r.WebhookEventID] != nil {
				keyEvent[*r.RetryKey] = byID[r.WebhookEventID]
			}
		}
	}
	var turnsTwice int64
	db.Gorm().Raw(`SELECT COUNT(*) FROM (SELECT webhook_event_id FROM messages WHERE direction = ? GROUP BY webhook_event_id HAVING COUNT(*) > 1) x`, storage.DirectionIn).Scan(&turnsTwice)

	// What reached the users: each delivery attributed to its event (replies
	// by token, pushes by the outbox row's retry key).
	deliveries := fake.Deliveries()
	got := map[*repEvent]int{}
	lastSeq := map[int]int{}
	outOfOrder, strays := 0, 0
	var lags []time.Duration
	for _, d := range deliveries {
		var e *repEvent
		if d.Via == "reply" {
			e = byToken[d.Token]
		} else {
			e = keyEvent[d.RetryKey]
		}
		if e == nil || d.To != e.user {
			strays++
			continue
		}
		got[e]++
		if prev, ok := lastSeq[e.user0]; ok && e.seq <= prev {
			outOfOrder++
		}
		lastSeq[e.user0] = e.seq
		lags = append(lags, d.Time.Sub(time.UnixMilli(e.ts)))
	}
	lost, dups, notAcked := 0, 0, 0
	for _, e := range all {
		switch n := got[e]; {
		case n == 0:
			lost++
		case n > 1:
			dups += n - 1
		}
		if !e.acked.Load() {
			notAcked++
		}
		if rowsPerEvent[e.id] != 1 {
			t.Errorf("event %s has %d inbox rows, want 1", e.id, rowsPerEvent[e.id])
		}
	}
	slices.Sort(lags)
	pct := func(p float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(p*float64(len(lags))))].Round(time.Millisecond)
	}
	summary := fmt.Sprintf("sent=%d acked=%d processed=%d replied=%d lost=%d dup=%d | redelivered=%d requests=%d failed_attempts=%d out_of_order=%d strays=%d via_push=%d failed=%d turns_twice=%d | send %v (%.0f events/s offered) drain %v (%.0f events/s processed end to end) | reply lag p50 %v p99 %v max %v | peak connections %d (bound %d a replica) | total %v",
		total, total-notAcked, processed, len(got), lost, dups, st.redeliveries.Load(), st.requests.Load(), st.failedAttempts.Load(),
		outOfOrder, strays, viaPush, failed, turnsTwice, sendTime.Round(time.Millisecond), float64(total)/sendTime.Seconds(),
		drainTime.Round(time.Millisecond), float64(total)/(sendTime+drainTime).Seconds(), pct(0.5), pct(0.99), pct(1), peakConns.Load(), (&app.Config{Workers: repWorkers}).PoolSize(), time.Since(testStart).Round(time.Second))
	t.Log(summary)
	fmt.Println("replicas:", summary)

	if notAcked > 0 || processed != total || failed > 0 {
		t.Errorf("acknowledged %d of %d, processed %d, failed %d", total-notAcked, total, processed, failed)
	}
	if lost > 0 || dups > 0 || strays > 0 {
		t.Errorf("lost %d, duplicated %d, unattributable deliveries %d", lost, dups, strays)
	}
	if outOfOrder > 0 {
		t.Errorf("%d replies arrived before a reply to an earlier message of the same user", outOfOrder)
	}
	if turnsTwice > 0 {
		t.Errorf("%d events were processed twice (two inbound messages logged)", turnsTwice)
	}
	if peakConns.Load() > int64(repReplicas*(&app.Config{Workers: repWorkers}).PoolSize()) {
		t.Errorf("the replicas held %d connections at once, more than %d×%d", peakConns.Load(), repReplicas, (&app.Config{Workers: repWorkers}).PoolSize())
	}
	if outRows != total || outSent != total {
		t.Errorf("outbox: %d rows, %d sent; want %d", outRows, outSent, total)
	}
	for i := range c.replicas {
		b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("replica%d.log", i)))
		t.Logf("replica %d logged %d warnings and %d errors", i, strings.Count(string(b), `"level":"WARN"`), strings.Count(string(b), `"level":"ERROR"`))
	}
	if t.Failed() || testing.Verbose() {
		for i := range c.replicas {
			t.Logf("replica %d log tail:\n%s", i, c.logTail(i))
		}
	}
}
