// Package knowledge holds the knowledge model: packs of nodes, intents and
// synonyms loaded from YAML, their validation, and free-text matching.
//
// A pack is data, not code: operators edit it without touching Go. Everything
// the bot says and every way the flow can go lives in a pack.
package knowledge

// Terminal kinds for Node.Terminal.
const (
	TerminalResolved = "resolved" // the user's problem is answered; the flow may end here
	TerminalHandoff  = "handoff"  // the conversation is handed over to a person
)

// Intent kinds for Intent.Kind.
const (
	// KindTopic intents are global: they move the conversation to Target from
	// anywhere in the flow ("30日も待つの？" while in the SMS checklist).
	KindTopic = "topic"
	// KindAnswer intents answer the current question (はい, いいえ, メール,
	// SMS, アプリ). They only count where the current node lists them in
	// Expects; the node says where each answer leads.
	KindAnswer = "answer"
	// KindCommand intents steer the conversation itself: Command says which.
	KindCommand = "command"
)

// Commands for Intent.Command and Choice.Command.
const (
	CommandRestart = "restart" // 最初から: back to the start node, slots cleared
	CommandBack    = "back"    // 戻る: the previous node
	CommandHandoff = "handoff" // talk to a person: go to Pack.Handoff
	CommandResume  = "resume"  // after an idle pause: continue where the user was
)

// Pack is one knowledge pack: the whole flow and vocabulary for one service in
// one language. ID+Version identify exactly which knowledge served a turn.
type Pack struct {
	ID       string `yaml:"id"`       // e.g. "microsoft-ja"
	Service  string `yaml:"service"`  // e.g. "microsoft"
	Language string `yaml:"language"` // BCP 47, e.g. "ja"
	Version  string `yaml:"version"`  // operator-visible version, e.g. "2026-11-25.1"

	// Kind is "" for a pack and KindPart for a shared part (see Uses).
	Kind string `yaml:"kind,omitempty"`
	// Name is how texts name the service ("Google アカウント"): {service}
	// in a part's texts becomes it. Label is the service's button in
	// "which service?" questions ("Google").
	Name  string `yaml:"name,omitempty"`
	Label string `yaml:"label,omitempty"`
	// Uses names the shared parts (by id) merged into this pack when it
	// loads: what every pack of a language has in common is written once.
	Uses []string `yaml:"uses,omitempty"`
	// Names are the words that name this pack's service in what people
	// write (Google, グーグル, Googleアカウント); ContextNames count only next
	// to a word about codes or signing in, being often just where a code
	// goes or the chat itself (Gmail, LINE). OtherNames, usually from a
	// part, name services that no pack serves (Instagram, PayPay, 銀行).
	// The router reads them; see Routing.
	Names        []string `yaml:"names,omitempty"`
	ContextNames []string `yaml:"context_names,omitempty"`
	OtherNames   []string `yaml:"other_names,omitempty"`
	// Routing is the language data the router reads names with.
	Routing *Routing `yaml:"routing,omitempty"`
	// Sources are where the pack's facts come from; messages cite them by id.
	Sources []Source `yaml:"sources,omitempty"`
	// Hedges are expressions that soften a statement (場合があります); a
	// message citing only weak sources must use one.
	Hedges []string `yaml:"hedges,omitempty"`

	Start    string `yaml:"start"`    // node for a new user, follow and 最初から (topic welcome)
	Handoff  string `yaml:"handoff"`  // node for "talk to a person" (topic handoff)
	Fallback string `yaml:"fallback"` // node for understood-but-unsupported requests (topic out_of_scope)

	// RequiredTopics must each have at least one node; validation fails otherwise.
	RequiredTopics []string `yaml:"required_topics"`

	// Synonyms are groups of words that mean the same thing to the matcher; the
	// first word of a group is its canonical form (メールアドレス: メアド, アドレス).
	Synonyms [][]string `yaml:"synonyms"`

	Intents []Intent `yaml:"intents"`
	Nodes   []Node   `yaml:"nodes"`

	// Facts is the vocabulary of what the bot remembers about the user's
	// situation (method: sms, contact: lost, two_step: on). Facts are kept in
	// the session; nodes set them, answers settle them, understanding finds
	// them in any message.
	Facts []FactSpec `yaml:"facts,omitempty"`

	// Questions are the questions nodes ask (Node.Asks), each with examples
	// of how people answer it, directly and indirectly; the understander
	// learns from them what an answer to that question looks like.
	Questions []Question `yaml:"questions,omitempty"`

	// RichMenu is the menu under the chat's input field; optional
	// (`todoku richmenu apply` publishes it).
	RichMenu *RichMenu `yaml:"rich_menu,omitempty"`

	// Texts are the system's own phrases (reprompts, idle check, non-text
	// replies, code-safety warning, ...), keyed by the Text* constants.
	Texts map[string]string `yaml:"texts"`

	// Lines maps YAML paths ("nodes[3].choices[1]") to their line in the source
	// file, for error messages. Filled by the loader; never serialised.
	Lines map[string]int `yaml:"-"`
	// Files maps the paths of items taken from parts ("nodes[40]") to the
	// part's file, whose lines Lines then holds. Filled by the loader.
	Files map[string]string `yaml:"-"`
	// Parts lists the parts merged in, as "id version". Filled by the loader.
	Parts []string `yaml:"-"`
	// File is the name the pack was loaded under (its file). Filled by the loader.
	File string `yaml:"-"`

	// idx makes Node and Intent lookups O(1). Built by Parse, read-only
	// afterwards; nil for packs built in Go (lookups then scan).
	idx *packIndex
}

