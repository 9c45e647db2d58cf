package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/bot"
	"github.com/todoku/todoku/redact"
)

// runChat is the simulator: the webhook's pipeline (inbox, dialog, log)
// without HTTP or LINE, on the configured database.
func runChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("chat", stderr)
	jsonMode := fs.Bool("json", false, "one JSON line per input line, for scripts")
	user := fs.String("user", "Ulocal-chat-user", "the LINE user id to talk as (its state persists)")
	cf := app.BindFlags(fs)
	cf.Default("LOG_LEVEL", "warn")
	cfg, code, ok := parseConfig(fs, cf, args, stderr)
	if !ok {
		return code
	}
	log := app.NewLogger(cfg, stderr)
	slog.SetDefault(log)
	// Replies are recorded, never sent: chat must not reach LINE users
	// even where LINE credentials are configured.
	a, err := app.New(ctx, cfg, app.Options{Logger: log, Sender: recordingSender{}})
	if err != nil {
		printErr(stderr, cfg, "chat", err)
		return 1
	}
	defer a.Close()
	s := &chatSession{proc: a.Processor, user: *user, cfg: cfg}
	if *jsonMode {
		return s.runJSON(ctx, stdin, stdout, stderr)
	}
	return s.runInteractive(ctx, stdin, stdout, stderr)
}

type chatSession struct {
	proc *bot.Processor
	user string
	cfg  *app.Config  // for redacting errors
	last []quickReply // the last turn's buttons, for numbered choices
}

// input turns one line into an event: "postback:DATA" is a button tap,
// anything else is typed text (redacted, as the webhook does).
func (s *chatSession) input(line string) (bot.Event, error) {
	ev := bot.Event{
		ID: uuid.NewString(), SourceType: "user", UserID: s.user, ChatID: s.user,
		Timestamp: time.Now(),
	}
	if data, ok := strings.CutPrefix(line, "postback:"); ok {
		if data == "" {
			return ev, fmt.Errorf("postback: needs the button's data, e.g. postback:go=ask_method")
		}
		ev.Type, ev.Data = "postback", data
		return ev, nil
	}
	ev.Type, ev.MessageType, ev.Text = "message", "text", redact.Text(line)
	return ev, nil
}

func (s *chatSession) runJSON(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	code := 0
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		ev, err := s.input(line)
		var turn bot.Turn
		if err == nil {
			turn, err = s.proc.HandleNow(ctx, ev)
		}
		if err != nil {
			// One line out for every line in, even when it failed.
			_ = enc.Encode(map[string]string{"error": s.cfg.Redact(err.Error())})
			code = 1
		} else {
			_ = enc.Encode(turn)
		}
		if err := out.Flush(); err != nil {
			fmt.Fprintln(stderr, "todoku chat:", err)
			return 1
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(stderr, "todoku chat: reading input:", err)
		return 1
	}
	return code
}

func (s *chatSession) runInteractive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, "todoku chat: type a message (a number taps a button, Ctrl-D quits)")
	sc := bufio.NewScanner(stdin)
	for {
		fmt.Fprint(stdout, "> ")
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			return 0
		}
		line := strings.TrimSpace(sc.Text())
		if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(s.last) {
			q := s.last[n-1]
			if q.uri != "" {
				fmt.Fprintf(stdout, "(opens %s)\n", q.uri)
				continue
			}
			fmt.Fprintf(stdout, "[%s]\n", q.label)
			line = "postback:" + q.data
		}
		ev, err := s.input(line)
		var turn bot.Turn
		if err == nil {
			turn, err = s.proc.HandleNow(ctx, ev)
		}
		if err != nil {
			fmt.Fprintln(stderr, "error:", s.cfg.Redact(err.Error()))
			continue
		}
		s.last = printTurn(stdout, turn)
	}
}

// quickReply is what the terminal needs of a LINE action.
type quickReply struct{ label, data, uri string }

// printTurn shows a turn's messages as text with numbered buttons and
// returns the buttons.
func printTurn(w io.Writer, turn bot.Turn) []quickReply {
	var buttons []quickReply
	for _, raw := range turn.Messages {
		var m struct {
			Type     string   `json:"type"`
			Text     string   `json:"text"`
			AltText  string   `json:"altText"`
			Contents struct { // a card (Flex bubble): its buttons are in the footer
				Footer struct {
					Contents []struct {
						Action lineAction `json:"action"`
					} `json:"contents"`
				} `json:"footer"`
			} `json:"contents"`
			Template struct {
				Title   string       `json:"title"`
				Text    string       `json:"text"`
				Actions []lineAction `json:"actions"`
			} `json:"template"`
			QuickReply struct {
				Items []struct {
					Action lineAction `json:"action"`
				} `json:"items"`
			} `json:"quickReply"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		switch {
		case m.Text != "":
			fmt.Fprintf(w, "bot: %s\n", m.Text)
		case m.Type == "flex":
			// The card's alternative text says what the card shows.
			fmt.Fprintf(w, "bot: %s\n", m.AltText)
			for _, b := range m.Contents.Footer.Contents {
				buttons = append(buttons, b.Action.quickReply())
			}
		case m.Template.Text != "":
			if m.Template.Title != "" {
				fmt.Fprintf(w, "bot: 【%s】\n", m.Template.Title)
			}
			fmt.Fprintf(w, "bot: %s\n", m.Template.Text)
			for _, a := range m.Template.Actions {
				buttons = append(buttons, a.quickReply())
			}
		}
		for _, it := range m.QuickReply.Items {
			buttons = append(buttons, it.Action.quickReply())
		}
	}
	// A card's buttons usually come again as quick replies: list each once.
	seen := map[quickReply]bool{}
	unique := buttons[:0]
	for _, b := range buttons {
		if !seen[b] {
			seen[b] = true
			unique = append(unique, b)
		}
	}
	for i, b := range unique {
		fmt.Fprintf(w, "  %d) %s\n", i+1, b.label)
	}
	return unique
}

type lineAction struct {
	Label string `json:"label"`
	Data  string `json:"data"`
	URI   string `json:"uri"`
}

func (a lineAction) quickReply() quickReply { return quickReply{a.Label, a.Data, a.URI} }

// recordingSender stands in for LINE in the simulator: the turn's messages
// are returned by HandleNow; delivering them is just recording success.
type recordingSender struct{}

func (recordingSender) Send(context.Context, bot.Outgoing) (bot.Delivery, error) {
	return bot.Delivery{Via: "simulator"}, nil
}

func (recordingSender) ShowLoading(context.Context, string, int) error { return nil }
