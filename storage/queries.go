package storage

import "github.com/todoku/todoku/bot"

// queries are the hot path's statements in the dialect's SQL, made once
// when the database is opened. Statements that write take their rows as one
// JSON parameter (rowsOf); the column specs name the row types' JSON fields
// (claim.go, inbox.go).
type queries struct {
	accept, undelivered, pending, conversations, sessions                  string
	users, end, open, inbound, session, outbox, touch, owner, unsend, done string
	sent, logOut, legacy                                                   string
}

func newQueries(db *DB) *queries {
	r := db.rebind
	// SQLite's planner, knowing nothing of the JSON rows, would walk every
	// open conversation (or pending event) by a status index for each
	// statement; naming the index by chat makes it look each row's chat up.
	conv, convC, pendingIdx, outbox := "conversations", "conversations c", "inbox_events", "outbox"
	if db.dialect == SQLite {
		conv, convC = "conversations INDEXED BY conversations_open_user", "conversations c INDEXED BY conversations_open_user"
		pendingIdx, outbox = "inbox_events INDEXED BY inbox_events_pending", "outbox INDEXED BY outbox_pending"
	}
	q := &queries{
		accept: r(`INSERT INTO inbox_events
			(webhook_event_id, chat_id, user_id, type, payload, status, attempts, error, event_at, accepted_at)
			SELECT t.id, t.chat, t.user_id, t.type, t.payload, '` + StatusPending + `', 0, '', t.event_at, t.at
			FROM ` + db.rowsOf("n bigint, id text, chat text, user_id text, type text, payload text, event_at timestamptz, at timestamptz") + `
			WHERE true ORDER BY t.n
			ON CONFLICT (webhook_event_id) DO NOTHING RETURNING webhook_event_id`),
		// The status is a literal, not a parameter, in the reads of pending
		// rows: a prepared statement's generic plan could not use the
		// partial index of pending rows with a parameter.
		undelivered: r(`SELECT id, chat_id, reply_token, retry_key, messages, event_at, attempted, COALESCE(conversation_id, 0), log
			FROM ` + outbox + ` WHERE ` + db.in("chat_id") + ` AND status = '` + StatusPending + `' ORDER BY id`),
		conversations: r(`SELECT user_id, id, owner, COALESCE(assigned_staff_id, ''), last_activity_at,
				COALESCE(outcome, ''), feedback_at IS NOT NULL
			FROM ` + conv + ` WHERE ` + db.in("user_id") + ` AND status = '` + ConversationOpen + `'`),
		sessions: r(`SELECT user_id, state FROM sessions WHERE ` + db.in("user_id")),

		users: r(`INSERT INTO users (id, kind, display_name, followed_at, unfollowed_at, created_at, updated_at)
			SELECT t.id, t.kind, '', CASE WHEN t.follow THEN t.at END, CASE WHEN t.unfollow THEN t.at END, t.at, t.at
			FROM ` + db.rowsOf("id text, kind text, follow boolean, unfollow boolean, at timestamptz") + ` WHERE true
			ON CONFLICT (id) DO UPDATE SET followed_at = COALESCE(excluded.followed_at, users.followed_at),
				unfollowed_at = CASE WHEN excluded.followed_at IS NOT NULL THEN NULL ELSE excluded.unfollowed_at END,
				updated_at = excluded.updated_at
			WHERE excluded.followed_at IS NOT NULL OR excluded.unfollowed_at IS NOT NULL`),
		end: r(`UPDATE ` + conv + ` SET status = '` + ConversationClosed + `', outcome = t.outcome, end_reason = t.reason, closed_at = t.at
			FROM ` + db.rowsOf("chat text, outcome text, reason text, at timestamptz") + `
			WHERE conversations.user_id = t.chat AND conversations.status = '` + ConversationOpen + `'`),
		open: r(`INSERT INTO conversations
			(user_id, status, owner, assigned_staff_id, pack_id, pack_version, node, topic, started_at, last_activity_at)
			SELECT t.chat, '` + ConversationOpen + `', t.owner, t.staff, t.pack, t.version, '', '', t.at, t.at
			FROM ` + db.rowsOf("chat text, owner text, staff text, pack text, version text, at timestamptz")),
		inbound: r(`INSERT INTO messages
			(conversation_id, direction, author, type, text, line_message_id, webhook_event_id,
			 node_before, node_after, topic_before, topic_after, reason, pack_id, pack_version, intent, score, at, created_at)
			SELECT c.id, '` + DirectionIn + `', '` + bot.AuthorUser + `', t.type, t.text, t.line_id, t.event_id,
				t.nb, t.na, t.tb, t.ta, t.reason, t.pack, t.version, t.intent, t.score, t.at, t.created
			FROM ` + db.rowsOf("chat text, type text, text text, line_id text, event_id text, "+traceSpec+", intent text, score float8, at timestamptz, created timestamptz") + `
			JOIN ` + convC + ` ON c.user_id = t.chat AND c.status = '` + ConversationOpen + `'`),
		session: r(`INSERT INTO sessions (user_id, state, version, updated_at)
			SELECT t.chat, t.state, 1, t.at FROM ` + db.rowsOf("chat text, state text, at timestamptz") + ` WHERE true
			ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, version = sessions.version + 1, updated_at = excluded.updated_at`),
		outbox: r(`INSERT INTO outbox
			(chat_id, inbox_event_id, conversation_id, reply_token, retry_key, messages, log, status, attempted, event_at, created_at)
			SELECT t.chat, t.seq, c.id, t.token, t.key, t.messages, t.log, '` + StatusPending + `', t.attempted, t.event_at, t.at
			FROM ` + db.rowsOf("chat text, seq bigint, token text, key text, messages text, log text, attempted boolean, event_at timestamptz, at timestamptz") + `
			JOIN ` + convC + ` ON c.user_id = t.chat AND c.status = '` + ConversationOpen + `'
			RETURNING id, chat_id, conversation_id`),
		// touch also keeps what the turn learned about how the
		// conversation goes (bot.Progress): NULL fields change nothing.
		touch: r(`UPDATE ` + conv + ` SET last_activity_at = t.at, node = COALESCE(t.node, conversations.node), topic = COALESCE(t.topic, conversations.topic),
				message_count = conversations.message_count + t.n,
				outcome = COALESCE(t.verdict, conversations.outcome),
				resolved_at = COALESCE(conversations.resolved_at, t.resolved),
				subject = CASE WHEN conversations.subject = '' THEN COALESCE(t.subject, '') ELSE conversations.subject END,
				feedback_at = COALESCE(conversations.feedback_at, t.asked),
				helped = COALESCE(t.helped, conversations.helped), rating = COALESCE(t.rating, conversations.rating)
			FROM ` + db.rowsOf("chat text, at timestamptz, node text, topic text, n int, verdict text, resolved timestamptz, subject text, asked timestamptz, helped boolean, rating int") + `
			WHERE conversations.user_id = t.chat AND conversations.status = '` + ConversationOpen + `'`),
		owner: r(`UPDATE ` + conv + ` SET owner = t.owner, assigned_staff_id = t.staff, handoff_at = t.handoff,
				waited_at = COALESCE(conversations.waited_at, t.handoff),
				handoff_path = CASE WHEN conversations.handoff_path = '' THEN t.path ELSE conversations.handoff_path END
			FROM ` + db.rowsOf("chat text, owner text, staff text, handoff timestamptz, path text") + `
			WHERE conversations.user_id = t.chat AND conversations.status = '` + ConversationOpen + `'`),
		unsend: r(`UPDATE messages SET unsent = TRUE, unsent_at = t.at, text = ''
			FROM ` + db.rowsOf("chat text, line_id text, at timestamptz") + `
			WHERE messages.line_message_id = t.line_id AND messages.conversation_id IN (SELECT id FROM conversations WHERE user_id = t.chat)`),
		done: r(`UPDATE inbox_events SET status = '` + StatusDone + `', processed_at = t.at, payload = t.payload, error = ''
			FROM ` + db.rowsOf("seq bigint, payload text, at timestamptz") + ` WHERE inbox_events.id = t.seq`),

		sent: r(`UPDATE outbox SET status = t.status, via = COALESCE(t.via, outbox.via), request_id = COALESCE(t.req, outbox.request_id),
				sent_at = COALESCE(t.sent_at, outbox.sent_at), error = t.error, reply_token = ''
			FROM ` + db.rowsOf(sentSpec) + ` WHERE outbox.id = t.id`),
		logOut: r(`INSERT INTO messages
			(conversation_id, direction, author, staff_id, type, text, webhook_event_id,
			 node_before, node_after, topic_before, topic_after, reason, pack_id, pack_version,
			 outbox_id, retry_key, delivery_status, via, request_id, error, at, created_at, sent_at)
			SELECT t.conv, '` + DirectionOut + `', t.author, t.staff, t.type, t.text, t.event_id,
				t.nb, t.na, t.tb, t.ta, t.reason, t.pack, t.version,
				t.outbox, t.key, t.status, COALESCE(t.via, ''), COALESCE(t.req, ''), t.error, t.at, t.created, t.sent_at
			FROM ` + db.rowsOf("n bigint, conv bigint, author text, staff text, type text, text text, event_id text, "+traceSpec+
			", outbox bigint, key text, "+sentSpec+", at timestamptz, created timestamptz") + ` ORDER BY t.n`),
		legacy: r(`UPDATE messages SET delivery_status = t.status, via = COALESCE(t.via, messages.via),
				request_id = COALESCE(t.req, messages.request_id), sent_at = COALESCE(t.sent_at, messages.sent_at), error = t.error
			FROM ` + db.rowsOf(sentSpec) + ` WHERE messages.outbox_id = t.id`),
	}
	if db.dialect == Postgres {
		// Each chat's first two pending events (the second only tells that
		// there are more), through the partial index of pending events.
		q.pending = `SELECT e.id, e.payload, e.accepted_at, e.attempts
			FROM unnest($1::text[]) AS c(chat_id)
			CROSS JOIN LATERAL (SELECT id, payload, accepted_at, attempts, event_at FROM inbox_events
				WHERE chat_id = c.chat_id AND status = '` + StatusPending + `' ORDER BY event_at, id LIMIT 2) e
			ORDER BY c.chat_id, e.event_at, e.id`
	} else {
		q.pending = `SELECT id, payload, accepted_at, attempts FROM (
				SELECT id, payload, accepted_at, attempts, chat_id, event_at,
					ROW_NUMBER() OVER (PARTITION BY chat_id ORDER BY event_at, id) AS n
				FROM ` + pendingIdx + ` WHERE status = '` + StatusPending + `' AND ` + db.in("chat_id") + `)
			WHERE n <= 2 ORDER BY chat_id, event_at, id`
	}
	return q
}

// sentSpec is sentRow's columns.
const sentSpec = "id bigint, status text, via text, req text, sent_at timestamptz, error text"