// Keys of Pack.Texts that every pack must define.
const (
	TextReprompt    = "reprompt"     // first miss: "could you choose from these?"
	TextOfferHuman  = "offer_human"  // second miss: offer a person
	TextIdleResume  = "idle_resume"  // back after a long pause: continue or start over?
	TextNonText     = "non_text"     // a sticker/image/...: please write in text
	TextGroup       = "group"        // the bot works in one-to-one chats only
	TextCodeSafety  = "code_safety"  // the user sent something that looks like a code or password
	TextStaleButton = "stale_button" // a tapped button no longer exists in this pack version
)

// Placeholders the engine fills in node messages and texts, and the texts
// they are made of (required when the placeholder is used).
const (
	// PlaceholderGreeting is a greeting that fits the time of day in the
	// pack's time zone (Japan): TextGreetingMorning, Day or Evening.
	PlaceholderGreeting = "{greeting}"
	// PlaceholderStaff says when staff will answer: TextStaffOnDuty,
	// TextStaffOffDuty (with PlaceholderNext) or TextStaffUnknown.
	PlaceholderStaff = "{staff}"
	// PlaceholderNext, in TextStaffOffDuty only, is when staff next come on
	// duty (本日の10時, 明日の10時, 12月5日（金）の10時).
	PlaceholderNext = "{next}"

	TextGreetingMorning = "greeting_morning" // おはようございます (4:00–10:59)
	TextGreetingDay     = "greeting_day"     // こんにちは (11:00–17:59)
	TextGreetingEvening = "greeting_evening" // こんばんは (18:00–3:59)
	TextStaffOnDuty     = "staff_on_duty"    // staff are working now
	TextStaffOffDuty    = "staff_off_duty"   // staff come back at {next}
	TextStaffUnknown    = "staff_unknown"    // the caller did not say
)

// PlaceholderTexts lists, for each placeholder, the texts it needs.
var PlaceholderTexts = map[string][]string{
	PlaceholderGreeting: {TextGreetingMorning, TextGreetingDay, TextGreetingEvening},
	PlaceholderStaff:    {TextStaffOnDuty, TextStaffOffDuty, TextStaffUnknown},
}

// Optional texts the engine uses when the pack has them.
const (
	// TextWaiting acknowledges a follow-up while the user waits for a
	// person (まだですか？): short, with {staff}; instead of the handoff node again.
	TextWaiting = "waiting"
	// TextWaitingThanks answers thanks from someone waiting for a person
	// (the closing would say goodbye while the person is still to come).
	TextWaitingThanks = "waiting_thanks"
	// TextKnownSkip goes in front of a step reached by skipping questions
	// the user had already answered in their own words.
	TextKnownSkip = "known_skip"
	// TextSameStep goes in front of a step's question when the user would
	// get the same step again (the step itself is not repeated).
	TextSameStep = "same_step"
	// TextConfirmNo answers いいえ to a confirmation (「〜のことでしょうか？」).
	TextConfirmNo = "confirm_no"
	// TextThanks answers plain thanks in the middle of a step.
	TextThanks = "thanks"
	// TextHandBack is pushed when staff hand a conversation back to the bot.
	TextHandBack = "handback"
)

