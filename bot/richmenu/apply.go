package richmenu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"

	"github.com/todoku/todoku/bot/linemsg"
	"github.com/todoku/todoku/knowledge"
)

// namePrefix starts the name of every menu todoku creates: "todoku <pack>
// <digest>". The digest covers the menu object and its image, so the same
// pack and image always give the same name, and apply can tell that the
// live menu is already the one it would create.
const namePrefix = "todoku "

// Request builds LINE's rich menu object for pack p's menu, drawn by img.
func Request(p *knowledge.Pack, img []byte) (*messaging_api.RichMenuRequest, error) {
	m := p.RichMenu
	if m == nil {
		return nil, ErrNoMenu
	}
	req := &messaging_api.RichMenuRequest{
		Size:        &messaging_api.RichMenuSize{Width: knowledge.RichMenuWidth, Height: int64(m.Height())},
		Selected:    false,
		ChatBarText: m.ChatBar,
	}
	for i, cell := range Cells(m) {
		a := m.Areas[i]
		var act messaging_api.ActionInterface
		if a.URI != "" {
			act = &messaging_api.UriAction{Label: a.Label, Uri: linemsg.External(a.URI)}
		} else {
			// The label shows as the user's message, as a quick reply's does.
			act = &messaging_api.PostbackAction{Label: a.Label, Data: a.PostbackData(), DisplayText: a.Label}
		}
		req.Areas = append(req.Areas, messaging_api.RichMenuArea{
			Bounds: &messaging_api.RichMenuBounds{X: int64(cell.Min.X), Y: int64(cell.Min.Y), Width: int64(cell.Dx()), Height: int64(cell.Dy())},
			Action: act,
		})
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	sum.Write(b)
	sum.Write(img)
	req.Name = namePrefix + p.ID + " " + hex.EncodeToString(sum.Sum(nil))[:16]
	return req, nil
}

// Client is the two Messaging API clients a rich menu needs: the image goes
// to the data host (api-data.line.me).
type Client struct {
	API  *messaging_api.MessagingApiAPI
	Blob *messaging_api.MessagingApiBlobAPI
}

// NewClient connects to the Messaging API at base and its data host at
// dataBase with the channel access token.
func NewClient(token, base, dataBase string) (*Client, error) {
	api, err := messaging_api.NewMessagingApiAPI(token, messaging_api.WithEndpoint(base))
	if err != nil {
		return nil, err
	}
	blob, err := messaging_api.NewMessagingApiBlobAPI(token, messaging_api.WithBlobEndpoint(dataBase))
	if err != nil {
		return nil, err
	}
	return &Client{API: api, Blob: blob}, nil
}

// Result says what Apply did.
type Result struct {
	ID        string   // the default rich menu now
	Unchanged bool     // it already was this menu: nothing was changed
	Replaced  string   // the default it replaced and deleted ("" if none)
	Deleted   []string // every menu deleted (the replaced one, and leftovers of this pack's interrupted runs)
}

// Apply makes req, drawn by img (contentType image/png or image/jpeg), the
// default rich menu: it creates the menu, uploads the image, sets it as the
// default, then deletes the menu it replaces and this pack's menus that an
// interrupted run left behind. When the default already has req's name it
// changes nothing, so running it twice is the same as once.
func Apply(ctx context.Context, c *Client, req *messaging_api.RichMenuRequest, img []byte, contentType string) (Result, error) {
	api, blob := c.API.WithContext(ctx), c.Blob.WithContext(ctx)
	current, err := defaultID(api)
	if err != nil {
		return Result{}, err
	}
	list, err := api.GetRichMenuList()
	if err != nil {
		return Result{}, fmt.Errorf("richmenu: list: %w", err)
	}
	for _, m := range list.Richmenus {
		if m.RichMenuId == current && m.Name == req.Name {
			return Result{ID: current, Unchanged: true}, nil
		}
	}
	created, err := api.CreateRichMenu(req)
	if err != nil {
		return Result{}, fmt.Errorf("richmenu: create: %w", err)
	}
	id := created.RichMenuId
	if _, err := blob.SetRichMenuImage(id, contentType, bytes.NewReader(img)); err != nil {
		_, _ = api.DeleteRichMenu(id)
		return Result{}, fmt.Errorf("richmenu: upload image: %w", err)
	}
	if _, err := api.SetDefaultRichMenu(id); err != nil {
		_, _ = api.DeleteRichMenu(id)
		return Result{}, fmt.Errorf("richmenu: set default: %w", err)
	}
	res := Result{ID: id, Replaced: current}
	pack := packPrefix(req.Name)
	for _, m := range list.Richmenus {
		if m.RichMenuId == current || pack != "" && strings.HasPrefix(m.Name, pack) {
			if _, err := api.DeleteRichMenu(m.RichMenuId); err != nil {
				return res, fmt.Errorf("richmenu: delete %s (the new menu is live): %w", m.RichMenuId, err)
			}
			res.Deleted = append(res.Deleted, m.RichMenuId)
		}
	}
	return res, nil
}

// packPrefix is "todoku <pack> " of a name todoku gave, else "".
func packPrefix(name string) string {
	if !strings.HasPrefix(name, namePrefix) {
		return ""
	}
	rest := name[len(namePrefix):]
	i := strings.IndexByte(rest, ' ')
	if i < 0 {
		return ""
	}
	return name[:len(namePrefix)+i+1]
}

// defaultID is the default rich menu's id, "" when there is none.
func defaultID(api *messaging_api.MessagingApiAPI) (string, error) {
	res, body, err := api.GetDefaultRichMenuIdWithHttpInfo()
	if res != nil && res.StatusCode == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("richmenu: default: %w", err)
	}
	return body.RichMenuId, nil
}

// Live is the default rich menu as LINE has it.
type Live struct {
	Menu *messaging_api.RichMenuResponse // nil when there is no default
	// Pack is the pack id from the menu's name, when todoku created it.
	Pack string
}

// Show returns the default rich menu.
func Show(ctx context.Context, c *Client) (Live, error) {
	api := c.API.WithContext(ctx)
	id, err := defaultID(api)
	if err != nil || id == "" {
		return Live{}, err
	}
	m, err := api.GetRichMenu(id)
	if err != nil {
		return Live{}, fmt.Errorf("richmenu: get %s: %w", id, err)
	}
	return Live{Menu: m, Pack: strings.TrimSuffix(strings.TrimPrefix(packPrefix(m.Name), namePrefix), " ")}, nil
}

// Describe is one line per area of a live menu: where it is and what a tap does.
func Describe(m *messaging_api.RichMenuResponse) []string {
	var out []string
	for _, a := range m.Areas {
		b := a.Bounds
		where := fmt.Sprintf("%d,%d %dx%d", b.X, b.Y, b.Width, b.Height)
		switch act := a.Action.(type) {
		case messaging_api.PostbackAction: // the SDK decodes actions as values
			out = append(out, fmt.Sprintf("%s  %s → %s", where, act.Label, act.Data))
		case messaging_api.UriAction:
			out = append(out, fmt.Sprintf("%s  %s → %s", where, act.Label, act.Uri))
		case messaging_api.MessageAction:
			out = append(out, fmt.Sprintf("%s  %s → says %q", where, act.Label, act.Text))
		default:
			out = append(out, fmt.Sprintf("%s  %T", where, a.Action))
		}
	}
	return out
}

// ErrNoMenu is returned for a pack without a rich_menu.
var ErrNoMenu = errors.New("richmenu: the pack has no rich_menu")
