package console

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/todoku/todoku/storage"
)

// Exports stream the filtered list as it is read from the database, page
// by page (storage.ExportConversations), never building the file in memory.

func (c *Console) startExport(ctx *gin.Context, ext, contentType string) (storage.ConversationFilter, bool) {
	f, err := c.filterFrom(ctx)
	if err != nil {
		c.renderError(ctx, http.StatusBadRequest, "絞り込みの指定が正しくありません。")
		return f, false
	}
	c.auditSearch(ctx, current(ctx).Principal, f, "conversation.export")
	name := "todoku-conversations-" + c.now().In(c.tokyo).Format("20060102-1504") + "." + ext
	ctx.Header("Content-Type", contentType)
	ctx.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	ctx.Status(http.StatusOK)
	return f, true
}

var csvHeader = []string{"id", "user_id", "display_name", "status", "owner", "assigned_to", "outcome", "end_reason",
	"topic", "node", "pack", "started_at", "last_activity_at", "waiting_since", "closed_at"}

// handleExportCSV writes one row per conversation (times in Asia/Tokyo,
// ISO 8601 with offset).
func (c *Console) handleExportCSV(ctx *gin.Context) {
	f, ok := c.startExport(ctx, "csv", "text/csv; charset=utf-8")
	if !ok {
		return
	}
	bw := bufio.NewWriterSize(ctx.Writer, 32<<10)
	bw.WriteString("\ufeff") // a BOM, so that Excel reads UTF-8
	w := csv.NewWriter(bw)
	w.Write(csvHeader)
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(c.tokyo).Format(time.RFC3339)
	}
	err := c.db.ExportConversations(ctx.Request.Context(), f, false, func(r storage.ConversationRow, _ []storage.Message) error {
		w.Write([]string{itoa(r.ID), r.UserID, r.DisplayName, r.Status, r.Owner, r.AssignedTo, r.Outcome, r.EndReason,
			r.Topic, r.Node, strings.TrimSuffix(r.PackID+"@"+r.PackVersion, "@"), ts(&r.StartedAt), ts(&r.LastActivityAt),
			ts(r.HandoffAt), ts(r.ClosedAt)})
		return w.Error()
	})
	w.Flush()
	bw.Flush()
	if err != nil {
		c.log.Warn("export failed midway", "error", err)
	}
}

// handleExportJSONL writes one JSON object per line: a conversation with
// its transcript, as the API's single-conversation answer.
func (c *Console) handleExportJSONL(ctx *gin.Context) {
	f, ok := c.startExport(ctx, "jsonl", "application/x-ndjson; charset=utf-8")
	if !ok {
		return
	}
	bw := bufio.NewWriterSize(ctx.Writer, 32<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := c.db.ExportConversations(ctx.Request.Context(), f, true, func(r storage.ConversationRow, ms []storage.Message) error {
		out := apiTranscript{Conversation: apiConv(r), Messages: make([]apiMessage, len(ms))}
		for i, m := range ms {
			out.Messages[i] = apiMsg(m)
		}
		return enc.Encode(out)
	})
	bw.Flush()
	if err != nil {
		c.log.Warn("export failed midway", "error", err)
	}
}