// RequiredTexts lists the Texts keys a pack must define.
var RequiredTexts = []string{TextReprompt, TextOfferHuman, TextIdleResume, TextNonText, TextGroup, TextCodeSafety, TextStaleButton}

// Intent is something a user may mean, with example phrases to recognise it.
type Intent struct {
	ID       string   `yaml:"id"`
	Kind     string   `yaml:"kind"`              // KindTopic (default), KindAnswer or KindCommand
	Target   string   `yaml:"target,omitempty"`  // KindTopic: node to go to
	Command  string   `yaml:"command,omitempty"` // KindCommand: one of the Command* constants
	Examples []string `yaml:"examples"`
	// Keywords are short cue words that alone make this intent likely
	// ("迷惑メール" for the junk-folder check). Optional.
	Keywords []string `yaml:"keywords,omitempty"`
}

// Node is one step of the flow: what the bot says there and where the user can go.
type Node struct {
	ID    string `yaml:"id"`
	Topic string `yaml:"topic"`
	// Messages are sent in order when the node is entered (at most 5 per turn
	// with any system text in front). Choices become quick replies on the last.
	Messages []Message `yaml:"messages"`
	Choices  []Choice  `yaml:"choices,omitempty"`
	// Expects maps free-text answers (KindAnswer intent ids) to next nodes.
	Expects []Expect `yaml:"expects,omitempty"`
	// Asks names the question (Pack.Questions) this node asks, whose answer
	// examples teach the understander how people answer it here. When the
	// answer is already known from what the user said (the question's fact),
	// the engine follows the matching expect instead of asking. Optional.
	Asks string `yaml:"asks,omitempty"`
	// Sets are slots set on entering the node (method: email, has_access: no).
	Sets map[string]string `yaml:"sets,omitempty"`
	// Terminal is "", TerminalResolved or TerminalHandoff.
	Terminal string `yaml:"terminal,omitempty"`
	// Next is where a plain "はい/次へ" (the answer intent "yes" when not listed in
	// Expects) leads from an informational node; optional.
	Next string `yaml:"next,omitempty"`
	// Routes are facts that make this step moot, and where the user goes
	// instead (a junk-folder check for an address the user no longer has).
	Routes []Route `yaml:"routes,omitempty"`
	// Confirm marks a weighty node (the recovery form, "you may not be able
	// to recover"): free text that is not a sure match for it is first
	// confirmed with this question (「〜のことでしょうか？」) and はい/いいえ.
	Confirm string `yaml:"confirm,omitempty"`
}

// Question is something the bot asks, with examples of each answer: the
// generic examples of the answer intents (はい, いいえ) count for every
// question; these are the answers to this one (大学のアドレスで、卒業してもう
// 使えない answers "can you still receive mail there?" with no).
type Question struct {
	ID      string           `yaml:"id"`
	Fact    string           `yaml:"fact,omitempty"` // the fact an answer settles, if any
	Answers []QuestionAnswer `yaml:"answers"`
}

// QuestionAnswer is one answer to a question and how people phrase it.
type QuestionAnswer struct {
	Answer   string   `yaml:"answer"`          // a KindAnswer intent id
	Value    string   `yaml:"value,omitempty"` // the value of Question.Fact this answer means
	Examples []string `yaml:"examples"`
}

// Route sends the user on to Next when a fact has a value.
type Route struct {
	Fact  string `yaml:"fact"`
	Value string `yaml:"value"`
	Next  string `yaml:"next"`
}

// FactSpec declares one fact and the values it can take. A fact that
// depends on another (contact on method: the address or number the code
// goes to) is forgotten when that one changes. Examples, by value, are
// phrasings that state the fact, for the understander to learn from.
type FactSpec struct {
	ID        string              `yaml:"id"`
	Values    []string            `yaml:"values"`
	DependsOn string              `yaml:"depends_on,omitempty"`
	Examples  map[string][]string `yaml:"examples,omitempty"`
}

// Message is one speech bubble.
type Message struct {
	Text string `yaml:"text"`
	// Sources are the ids (Pack.Sources) of where the facts it states come from.
	Sources []string `yaml:"sources,omitempty"`
	// Buttons, when set, sends this bubble as a buttons template instead of
	// plain text (Text becomes its body, at most 160 characters; 60 with a title).
	Buttons *Buttons `yaml:"buttons,omitempty"`
	// Card, when set, sends this bubble as a card (Flex message); Text is
	// its alternative text.
	Card *Card `yaml:"card,omitempty"`
}

