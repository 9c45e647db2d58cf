package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // an operator's own menu image may be JPEG
	"io"
	"os"

	"github.com/todoku/todoku/app"
	"github.com/todoku/todoku/bot/richmenu"
	"github.com/todoku/todoku/knowledge"
)

const richmenuUsage = `usage: todoku richmenu apply [-pack ID] [-image FILE]   publish the pack's rich menu as the default (idempotent)
       todoku richmenu show                               describe the default rich menu LINE has now
       todoku richmenu image [-pack ID] -o FILE           write the image apply would upload (PNG), to look at it`

// runRichMenu implements `todoku richmenu apply|show|image`.
func runRichMenu(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, richmenuUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("richmenu "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf *app.Flags
	var imageFile, out *string
	switch sub {
	case "apply":
		cf = app.BindFlags(fs, "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL", "LINE_API_DATA_BASE_URL", "PACK")
		imageFile = fs.String("image", "", "upload this PNG or JPEG (2500 wide, the menu's height, at most 1 MB) instead of the generated image")
	case "show":
		cf = app.BindFlags(fs, "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL", "LINE_API_DATA_BASE_URL", "PACK")
	case "image":
		cf = app.BindFlags(fs, "PACK")
		out = fs.String("o", "", "write the PNG to this file")
	default:
		fmt.Fprintf(stderr, "todoku richmenu: unknown subcommand %q\n%s\n", sub, richmenuUsage)
		return 2
	}
	cfg, code, ok := parseConfig(fs, cf, args, stderr)
	if !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "todoku richmenu %s: %v\n", sub, err)
		return 1
	}
	p, err := knowledge.EmbeddedPack(cfg.PackID)
	if err != nil {
		return fail(err)
	}
	if sub == "image" {
		if *out == "" {
			fmt.Fprintln(stderr, "todoku richmenu image: -o FILE is required")
			return 2
		}
		if p.RichMenu == nil {
			return fail(richmenu.ErrNoMenu)
		}
		img, err := richmenu.Image(p.RichMenu)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(*out, img, 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: %d bytes, 2500x%d\n", *out, len(img), p.RichMenu.Height())
		return 0
	}
	if cfg.ChannelToken == "" {
		fmt.Fprintf(stderr, "todoku richmenu %s: LINE_CHANNEL_ACCESS_TOKEN is not set\n", sub)
		return 2
	}
	c, err := richmenu.NewClient(cfg.ChannelToken, cfg.LineAPIBaseURL, cfg.LineDataBaseURL)
	if err != nil {
		return fail(err)
	}
	if sub == "show" {
		live, err := richmenu.Show(ctx, c)
		if err != nil {
			return fail(err)
		}
		if live.Menu == nil {
			fmt.Fprintln(stdout, "no default rich menu")
			return 0
		}
		m := live.Menu
		fmt.Fprintf(stdout, "default rich menu %s %q: %dx%d, chat bar %q, %d areas\n", m.RichMenuId, m.Name, m.Size.Width, m.Size.Height, m.ChatBarText, len(m.Areas))
		for _, d := range richmenu.Describe(m) {
			fmt.Fprintln(stdout, "  "+d)
		}
		switch {
		case live.Pack == "":
			fmt.Fprintln(stdout, "not made by todoku")
		case p.RichMenu != nil && live.Pack == p.ID:
			if img, err := richmenu.Image(p.RichMenu); err == nil {
				if req, err := richmenu.Request(p, img); err == nil && req.Name == m.Name {
					fmt.Fprintf(stdout, "the menu of pack %s version %s, as generated\n", p.ID, p.Version)
					break
				}
			}
			fmt.Fprintf(stdout, "made from pack %s, but not its current menu with the generated image (run `todoku richmenu apply`, unless an own image was applied)\n", live.Pack)
		default:
			fmt.Fprintf(stdout, "made from pack %s\n", live.Pack)
		}
		return 0
	}

	if p.RichMenu == nil {
		return fail(richmenu.ErrNoMenu)
	}
	img, contentType, err := menuImage(p.RichMenu, *imageFile)
	if err != nil {
		return fail(err)
	}
	req, err := richmenu.Request(p, img)
	if err != nil {
		return fail(err)
	}
	res, err := richmenu.Apply(ctx, c, req, img, contentType)
	if err != nil {
		return fail(err)
	}
	if res.Unchanged {
		fmt.Fprintf(stdout, "rich menu %s is already the default (%s): nothing to do\n", res.ID, req.Name)
		return 0
	}
	fmt.Fprintf(stdout, "rich menu %s is the default now (%s)\n", res.ID, req.Name)
	for _, id := range res.Deleted {
		fmt.Fprintf(stdout, "deleted %s\n", id)
	}
	return 0
}

// menuImage is the operator's image file, checked against LINE's rules, or
// the image generated from the pack.
func menuImage(m *knowledge.RichMenu, file string) ([]byte, string, error) {
	if file == "" {
		img, err := richmenu.Image(m)
		return img, "image/png", err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	switch {
	case err != nil || format != "png" && format != "jpeg":
		return nil, "", fmt.Errorf("%s: not a PNG or JPEG image", file)
	case cfg.Width != knowledge.RichMenuWidth || cfg.Height != m.Height():
		return nil, "", fmt.Errorf("%s is %dx%d; a %s menu is %dx%d", file, cfg.Width, cfg.Height, m.Size, knowledge.RichMenuWidth, m.Height())
	case len(b) > 1<<20:
		return nil, "", errors.New(file + " is over 1 MB, LINE's limit")
	}
	return b, "image/" + format, nil
}
