package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/todoku/todoku/bot/richmenu"
	"github.com/todoku/todoku/knowledge"
)

// runKB implements `todoku kb validate FILE...` and `todoku kb list`.
func runKB(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: todoku kb validate FILE...   check knowledge packs and parts, alone and as a set, one problem per line with its line number\n       todoku kb list              list the packs embedded in this binary")
		return 2
	}
	switch args[0] {
	case "validate":
		return kbValidate(args[1:], stdout, stderr)
	case "list":
		packs, err := knowledge.Embedded()
		if err != nil {
			fmt.Fprintln(stderr, "todoku kb list:", err)
			return 1
		}
		for _, p := range packs {
			fmt.Fprintf(stdout, "%s\tservice=%s\tlanguage=%s\tversion=%s\tnodes=%d\tintents=%d\n",
				p.ID, p.Service, p.Language, p.Version, len(p.Nodes), len(p.Intents))
		}
		return 0
	default:
		fmt.Fprintf(stderr, "todoku kb: unknown subcommand %q (want validate or list)\n", args[0])
		return 2
	}
}

// kbValidate checks each file (a pack with the parts it uses, or a part with
// every pack that uses it), then the packs given with the embedded ones of
// the same language as a set.
func kbValidate(files []string, stdout, stderr io.Writer) int {
	if len(files) == 0 {
		fmt.Fprintln(stderr, "usage: todoku kb validate FILE...")
		return 2
	}
	results, set := knowledge.ValidateFiles(files)
	code := 0
	for _, r := range results {
		var syn *knowledge.SyntaxError
		switch {
		case errors.As(r.Err, &syn):
			fmt.Fprintln(stderr, syn.Error())
			code = 1
			continue
		case r.Err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", r.Path, r.Err)
			code = 1
			continue
		}
		p := r.Pack
		what := "pack"
		if p.Kind == knowledge.KindPart {
			what = "part"
		}
		r.Problems = append(r.Problems, menuGlyphProblems(p)...)
		if len(r.Problems) > 0 {
			fmt.Fprint(stderr, knowledge.FormatProblems(r.Path, r.Problems))
			fmt.Fprintf(stderr, "%s: %d problem(s); this %s would not load\n", r.Path, len(r.Problems), what)
			code = 1
			continue
		}
		switch {
		case p.Kind == knowledge.KindPart:
			fmt.Fprintf(stdout, "%s: ok (part %s version %s, used by %s)\n", r.Path, p.ID, p.Version, strings.Join(r.Users, ", "))
		default:
			fmt.Fprintf(stdout, "%s: ok (pack %s version %s: %d nodes, %d intents)\n", r.Path, p.ID, p.Version, len(p.Nodes), len(p.Intents))
		}
	}
	if len(set) > 0 {
		fmt.Fprint(stderr, knowledge.FormatProblems("", set))
		fmt.Fprintf(stderr, "%d problem(s) between packs; they would not load together\n", len(set))
		code = 1
	}
	return code
}

// menuGlyphProblems reports rich menu labels that the image generator's
// embedded font cannot draw.
func menuGlyphProblems(p *knowledge.Pack) []knowledge.Problem {
	if p == nil || p.RichMenu == nil {
		return nil
	}
	missing, err := richmenu.Missing(p.RichMenu)
	if err != nil || len(missing) == 0 {
		return nil
	}
	return []knowledge.Problem{{Line: p.Lines["rich_menu"], Path: "rich_menu",
		Msg: fmt.Sprintf("the rich menu's font cannot draw %q: add them with bot/richmenu/font/subset.sh, or apply the menu with an image of your own (-image)", string(missing))}}
}
