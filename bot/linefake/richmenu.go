package linefake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // rich menu images may be JPEG
	_ "image/png"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Rich menu paths (the image upload is on api-data.line.me; the fake serves
// both hosts' paths).
const (
	PathRichMenu        = "/v2/bot/richmenu"          // POST create; GET/DELETE /{id}; /list; /{id}/content
	PathRichMenuDefault = "/v2/bot/user/all/richmenu" // GET the default's id; POST /{id} sets it
	maxRichMenuImage    = 1 << 20                     // LINE's limit on a rich menu image
	richMenuWidth       = 2500
)

// RichMenu is a rich menu the fake holds.
type RichMenu struct {
	ID        string
	Request   map[string]any // the object as created
	Image     []byte
	ImageType string
}

// RichMenus returns the rich menus the fake holds and the default's id ("" if none).
func (s *Server) RichMenus() (menus []RichMenu, defaultID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.menuOrder {
		if m, ok := s.menus[id]; ok {
			menus = append(menus, *m)
		}
	}
	return menus, s.defaultMenu
}

// richMenu answers the rich menu endpoints; ok is false for other paths. It
// runs with s.mu held.
func (s *Server) richMenu(r *http.Request, body []byte) (status int, resp any, ok bool) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == PathRichMenu:
		return s.createMenu(body)
	case r.Method == http.MethodGet && p == PathRichMenu+"/list":
		list := []any{}
		for _, id := range s.menuOrder {
			if m, ok := s.menus[id]; ok {
				list = append(list, m.Request)
			}
		}
		return http.StatusOK, msg{"richmenus": list}, true
	case r.Method == http.MethodGet && p == PathRichMenuDefault:
		if s.defaultMenu == "" {
			return http.StatusNotFound, errBody("no default richmenu"), true
		}
		return http.StatusOK, msg{"richMenuId": s.defaultMenu}, true
	case r.Method == http.MethodPost && strings.HasPrefix(p, PathRichMenuDefault+"/"):
		m := s.menus[strings.TrimPrefix(p, PathRichMenuDefault+"/")]
		switch {
		case m == nil:
			return http.StatusNotFound, errBody("richmenu not found"), true
		case m.Image == nil:
			return http.StatusBadRequest, errBody("must upload richmenu image before applying it to user"), true
		}
		s.defaultMenu = m.ID
		return http.StatusOK, msg{}, true
	case strings.HasPrefix(p, PathRichMenu+"/") && strings.HasSuffix(p, "/content") && r.Method == http.MethodPost:
		return s.uploadMenuImage(strings.TrimSuffix(strings.TrimPrefix(p, PathRichMenu+"/"), "/content"), r.Header.Get("Content-Type"), body)
	case strings.HasPrefix(p, PathRichMenu+"/") && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		id := strings.TrimPrefix(p, PathRichMenu+"/")
		m := s.menus[id]
		if m == nil {
			return http.StatusNotFound, errBody("richmenu not found"), true
		}
		if r.Method == http.MethodGet {
			return http.StatusOK, m.Request, true
		}
		delete(s.menus, id)
		if s.defaultMenu == id {
			s.defaultMenu = ""
		}
		return http.StatusOK, msg{}, true
	}
	return 0, nil, false
}

// createMenu checks a rich menu object against LINE's rules and keeps it.
func (s *Server) createMenu(body []byte) (int, any, bool) {
	var m struct {
		Size struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"size"`
		Name        string `json:"name"`
		ChatBarText string `json:"chatBarText"`
		Areas       []struct {
			Bounds struct {
				X, Y, Width, Height int
			} `json:"bounds"`
			Action map[string]any `json:"action"`
		} `json:"areas"`
	}
	bad := func(why string) (int, any, bool) {
		return http.StatusBadRequest, errBody("The request body has 1 error(s): " + why), true
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return bad("invalid JSON")
	}
	if m.Size.Width != richMenuWidth || m.Size.Height != 1686 && m.Size.Height != 843 {
		return bad(fmt.Sprintf("size %dx%d is not 2500x1686 or 2500x843", m.Size.Width, m.Size.Height))
	}
	if n := utf8.RuneCountInString(m.ChatBarText); n == 0 || n > 14 {
		return bad("chatBarText must be 1 to 14 characters")
	}
	if m.Name == "" || utf8.RuneCountInString(m.Name) > 300 {
		return bad("name must be 1 to 300 characters")
	}
	if len(m.Areas) == 0 || len(m.Areas) > 20 {
		return bad("areas must be 1 to 20")
	}
	for i, a := range m.Areas {
		b := a.Bounds
		if b.X < 0 || b.Y < 0 || b.Width <= 0 || b.Height <= 0 || b.X+b.Width > m.Size.Width || b.Y+b.Height > m.Size.Height {
			return bad(fmt.Sprintf("areas[%d].bounds outside the menu", i))
		}
		if a.Action["type"] == nil {
			return bad(fmt.Sprintf("areas[%d].action has no type", i))
		}
	}
	var obj map[string]any
	_ = json.Unmarshal(body, &obj)
	s.nextMenu++
	id := fmt.Sprintf("richmenu-%032x", s.nextMenu)
	obj["richMenuId"] = id
	s.menus[id] = &RichMenu{ID: id, Request: obj}
	s.menuOrder = append(s.menuOrder, id)
	return http.StatusOK, msg{"richMenuId": id}, true
}

// uploadMenuImage keeps a menu's image: once, PNG or JPEG, at most 1 MB, the
// menu's size.
func (s *Server) uploadMenuImage(id, contentType string, body []byte) (int, any, bool) {
	m := s.menus[id]
	if m == nil {
		return http.StatusNotFound, errBody("richmenu not found"), true
	}
	if m.Image != nil {
		return http.StatusBadRequest, errBody("An image has already been uploaded to the richmenu"), true
	}
	if contentType != "image/png" && contentType != "image/jpeg" {
		return http.StatusUnsupportedMediaType, errBody("unsupported content type"), true
	}
	if len(body) > maxRichMenuImage {
		return http.StatusRequestEntityTooLarge, errBody("image too large"), true
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil || "image/"+format != contentType {
		return http.StatusBadRequest, errBody("invalid image"), true
	}
	size, _ := m.Request["size"].(map[string]any)
	if w, h := size["width"], size["height"]; float64(cfg.Width) != w || float64(cfg.Height) != h {
		return http.StatusBadRequest, errBody(fmt.Sprintf("image is %dx%d, the richmenu %vx%v", cfg.Width, cfg.Height, w, h)), true
	}
	m.Image, m.ImageType = body, contentType
	return http.StatusOK, msg{}, true
}