// Buttons is an optional template message: a title and up to 4 actions.
type Buttons struct {
	Title   string   `yaml:"title,omitempty"`
	AltText string   `yaml:"alt_text"`
	Actions []Choice `yaml:"actions"`
}

// Choice is a button: exactly one of Next, Command, URI or Service is set.
type Choice struct {
	Label   string `yaml:"label"`             // at most 20 characters
	Next    string `yaml:"next,omitempty"`    // node id
	Command string `yaml:"command,omitempty"` // Command* constant
	URI     string `yaml:"uri,omitempty"`     // opens a web page (https only)
	// Service switches to that service's pack (the router handles it), or
	// to the other_service node for ServiceOther.
	Service string `yaml:"service,omitempty"`
}

// Expect maps one answer intent to the node it leads to.
type Expect struct {
	Answer string `yaml:"answer"` // a KindAnswer intent id
	Next   string `yaml:"next"`
}

// Node returns the node with the given id, or nil.
func (p *Pack) Node(id string) *Node {
	if p.idx != nil {
		if i, ok := p.idx.nodes[id]; ok && i < len(p.Nodes) && p.Nodes[i].ID == id {
			return &p.Nodes[i]
		}
	}
	for i := range p.Nodes {
		if p.Nodes[i].ID == id {
			return &p.Nodes[i]
		}
	}
	return nil
}

// Intent returns the intent with the given id, or nil.
func (p *Pack) Intent(id string) *Intent {
	if p.idx != nil {
		if i, ok := p.idx.intents[id]; ok && i < len(p.Intents) && p.Intents[i].ID == id {
			return &p.Intents[i]
		}
	}
	for i := range p.Intents {
		if p.Intents[i].ID == id {
			return &p.Intents[i]
		}
	}
	return nil
}

// Question returns the question with the given id, or nil.
func (p *Pack) Question(id string) *Question {
	for i := range p.Questions {
		if p.Questions[i].ID == id {
			return &p.Questions[i]
		}
	}
	return nil
}

// Fact returns the declaration of fact id, or nil.
func (p *Pack) Fact(id string) *FactSpec {
	for i := range p.Facts {
		if p.Facts[i].ID == id {
			return &p.Facts[i]
		}
	}
	return nil
}

// Text returns the system text for key, or "" when the pack lacks it.
func (p *Pack) Text(key string) string { return p.Texts[key] }

// Match is one candidate reading of a user's text: an intent id and a
// confidence in [0, 1]. Matchers return them best first.
type Match struct {
	Intent string  `json:"intent"`
	Score  float64 `json:"score"`
}

// Query is one text to read and where it is read: the current node, the
// question it asks and the answers it accepts.
type Query struct {
	Text    string   // the user's text, redacted
	Node    string   // the current node id; "" for a new conversation
	Asks    string   // the question the node asks (Node.Asks); "" when none
	Expects []string // the answer intent ids the node accepts
	// Question is the text of the node's question (its last message), for
	// replies that take up its words.
	Question string
}

// Reading is what a text says: the intents it may mean, best first, and the
// facts it states whatever its intent.
type Reading struct {
	Matches []Match `json:"matches,omitempty"`
	Facts   []Fact  `json:"facts,omitempty"`
}

// Fact is something a text states about the user's situation (method=sms,
// abroad=yes), with a confidence in [0, 1] calibrated like Match.Score.
type Fact struct {
	Name  string  `json:"name"`
	Value string  `json:"value"`
	Score float64 `json:"score"`
}

// Postback data formats. A button tap comes back as exactly this string, so it
// must stay short (LINE allows 300 bytes) and stable across pack versions.
const (
	PostbackNodePrefix    = "go="  // go=<node id>
	PostbackCommandPrefix = "cmd=" // cmd=<command>
	PostbackServicePrefix = "svc=" // svc=<service>
)

// PostbackData is the postback data a Choice sends when tapped ("" for URI choices).
func (c Choice) PostbackData() string {
	switch {
	case c.Next != "":
		return PostbackNodePrefix + c.Next
	case c.Command != "":
		return PostbackCommandPrefix + c.Command
	case c.Service != "":
		return PostbackServicePrefix + c.Service
	}
	return ""
}
